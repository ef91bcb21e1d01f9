/**
 * The one place that writes to the terminal: colours (chalk), spinners (ora), `--json` documents,
 * secrets scrubbing, and errors as an `error:` line or a JSON document (their exit codes come
 * from cli/exit-codes.ts). Every line passes `redactText`, and JSON documents `redactValue` before
 * they are serialised. What a run and the status table print is worded in follow-run.ts and
 * status-table.ts; a database of several gets a renderer of its own (`prefixed`).
 */
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { Chalk, type ChalkInstance } from 'chalk';
import type { Ora } from 'ora';
import type { Migrator, ResultError } from '../index.ts';
import { describeHolder, messageOf, MongrateError, redactText, redactValue, secretsOf } from '../light.ts';
import { errorDocument } from './advice.ts';
import { exitCodeOf } from './exit-codes.ts';

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

/** A stream that writes every line to `target` with `prefix` before it. */
function prefixedStream(target: NodeJS.WritableStream, prefix: string): Writable {
  let partial = '';
  return new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, callback) {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      if (lines.length > 0) target.write(lines.map((line) => prefix + line + '\n').join(''));
      callback();
    },
  });
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

  /** A dim line on stderr with --verbose; `text` may be a function, called only then (what it says may cost a look at the disk). */
  verbose(text: string | (() => string)): void {
    if (!this.options.json && this.options.verbose) this.aboveSpinner(() => this.write(this.options.stderr, this.chalk.dim(typeof text === 'string' ? text : text())));
  }

  /** A dim line on stderr after an error, suggesting what to do. */
  hint(text: string): void {
    if (!this.options.json) this.write(this.options.stderr, this.chalk.dim(text));
  }

  /** What a run is waiting for or did on its way (the lock): stderr, not with --quiet. */
  notice(text: string): void {
    if (!this.options.json && !this.options.quiet) this.aboveSpinner(() => this.write(this.options.stderr, this.chalk.cyan(text)));
  }

  /** What must be seen before anything changes (the protected environment a command runs in): stderr, even with --quiet. */
  caution(text: string): void {
    if (!this.options.json) this.aboveSpinner(() => this.write(this.options.stderr, this.chalk.yellow(text)));
  }

  warn(text: string): void {
    if (!this.options.json) this.aboveSpinner(() => this.write(this.options.stderr, this.chalk.yellow(`warning: ${text}`)));
  }

  /** The single JSON document of a `--json` run. */
  emitJson(document: object): void {
    if (!this.options.json) return;
    // masked on values: in serialised JSON a password's '"' or '\' is escaped and would not match
    const masked = redactValue({ command: this.options.command, ...document }, this.secrets);
    this.options.stdout.write(JSON.stringify(masked) + '\n');
  }

  /**
   * The renderer of one database of several: every line prefixed with it, the same secrets, no
   * spinner (its streams are no terminal; colour follows the real one).
   */
  prefixed(prefix: string): Renderer {
    const { stdout, stderr } = this.options;
    const child = new Renderer({
      ...this.options,
      stdout: Object.assign(prefixedStream(stdout, prefix), { isTTY: stdout.isTTY }),
      stderr: prefixedStream(stderr, prefix),
    });
    child.addSecrets(this.secrets);
    return child;
  }

  /** Prints something thrown (a config error, a bug) the way the contract says and returns its exit code. */
  fail(thrown: unknown): number {
    const error: ResultError =
      thrown instanceof MongrateError ? { code: thrown.code, message: thrown.message, hints: thrown.hints, cause: thrown }
      : { code: 'MIGRATION_FAILED', message: messageOf(thrown), cause: thrown };
    this.report(error);
    return exitCodeOf({ error });
  }

  /**
   * Prints one error, once: `error: <message>; <what to do>` on stderr (with -v what was thrown,
   * its stack and causes, under it), or the `--json` document with `fields` (a run's steps).
   */
  report(error: ResultError, fields: object = {}): void {
    this.stopSpinner();
    const document = errorDocument(error);
    if (this.options.json) {
      this.emitJson({ ok: false, ...fields, error: document });
      return;
    }
    this.write(this.options.stderr, this.chalk.red(`error: ${document.message.split('\n').join(' ')}`));
    if (this.options.verbose && error.cause !== undefined) {
      for (const line of traceLines(error.cause)) this.write(this.options.stderr, this.chalk.dim(line));
    }
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
      this.notice(`waiting up to ${waitSeconds} s for the lock held by ${describeHolder(holder)} ...`),
    );
    migrator.on('lockTakeover', ({ previous }) =>
      this.notice(`took over the lock of ${describeHolder(previous)}: its lease expired at ${previous.expiresAt.toISOString()} (that runner died or stalled)`),
    );
  }
}
