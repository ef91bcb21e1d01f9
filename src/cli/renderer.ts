/**
 * The one place that writes to the terminal: colours (chalk), spinners (ora), tables
 * (console-table-printer), `--json` documents, secrets scrubbing and the mapping of errors to exit codes.
 * Every line passes `redactText`, and JSON documents `redactValue` before they are serialised.
 */
import { Chalk, type ChalkInstance } from 'chalk';
import { Table } from 'console-table-printer';
import type { Ora } from 'ora';
import { MongrateError } from '../errors.ts';
import type { Migrator, MigrationState, MigrationStatus, RunResult, StatusResult } from '../index.ts';
import { redactText, redactValue, secretsOf } from '../util/redact.ts';

export interface RendererOptions {
  json: boolean;
  color: boolean;
  verbose: boolean;
  quiet: boolean;
  command: string;
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

/**
 * Fewer columns than this and a spinner line cannot be drawn; at 0 ora divides the line width by
 * zero, loops forever clearing lines and starves the heartbeat and the signal handlers.
 */
export const MIN_SPINNER_COLUMNS = 20;

const STATE_COLOURS: Record<MigrationState, (c: ChalkInstance) => ChalkInstance> = {
  applied: (c) => c.green,
  baseline: (c) => c.cyan,
  pending: (c) => c.yellow,
  'out-of-order': (c) => c.magenta,
  failed: (c) => c.red,
  running: (c) => c.blue,
  changed: (c) => c.red,
  missing: (c) => c.red,
  unchecked: (c) => c.gray,
};

function colourLevel(options: RendererOptions): 0 | 1 | 2 | 3 {
  if (options.json || !options.color) return 0;
  const env = options.env;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 0;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force === '0' || force === 'false' ? 0 : force === '2' ? 2 : force === '3' ? 3 : 1;
  return options.stdout.isTTY === true ? 1 : 0;
}

/** `failed (down, interrupted)`: the state with what a user must know before acting on it. */
export function stateLabel(m: Pick<MigrationStatus, 'state' | 'direction' | 'interrupted'>): string {
  const notes = [m.direction === 'down' ? 'down' : undefined, m.state === 'failed' && m.interrupted ? 'interrupted' : undefined].filter(Boolean);
  return notes.length === 0 ? m.state : `${m.state} (${notes.join(', ')})`;
}

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return '';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
}

export class Renderer {
  readonly chalk: ChalkInstance;
  private secrets: string[] = [];
  private spinner: Ora | undefined;
  /** ora, imported only when spinners will be shown (a TTY, not CI): it is the CLI's slowest import. */
  private ora: typeof import('ora').default | undefined;
  private spinnerText = '';
  /** When the last plain progress line was printed, so non-TTY output gets one every few seconds. */
  private lastProgressLine = 0;

  constructor(private readonly options: RendererOptions) {
    this.chalk = new Chalk({ level: colourLevel(options) });
    // masked from the first line on, even for a usage error before any config is read
    this.secrets.push(...secretsOf(options.env.MONGODB_URI));
  }

  get json(): boolean {
    return this.options.json;
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
    if (!this.options.json) this.write(this.options.stdout, text);
  }

  info(text: string): void {
    if (!this.options.json && !this.options.quiet) this.write(this.options.stdout, text);
  }

  verbose(text: string): void {
    if (!this.options.json && this.options.verbose) this.write(this.options.stderr, this.chalk.dim(text));
  }

  /** A dim line on stderr after an error, suggesting what to do. */
  hint(text: string): void {
    if (!this.options.json) this.write(this.options.stderr, this.chalk.dim(text));
  }

  warn(text: string): void {
    if (!this.options.json) this.write(this.options.stderr, this.chalk.yellow(`warning: ${text}`));
  }

  /** The single JSON document of a `--json` run. */
  emitJson(document: Record<string, unknown>): void {
    if (!this.options.json) return;
    // masked on values: in serialised JSON a password's '"' or '\' is escaped and would not match
    const masked = redactValue({ command: this.options.command, ...document }, this.secrets);
    this.options.stdout.write(JSON.stringify(masked) + '\n');
  }

