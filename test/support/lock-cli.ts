// What the CLI tests of the lock share: migrations that count how often they ran, readers of the
// lock document and the changelog, and assertions that print the whole CLI output on failure.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from 'mongodb';
import { LOCK_ID, type LockDocument } from '../../src/lock/mongo-lock-store.ts';
import { readHelloLocalTime } from '../../src/server/clock.ts';
import type { CliResult } from './cli.ts';
import { changelogRecord } from './cli-project.ts';

/** The side-effect counter: one field per migration id, bumped by that migration's `up`. */
export type CounterDoc = { _id: string } & Record<string, unknown>;

/** A project config with a short lease, so tests see expiry and takeover within seconds. */
export const lockConfig = (ttlSeconds: number): string => `export default { lock: { ttlSeconds: ${ttlSeconds} } };\n`;

/** Bumps `counter.<id>` by one, then sleeps ~100 ms, so overlapping runners would show as a count of 2. */
export function counterMigration(id: string): string {
  return `export async function up({ db }) {
  await db.collection('counter').updateOne({ _id: 'counter' }, { $inc: { ${JSON.stringify(id)}: 1 } }, { upsert: true });
  await new Promise((resolve) => setTimeout(resolve, 100));
}
export async function down() {}
`;
}

/** `{ id: count }` of the counter migrations' runs, for the given ids. */
export async function runCounts(db: Db, ids: string[]): Promise<Record<string, unknown>> {
  const counter = await db.collection<CounterDoc>('counter').findOne({ _id: 'counter' });
  return Object.fromEntries(ids.map((id) => [id, counter?.[id]]));
}

export function show(result: CliResult): string {
  return `exit ${String(result.code)} (signal ${String(result.signal)})\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
}

export function exits(result: CliResult, code: number, what: string): void {
  assert.equal(result.code, code, `${what}: expected exit ${code}, got ${show(result)}`);
}

export async function lockDocument(db: Db): Promise<LockDocument | null> {
  return db.collection<LockDocument>('mongrate_lock').findOne({ _id: 'mongrate' });
}

/** Polls until `check` holds; fails if the CLI run `done` exits first or `timeoutMs` pass. */
export async function waitFor(what: string, check: () => Promise<boolean>, done: Promise<CliResult>, timeoutMs = 20_000): Promise<void> {
  let exited: CliResult | undefined;
  void done.then((result) => (exited = result));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (exited !== undefined) assert.fail(`the CLI exited before ${what}: ${show(exited)}`);
    if (Date.now() > deadline) assert.fail(`not within ${timeoutMs / 1000} s: ${what}`);
    await sleep(50);
  }
}

/** Polls the changelog until `id` is recorded as running; fails if the CLI exits first or 20 s pass. */
export function waitUntilRunning(db: Db, id: string, done: Promise<CliResult>): Promise<void> {
  return waitFor(`${id} was recorded as running`, async () => (await changelogRecord(db, id))?.state === 'running', done);
}

/** The host, pid and command of the lock `insertForeignLock` writes, as the CLI names its holder. */
export const FOREIGN_HOLDER = { host: 'deploy-box-3', pid: 4242, command: 'up' } as const;

/**
 * A lock as another machine's runner would have left it, dated in the server's time and expiring
 * `expiresInMs` from now (negative: already expired, its runner died).
 */
export async function insertForeignLock(db: Db, expiresInMs: number): Promise<LockDocument> {
  const now = (await readHelloLocalTime(db)).getTime();
  const lock: LockDocument = { _id: LOCK_ID, owner: 'run-from-elsewhere', ...FOREIGN_HOLDER, acquiredAt: new Date(now - 60_000), expiresAt: new Date(now + expiresInMs) };
  await db.collection<LockDocument>('mongrate_lock').insertOne(lock);
  return lock;
}

/** The foreign lock's holder removes it (it finished): whoever waits may take the lock. */
export async function releaseForeignLock(db: Db): Promise<void> {
  await db.collection<LockDocument>('mongrate_lock').deleteOne({ _id: LOCK_ID, owner: 'run-from-elsewhere' });
}
