/**
 * Hints (ways out, in API terms) as the commands and flags a CLI user types, and errors as the
 * `--json` documents carry them.
 */
import type { Hint, HintOptions, HintSetting, ResultError } from '../index.ts';

/** Each hint option as a flag. */
const FLAGS: { [K in keyof Required<HintOptions>]: string } = {
  retryFailed: '--retry-failed',
  allowOutOfOrder: '--allow-out-of-order',
  validate: '--no-validate',
  lockWait: '--lock-wait <seconds>',
  force: '--force',
  confirmed: '--yes',
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
