// Shared by the helper integration tests: a helper context on a test database, ObjectIds in _id
// order, and an assertion on a MongrateError's code and message.
import assert from 'node:assert/strict';
import { ObjectId, type Db } from 'mongodb';
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
