/**
 * `mongrate status` as a table that fits the terminal (text-table wraps cells at the widths
 * chosen here), with failures' errors listed under it rather than inside a row; across
 * databases, one row of counts per database.
 */
import type { ChalkInstance } from 'chalk';
import type { DatabaseResult, FanOutResult, MigrationState, MigrationStatus, StatusResult } from '../index.ts';
import { withoutError } from './command.ts';
import { errorDocument } from './advice.ts';
import type { Renderer } from './renderer.ts';
import { OUTCOME_COLOURS, table } from './summary-table.ts';
import { formatDuration } from './format.ts';
import { breakLongWords, wrapLine } from './wrap.ts';
import { renderTable } from './text-table.ts';

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

/** `failed (down, interrupted)`, `failed (rolled back)`: the state with what a user must know before acting on it. */
function stateLabel(m: Pick<MigrationStatus, 'state' | 'direction' | 'interrupted' | 'rolledBack'>): string {
  const notes = [
    m.direction === 'down' ? 'down' : undefined,
    (m.state === 'failed' || m.rolledBack) && m.interrupted ? 'interrupted' : undefined,
    m.rolledBack ? 'rolled back' : undefined,
  ].filter(Boolean);
  return notes.length === 0 ? m.state : `${m.state} (${notes.join(', ')})`;
}

const COLUMNS = ['Migration', 'State', 'Applied at', 'Duration', 'Description'] as const;
type Column = (typeof COLUMNS)[number];

/**
 * Which column gives up width first, and down to what: the description, then the time (it wraps
 * into date and time), then the id, then those two further. State and Duration keep their width
 * (their words are short, and a state label cut mid-word misleads). A table needs 3 characters
 * per column and 1 for its borders besides the cells.
 */
const SHRINK_ORDER: [Column, number][] = [
  ['Description', 24],
  ['Applied at', 10],
  ['Migration', 20],
  ['Description', 16],
  ['Migration', 14],
  ['Description', 10],
  ['Migration', 10],
];

/** Cell widths that fit `width`, or as close as the minimums allow. */
function fitWidths(natural: Record<Column, number>, width: number): Record<Column, number> {
  const widths = { ...natural };
  const overhead = 3 * COLUMNS.length + 1;
  const total = (): number => COLUMNS.reduce((sum, c) => sum + widths[c], overhead);
  for (const [column, minimum] of SHRINK_ORDER) {
    const excess = total() - width;
    if (excess <= 0) break;
    widths[column] = Math.max(Math.min(widths[column], minimum), widths[column] - excess);
  }
  return widths;
}

function appliedAtText(date: Date | undefined): string {
  return date?.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') ?? '';
}

export function statusTable(renderer: Renderer, status: StatusResult): void {
  if (renderer.json) return;
  const { chalk } = renderer;
  const width = renderer.width();
  if (status.migrations.length === 0) {
    renderer.out(`No migrations yet in database ${status.database}.`);
  } else {
    const rows = status.migrations.map((m): Record<Column, string> => ({
      Migration: m.id,
      State: stateLabel(m),
      'Applied at': appliedAtText(m.appliedAt),
      Duration: formatDuration(m.durationMs),
      // one paragraph: a description written over several lines reads as one
      Description: (m.description ?? '').replace(/\s*\n\s*/g, ' '),
    }));
    const natural = Object.fromEntries(COLUMNS.map((c) => [c, Math.max(c.length, ...rows.map((r) => r[c].length))])) as Record<Column, number>;
    const widths = fitWidths(natural, width);
    // its own colours: none; cells carry chalk's, which honour --no-color/NO_COLOR, and their
    // escape codes do not count towards the column widths
    const cells = rows.map((row, index) => {
      const m = status.migrations[index] as MigrationStatus;
      // it wraps at spaces only: a word wider than its column is broken first (an id at its '-')
      return COLUMNS.map((c) => {
        const text = breakLongWords(row[c], widths[c]);
        return c === 'State' ? STATE_COLOURS[m.state](chalk)(text) : text;
      });
    });
    renderer.out(renderTable(COLUMNS.map((name) => ({ title: chalk.bold(name), maxWidth: widths[name] })), cells));
  }
  printErrors(renderer, status, width);
  const summary = Object.entries(status.counts)
    .filter(([, count]) => count > 0)
    .map(([state, count]) => `${count} ${state}`)
    .join(', ');
  renderer.info(chalk.dim(`database ${status.database}: ${summary || 'nothing to show'}`));
}

