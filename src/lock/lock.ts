/**
 * The run lock: one document `{ _id: 'mongrate', owner, host, pid, command, acquiredAt, expiresAt }`.
 *
 * Only one write is atomic on every server we support: an insert under a unique `_id` (FerretDB
 * evaluates the filter of an update, delete or findAndModify in a separate step from the write,
 * so "update where expired" can let two runners win). So:
 * - acquire = insert the lock document;
 * - take over an expired lease = insert a claim document whose `_id` names that exact lease
 *   (owner + expiry); only the runner whose claim insert succeeds deletes the expired lock, then
 *   everyone races on the plain insert again, which exactly one wins;
 * - the lease is renewed by a heartbeat; a runner that finds its lease expired or taken stops
 *   renewing and reports the loss, so a stalled runner never writes over a new owner.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { MongoServerError, type Collection, type Db } from 'mongodb';
import { MongrateError } from '../errors.ts';
import type { LockInfo } from '../types.ts';
import type { RunIdentity } from '../util/identity.ts';

export const LOCK_ID = 'mongrate';
const DUPLICATE_KEY = 11000;
const CLAIM_PREFIX = 'takeover:';

/** The lock document (claims share its shape under another `_id`). */
export interface LockDocument extends LockInfo {
  _id: string;
}

export interface LockOptions {
  ttlSeconds: number;
  /** How long to wait for a held lock before giving up (0: fail at once). */
  waitSeconds: number;
  /** Called once if the lease is lost (expired before renewal, or taken over). */
  onLost?: (reason: string) => void;
  signal?: AbortSignal;
}

export function describeHolder(lock: LockDocument): string {
  return `${lock.host} pid ${lock.pid} (${lock.command}) since ${lock.acquiredAt.toISOString()}`;
}

export function isExpired(lock: LockDocument, now = Date.now()): boolean {
  return lock.expiresAt.getTime() <= now;
}

const isDuplicateKey = (error: unknown): boolean => error instanceof MongoServerError && error.code === DUPLICATE_KEY;

/** Reads the lock without taking it (for `status` and `unlock`). */
export async function readLock(db: Db, collection: string): Promise<LockDocument | null> {
  return db.collection<LockDocument>(collection).findOne({ _id: LOCK_ID });
}

export class Lock {
  private readonly locks: Collection<LockDocument>;
  private heartbeat: NodeJS.Timeout | undefined;
  private expiresAt = 0;
  private lostReason: string | undefined;

  constructor(
    db: Db,
    collection: string,
    private readonly identity: RunIdentity,
    private readonly command: string,
    private readonly options: LockOptions,
  ) {
    this.locks = db.collection<LockDocument>(collection);
  }

  get lost(): string | undefined {
    return this.lostReason;
  }

  /** A method, not a getter, so callers re-read it after an await. */
  held(): boolean {
    return this.lostReason === undefined;
  }

  private newDocument(): LockDocument {
    const now = new Date();
    return {
      _id: LOCK_ID,
      owner: this.identity.runId,
      host: this.identity.host,
      pid: this.identity.pid,
      command: this.command,
      acquiredAt: now,
      expiresAt: new Date(now.getTime() + this.options.ttlSeconds * 1000),
    };
  }

  /** Takes the lock or throws LOCK_HELD naming the holder (after waiting up to waitSeconds). */
  async acquire(): Promise<void> {
    const deadline = Date.now() + this.options.waitSeconds * 1000;
    for (let attempt = 0; ; attempt++) {
      if (this.options.signal?.aborted === true) throw new MongrateError('INTERRUPTED', 'interrupted while waiting for the lock');
      const document = this.newDocument();
      try {
        await this.locks.insertOne(document);
        this.expiresAt = document.expiresAt.getTime();
        this.startHeartbeat();
        return;
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
      }
      const holder = await this.locks.findOne({ _id: LOCK_ID });
      if (holder === null) continue; // released between our insert and read: try again at once
      // an expired lease we removed (or whose dead claimant we cleared): race for the insert again;
      // one another runner is taking over: wait like for a held lock
      if (isExpired(holder) && (await this.claimExpired(holder))) continue;
      if (Date.now() >= deadline) {
        const what = isExpired(holder)
          ? `the expired lock of ${describeHolder(holder)} is being taken over by another runner`
          : `lock held by ${describeHolder(holder)}, lease until ${holder.expiresAt.toISOString()}`;
        throw new MongrateError(
          'LOCK_HELD',
          `${what}; ` +
            'wait and retry (or pass --lock-wait <seconds>), or run `mongrate unlock` if that runner is dead',
        );
      }
      // jittered backoff, so waiting runners do not hammer the server in step
      await sleep(Math.min(1000, 100 * 2 ** Math.min(attempt, 4)) * (0.5 + Math.random() / 2));
    }
  }

