/**
 * The one place that writes to the terminal: colours (chalk), spinners (ora), `--json` documents,
 * secrets scrubbing and the mapping of errors to exit codes (through cli/errors.ts). Every line
 * passes `redactText`, and JSON documents `redactValue` before they are serialised. What a run,
 * and the status table print is worded in follow-run.ts and status-table.ts.
 */
import { inspect } from 'node:util';
import { Chalk, type ChalkInstance } from 'chalk';
import type { Ora } from 'ora';
import type { Hint, LockInfo, Migrator, RunResult } from '../index.ts';
import { MongrateError } from '../errors.ts';
import { redactText, redactValue, secretsOf } from '../util/redact.ts';
import { exitCodeFor, withAdvice } from './errors.ts';

export interface RendererOptions {
  json: boolean;
  color: boolean;
  verbose: boolean;
  quiet: boolean;
  command: string;
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

/** What an error report holds, whether it was thrown or is a run result's error. */
export interface Failure {
  code: string;
  message: string;
  hints?: readonly Hint[] | undefined;
  /** The migration it is about, if any (`error.id` in `--json`). */
  id?: string | undefined;
  /** Shown with `-v`: what was thrown (a migration's error, or mongrate's own), with its stack and causes. */
  cause?: unknown;
}

/**
 * Fewer columns than this and a spinner line cannot be drawn; at 0 ora divides the line width by
 * zero, loops forever clearing lines and starves the heartbeat and the signal handlers.
 */
export const MIN_SPINNER_COLUMNS = 20;
/** The width of output that goes to no terminal and has no COLUMNS: wide, but not unbounded. */
const DEFAULT_WIDTH = 120;
/** `cause` chains printed with -v stop here (a cycle, or a library that nests deeply). */
const MAX_CAUSES = 5;

/** Who holds (or held) a lock: `host pid 123 (up) since 2026-01-01T10:42:00.000Z`. */
export function holderWords(lock: LockInfo): string {
  return `${lock.host} pid ${lock.pid} (${lock.command}) since ${lock.acquiredAt.toISOString()}`;
}

function colourLevel(options: RendererOptions): 0 | 1 | 2 | 3 {
  if (options.json || !options.color) return 0;
  const env = options.env;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 0;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force === '0' || force === 'false' ? 0 : force === '2' ? 2 : force === '3' ? 3 : 1;
  return options.stdout.isTTY === true ? 1 : 0;
}

/** The stack of an error (or its message), then each `cause` under it. */
function traceLines(error: unknown): string[] {
  const lines: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth <= MAX_CAUSES; depth++) {
    // a thrown non-Error (a string, an object) is shown as Node shows values
    const text = current instanceof Error ? (current.stack ?? `${current.name}: ${current.message}`) : inspect(current);
    lines.push(depth === 0 ? text : `caused by: ${text}`);
    current = current instanceof Error ? current.cause : undefined;
  }
  return lines;
}

export class Renderer {
  readonly chalk: ChalkInstance;
  private secrets: string[] = [];
  private spinner: Ora | undefined;
  /** ora, imported only when spinners will be shown (a TTY, not CI): it is the CLI's slowest import. */
  private ora: typeof import('ora').default | undefined;
  private spinnerText = '';

  constructor(private readonly options: RendererOptions) {
    this.chalk = new Chalk({ level: colourLevel(options) });
    // masked from the first line on, even for a usage error before any config is read
    this.secrets.push(...secretsOf(options.env.MONGODB_URI));
  }

  get json(): boolean {
    return this.options.json;
  }

  /**
   * The width stdout's lines should fit: COLUMNS when set (an explicit choice), else the
   * terminal's, else a wide default for logs and pipes.
   */
  width(): number {
    const fromEnv = Number(this.options.env.COLUMNS);
    if (Number.isInteger(fromEnv) && fromEnv >= MIN_SPINNER_COLUMNS) return fromEnv;
    const columns = this.options.stdout.isTTY === true ? this.options.stdout.columns : undefined;
    return typeof columns === 'number' && columns >= MIN_SPINNER_COLUMNS ? columns : DEFAULT_WIDTH;
  }

  /** Values (passwords) to mask in everything written from now on. */
  addSecrets(secrets: readonly string[]): void {
    this.secrets.push(...secrets);
  }

  private clean(text: string): string {
    return redactText(text, this.secrets);
  }

  private write(stream: NodeJS.WritableStream, text: string): void {
    stream.write(this.clean(text) + '\n');
  }

  /** Primary output (tables, created paths): shown even with --quiet. */
  out(text: string): void {
    if (!this.options.json) this.aboveSpinner(() => this.write(this.options.stdout, text));
  }

  info(text: string): void {
    if (!this.options.json && !this.options.quiet) this.aboveSpinner(() => this.write(this.options.stdout, text));
  }

  verbose(text: string): void {
    if (!this.options.json && this.options.verbose) this.aboveSpinner(() => this.write(this.options.stderr, this.chalk.dim(text)));
  }

  /** A dim line on stderr after an error, suggesting what to do. */
  hint(text: string): void {
    if (!this.options.json) this.write(this.options.stderr, this.chalk.dim(text));
  }

