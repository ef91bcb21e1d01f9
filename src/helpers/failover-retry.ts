/**
 * Idempotent helper steps sent again after a failover or a throttling answer.
 *
 * Failover: a primary that steps down (an election, Atlas's weekly maintenance) answers the
 * commands in flight with "not primary" or drops their connection. The driver retries a retryable
 * write or a read once, but not a multi-document `updateMany`, not a `getMore` (its cursor died with
 * the old primary), and not twice: an election longer than its one retry fails the step. A step
 * that gives the same result however many times it runs is sent again, a few times, after saying
 * so: a declarative spec's server-side update (defaults only where missing, renames only where the
 * source is, the main update filtered on what it changes), a page read (a new `find` from after
 * the last `_id` read), a batch of conditional writes (each filtered on the values it replaces, or
 * a delete or upsert by `_id`), an index build (`createIndexes` of an index that now exists answers
 * ok). The driver's server selection waits for the new primary (`serverSelectionTimeoutMS`, 30 s by
 * default, longer than an election).
 *
 * Throttling: Azure Cosmos DB RU answers a request over the provisioned throughput with 16500
 * (TooManyRequests) without doing it. The step is sent again after a pause, on the schedule of
 * mongrate's own documents (driver/own-documents.ts), with one line per helper call.
 *
 * Neither inside a transaction (the transaction is retried as a whole), nor after an interrupt;
 * the lock is checked (`ctx.fence`) before each new attempt.
 *
 * A spec's step is also bounded in time on MongoDB (`maxTimeMS`, `commandTimeLimitMs`: half the
 * lease): a runner killed or fenced off leaves no update running on the server for long (a client
 * that disconnects has its reads cancelled, not its writes). One that runs out of time has done
 * part of its work, kept; it is sent again, the lock checked first, until it ends in time.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { hasServerCode, isConnectionLoss, isThrottled } from '../driver/errors.ts';
import { THROTTLED_ATTEMPTS, throttledPause } from '../driver/own-documents.ts';
import { messageOf } from '../errors.ts';
import type { HelperContext } from './types.ts';

/** MaxTimeMSExpired: the command ran out of its time limit; what it changed stays. */
const MAX_TIME_EXPIRED = 50;

/** Sends of one step after failovers before its error stands: the first and three more. */
export const FAILOVER_ATTEMPTS = 4;

/** What a step is, in the line that says it is sent again: `step`, `page read`, `batch`, `index build`. */
export type StepKind = 'step' | 'page read' | 'batch' | 'index build';

/** Helper calls (by context and name) that said they were throttled: the line is said once per call. */
const saidThrottled = new WeakMap<HelperContext, Set<string>>();

function sayThrottled(ctx: HelperContext, what: string, error: unknown): void {
  let said = saidThrottled.get(ctx);
  if (said === undefined) {
    said = new Set();
    saidThrottled.set(ctx, said);
  }
  if (said.has(what)) return;
  said.add(what);
  ctx.log?.(`${what}: throttled by the server (16500: ${messageOf(error)}); waiting and sending again`);
}

/** Whether a failed step may be sent again at all: never in a transaction, never once interrupted. */
function mayResend(ctx: HelperContext): boolean {
  return ctx.session?.inTransaction() !== true && ctx.signal?.aborted !== true;
}

/**
 * Counts the attempts of one step. `again(error)` says whether to send it once more (after the
 * line, the pause and the lock check), and false when the error stands.
 */
export class Resend {
  private failovers = 1;
  private throttled = 1;

  constructor(
    private readonly ctx: HelperContext,
    private readonly what: string,
    private readonly kind: StepKind,
  ) {}

  /** `cause` 'throttled': the caller found the throttling in the error's parts (a bulk write's statements). */
  async again(error: unknown, cause?: 'throttled'): Promise<boolean> {
    const { ctx, what } = this;
    if (!mayResend(ctx)) return false;
    if ((cause === 'throttled' || isThrottled(error)) && this.throttled < THROTTLED_ATTEMPTS) {
      sayThrottled(ctx, what, error);
      await sleep(throttledPause(this.throttled));
      this.throttled += 1;
    } else if (isConnectionLoss(error) && this.failovers < FAILOVER_ATTEMPTS) {
      ctx.log?.(`${what}: the server went away (${messageOf(error)}); sending the ${this.kind} again once a primary is back (it is idempotent)`);
      this.failovers += 1;
    } else {
      return false;
    }
    if (ctx.signal?.aborted === true) return false;
    ctx.fence?.();
    return true;
  }
}

/** Sends `send` until it succeeds, or its error is neither a failover nor throttling, or attempts run out. */
export async function resending<T>(ctx: HelperContext, what: string, kind: StepKind, send: () => Promise<T>): Promise<T> {
  const resend = new Resend(ctx, what, kind);
  for (;;) {
    try {
      return await send();
    } catch (error) {
      if (!(await resend.again(error))) throw error;
    }
  }
}

/** `maxTimeMS` for a step where the server is MongoDB and a limit is set; nothing otherwise. */
export function stepTimeLimit(ctx: HelperContext): { maxTimeMS?: number } {
  const inTransaction = ctx.session?.inTransaction() === true;
  return ctx.commandTimeLimitMs === undefined || inTransaction || ctx.server.flavour !== 'mongodb' ? {} : { maxTimeMS: Math.max(1000, Math.round(ctx.commandTimeLimitMs)) };
}

/** Sends `send` until it ends within its time limit, checking the lock before each new attempt. */
async function untilInTime<T>(ctx: HelperContext, what: string, send: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (error) {
      if (!hasServerCode(error, MAX_TIME_EXPIRED) || ctx.signal?.aborted === true) throw error;
      ctx.log?.(`${what}: the step ran out of its time limit (${String(stepTimeLimit(ctx).maxTimeMS)} ms, half the lease) with part of its work done; the lock checked, sending it again (attempt ${attempt + 1})`);
      ctx.fence?.();
    }
  }
}

/** A declarative spec's server-side step: sent again after a failover, throttling, or running out of time. */
export function idempotentStep<T>(ctx: HelperContext, what: string, send: () => Promise<T>): Promise<T> {
  return resending(ctx, what, 'step', () => untilInTime(ctx, what, send));
}
