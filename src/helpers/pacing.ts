/**
 * Throttling of the batched helpers (`maxDocsPerSecond`, `pauseMs`), to protect a production
 * cluster from a migration that would otherwise write as fast as it can.
 *
 * - `maxDocsPerSecond` holds the whole call to that rate: after every batch (the last one too, so
 *   helper calls one after another still keep to it) the helper waits until `done / rate` seconds
 *   have passed since it started. A helper slower than the rate never waits.
 * - `pauseMs` is a pause between two batches, before the next one is read. With both, the wait
 *   is the longer of the two, which satisfies both.
 *
 * Waits end early when the run is interrupted: the helper then stops as after any batch. Inside a
 * transaction nothing waits: its writes only reach the cluster at the commit, so waiting would
 * only hold the transaction open longer.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { usageError } from '../errors.ts';
import type { HelperContext, Throttle } from './types.ts';

/** Local time and waiting, swappable by unit tests. */
export interface PacingClock {
  nowMs(): number;
  sleep(ms: number, signal: AbortSignal | undefined): Promise<void>;
}

const SYSTEM_CLOCK: PacingClock = {
  nowMs: () => performance.now(),
  sleep: async (ms, signal) => {
    // an interrupt ends the wait quietly: the helper's own check after the batch reports it
    await sleep(ms, undefined, signal === undefined ? {} : { signal }).catch(() => undefined);
  },
};

/** Throws a usage error naming the bad option; returns whether the call is throttled at all. */
export function checkThrottle(options: Throttle, what: string): boolean {
  const { maxDocsPerSecond, pauseMs } = options;
  if (maxDocsPerSecond !== undefined && !(typeof maxDocsPerSecond === 'number' && Number.isFinite(maxDocsPerSecond) && maxDocsPerSecond > 0)) {
    throw usageError(`${what}: maxDocsPerSecond must be a number > 0, got ${String(maxDocsPerSecond)}`);
  }
  if (pauseMs !== undefined && !(typeof pauseMs === 'number' && Number.isFinite(pauseMs) && pauseMs >= 0)) {
    throw usageError(`${what}: pauseMs must be a number >= 0, got ${String(pauseMs)}`);
  }
  return maxDocsPerSecond !== undefined || (pauseMs ?? 0) > 0;
}

export class Pacer {
  private readonly startedMs: number;
  /** Milliseconds spent waiting so far (for the helper's summary line). */
  waitedMs = 0;

  constructor(
    private readonly ctx: Pick<HelperContext, 'signal'>,
    private readonly options: Throttle,
    private readonly clock: PacingClock = SYSTEM_CLOCK,
  ) {
    this.startedMs = clock.nowMs();
  }

  /** How long to wait now, `done` documents in; `between`: another batch follows. */
  waitMs(done: number, between: boolean): number {
    const { maxDocsPerSecond, pauseMs } = this.options;
    const rateWait = maxDocsPerSecond === undefined ? 0 : this.startedMs + (done * 1000) / maxDocsPerSecond - this.clock.nowMs();
    return Math.max(0, rateWait, between ? (pauseMs ?? 0) : 0);
  }

  /** Between two batches, before the next one is read. */
  beforeNextBatch(done: number): Promise<void> {
    return this.wait(this.waitMs(done, true));
  }

  /** After the last batch: only the rate applies. */
  afterLastBatch(done: number): Promise<void> {
    return this.wait(this.waitMs(done, false));
  }

  private async wait(ms: number): Promise<void> {
    if (ms <= 0 || this.ctx.signal?.aborted === true) return;
    const before = this.clock.nowMs();
    await this.clock.sleep(ms, this.ctx.signal);
    this.waitedMs += this.clock.nowMs() - before;
  }
}

/** Checks the options; whether this call waits at all (throttled, and not inside a transaction). */
export function paces(ctx: HelperContext, options: Throttle, what: string): boolean {
  return checkThrottle(options, what) && ctx.session?.inTransaction() !== true;
}

/** ` (throttled: waited 3.2 s)` for a helper's summary line, or nothing. */
export function pacingNote(pacer: Pacer | undefined): string {
  return pacer === undefined ? '' : ` (throttled: waited ${(pacer.waitedMs / 1000).toFixed(1)} s)`;
}
