/**
 * The run lease: every decision about the lock, made on the server's clock (server/clock.ts) and
 * stored through a dumb LockStore (lock/contract.ts).
 *
 * - Acquire = insert the lock document (the one atomic step every server has). A lease counts as
 *   expired only when the server's earliest possible time is past its `expiresAt`.
 * - Take over an expired lease = win a claim on that exact lease (an insert under a key naming
 *   its owner and expiry), then remove it and race for the plain insert again, which exactly one
 *   runner wins. A claim is a short lease too: a claimant that died is passed over by a claim of
 *   the next round once its own claim expired, so no claim is ever deleted mid-takeover.
 * - The holder tracks its own deadline on the local steady clock: the instant the renewal was
 *   sent + ttl - (the clock's uncertainty + a safety margin). That is before the server's time
 *   can reach the `expiresAt` it wrote, so it always stops before anyone may take over. Past the
 *   deadline the lease is lost for good: never renewed again (someone may own it now), and
 *   `assertHeld()` (the fence before every write) throws LOCK_LOST.
 * - A migration's transaction does not write the lock document: the heartbeat goes on renewing
 *   the lease outside it while it is open, and `assertHeld()` is the fence right before its
 *   outcome and its commit, as before any write outside a transaction. What keeps two runners'
 *   transactions of one migration from both committing is the changelog record itself (see
 *   core/recorder.ts): the outcome written in the transaction is conditional on this run's claim,
 *   and a runner that took the lease over re-claims the record (a conditional write on it) before
 *   it runs the migration again. Whichever of the two writes the record first wins: a re-claim
 *   first makes our outcome match nothing or conflict, so our transaction aborts and none of its
 *   writes land; our outcome first makes the re-claim wait for our commit or abort (MongoDB and
 *   PostgreSQL both make a write outside a transaction wait for one that wrote the document
 *   first), and after a commit it finds the record applied and runs nothing.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { MongrateError, messageOf } from '../errors.ts';
import type { LockStore } from '../lock/contract.ts';
import { describeHolder } from '../lock/holder.ts';
import type { ServerClock } from '../server/clock.ts';
import type { LockInfo, UnlockResult } from '../types.ts';
import type { RunIdentity } from '../util/identity.ts';

/** Who takes the lease: the run id becomes the lock's `owner`. */
export type LeaseHolder = Pick<RunIdentity, 'runId' | 'host' | 'pid'>;

export interface LeaseOptions {
  store: LockStore;
  clock: ServerClock;
  identity: LeaseHolder;
  /** Recorded on the lock (`up`, `down`, ...), for whoever finds it held. */
  command: string;
  ttlSeconds: number;
  /** How long to wait for a held lock before giving up (0: fail at once). */
  waitSeconds: number;
  /** Aborting it stops the wait with INTERRUPTED. */
  signal?: AbortSignal;
  /** Called once, when acquire() starts waiting for a held lock, with its holder. */
  onWait?: (holder: LockInfo) => void;
  /** Called when acquire() took the lock after its previous lease had expired, with that lease. */
  onTakeover?: (previous: LockInfo) => void;
  /** Called once when the lease is lost (taken over, removed, or run out unrenewed). */
  onLost?: (reason: string) => void;
}

/** What release() did. `warning` is set when the lock may be left behind (it then expires by itself). */
export interface ReleaseOutcome {
  released: boolean;
  warning?: string;
}

/** Claim rounds tried on one expired lease before waiting; each dead round needs a claimant that died. */
const MAX_CLAIM_ROUNDS = 20;
/** Claims whose own lease ended this many ttls ago are removed at release (no runner can still act on them). */
const CLAIM_CLEANUP_TTLS = 10;
/** Why a lease is lost when its document is gone: only a forced unlock removes a live lease. */
const REMOVED = 'the lock was removed (a forced unlock?)';
/** The sample of the server's clock is refreshed by the heartbeat once it is this old. */
const CLOCK_REFRESH_MS = 60_000;

