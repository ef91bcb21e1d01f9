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
  | 'INTERRUPTED';

const EXIT_CODES: Record<ErrorCode, number> = {
  MIGRATION_FAILED: 1,
  USAGE: 2,
  CONFIG: 2,
  LOCK_HELD: 3,
  CHECK_FAILED: 4,
  UNREACHABLE: 5,
  INTERRUPTED: 130,
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

export const usageError = (message: string): MongrateError => new MongrateError('USAGE', message);
export const configError = (message: string, cause?: unknown): MongrateError =>
  new MongrateError('CONFIG', message, cause === undefined ? undefined : { cause });

/** The message of anything thrown, without assuming it is an Error. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
