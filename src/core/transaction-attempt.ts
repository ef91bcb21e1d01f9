/**
 * One attempt of a migration's transaction, and how it ends. The bound handles
 * (`bound-handles.ts`) record on the attempt every server error its operations met, the ones the
 * migration caught included, and poison it when an operation cannot be part of a transaction (a
 * helper's TransactionLimitError, OperationNotSupportedInTransaction). Once the migration returned
 * or threw, `attemptVerdict` decides: run the transaction again, run the migration again outside a
 * transaction (or, under `always`, fail naming why), or fail. Rules:
 * - A poisoned attempt never commits, whatever the migration did with the error.
 * - NoSuchTransaction (251) means the server already aborted the transaction. It is never retried
 *   blindly: when an earlier error of the attempt aborted it, that error is the failure; when the
 *   attempt ran past the server's transaction lifetime limit, the migration does not fit a
 *   transaction; only otherwise (an election, say) is it retried as any transient error.
 * - A transient error (labelled TransientTransactionError, or a write conflict, code 112, which
 *   DocumentDB's gateway returns without the label) is retried a bounded number of times.
 * - Nothing is sent once the attempt is about to outlive the server's transaction lifetime limit:
 *   the attempt is poisoned instead. (DocumentDB's gateway runs the statements of a transaction it
 *   ended at its limit outside any transaction, and reports only at the commit.)
 */
import { performance } from 'node:perf_hooks';
import type { MongoClient } from 'mongodb';
import { isServerError, serverCode, type DriverError } from '../driver/errors.ts';
import { MongrateError, TransactionLimitError } from '../errors.ts';
import { TRANSACTION_ATTEMPTS, isTransientTransactionError } from './transactions.ts';

const NO_SUCH_TRANSACTION = 251;
const OPERATION_NOT_SUPPORTED_IN_TRANSACTION = 263;
/** MongoDB's default `transactionLifetimeLimitSeconds`. */
const DEFAULT_LIFETIME_LIMIT_MS = 60_000;


/** The server no longer knows the transaction: it aborted it (an error inside it, its lifetime limit, an election). */
function isNoSuchTransaction(error: unknown): boolean {
  return serverCode(error) === NO_SUCH_TRANSACTION || (error instanceof Error && error.cause !== error && serverCode(error.cause) === NO_SUCH_TRANSACTION);
}

/** The server refused to run an operation inside a transaction (263; how it refuses capped and time-series writes too). */
export function cannotRunInTransaction(error: unknown): boolean {
  if (!isServerError(error)) return false;
  if (error.code === OPERATION_NOT_SUPPORTED_IN_TRANSACTION) return true;
  const writeErrors: unknown = (error as { writeErrors?: unknown }).writeErrors;
  if (Array.isArray(writeErrors) && writeErrors.some((w: unknown) => (w as { code?: unknown } | null)?.code === OPERATION_NOT_SUPPORTED_IN_TRANSACTION)) return true;
  return /transaction/i.test(error.message) && /capped|time-?series/i.test(error.message);
}

/** How long before the server's lifetime limit an attempt stops sending: a statement in flight needs time too. */
const lifetimeMarginMs = (limitMs: number): number => Math.min(5000, limitMs / 10);

/** Why a transaction ran out of time: `aborted` when the server already ended it. */
function outlived(elapsedMs: number, limitMs: number, aborted: boolean): string {
  const ran = `it ran ${(elapsedMs / 1000).toFixed(1)} s`;
  const limit = `the server's transaction lifetime limit (${Math.round(limitMs / 1000)} s)`;
  return aborted ? `${ran}, past ${limit}, and the server aborted it` : `${ran}, too close to ${limit} to send more`;
}

export class TransactionAttempt {
  private readonly startedMs = performance.now();
  private readonly met: DriverError[] = [];
  private poisonedBy: TransactionLimitError | undefined;

  constructor(
    /** The server's transaction lifetime limit: the attempt stops sending before it. */
    private readonly lifetimeLimitMs: number,
  ) {}

  /** Milliseconds since the attempt started. */
  elapsedMs(): number {
    return performance.now() - this.startedMs;
  }

  /** What made the attempt unable to commit, if anything. */
  get poisoned(): TransactionLimitError | undefined {
    return this.poisonedBy;
  }

