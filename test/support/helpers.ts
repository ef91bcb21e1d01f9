// Shared by the helper integration tests: a helper context on a test database, ObjectIds in _id
// order, an assertion on a MongrateError's code and message, and a client that records commands.
import assert from 'node:assert/strict';
import { MongoClient, ObjectId, type CommandStartedEvent, type Db, type Document } from 'mongodb';
import type { ErrorCode } from '../../src/errors.ts';
import type { HelperContext } from '../../src/helpers/index.ts';
import { probeServer } from '../../src/server/capabilities.ts';
import { isError } from './assertions.ts';

/** A real (not dry-run) helper context on db, probed like the runner probes it. */
export async function contextFor(db: Db, extra: Partial<HelperContext> = {}): Promise<HelperContext> {
  return { db, server: await probeServer(db), dryRun: false, ...extra };
}

/** ObjectIds one second apart from `base` (seconds), so `_id` order is creation order. */
export function ids(count: number, base = Math.floor(Date.UTC(2024, 0, 1) / 1000)): ObjectId[] {
  return Array.from({ length: count }, (_, i) => ObjectId.createFromTime(base + i));
}

/** The promise rejects with a MongrateError of this code whose message matches. */
export async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, message: RegExp): Promise<void> {
  await assert.rejects(promise, isError(code, message));
}

export interface Seen {
  /** Statements of every `update` command. */
  updates: Document[][];
  deletes: Document[][];
  finds: Document[];
  all: CommandStartedEvent[];
}

/** A second client on the test database that records the commands the helpers send. */
export async function withMonitoredDb(uri: string, dbName: string, fn: (db: Db, seen: Seen) => Promise<void>): Promise<void> {
  const client = new MongoClient(uri, { monitorCommands: true });
  const seen: Seen = { updates: [], deletes: [], finds: [], all: [] };
  client.on('commandStarted', (event) => {
    seen.all.push(event);
    const command = event.command;
    if (event.commandName === 'update') seen.updates.push(command.updates as Document[]);
    if (event.commandName === 'delete') seen.deletes.push(command.deletes as Document[]);
    if (event.commandName === 'find') seen.finds.push(command);
  });
  try {
    await client.connect();
    await fn(client.db(dbName), seen);
  } finally {
    await client.close();
  }
}

/** Commands that change data or collections. */
const WRITE_COMMANDS = new Set(['insert', 'update', 'delete', 'findAndModify', 'create', 'drop', 'createIndexes', 'dropIndexes', 'renameCollection', 'collMod']);

export const isWriteCommand = (event: CommandStartedEvent): boolean => WRITE_COMMANDS.has(event.commandName);