/** How long before the server could see its lease expire a holder stops: covers a write still in flight. */
export const safetyMarginMs = (ttlMs: number): number => Math.max(200, ttlMs / 10);
/** The most uncertainty about the server's time that still leaves a lease of this ttl usable. */
const maxUncertaintyMs = (ttlMs: number): number => ttlMs / 10;

/** Expired on the server's clock, conservatively: only when even its earliest possible time is past it. */
export function isLeaseExpired(lease: Pick<LockInfo, 'expiresAt'>, clock: ServerClock): boolean {
  return clock.earliestMs() > lease.expiresAt.getTime();
}

/** A lock document for `holder` stamped in server time as of the local steady instant `steadyMs`. */
function stamp(holder: LeaseHolder, command: string, clock: ServerClock, ttlMs: number, steadyMs: number): LockInfo {
  const acquiredAt = clock.serverMsAt(steadyMs);
  return { owner: holder.runId, host: holder.host, pid: holder.pid, command, acquiredAt: new Date(acquiredAt), expiresAt: new Date(acquiredAt + ttlMs) };
}

/**
 * The steady instant before which a lease (or claim) stamped at `sentMs` is surely still ours.
 * Computed when stamping, from the same sample of the server's clock as the stamp.
 */
function deadlineFor(clock: ServerClock, sentMs: number, ttlMs: number): number {
  return sentMs + ttlMs - (clock.uncertaintyMs(ttlMs) + safetyMarginMs(ttlMs));
}

type TakeoverOutcome = 'removed' | 'already-gone' | 'contended';

/**
 * Removes the expired lease `expired` if this caller wins a claim on it. 'contended': another
 * live claimant is taking it over.
 */
async function removeExpiredLease(
  store: LockStore,
  clock: ServerClock,
  expired: LockInfo,
  claimant: { holder: LeaseHolder; command: string; ttlMs: number },
): Promise<TakeoverOutcome> {
  const target = { owner: expired.owner, expiresAt: expired.expiresAt };
  for (let round = 1; round <= MAX_CLAIM_ROUNDS; round++) {
    const sent = clock.steadyNowMs();
    const deadline = deadlineFor(clock, sent, claimant.ttlMs);
    if (await store.insertClaim(target, round, stamp(claimant.holder, claimant.command, clock, claimant.ttlMs, sent))) {
      // too slow to act on our claim: others may have passed it over for the next round
      if (clock.steadyNowMs() >= deadline) return 'contended';
      return (await store.removeLease(expired.owner, expired.expiresAt)) ? 'removed' : 'already-gone';
    }
    const claim = await store.readClaim(target, round);
    if (claim !== null && !isLeaseExpired(claim, clock)) return 'contended';
    // that claimant died (or its claim was cleaned up): the next round decides
  }
  return 'contended';
}

export class Lease {
  private readonly ttlMs: number;
  private deadline = Number.NEGATIVE_INFINITY;
  /** The expiry this lease last wrote (server time). */
  private expiresAt: Date | undefined;
  private lostReason: string | undefined;
  private released = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private renewal: Promise<void> | undefined;

  constructor(private readonly options: LeaseOptions) {
    this.ttlMs = options.ttlSeconds * 1000;
  }

  /** Why the lease was lost, once it was. */
  get lost(): string | undefined {
    return this.lostReason;
  }

  private stampNow(sentMs: number): LockInfo {
    return stamp(this.options.identity, this.options.command, this.options.clock, this.ttlMs, sentMs);
  }

