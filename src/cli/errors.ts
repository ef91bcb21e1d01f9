/**
 * The one table between the core's errors and the terminal: error codes to exit codes, and hints
 * (ways out, in API terms) to the commands and flags a CLI user types.
 */
import type { ErrorCode, Hint, HintOptions, HintSetting, ResultError } from '../index.ts';

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

/** Each hint option as a flag. */
const FLAGS: { [K in keyof Required<HintOptions>]: string } = {
  retryFailed: '--retry-failed',
  allowOutOfOrder: '--allow-out-of-order',
  validate: '--no-validate',
  lockWait: '--lock-wait <seconds>',
  force: '--force',
};

function flagsOf(options: HintOptions | undefined): string[] {
  return (Object.keys(options ?? {}) as (keyof HintOptions)[]).map((name) => FLAGS[name]);
}

/** Each setting as its flag, the config key and, where there is one, the command that creates it. */
const SETTINGS: Record<HintSetting, (purpose: string) => string> = {
  database: (purpose) => `pass \`--db <name>\` (or set \`database\` in the config, or MONGODB_DATABASE) to ${purpose}`,
  migrationsDir: (purpose) => `pass \`--migrations-dir <dir>\` (or set \`migrationsDir\` in the config) to ${purpose}, or run \`mongrate init\` to create it`,
};

/** One hint as a clause: "run `mongrate down --retry-failed` to finish reverting it". */
export function hintWords(hint: Hint): string {
  if (hint.setting !== undefined) return SETTINGS[hint.setting](hint.purpose);
  const flags = flagsOf(hint.options);
  if (hint.command === undefined) return `pass \`${flags.join(' ')}\` to ${hint.purpose}`;
  return `run \`${['mongrate', hint.command, ...flags].join(' ')}\` to ${hint.purpose}`;
}

/** The message a CLI user reads: what happened, then the ways out as commands and flags. */
export function withAdvice(message: string, hints: readonly Hint[] | undefined): string {
  if (hints === undefined || hints.length === 0) return message;
  return `${message}; ${hints.map(hintWords).join(', or ')}`;
}

/** An error as `--json` documents carry it: its code, its message with the advice, the migration it is about. */
export function errorDocument(error: ResultError): { code: string; message: string; id?: string } {
  return { code: error.code, message: withAdvice(error.message, error.hints), ...(error.id === undefined ? {} : { id: error.id }) };
}
