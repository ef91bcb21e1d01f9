/**
 * What a command is: data in, data out. `run` calls the public API and returns a result (its
 * `error` is the one error channel); `render` prints that result in words; the `--json` document
 * and the exit code are made from it in one place (`finish`), for one database or many. A command
 * that works on a database (`DatabaseCommand`) runs on the one the config names, or on each of
 * several through `createFanOut` (across.ts), from the same `run`: adding a command means adding
 * its file and listing it in main.ts, nothing else.
 */
import type { Command } from 'commander';
import type { FanOutResult, Migrator, ResultError } from '../index.ts';
import { exitCodeOf } from './exit-codes.ts';
import type { Invocation } from './invocation.ts';
import type { Renderer } from './renderer.ts';

/** What every command returns: its own facts, and what stopped it, if anything. */
export interface CommandResult {
  error?: ResultError | undefined;
}

interface Presentation<R extends CommandResult> {
  /** Declares the command on the program: its name, arguments, options and description. */
  declare(program: Command): Command;
  /** Prints the result in words (never with `--json`); the `error:` line follows unless `showsError` says it was shown. */
  render(out: Renderer, result: R): void;
  /** The `--json` document's fields besides `command`, `ok` and `error`; by default the result's own. */
  json?(result: R): object;
  /** Errors `render` already shows in its own words (a check's findings): no `error:` line for them. */
  showsError?(error: ResultError): boolean;
}

/** A command that works on the project, not on a database: `init`, `create`, `import`. */
export interface ProjectCommand<F, R extends CommandResult> extends Presentation<R> {
  run(flags: F, args: string[], invocation: Invocation): Promise<R>;
}

/** A command that works on a database, and on each of several: `status`, `up`, `down`, ... */
export interface DatabaseCommand<F, R extends CommandResult> extends Presentation<R> {
  run(migrator: Migrator, flags: F, args: string[], invocation: Invocation): Promise<R>;
  /** Shows what the migrator does while the command runs (lock waits, migrations, progress). */
  follow?(out: Renderer, migrator: Migrator): Promise<void> | void;
  /** On one database, Ctrl-C stops it at the next safe point (across databases it always does). */
  interruptible?: boolean;
  /** Across databases: why these flags cannot run there (a question it would ask per database). */
  refuseAcross?(flags: F): ResultError | undefined;
  /** Across databases: the summary table's count column, e.g. how many migrations each database applied. */
  count?: {
    title: string;
    of(result: R): number | undefined;
    /** A dry run's column is titled `Would <command>`. */
    dryRun?(result: R): boolean;
  };
  /** Across databases, instead of each database's own lines and the summary table (status: one row of counts per database). */
  across?: {
    render(out: Renderer, result: FanOutResult<R>): void;
    json(result: FanOutResult<R>): object;
  };
}

/** Runs a command's work with the invocation and returns the exit code; main.ts provides it. */
export type Start = (work: (invocation: Invocation, flags: object, args: string[]) => Promise<number>) => (...params: unknown[]) => Promise<void>;

/** A command ready to be put on the program. */
export type CliCommand = (program: Command, start: Start) => void;

/** The result's own fields, without its error: the default `--json` fields. */
export function withoutError(result: CommandResult): object {
  const { error: _error, ...fields } = result;
  return fields;
}

/** Prints a result in words, then its `error:` line unless `render` showed the error itself. */
export function say<R extends CommandResult>(out: Renderer, command: Presentation<R>, result: R): void {
  command.render(out, result);
  if (result.error !== undefined && command.showsError?.(result.error) !== true) out.report(result.error);
}

/**
 * Prints one result (in words, or as its `--json` document) and returns the exit code: what every
 * command ends with on one database.
 */
export function finish<R extends CommandResult>(out: Renderer, command: Presentation<R>, result: R): number {
  if (!out.json) say(out, command, result);
  else if (result.error === undefined) out.emitJson({ ok: true, ...jsonFields(command, result) });
  else out.report(result.error, jsonFields(command, result));
  return exitCodeOf(result);
}

/** The `--json` document's fields of a result, besides `command`, `ok` and `error`. */
export function jsonFields<R extends CommandResult>(command: Presentation<R>, result: R): object {
  return command.json?.(result) ?? withoutError(result);
}