  /** Takes the lock, or throws LOCK_HELD naming the holder (after waiting up to waitSeconds). */
  async acquire(): Promise<void> {
    await this.refuseAnUnjudgeableClock();
    const { store, clock, signal } = this.options;
    const giveUpAt = clock.steadyNowMs() + this.options.waitSeconds * 1000;
    let expiredSeen: LockInfo | undefined;
    let waiting = false;
    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted === true) throw interrupted();
      const sent = clock.steadyNowMs();
      const deadline = deadlineFor(clock, sent, this.ttlMs);
      const lease = this.stampNow(sent);
      if (await store.insertLease(lease)) {
        this.startHolding(deadline, lease.expiresAt);
        if (expiredSeen !== undefined) this.options.onTakeover?.(expiredSeen);
        return;
      }
      const holder = await store.readLease();
      if (holder === null) continue; // released between our insert and read: try again at once
      let blocked: string;
      if (isLeaseExpired(holder, clock)) {
        expiredSeen = holder;
        const outcome = await removeExpiredLease(store, clock, holder, { holder: this.options.identity, command: this.options.command, ttlMs: this.ttlMs });
        if (outcome !== 'contended') continue;
        blocked = `the expired lock of ${describeHolder(holder)} is being taken over by another runner`;
      } else {
        expiredSeen = undefined;
        blocked = `lock held by ${describeHolder(holder)}, lease until ${holder.expiresAt.toISOString()}`;
      }
      if (clock.steadyNowMs() >= giveUpAt) {
        const waited = this.options.waitSeconds > 0 ? ` (after waiting ${this.options.waitSeconds} s)` : '';
        throw new MongrateError('LOCK_HELD', `${blocked}${waited}`, {
          hints: [
            { options: { lockWait: 'seconds' }, purpose: this.options.waitSeconds > 0 ? 'wait longer' : 'wait for it' },
            { command: 'unlock', purpose: 'release it if that runner is dead' },
          ],
        });
      }
      if (!waiting) {
        waiting = true;
        this.options.onWait?.(holder);
      }
      // jittered backoff, so waiting runners do not hammer the server in step
      await this.pause(Math.min(1000, 100 * 2 ** Math.min(attempt, 4)) * (0.5 + Math.random() / 2));
    }
  }

  /** A lease needs the server's time known to a small part of its ttl; over a slow link it is not. */
  private async refuseAnUnjudgeableClock(): Promise<void> {
    const { clock } = this.options;
    const limit = maxUncertaintyMs(this.ttlMs);
    if (clock.uncertaintyMs(this.ttlMs) > limit) await clock.resample(4);
    const uncertainty = clock.uncertaintyMs(this.ttlMs);
    if (uncertainty > limit) {
      throw new MongrateError(
        'UNREACHABLE',
        `the server's round trip (${Math.round(clock.roundTripMs())} ms at best) is too slow to judge a lock lease of ${this.options.ttlSeconds} s ` +
          `on its clock (±${Math.round(uncertainty)} ms, at most ±${Math.round(limit)} ms): raise lock.ttlSeconds, or run closer to the server`,
      );
    }
  }

  private async pause(ms: number): Promise<void> {
    try {
      await sleep(ms, undefined, this.options.signal === undefined ? {} : { signal: this.options.signal });
    } catch (error) {
      if (this.options.signal?.aborted === true) throw interrupted();
      throw error;
    }
  }

  private startHolding(deadline: number, expiresAt: Date): void {
    this.deadline = deadline;
    this.expiresAt = expiresAt;
    const interval = Math.max(100, this.ttlMs / 3);
    this.heartbeat = setInterval(() => void this.renew(), interval);
    this.heartbeat.unref();
  }

  /**
   * The fence: synchronous and cheap, called right before every write. Throws LOCK_LOST once the
   * lease is lost, or its deadline passed without a renewal (a stalled event loop runs no heartbeat).
   */
  assertHeld(): void {
    if (this.released) throw new MongrateError('LOCK_LOST', 'the lock was already released by this run');
    if (this.expiresAt === undefined) throw new MongrateError('LOCK_LOST', 'the lock was not acquired');
    if (this.lostReason === undefined && this.options.clock.steadyNowMs() >= this.deadline) {
      this.markLost(
        `its lease (until ${this.expiresAt.toISOString()}) ran out before it was renewed (the process stalled, or the server did not answer)`,
      );
    }
    if (this.lostReason !== undefined) throw new MongrateError('LOCK_LOST', this.lostReason);
  }

  private markLost(reason: string): void {
    if (this.lostReason !== undefined) return;
    this.lostReason = reason;
    this.stopHeartbeat();
    this.options.onLost?.(reason);
  }

  /** One heartbeat now (the timer calls it every ttl/3); a renewal still under way is not doubled. */
  renew(): Promise<void> {
    if (this.lostReason !== undefined || this.released) return Promise.resolve();
    try {
      this.assertHeld();
    } catch {
      return Promise.resolve(); // past its deadline: never renewed, reported lost
    }
    this.renewal ??= this.extend().finally(() => (this.renewal = undefined));
    return this.renewal;
  }

  private async extend(): Promise<void> {
    try {
      await this.options.clock.refreshIfOlderThan(CLOCK_REFRESH_MS).catch(() => undefined);
      await this.renewOnce();
    } catch {
      // a failed renewal is retried by the next beat; the deadline catches a long outage
    }
  }

  /** Writes an expiry a lease from now; the deadline becomes the one it gives. */
  private async renewOnce(): Promise<void> {
    const { store, clock, identity } = this.options;
    const sent = clock.steadyNowMs();
    if (sent >= this.deadline) return; // the next beat reports it
    const deadline = deadlineFor(clock, sent, this.ttlMs);
    const expiresAt = new Date(clock.serverMsAt(sent) + this.ttlMs);
    if (!(await store.extendLease(identity.runId, expiresAt))) {
      const holder = await store.readLease().catch(() => null);
      this.markLost(holder === null ? REMOVED : `the lock was taken over by ${describeHolder(holder)}`);
      return;
    }
    // an answer after the deadline does not revive the lease: it was lost in between
    if (clock.steadyNowMs() >= this.deadline || this.lostReason !== undefined) return;
    this.deadline = deadline;
    this.expiresAt = expiresAt;
  }

  /**
   * Releases the lock if it is still ours. Never throws: a failed release must not turn a
   * successful run into a failure; the outcome says what to warn about.
   */
  async release(): Promise<ReleaseOutcome> {
    this.stopHeartbeat();
    await this.renewal;
    if (this.released) return { released: false };
    this.released = true;
    if (this.lostReason !== undefined || this.expiresAt === undefined) return { released: false };
    const { store, clock, identity } = this.options;
    const until = this.expiresAt.toISOString();
    if (clock.steadyNowMs() >= this.deadline) {
      // someone may be taking it over right now: removing it could remove theirs
      return { released: false, warning: `the lease ran out before it was released; the lock expires by itself at ${until}` };
    }
    try {
      if (!(await store.removeLease(identity.runId))) {
        return { released: false, warning: 'the lock was no longer held by this run when it was released (a forced unlock?)' };
      }
    } catch (error) {
      return { released: false, warning: `could not release the lock (${messageOf(error)}); it expires by itself at ${until}` };
    }
    await store.removeClaimsExpiredBefore(new Date(clock.earliestMs() - CLAIM_CLEANUP_TTLS * this.ttlMs)).catch(() => undefined);
    return { released: true };
  }

  private stopHeartbeat(): void {
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }
}