/** Why each failed or running migration is in that state, wrapped to the width, under the table. */
function printErrors(renderer: Renderer, status: StatusResult, width: number): void {
  const failing = status.migrations.filter((m) => m.error !== undefined && (m.state === 'failed' || m.state === 'running' || m.rolledBack));
  for (const m of failing) {
    const text = `${m.id} (${stateLabel(m)}): ${(m.error ?? '').replace(/\s*\n\s*/g, ' ')}`;
    const colour = STATE_COLOURS[m.state](renderer.chalk);
    for (const [index, line] of wrapLine(text, width, '    ').entries()) renderer.out(index === 0 ? colour(line) : line);
  }
}

/** The status a result shows: none when an error kept it from reading one (a `--check` finding is not such an error). */
export function statusOf(result: StatusResult | undefined): StatusResult | undefined {
  return result === undefined || (result.error !== undefined && result.error.code !== 'CHECK_FAILED') ? undefined : result;
}

const failedCheck = (d: DatabaseResult<StatusResult>): boolean => d.error?.code === 'CHECK_FAILED';

/** `status` across databases: applied (with baselines and unchecked ones), pending (with out-of-order ones), failed, changed, missing. */
function countsTable(chalk: ChalkInstance, results: DatabaseResult<StatusResult>[]): string {
  const sum = (status: StatusResult, ...states: MigrationState[]): number => states.reduce((n, s) => n + status.counts[s], 0);
  const rows = results.map((d) => {
    const status = statusOf(d.result);
    if (status === undefined) return [d.database, '', '', '', '', '', OUTCOME_COLOURS[d.outcome](chalk)(`${d.outcome}: ${d.error?.message ?? ''}`)];
    const counts = [sum(status, 'applied', 'baseline', 'unchecked'), sum(status, 'pending', 'out-of-order'), sum(status, 'failed'), sum(status, 'changed'), sum(status, 'missing')];
    const running = sum(status, 'running');
    const note = running > 0 ? chalk.blue(`${running} running`) : status.migrationsUnavailable !== undefined ? chalk.dim('changelog only') : '';
    const colours = [chalk.green, chalk.yellow, chalk.red, chalk.red, chalk.red];
    return [d.database, ...counts.map((n, i) => (n === 0 ? String(n) : (colours[i] ?? chalk)(String(n)))), note];
  });
  return table(chalk, ['Database', 'Applied', 'Pending', 'Failed', 'Changed', 'Missing', 'Note'], rows);
}

/** `status` across databases shows one row of counts per database, not each database's table. */
export const statusAcross = {
  render(out: Renderer, result: FanOutResult<StatusResult>): void {
    out.out(countsTable(out.chalk, result.databases));
    const problems = result.databases.filter(failedCheck).map((d) => d.database);
    if (problems.length > 0) {
      out.out(out.chalk.red(`check failed: ${problems.join(', ')} need${problems.length === 1 ? 's' : ''} attention (mongrate status --db <name> shows which migrations)`));
    }
  },
  json(result: FanOutResult<StatusResult>): object {
    const databases = result.databases.map((d) => {
      const status = statusOf(d.result);
      const error = d.error === undefined || failedCheck(d) ? {} : { error: errorDocument(d.error) };
      return { database: d.database, ok: d.outcome === 'ok', outcome: d.outcome, ...(status === undefined ? {} : withoutError(status)), ...error };
    });
    return { ok: result.ok, databases };
  },
};
