/**
 * Typed errors. Every error the core raises on purpose carries a stable `code` and, where there is
 * a way out, `hints`: what to do next in API terms (`down({ retryFailed: true })`), never CLI
 * flags. A command hands them to its caller as the result's `error` (`resultErrorOf`; the rule is
 * in types.ts's header). The CLI maps codes to exit codes in one table (src/cli/exit-codes.ts)
 * and words hints as commands and flags (src/cli/advice.ts).
 */
import type { ResultError } from './types.ts';

export type ErrorCode =
  | 'MIGRATION_FAILED'
  | 'USAGE'
  | 'CONFIG'
  /** The server refused the connection string's credentials. */
  | 'AUTH_FAILED'
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

/** A Migrator method, and the CLI command of the same name. */
export type HintCommand = 'up' | 'down' | 'redo' | 'status' | 'validate' | 'repair' | 'unlock';

/** A config setting a hint asks to set (the CLI also has a flag for each). */
export type HintSetting = 'database' | 'migrationsDir';

/** Options a hint may name, spelled as the API spells them. */
export interface HintOptions {
  retryFailed?: true;
  allowOutOfOrder?: true;
  /** `false`: skip the check of applied files. */
  validate?: false;
  /** A number of seconds, chosen by the reader. */
  lockWait?: 'seconds';
  force?: true;
  /** A destructive command in a protected environment, confirmed. */
  confirmed?: true;
}

/**
 * One way out of an error, in API terms: call `command` with `options`
 * (`{ command: 'down', options: { retryFailed: true } }` is `migrator.down({ retryFailed: true })`),
 * or, without a command, call the one that failed again with `options`.
 */
export interface Hint {
  command?: HintCommand;
  options?: HintOptions;
  /** Set this config setting (e.g. `database`): with `command`/`options` absent, the whole advice. */
  setting?: HintSetting;
  /** What it achieves, e.g. 'finish reverting it'. */
  purpose: string;
}

export class MongrateError extends Error {
  readonly code: ErrorCode;
  /** Ways out, most likely first; empty when there is nothing to suggest. */
  readonly hints: readonly Hint[];

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; hints?: readonly Hint[] }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MongrateError';
    this.code = code;
    this.hints = options?.hints ?? [];
  }
}

/**
 * Work that does not fit the migration's transaction: a helper's (more documents than
 * `transactionDocumentLimit`, or collection/index changes a transaction cannot hold; the helper
 * wrote nothing), an operation the server refused to run inside a transaction, or a transaction
 * that outlived the server's lifetime limit. Under `transactions: 'auto'` the runner rolls the
 * migration back and runs it again outside a transaction; under `'always'` the migration fails
 * with this message. Caught or not, it ends the transaction's attempt.
 */
export class TransactionLimitError extends MongrateError {
  constructor(
    /** e.g. `bumpSchemaVersion(users)`. */
    readonly what: string,
    /** Why it does not fit, e.g. `it would touch 3000 documents, more than transactionDocumentLimit (1000)`. */
    readonly reason: string,
    /** `cause`: the server's refusal, when it came from the server. */
    options?: { cause?: unknown },
  ) {
    super('TRANSACTION_LIMIT', `${what} cannot run inside a transaction: ${reason}`, options);
    this.name = 'TransactionLimitError';
  }
}

/** A MongrateError as a result carries it: `cause` is the error itself, so its stack (and its own `cause`) stay at hand. */
export function resultErrorOf(error: MongrateError): ResultError {
  return { code: error.code, message: error.message, ...(error.hints.length === 0 ? {} : { hints: error.hints }), cause: error };
}

export const usageError = (message: string, hints?: readonly Hint[]): MongrateError =>
  new MongrateError('USAGE', message, hints === undefined ? undefined : { hints });
export const configError = (message: string, cause?: unknown): MongrateError =>
  new MongrateError('CONFIG', message, cause === undefined ? undefined : { cause });

/** The message of anything thrown, without assuming it is an Error. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
