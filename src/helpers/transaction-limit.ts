/**
 * What a helper may do inside the migration's transaction. A transaction has to stay small (by
 * default 60 s, and MongoDB advises at most ~1,000 modified documents) and cannot hold collection
 * or index changes; a helper whose work does not fit writes nothing and throws
 * `TransactionLimitError`, and the runner reruns the migration outside a transaction (`auto`),
 * even if the migration caught the error: the helper tells the runner before throwing it.
 */
import { TransactionLimitError } from '../errors.ts';
import type { HelperContext } from './types.ts';

export const DEFAULT_TRANSACTION_DOCUMENT_LIMIT = 1000;

/** Why touching `documents` documents does not fit one transaction under `limit`; undefined when it does. */
export function transactionOverflow(documents: number, limit: number = DEFAULT_TRANSACTION_DOCUMENT_LIMIT): string | undefined {
  if (documents <= limit) return undefined;
  return `it would touch ${documents} documents, more than transactionDocumentLimit (${limit})`;
}

const inTransaction = (ctx: HelperContext): boolean => ctx.session?.inTransaction() === true;

/** The runner hears of it first: the attempt ends with it even if the migration catches it. */
function refused(ctx: HelperContext, error: TransactionLimitError): TransactionLimitError {
  ctx.onTransactionLimit?.(error);
  return error;
}

/**
 * Throws before the first write when the helper runs in a transaction its documents do not fit.
 * Waits for the count only inside a transaction (where it was taken first anyway).
 */
export async function refuseOversizedTransaction(ctx: HelperContext, what: string, documents: Promise<number>): Promise<void> {
  if (!inTransaction(ctx)) return;
  const reason = transactionOverflow(await documents, ctx.transactionDocumentLimit);
  if (reason !== undefined) throw refused(ctx, new TransactionLimitError(what, reason));
}

/** DDL (renames, index builds, collMod) cannot run inside a multi-document transaction. */
export function refuseInTransaction(ctx: HelperContext, what: string): void {
  if (inTransaction(ctx)) throw refused(ctx, new TransactionLimitError(what, 'it changes collections or indexes, which a transaction cannot hold'));
}
