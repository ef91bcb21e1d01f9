/**
 * The one table between the core's error codes and the CLI's exit codes, and the one function
 * (`exitCodeOf`) from a command's result to its exit code. How errors and their hints read is in
 * advice.ts.
 */
import type { ErrorCode } from '../index.ts';

/**
 * Exit codes, as the README's table lists them, most telling first: a command that ends with
 * several errors (one per database) exits with the one listed first. Every exit code of the CLI
 * comes from here, through `exitCodeOf`.
 */
export const EXIT_CODES = {
  INTERRUPTED: 130,
  MIGRATION_FAILED: 1,
  TRANSACTION_LIMIT: 1,
  SERVER_ERROR: 1,
  USAGE: 2,
  CONFIG: 2,
  AUTH_FAILED: 2,
  DUPLICATE_ID: 2,
  LOCK_HELD: 3,
  LOCK_LOST: 3,
  CHECK_FAILED: 4,
  UNREACHABLE: 5,
  SERVER_PROBE_FAILED: 5,
} as const satisfies Record<ErrorCode, number>;

/** Exit codes in the order of the table: interrupted, a migration failed, usage, a held lock, check findings, unreachable. */
const PRECEDENCE: readonly number[] = [...new Set(Object.values(EXIT_CODES))];

/** A code the table does not know (a newer core, a bug) is a failure, never success. */
export function exitCodeFor(code: string): number {
  return (EXIT_CODES as Record<string, number | undefined>)[code] ?? 1;
}

/** What a command's result says about how it ended: its error, and across databases each database's. */
export interface Ending {
  error?: { code: string } | undefined;
  databases?: readonly { error?: { code: string } | undefined }[];
}

/**
 * The one function from a result to the exit code: 0 without an error; else its code's; across
 * databases (a fan-out's result) the most telling of the command's error and every database's.
 */
export function exitCodeOf(result: Ending): number {
  const errors = [result.error, ...(result.databases ?? []).map((d) => d.error)];
  const codes = errors.flatMap((error) => (error === undefined ? [] : [exitCodeFor(error.code)]));
  return PRECEDENCE.find((code) => codes.includes(code)) ?? 0;
}
