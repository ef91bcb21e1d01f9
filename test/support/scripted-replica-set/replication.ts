/**
 * Replication, reduced to what tests observe: the primary's data is a chain of States, one per
 * committed write, numbered by opTime; every data-bearing member points at the newest version it
 * has applied. A secondary follows at once (the default), `lagMs` after each write, or not at
 * all while paused. Write concern `w` is satisfied once `w` members (the primary included) point
 * at or past a write's version. A rollback makes an older version the head again and drops what
 * came after it, on every member. Versions no member points at are forgotten.
 */
import { latch, type Timers } from './time.ts';
import { EMPTY_STATE, type State } from './store.ts';

interface Version {
  opTime: number;
  state: State;
  wallMs: number;
}

interface Follower {
  applied: number;
  /** The newest version a lag timer is already set for. */
  scheduled: number;
  lagMs: number;
  paused: boolean;
}

export class Replication {
  private readonly versions = new Map<number, Version>([[0, { opTime: 0, state: EMPTY_STATE, wallMs: Date.now() }]]);
  private readonly members = new Map<string, Follower>();
  private progress = latch();
  private headOpTime = 0;
  /** opTimes are never reused, not even after a rollback. */
  private lastOpTime = 0;
  /** The member whose writes make the versions; it is always at the head. */
  primary: string | undefined;

  constructor(private readonly timers: Timers) {}

  /** A data-bearing member, starting from the head. */
  add(address: string): void {
    this.members.set(address, { applied: this.headOpTime, scheduled: this.headOpTime, lagMs: 0, paused: false });
  }

  private follower(address: string): Follower {
    const member = this.members.get(address);
    if (member === undefined) throw new Error(`scripted replica set: ${address} bears no data`);
    return member;
  }

  get head(): { opTime: number; state: State; wallMs: number } {
    return this.versions.get(this.headOpTime) as Version;
  }

  /** The newest version `address` has applied. */
  appliedBy(address: string): { opTime: number; state: State; wallMs: number } {
    return this.versions.get(this.follower(address).applied) ?? this.head;
  }

  /** The opTime the next commit gets (drafts stamp it on the documents they write). */
  get nextOpTime(): number {
    return this.lastOpTime + 1;
  }

  /** Makes `state` the new head; returns its opTime. */
  commit(state: State): number {
    const opTime = ++this.lastOpTime;
    this.headOpTime = opTime;
    this.versions.set(opTime, { opTime, state, wallMs: Date.now() });
    if (this.primary !== undefined) this.follower(this.primary).applied = opTime;
    for (const address of this.members.keys()) if (address !== this.primary) this.follow(address);
    this.moved();
    return opTime;
  }

  /** Applies on `address` what it may have by now, and schedules the rest after its lag. */
  private follow(address: string): void {
    const member = this.follower(address);
    if (member.paused) return;
    if (member.lagMs === 0) {
      member.applied = this.headOpTime;
      member.scheduled = this.headOpTime;
      return;
    }
    for (const version of this.versions.values()) {
      if (version.opTime <= Math.max(member.applied, member.scheduled)) continue;
      member.scheduled = version.opTime;
      this.timers.after(version.wallMs + member.lagMs - Date.now(), () => {
        if (!member.paused && this.versions.has(version.opTime) && version.opTime > member.applied) {
          member.applied = version.opTime;
          this.moved();
        }
      });
    }
  }

  private moved(): void {
    const oldest = Math.min(...[...this.members.values()].map((m) => m.applied), this.headOpTime);
    for (const opTime of this.versions.keys()) if (opTime < oldest) this.versions.delete(opTime);
    const { open } = this.progress;
    this.progress = latch();
    open();
  }

  /** From now on `address` applies each write `ms` after it was made (pending writes too). */
  lag(address: string, ms: number): void {
    this.follower(address).lagMs = ms;
    this.refollow(address);
  }

  pause(address: string): void {
    this.follower(address).paused = true;
  }

  resume(address: string): void {
    this.follower(address).paused = false;
    this.refollow(address);
  }

  private refollow(address: string): void {
    const member = this.follower(address);
    member.scheduled = member.applied;
    this.follow(address);
    this.moved();
  }

  /** Brings `address` to the head at once (a new primary catching up). */
  catchUp(address: string): void {
    this.follower(address).applied = this.headOpTime;
    this.moved();
  }

  /** Makes the newest version `address` applied the head, dropping later writes everywhere. */
  rollbackTo(address: string): number {
    const opTime = this.follower(address).applied;
    for (const key of this.versions.keys()) if (key > opTime) this.versions.delete(key);
    this.headOpTime = opTime;
    for (const member of this.members.values()) {
      member.applied = Math.min(member.applied, opTime);
      member.scheduled = Math.min(member.scheduled, opTime);
    }
    this.moved();
    return opTime;
  }

  /** How many data-bearing members have applied `opTime`. */
  acknowledged(opTime: number): number {
    return [...this.members.values()].filter((m) => m.applied >= opTime).length;
  }

  /** The most up-to-date member among `candidates`. */
  mostAdvanced(candidates: readonly string[]): string | undefined {
    return [...candidates].sort((a, b) => this.follower(b).applied - this.follower(a).applied)[0];
  }

  /** Resolves once at least `w` members have applied `opTime` (or the signal aborts: the caller stopped waiting). */
  async replicated(opTime: number, w: number, signal: AbortSignal): Promise<void> {
    while (this.acknowledged(opTime) < w && !signal.aborted) await this.progress.promise;
  }

  get dataBearing(): number {
    return this.members.size;
  }
}