  /** What a run is waiting for or did on its way (the lock): stderr, not with --quiet. */
  notice(text: string): void {
    if (!this.options.json && !this.options.quiet) this.aboveSpinner(() => this.write(this.options.stderr, this.chalk.cyan(text)));
  }

  warn(text: string): void {
    if (!this.options.json) this.aboveSpinner(() => this.write(this.options.stderr, this.chalk.yellow(`warning: ${text}`)));
  }

  /** The single JSON document of a `--json` run. */
  emitJson(document: Record<string, unknown>): void {
    if (!this.options.json) return;
    // masked on values: in serialised JSON a password's '"' or '\' is escaped and would not match
    const masked = redactValue({ command: this.options.command, ...document }, this.secrets);
    this.options.stdout.write(JSON.stringify(masked) + '\n');
  }

  /** A run came to its end (before its summary): a hook for renderers that keep the result (a fan-out's, per database). */
  runEnded(_result: RunResult): void {
    // the terminal's renderer keeps nothing
  }

  /** Prints something thrown the way the contract says and returns its exit code. */
  fail(error: unknown): number {
    if (error instanceof MongrateError) return this.report({ code: error.code, message: error.message, hints: error.hints, cause: error });
    const message = error instanceof Error ? error.message : String(error);
    return this.report({ code: 'MIGRATION_FAILED', message, cause: error });
  }

  /**
   * Prints one failure, once: `error: <message>; <what to do>` on stderr (with -v the trace under
   * it), or the `--json` document with `extra` (a run's steps). Returns the exit code.
   */
  report(failure: Failure, extra: Record<string, unknown> = {}): number {
    this.stopSpinner();
    const message = withAdvice(failure.message, failure.hints);
    if (this.options.json) {
      this.emitJson({ ok: false, ...extra, error: { code: failure.code, message, ...(failure.id === undefined ? {} : { id: failure.id }) } });
    } else {
      this.write(this.options.stderr, this.chalk.red(`error: ${message.split('\n').join(' ')}`));
      if (this.options.verbose && failure.cause !== undefined) {
        for (const line of traceLines(failure.cause)) this.write(this.options.stderr, this.chalk.dim(line));
      }
    }
    return exitCodeFor(failure.code);
  }

  /** A terminal that reports no width, or too little (a pty of 0 columns), gets plain lines. */
  private wideEnough(): boolean {
    const columns = this.options.stderr.columns;
    return typeof columns === 'number' && Number.isFinite(columns) && columns >= MIN_SPINNER_COLUMNS;
  }

  private spinnersEnabled(): boolean {
    const env = this.options.env;
    return (
      !this.options.json &&
      !this.options.quiet &&
      this.options.stderr.isTTY === true &&
      (env.CI === undefined || env.CI === '' || env.CI === 'false') &&
      this.wideEnough()
    );
  }

  /**
   * A terminal narrowed below a usable width mid-run: the spinner stops before ora draws at that
   * width. Node sets `columns` and emits 'resize' in one go on SIGWINCH, so no frame comes between.
   */
  private readonly onResize = (): void => {
    if (this.spinner === undefined || this.wideEnough()) return;
    this.stopSpinner();
    this.verbose(`${this.spinnerText} ...`);
  };

  /** Loads the spinner library when spinners will be shown. */
  async prepareSpinners(): Promise<void> {
    if (this.spinnersEnabled()) this.ora ??= (await import('ora')).default;
  }

  /** Whether a spinner is on screen (progress then goes into its text, not into lines). */
  get spinning(): boolean {
    return this.spinner !== undefined;
  }

  /** Starts a spinner when spinners are enabled and loaded; returns whether it did. */
  startSpinner(text: string): boolean {
    this.stopSpinner();
    this.spinnerText = text;
    if (this.ora === undefined || !this.spinnersEnabled()) return false;
    this.spinner = this.ora({ text: this.clean(text), stream: this.options.stderr, discardStdin: false, color: 'cyan' }).start();
    this.options.stderr.on('resize', this.onResize);
    return true;
  }

  /** The spinner's text: its start text and `detail` (progress). */
  updateSpinner(detail: string): void {
    if (this.spinner !== undefined) this.spinner.text = this.clean(`${this.spinnerText} — ${detail}`);
  }

  stopSpinner(): void {
    if (this.spinner === undefined) return;
    this.options.stderr.off('resize', this.onResize);
    this.spinner.stop();
    this.spinner = undefined;
  }

  /** Writes a line without tearing the spinner: cleared, the line, drawn again. */
  private aboveSpinner(write: () => void): void {
    if (this.spinner === undefined) return write();
    this.spinner.clear();
    write();
    this.spinner.render();
  }

  /** Says when a command waits for the lock, naming its holder, and when it takes over an expired one. */
  followLock(migrator: Migrator): void {
    migrator.on('lockWait', ({ holder, waitSeconds }) =>
      this.notice(`waiting up to ${waitSeconds} s for the lock held by ${holderWords(holder)} ...`),
    );
    migrator.on('lockTakeover', ({ previous }) =>
      this.notice(`took over the lock of ${holderWords(previous)}: its lease expired at ${previous.expiresAt.toISOString()} (that runner died or stalled)`),
    );
  }
}