  /** The attempt cannot commit: every later operation throws `error` (the first poison wins). */
  poison(error: TransactionLimitError): TransactionLimitError {
    this.poisonedBy ??= error;
    return this.poisonedBy;
  }

  /** Before an operation: nothing more is sent once the attempt is poisoned, or about to outlive the server's limit. */
  throwIfPoisoned(): void {
    const elapsedMs = this.elapsedMs();
    if (this.poisonedBy === undefined && elapsedMs >= this.lifetimeLimitMs - lifetimeMarginMs(this.lifetimeLimitMs)) {
      this.poison(new TransactionLimitError('the migration', outlived(elapsedMs, this.lifetimeLimitMs, false)));
    }
    if (this.poisonedBy !== undefined) throw this.poisonedBy;
  }

  /**
   * An operation of the attempt failed with `error`: recorded, and what to throw returned (an
   * operation the server cannot run in a transaction poisons the attempt).
   */
  failed(error: unknown, what: string): unknown {
    if (!isServerError(error)) return error;
    this.met.push(error);
    if (!cannotRunInTransaction(error)) return error;
    const refused = new TransactionLimitError(what, `the server refused it (${error.codeName ?? String(error.code)}: ${error.message})`, { cause: error });
    return this.poison(refused);
  }

  /** The first error of the attempt that aborted the transaction on the server, other than NoSuchTransaction itself. */
  firstAbort(): DriverError | undefined {
    return this.met.find((error) => error.code !== NO_SUCH_TRANSACTION);
  }
}

/** How an attempt that did not commit ends. */
export type AttemptVerdict =
  | { kind: 'retry' }
  /** The migration does not fit a transaction: run it again outside one (`auto`), or fail saying so. */
  | { kind: 'outside'; why: TransactionLimitError }
  /** Fail with `error` (what the migration threw, or the cause the verdict found). */
  | { kind: 'fail'; error: unknown };

export interface VerdictContext {
  attempt: TransactionAttempt;
  /** 1 for the first attempt. */
  attemptNumber: number;
  /** The lease was lost or the run interrupted: never retried. */
  stopping: boolean;
  /** The server's transaction lifetime limit, read only when a verdict needs it. */
  lifetimeLimitMs: () => Promise<number>;
}

export async function attemptVerdict(error: unknown, context: VerdictContext): Promise<AttemptVerdict> {
  const { attempt } = context;
  if (error instanceof MongrateError && error.code === 'LOCK_LOST') return { kind: 'fail', error };
  if (attempt.poisoned !== undefined) return { kind: 'outside', why: attempt.poisoned };
  if (error instanceof TransactionLimitError) return { kind: 'outside', why: error };
  if (context.stopping) return { kind: 'fail', error };
  const retry = context.attemptNumber < TRANSACTION_ATTEMPTS;
  if (isNoSuchTransaction(error)) {
    const cause = attempt.firstAbort();
    if (cause !== undefined) {
      if (isTransientTransactionError(cause)) return retry ? { kind: 'retry' } : { kind: 'fail', error: cause };
      return { kind: 'fail', error: new MongrateError('MIGRATION_FAILED', `an error inside the transaction aborted it: ${cause.message}`, { cause }) };
    }
    const limitMs = await context.lifetimeLimitMs();
    const elapsedMs = attempt.elapsedMs();
    if (elapsedMs >= limitMs) return { kind: 'outside', why: new TransactionLimitError('the migration', outlived(elapsedMs, limitMs, true), { cause: error }) };
  }
  if (isTransientTransactionError(error) && retry) return { kind: 'retry' };
  return { kind: 'fail', error };
}

/**
 * The server's `transactionLifetimeLimitSeconds` in milliseconds, asked once; MongoDB's default
 * where the server does not say (a managed service may refuse getParameter).
 */
export function lifetimeLimitReader(client: MongoClient): () => Promise<number> {
  let limit: Promise<number> | undefined;
  return () =>
    (limit ??= client
      .db('admin')
      .command({ getParameter: 1, transactionLifetimeLimitSeconds: 1 })
      .then(
        (reply) => {
          const seconds: unknown = reply.transactionLifetimeLimitSeconds;
          return typeof seconds === 'number' && seconds > 0 ? seconds * 1000 : DEFAULT_LIFETIME_LIMIT_MS;
        },
        () => DEFAULT_LIFETIME_LIMIT_MS,
      ));
}
