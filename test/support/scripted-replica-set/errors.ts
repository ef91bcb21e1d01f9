/**
 * Command errors as MongoDB reports them: `{ ok: 0, errmsg, code, codeName }` plus the error
 * labels the server adds itself. The labels follow MongoDB's `error_labels.cpp`: a retriable
 * error of a retryable write (or of commit/abort) is `RetryableWriteError`; an error inside a
 * transaction that a new attempt could avoid is `TransientTransactionError`.
 */
import type { Document } from 'mongodb';

export const CODES = {
  BadValue: 2,
  FailedToParse: 9,
  TypeMismatch: 14,
  IllegalOperation: 20,
  NamespaceNotFound: 26,
  IndexNotFound: 27,
  PathNotViable: 28,
  CursorNotFound: 43,
  NamespaceExists: 48,
  MaxTimeMSExpired: 50,
  CommandNotFound: 59,
  WriteConcernFailed: 64,
  ImmutableField: 66,
  InvalidOptions: 72,
  IndexOptionsConflict: 85,
  IndexKeySpecsConflict: 86,
  UnsatisfiableWriteConcern: 100,
  WriteConflict: 112,
  CommandNotSupported: 115,
  CommandNotSupportedOnView: 166,
  PrimarySteppedDown: 189,
  TransactionTooOld: 225,
  NoSuchTransaction: 251,
  TransactionCommitted: 256,
  OperationNotSupportedInTransaction: 263,
  DuplicateKey: 11000,
  Interrupted: 11601,
  InterruptedDueToReplStateChange: 11602,
  NotWritablePrimary: 10107,
  NotPrimaryNoSecondaryOk: 13435,
  NotPrimaryOrSecondary: 13436,
  Location40324: 40324,
} as const;
export type CodeName = keyof typeof CODES;

export class CommandError extends Error {
  readonly code: number;
  constructor(
    readonly codeName: CodeName,
    message: string,
    /** More fields of the reply (`keyPattern`, `keyValue`, `errInfo`...). */
    readonly extra: Document = {},
  ) {
    super(message);
    this.code = CODES[codeName];
  }
}

export function fail(codeName: CodeName, message: string, extra?: Document): never {
  throw new CommandError(codeName, message, extra);
}

/** MongoDB's `isRetriableError`: the server went away or changed role, not the command's fault. */
const RETRIABLE = new Set([6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436]);

export interface LabelContext {
  /** `autocommit: false`, not commit/abort. */
  inTransaction: boolean;
  commitOrAbort: boolean;
  /** A write with `txnNumber` outside a transaction. */
  retryableWrite: boolean;
}

export function labelsFor(code: number, context: LabelContext, hasWriteConcernError = false): string[] {
  const labels: string[] = [];
  const transient = context.commitOrAbort
    ? code === CODES.NoSuchTransaction && !hasWriteConcernError
    : context.inTransaction && (code === CODES.WriteConflict || code === CODES.NoSuchTransaction || RETRIABLE.has(code));
  if (transient) labels.push('TransientTransactionError');
  if ((context.retryableWrite || context.commitOrAbort) && RETRIABLE.has(code)) labels.push('RetryableWriteError');
  return labels;
}

export function errorReply(error: CommandError, labels: string[]): Document {
  return {
    ok: 0,
    errmsg: error.message,
    code: error.code,
    codeName: error.codeName,
    ...error.extra,
    ...(labels.length > 0 ? { errorLabels: labels } : {}),
  };
}
