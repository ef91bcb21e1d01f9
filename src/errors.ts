/**
 * Typed errors. Every error the core raises on purpose carries a stable `code`; the CLI maps
 * the code to an exit code in one place (see `exitCodeFor`).
 */
export type ErrorCode =
  | 'MIGRATION_FAILED'
  | 'USAGE'
  | 'CONFIG'
  | 'LOCK_HELD'
  | 'CHECK_FAILED'
  | 'UNREACHABLE'
  | 'INTERRUPTED'
  /** This runner's lease ran out or was taken: it stopped writing. */
  | 'LOCK_LOST'
  /** Two migrations share one id. */
  | 'DUPLICATE_ID'
  /** The server did not answer what it is or supports (buildInfo, hello, the transaction probe). */
  | 'SERVER_PROBE_FAILED'
  /** A helper's work does not fit in a transaction; it wrote nothing (see TransactionLimitError). */
  | 'TRANSACTION_LIMIT'
  /** The server refused a command mongrate itself sent (not a migration's). */
  | 'SERVER_ERROR';

const EXIT_CODES: Record<ErrorCode, number> = {
  MIGRATION_FAILED: 1,
  USAGE: 2,
  CONFIG: 2,
  LOCK_HELD: 3,
  CHECK_FAILED: 4,
  UNREACHABLE: 5,
  INTERRUPTED: 130,
  LOCK_LOST: 3,
  DUPLICATE_ID: 2,
  SERVER_PROBE_FAILED: 5,
  TRANSACTION_LIMIT: 1,
  SERVER_ERROR: 1,
};

export class MongrateError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MongrateError';
    this.code = code;
  }

  get exitCode(): number {
    return EXIT_CODES[this.code];
  }
}

export function exitCodeFor(code: ErrorCode): number {
  return EXIT_CODES[code];
}

/**
 * Thrown by a helper running inside a transaction whose work does not fit one: more documents
 * than `transactionDocumentLimit`, or collection/index changes a transaction cannot hold. The
 * helper wrote nothing. Under `transactions: 'auto'` the runner rolls the migration back and runs
 * it again outside a transaction; under `'always'` the migration fails with this message.
 */
export class TransactionLimitError extends MongrateError {
  constructor(
    /** e.g. `bumpSchemaVersion(users)`. */
    readonly what: string,
    /** Why it does not fit, e.g. `it would touch 3000 documents, more than transactionDocumentLimit (1000)`. */
    readonly reason: string,
  ) {
    super('TRANSACTION_LIMIT', `${what} cannot run inside a transaction: ${reason}`);
    this.name = 'TransactionLimitError';
  }
}

export const usageError = (message: string): MongrateError => new MongrateError('USAGE', message);
export const configError = (message: string, cause?: unknown): MongrateError =>
  new MongrateError('CONFIG', message, cause === undefined ? undefined : { cause });

/** The message of anything thrown, without assuming it is an Error. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
