/**
 * How mongrate reads and writes its own documents (the lock, the changelog, the history),
 * whatever the connection string says: from the primary, with majority read concern, written
 * with `w: 'majority'`, and sent again after a throttling answer.
 * - An acknowledged `w: 1` write can be rolled back after a failover: a lock insert so rolled
 *   back lets a second runner take the lock, an `applied` record so rolled back makes the next
 *   `up` run the migration again over data that survived. A majority read sees only what no
 *   failover can take back.
 * - Azure Cosmos DB RU answers a request over the provisioned throughput with 16500
 *   (TooManyRequests) without doing it; mongrate's own commands are single-document writes and
 *   reads, so sending one again after a pause is safe. (A migration's writes are never re-sent
 *   by mongrate: that is the migration's, or a helper's, to decide.)
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Collection, CollectionOptions, Db, Document } from 'mongodb';
import { isThrottled } from './errors.ts';

/**
 * How long a write may wait for a majority of the replica set to confirm it. A healthy set
 * confirms in milliseconds; one that cannot (a primary-secondary-arbiter set with its secondary
 * down) would otherwise hold the write, and the run, forever.
 */
export const MAJORITY_WAIT_MS = 60_000;

/** The options of every collection holding mongrate's own documents. */
export const OWN_DOCUMENTS: CollectionOptions = {
  readPreference: 'primary',
  readConcern: { level: 'majority' },
  writeConcern: { w: 'majority', wtimeoutMS: MAJORITY_WAIT_MS },
};

/** Attempts of one throttled command, with pauses of 100 ms doubling to 5 s (about 30 s in all). */
export const THROTTLED_ATTEMPTS = 10;

/** The pause after the `attempt`th throttled answer: 100 ms doubling to 5 s, jittered (half to all of it). */
export function throttledPause(attempt: number): number {
  const base = Math.min(5000, 100 * 2 ** (attempt - 1));
  return base / 2 + (Math.random() * base) / 2;
}

async function retryThrottled<T>(send: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (error) {
      if (!isThrottled(error) || attempt >= THROTTLED_ATTEMPTS) throw error;
      await sleep(throttledPause(attempt));
    }
  }
}

const isCursor = (value: unknown): value is { toArray(): Promise<unknown>; rewind(): void } =>
  typeof value === 'object' && value !== null && typeof (value as { toArray?: unknown }).toArray === 'function' && typeof (value as { rewind?: unknown }).rewind === 'function';

/** A cursor whose `toArray()` starts again from the first batch after a throttling answer. */
function throttledCursor<C extends object>(cursor: C): C {
  const proxy: C = new Proxy(cursor, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      if (prop === 'toArray') {
        return () => retryThrottled(async () => {
          try {
            return await method.call(target);
          } catch (error) {
            (target as unknown as { rewind(): void }).rewind();
            throw error;
          }
        });
      }
      // sort(), limit(), project()... return the cursor itself: keep handing out the proxy
      return (...args: unknown[]) => {
        const result = method.apply(target, args);
        return result === target ? proxy : result;
      };
    },
  });
  return proxy;
}

/** A collection of mongrate's own documents (see the file header). */
export function ownCollection<T extends Document>(db: Db, name: string): Collection<T> {
  const collection = db.collection<T>(name, OWN_DOCUMENTS);
  return new Proxy(collection, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      return (...args: unknown[]) => {
        const first = method.apply(target, args);
        if (isCursor(first)) return throttledCursor(first);
        if (!(first instanceof Promise)) return first;
        let sent = false;
        return retryThrottled(() => {
          if (!sent) {
            sent = true;
            return first;
          }
          return method.apply(target, args) as Promise<unknown>;
        });
      };
    },
  });
}
