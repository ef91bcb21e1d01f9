// What the CLI tests of the lock share: migrations that count how often they ran, readers of the
// lock document, and a lock left behind by another machine's runner. (The assertions and waits
// every CLI test uses are in cli.ts, re-exported here for the lock tests.)
import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from 'mongodb';
import { LOCK_ID, type LockDocument } from '../../src/lock/mongo-lock-store.ts';
import { readHelloLocalTime } from '../../src/server/clock.ts';
export { exits, show, waitFor, waitUntilRunning } from './cli.ts';

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

export async function lockDocument(db: Db): Promise<LockDocument | null> {
  return db.collection<LockDocument>('mongrate_lock').findOne({ _id: 'mongrate' });
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

/**
 * Waits until the lease `lock` has run out for any runner: the server's own clock is past its
 * expiry by twice the most a runner's estimate of that clock may be off (a tenth of the ttl:
 * beyond that a runner refuses to judge a lease). Read on the server, not this machine's clock,
 * and waited for rather than slept through: however loaded the machine, no runner that starts
 * after this still sees the lease live.
 */
export async function waitUntilLeaseExpired(db: Db, lock: Pick<LockDocument, 'expiresAt'>, ttlSeconds: number): Promise<void> {
  const past = lock.expiresAt.getTime() + (2 * ttlSeconds * 1000) / 10;
  for (let now = (await readHelloLocalTime(db)).getTime(); now <= past; now = (await readHelloLocalTime(db)).getTime()) {
    await sleep(Math.min(past - now + 1, 1000));
  }
}