const interrupted = (): MongrateError => new MongrateError('INTERRUPTED', 'interrupted while waiting for the lock');

/** What `status` needs: the lock, and whether its lease is live on the server's clock. */
export interface LockState {
  lock: LockInfo | null;
  /** Not expired, judged conservatively: when unsure, live. */
  live: boolean;
}

export async function readLockState(store: LockStore, clock: ServerClock): Promise<LockState> {
  const lock = await store.readLease();
  return { lock, live: lock !== null && !isLeaseExpired(lock, clock) };
}

/**
 * `mongrate unlock`: releases a lock whose lease expired on the server's clock (through a claim,
 * as a takeover does, so two unlocks or an unlock and a takeover never both remove), or any lock
 * with `force`. Returns what was there.
 */
export async function unlockLease(
  store: LockStore,
  clock: ServerClock,
  options: { force: boolean; claimant: LeaseHolder; ttlSeconds: number },
): Promise<UnlockResult> {
  const lock = await store.readLease();
  if (lock === null) return { lock, released: false, expired: false };
  const expired = isLeaseExpired(lock, clock);
  if (options.force) return { lock, released: await store.removeLease(lock.owner), expired };
  if (!expired) return { lock, released: false, expired };
  const outcome = await removeExpiredLease(store, clock, lock, { holder: options.claimant, command: 'unlock', ttlMs: options.ttlSeconds * 1000 });
  return { lock, released: outcome === 'removed', expired };
}