  /**
   * Of all runners that saw this exact expired lease, the one whose claim insert succeeds removes
   * it. Returns false while another runner's live claim is taking it over.
   */
  private async claimExpired(holder: LockDocument): Promise<boolean> {
    const claimId = `${CLAIM_PREFIX}${holder.owner}:${holder.expiresAt.getTime()}`;
    try {
      await this.locks.insertOne({ ...this.newDocument(), _id: claimId });
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      // another runner is taking it over; unless it died doing so, then its claim is cleared
      const claim = await this.locks.findOne({ _id: claimId });
      if (claim === null) return true;
      if (!isExpired(claim)) return false;
      await this.locks.deleteOne({ _id: claimId, acquiredAt: claim.acquiredAt });
      return true;
    }
    await this.locks.deleteOne({ _id: LOCK_ID, owner: holder.owner, expiresAt: holder.expiresAt });
    return true;
  }

  private startHeartbeat(): void {
    const interval = Math.max(200, (this.options.ttlSeconds * 1000) / 3);
    this.heartbeat = setInterval(() => void this.renew(), interval);
    this.heartbeat.unref();
  }

  private markLost(reason: string): void {
    if (this.lostReason !== undefined) return;
    this.lostReason = reason;
    this.stopHeartbeat();
    this.options.onLost?.(reason);
  }

  /** Extends the lease; a lease already past its expiry is never renewed (someone may own it now). */
  async renew(): Promise<void> {
    if (this.lostReason !== undefined) return;
    if (Date.now() >= this.expiresAt) {
      this.markLost('the lease expired before it could be renewed (the process stalled?)');
      return;
    }
    const expiresAt = new Date(Date.now() + this.options.ttlSeconds * 1000);
    try {
      const result = await this.locks.updateOne({ _id: LOCK_ID, owner: this.identity.runId }, { $set: { expiresAt } });
      if (result.matchedCount === 0) {
        const holder = await this.locks.findOne({ _id: LOCK_ID });
        this.markLost(holder === null ? 'the lock was removed (mongrate unlock --force?)' : `the lock was taken over by ${describeHolder(holder)}`);
        return;
      }
      this.expiresAt = expiresAt.getTime();
    } catch {
      // a failed renewal is retried by the next beat; the lease check above catches a long outage
    }
  }

  /** Still ours? Checked before recording a migration as applied. */
  async verify(): Promise<boolean> {
    if (!this.held()) return false;
    await this.renew();
    return this.held();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  /** Releases the lock if it is still ours; claims of leases that expired long ago are cleaned up. */
  async release(): Promise<void> {
    this.stopHeartbeat();
    if (this.lostReason !== undefined) return;
    await this.locks.deleteOne({ _id: LOCK_ID, owner: this.identity.runId });
    const staleBefore = new Date(Date.now() - 10 * this.options.ttlSeconds * 1000);
    await this.locks.deleteMany({ _id: { $regex: `^${CLAIM_PREFIX}` }, acquiredAt: { $lt: staleBefore } }).catch(() => undefined);
  }
}

/** `mongrate unlock`: removes an expired lock, or any lock with force. Returns what was there. */
export async function forceUnlock(
  db: Db,
  collection: string,
  force: boolean,
): Promise<{ lock: LockDocument | null; released: boolean; expired: boolean }> {
  const lock = await readLock(db, collection);
  if (lock === null) return { lock, released: false, expired: false };
  const expired = isExpired(lock);
  if (!expired && !force) return { lock, released: false, expired };
  const result = await db.collection<LockDocument>(collection).deleteOne({ _id: LOCK_ID, owner: lock.owner });
  return { lock, released: result.deletedCount === 1, expired };
}