  /** Prints an error the way the contract says and returns its exit code. */
  fail(error: unknown): number {
    this.stopSpinner();
    const code = error instanceof MongrateError ? error.code : 'MIGRATION_FAILED';
    const message = error instanceof Error ? error.message : String(error);
    if (this.options.json) {
      this.emitJson({ ok: false, error: { code, message } });
    } else {
      this.write(this.options.stderr, this.chalk.red(`error: ${message.split('\n').join(' ')}`));
      if (this.options.verbose && error instanceof Error && error.stack !== undefined) {
        this.write(this.options.stderr, this.chalk.dim(error.stack));
      }
    }
    return error instanceof MongrateError ? error.exitCode : 1;
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

  private startSpinner(text: string): void {
    if (this.ora === undefined) return;
    this.spinner = this.ora({ text: this.clean(text), stream: this.options.stderr, discardStdin: false, color: 'cyan' }).start();
    this.options.stderr.on('resize', this.onResize);
  }

  private stopSpinner(): void {
    if (this.spinner === undefined) return;
    this.options.stderr.off('resize', this.onResize);
    this.spinner.stop();
    this.spinner = undefined;
  }

  /** Loads the spinner library when spinners will be shown. */
  async prepareSpinners(): Promise<void> {
    if (this.spinnersEnabled()) this.ora ??= (await import('ora')).default;
  }

  /** Shows each migration as it runs: a spinner on a TTY, plain lines elsewhere. */
  followRun(migrator: Migrator, options: { dryRun?: boolean } = {}): void {
    const arrow = (direction: string): string => (direction === 'up' ? '↑' : '↓');
    migrator.on('migrating', ({ id, direction }) => {
      const text = `${direction === 'up' ? 'applying' : 'reverting'} ${id}`;
      this.spinnerText = text;
      this.lastProgressLine = Date.now();
      if (this.spinnersEnabled() && this.ora !== undefined) {
        this.startSpinner(text);
      } else {
        this.verbose(`${arrow(direction)} ${text} ...`);
      }
    });
    migrator.on('migrated', ({ id, direction, durationMs }) => {
      this.stopSpinner();
      const verb = direction === 'up' ? 'applied ' : 'reverted';
      this.info(`${this.chalk.green('✔')} ${verb} ${id} ${this.chalk.dim(`(${formatDuration(durationMs)})`)}`);
    });
    migrator.on('failed', ({ id, direction, error, durationMs }) => {
      this.stopSpinner();
      const verb = direction === 'up' ? 'failed  ' : 'failed reverting';
      this.out(`${this.chalk.red('✖')} ${verb} ${id} ${this.chalk.dim(`(${formatDuration(durationMs)})`)}: ${error}`);
    });
    migrator.on('progress', ({ id, helper, collection, done, total, docsPerSecond }) => {
      const percent = total > 0 ? ` ${Math.floor((done / total) * 100)}%` : '';
      const detail = `${helper} ${collection}: ${done}/${total}${percent}, ${Math.round(docsPerSecond)} docs/s`;
      if (this.spinner !== undefined) {
        this.spinner.text = this.clean(`${this.spinnerText} — ${detail}`);
      } else if (Date.now() - this.lastProgressLine >= 3000 || done === total) {
        this.lastProgressLine = Date.now();
        this.info(`  ${this.chalk.dim(id + ':')} ${detail}`);
      }
    });
    migrator.on('log', ({ id, message }) => {
      if (options.dryRun === true) return; // printed under its step in the dry-run summary
      const line = `  ${this.chalk.dim(id + ':')} ${message}`;
      if (this.spinner !== undefined) {
        this.spinner.clear();
        this.info(line);
        this.spinner.render();
      } else {
        this.info(line);
      }
    });
  }

  statusTable(status: StatusResult): void {
    if (this.options.json) return;
    // console-table-printer: linear in rows (cli-table3 compared every cell with every other and
    // took ~100 ms for 500 rows). Its own colours are off; cells carry chalk's, which honour
    // --no-color/NO_COLOR, and their escape codes do not count towards the column widths.
    const columns = ['Migration', 'State', 'Applied at', 'Duration', 'Description'];
    const table = new Table({
      shouldDisableColors: true,
      columns: columns.map((name) => ({ name, title: this.chalk.bold(name), alignment: 'left' as const })),
    });
    for (const m of status.migrations) {
      const colour = STATE_COLOURS[m.state](this.chalk);
      const detail = m.error !== undefined && (m.state === 'failed' || m.state === 'running') ? `(${m.error})` : '';
      const cells = [
        m.id,
        colour(stateLabel(m)),
        m.appliedAt?.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') ?? '',
        formatDuration(m.durationMs),
        // one line per migration: a multi-line error message would break the row apart
        [m.description, detail].filter(Boolean).join(' ').replace(/\s*\n\s*/g, ' '),
      ];
      table.addRow(Object.fromEntries(columns.map((name, i) => [name, cells[i]])));
    }
    if (status.migrations.length === 0) this.out(`No migrations yet in database ${status.database}.`);
    else this.out(table.render());
    const summary = Object.entries(status.counts)
      .map(([state, count]) => `${count} ${state}`)
      .join(', ');
    this.info(this.chalk.dim(`database ${status.database}: ${summary || 'nothing to show'}`));
  }

  runSummary(result: RunResult): void {
    const done = result.steps.filter((s) => s.status === 'success');
    const notRun = result.steps.filter((s) => s.status === 'not-run');
    const verb = result.direction === 'down' ? 'reverted' : result.direction === 'redo' ? 'redone' : 'applied';
    if (result.dryRun) {
      if (result.steps.length === 0) this.out('Dry run: nothing to do.');
      else {
        this.out(`Dry run: would run ${result.steps.length} step${result.steps.length === 1 ? '' : 's'}, in this order:`);
        for (const s of result.steps) {
          this.out(`  ${s.direction === 'up' ? '↑ up  ' : '↓ down'} ${s.id}`);
          for (const p of s.plan ?? []) {
            this.out(`      ${p.helper} ${p.collection}: ${p.documents} document${p.documents === 1 ? '' : 's'}${p.note === undefined ? '' : ` (${p.note})`}`);
          }
          for (const line of s.logs ?? []) this.out(`      ${this.chalk.dim(line)}`);
          if (s.note !== undefined) this.out(`      ${this.chalk.yellow(s.note)}`);
        }
        this.out('Nothing was changed.');
      }
      return;
    }
    if (result.steps.length === 0) {
      this.info(result.direction === 'down' ? 'Nothing to revert.' : 'Nothing to apply: the database is up to date.');
      return;
    }
    if (result.error === undefined) {
      const count = result.direction === 'redo' ? 1 : done.length;
      this.info(this.chalk.green(`Done: ${verb} ${count} migration${count === 1 ? '' : 's'}.`));
      return;
    }
    const before = done.map((s) => s.id);
    this.out(
      `${result.direction === 'down' ? 'Reverted' : 'Applied'} before the ${result.error.code === 'INTERRUPTED' ? 'interruption' : 'failure'}: ${before.length === 0 ? 'none' : before.join(', ')}` +
        (notRun.length > 0 ? `; not run: ${notRun.map((s) => s.id).join(', ')}` : ''),
    );
  }
}

