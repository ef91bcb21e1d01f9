/**
 * What the lease (core/lease.ts) needs from storage. Implementations are dumb: they store and
 * compare what they are given and decide nothing (no clocks, no expiry). The one guarantee every
 * decision rests on: `insertLease` and `insertClaim` are atomic and exclusive (a unique key).
 * test/conformance/lock-store.test.ts is the suite every implementation must pass.
 */
import type { ClientSession } from 'mongodb';
import type { LockInfo } from '../types.ts';

/** One exact lease, by its owner and expiry: a takeover claims that lease, never "whichever is there". */
export interface LeaseKey {
  owner: string;
  expiresAt: Date;
}

export interface LockStore {
  /** Creates the lock; false when a lock already exists. */
  insertLease(lease: LockInfo): Promise<boolean>;
  /** The lock, or null. */
  readLease(session?: ClientSession): Promise<LockInfo | null>;
  /**
   * Sets the lock's `expiresAt` while `owner` holds it; false when it does not. With a session,
   * inside its transaction (the lease never passes one: a migration's transaction leaves the lock
   * document alone, see core/lease.ts).
   */
  extendLease(owner: string, expiresAt: Date, session?: ClientSession): Promise<boolean>;
  /** Removes the lock while `owner` holds it (and, when given, its expiry is `expiresAt`); false when nothing matched. */
  removeLease(owner: string, expiresAt?: Date): Promise<boolean>;
  /** Creates claim number `round` on the lease `target`; false when that claim exists. */
  insertClaim(target: LeaseKey, round: number, claimant: LockInfo): Promise<boolean>;
  /** Claim number `round` on `target`, or null. */
  readClaim(target: LeaseKey, round: number): Promise<LockInfo | null>;
  /** Removes every claim (of any lease) whose own `expiresAt` is before `before`; never the lock. Returns how many. */
  removeClaimsExpiredBefore(before: Date): Promise<number>;
}
