/**
 * An idempotent helper step sent again after a failover. A primary that steps down (an election,
 * Atlas's weekly maintenance) answers the commands in flight with "not primary" or drops their
 * connection; the driver retries retryable writes itself, but not a multi-document `updateMany`.
 * A step that gives the same result however many times it runs (a declarative spec's server-side
 * update: defaults only where missing, renames only where the source is, the main update filtered
 * on what it changes) is sent once more, after saying so: the driver's server selection waits for
 * the new primary (`serverSelectionTimeoutMS`, 30 s by default, longer than an election). Never
 * inside a transaction (the transaction itself is retried), and never after an interrupt.
 *
 * Such a step is also bounded in time on MongoDB (`maxTimeMS`, `commandTimeLimitMs`: half the
 * lease): a runner killed or fenced off leaves no update running on the server for long (a client
 * that disconnects has its reads cancelled, not its writes). One that runs out of time has done
 * part of its work, kept; it is sent again, the lock checked first, until it ends in time.
 */
import { hasServerCode, isConnectionLoss } from '../driver/errors.ts';
import { messageOf } from '../errors.ts';
import type { HelperContext } from './types.ts';

/** MaxTimeMSExpired: the command ran out of its time limit; what it changed stays. */
const MAX_TIME_EXPIRED = 50;

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

export async function idempotentStep<T>(ctx: HelperContext, what: string, send: () => Promise<T>): Promise<T> {
  try {
    return await untilInTime(ctx, what, send);
  } catch (error) {
    if (!isConnectionLoss(error) || ctx.session?.inTransaction() === true || ctx.signal?.aborted === true) throw error;
    ctx.log?.(`${what}: the server went away (${messageOf(error)}); sending the step again once a primary is back (it is idempotent)`);
    ctx.fence?.();
    return await untilInTime(ctx, what, send);
  }
}
