/**
 * An idempotent helper step sent again after a failover. A primary that steps down (an election,
 * Atlas's weekly maintenance) answers the commands in flight with "not primary" or drops their
 * connection; the driver retries retryable writes itself, but not a multi-document `updateMany`.
 * A step that gives the same result however many times it runs (a declarative spec's server-side
 * update: defaults only where missing, renames only where the source is, the main update filtered
 * on what it changes) is sent once more, after saying so: the driver's server selection waits for
 * the new primary (`serverSelectionTimeoutMS`, 30 s by default, longer than an election). Never
 * inside a transaction (the transaction itself is retried), and never after an interrupt.
 */
import { isConnectionLoss } from '../driver/errors.ts';
import { messageOf } from '../errors.ts';
import type { HelperContext } from './types.ts';

export async function idempotentStep<T>(ctx: HelperContext, what: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    if (!isConnectionLoss(error) || ctx.session?.inTransaction() === true || ctx.signal?.aborted === true) throw error;
    ctx.log?.(`${what}: the server went away (${messageOf(error)}); sending the step again once a primary is back (it is idempotent)`);
    ctx.fence?.();
    return await send();
  }
}
