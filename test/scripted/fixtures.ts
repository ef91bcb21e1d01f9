// A scripted replica set and a driver client on it for one test, both closed when the test ends
// (the client first, so its endSessions still finds the server).
import type { TestContext } from 'node:test';
import { MongoClient, type MongoClientOptions } from 'mongodb';
import { createMigrator } from '../../src/index.ts';
import { startScriptedReplicaSet, type ScriptedReplicaSet, type ScriptedReplicaSetOptions } from '../support/scripted-replica-set/index.ts';

export interface ScriptedSetup {
  rs: ScriptedReplicaSet;
  client: MongoClient;
}

/** Long enough to outlast a scripted election (unavailableMs ~1.5 s) on a loaded machine. */
export const SERVER_SELECTION_MS = 15_000;

export async function scriptedSet(t: TestContext, options: ScriptedReplicaSetOptions = {}, clientOptions: MongoClientOptions = {}, uri?: (rs: ScriptedReplicaSet) => string): Promise<ScriptedSetup> {
  const rs = await startScriptedReplicaSet(options);
  const client = new MongoClient(uri?.(rs) ?? rs.uri, { serverSelectionTimeoutMS: SERVER_SELECTION_MS, ...clientOptions });
  t.after(async () => {
    await client.close();
    await rs.close();
  });
  return { rs, client };
}

/** A promise and the function that settles it: a test waits for a signal from a script, never for time. */
export function signal<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

type Migrator = ReturnType<typeof createMigrator>;

/**
 * Runs `up` to its end with the log lines it says collected, waits for `settled` (an election a
 * script started, still under way), and closes the migrator.
 */
export async function upSaying(migrator: Migrator, settled: () => Promise<unknown> = () => Promise.resolve()): Promise<{ result: Awaited<ReturnType<Migrator['up']>>; lines: string[] }> {
  const lines: string[] = [];
  migrator.on('log', ({ message }) => lines.push(message));
  const result = await migrator.up();
  await settled();
  await migrator.close();
  return { result, lines };
}

/** The line a helper says when it sends an idempotent `step` again after a failover. */
export function sentAgainLine(helper: string, step: string): RegExp {
  const escaped = helper.replace(/[()]/g, '\\$&');
  return new RegExp(`^${escaped}: the server went away \\(.*\\); sending the ${step} again once a primary is back \\(it is idempotent\\)$`);
}
