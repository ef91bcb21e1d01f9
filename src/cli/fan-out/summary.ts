/**
 * What a command across databases prints after the databases' own lines: one row per database
 * (its result, how many migrations it applied or reverted, how long it took), or for `status`
 * one row of counts per database.
 */
import type { ChalkInstance } from 'chalk';
import { Table } from 'console-table-printer';
import type { DatabaseOutcome, DatabaseResult, MigrationState, StatusResult } from '../../index.ts';
import { formatDuration } from '../words.ts';
import type { DatabaseRenderer } from './database-renderer.ts';

const OUTCOME_COLOURS: Record<DatabaseOutcome, (c: ChalkInstance) => ChalkInstance> = {
  ok: (c) => c.green,
  failed: (c) => c.red,
  interrupted: (c) => c.yellow,
  'not started': (c) => c.dim,
  locked: (c) => c.magenta,
  problems: (c) => c.red,
  unreachable: (c) => c.red,
};

/** What a database did, in the column the command calls it by. */
const COUNT_COLUMNS: Record<string, { title: string; count: (r: DatabaseRenderer) => number | undefined }> = {
  up: { title: 'Applied', count: (r) => successes(r, 'up') },
  down: { title: 'Reverted', count: (r) => successes(r, 'down') },
  redo: { title: 'Redone', count: (r) => successes(r, 'up') },
  baseline: { title: 'Baselined', count: (r) => lengthOf(r.document?.baselined) },
  repair: { title: 'Repaired', count: (r) => lengthOf(r.document?.actions) },
  validate: { title: 'Findings', count: (r) => lengthOf(r.document?.findings) },
};

function successes(renderer: DatabaseRenderer, direction: 'up' | 'down'): number | undefined {
  const run = renderer.run;
  if (run === undefined) return undefined;
  // a dry run counts what it would run
  return run.steps.filter((s) => s.direction === direction && (run.dryRun || s.status === 'success')).length;
}

function lengthOf(value: unknown): number | undefined {
  return Array.isArray(value) ? value.length : undefined;
}

function table(chalk: ChalkInstance, columns: string[], rows: string[][]): string {
  const printer = new Table({ shouldDisableColors: true, columns: columns.map((name) => ({ name, title: chalk.bold(name), alignment: 'left' as const })) });
  for (const cells of rows) printer.addRow(Object.fromEntries(columns.map((name, i) => [name, cells[i] ?? ''])));
  return printer.render();
}

export function runSummaryTable(chalk: ChalkInstance, command: string, results: DatabaseResult<{ renderer: DatabaseRenderer }>[]): string {
  const counted = COUNT_COLUMNS[command];
  const dryRun = results.some((d) => d.result?.renderer.run?.dryRun === true);
  const countTitle = counted === undefined ? undefined : dryRun ? `Would ${command}` : counted.title;
  const columns = ['Database', 'Result', ...(countTitle === undefined ? [] : [countTitle]), 'Duration'];
  const rows = results.map((d) => {
    const renderer = d.result?.renderer;
    const count = renderer === undefined ? undefined : counted?.count(renderer);
    return [d.database, OUTCOME_COLOURS[d.outcome](chalk)(d.outcome), ...(countTitle === undefined ? [] : [count === undefined ? '' : String(count)]), formatDuration(d.durationMs)];
  });
  return table(chalk, columns, rows);
}

/** `status` across databases: applied (with baselines and unchecked ones), pending (with out-of-order ones), failed, changed, missing. */
export function statusSummaryTable(chalk: ChalkInstance, results: DatabaseResult<StatusResult>[]): string {
  const sum = (status: StatusResult, ...states: MigrationState[]): number => states.reduce((n, s) => n + status.counts[s], 0);
  const rows = results.map((d) => {
    const status = d.result;
    if (status === undefined) return [d.database, '', '', '', '', '', OUTCOME_COLOURS[d.outcome](chalk)(`${d.outcome}: ${d.error?.message ?? ''}`)];
    const counts = [sum(status, 'applied', 'baseline', 'unchecked'), sum(status, 'pending', 'out-of-order'), sum(status, 'failed'), sum(status, 'changed'), sum(status, 'missing')];
    const running = sum(status, 'running');
    const note = running > 0 ? chalk.blue(`${running} running`) : status.migrationsUnavailable !== undefined ? chalk.dim('changelog only') : '';
    const colours = [chalk.green, chalk.yellow, chalk.red, chalk.red, chalk.red];
    return [d.database, ...counts.map((n, i) => (n === 0 ? String(n) : (colours[i] ?? chalk)(String(n)))), note];
  });
  return table(chalk, ['Database', 'Applied', 'Pending', 'Failed', 'Changed', 'Missing', 'Note'], rows);
}
