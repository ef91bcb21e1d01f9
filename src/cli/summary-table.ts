/**
 * What a command across databases prints after the databases' own lines: one row per database
 * (how it ended, what the command counts there, how long it took); and the table helpers `status`
 * uses for its own row of counts per database.
 */
import type { ChalkInstance } from 'chalk';
import type { DatabaseOutcome, FanOutResult } from '../index.ts';
import type { CommandResult, DatabaseCommand } from './command.ts';
import { formatDuration } from './format.ts';
import { renderTable } from './text-table.ts';

export const OUTCOME_COLOURS: Record<DatabaseOutcome, (c: ChalkInstance) => ChalkInstance> = {
  ok: (c) => c.green,
  failed: (c) => c.red,
  interrupted: (c) => c.yellow,
  'not started': (c) => c.dim,
  locked: (c) => c.magenta,
  problems: (c) => c.red,
  unreachable: (c) => c.red,
};

export function table(chalk: ChalkInstance, columns: string[], rows: string[][]): string {
  return renderTable(columns.map((name) => ({ title: chalk.bold(name) })), rows);
}

export function summaryTable<F, R extends CommandResult>(chalk: ChalkInstance, result: FanOutResult<R>, count: DatabaseCommand<F, R>['count']): string {
  const dryRun = result.databases.some((d) => d.result !== undefined && count?.dryRun?.(d.result) === true);
  const countTitle = count === undefined ? undefined : dryRun ? `Would ${result.command}` : count.title;
  const columns = ['Database', 'Result', ...(countTitle === undefined ? [] : [countTitle]), 'Duration'];
  const rows = result.databases.map((d) => {
    const counted = d.result === undefined ? undefined : count?.of(d.result);
    return [d.database, OUTCOME_COLOURS[d.outcome](chalk)(d.outcome), ...(countTitle === undefined ? [] : [counted === undefined ? '' : String(counted)]), formatDuration(d.durationMs)];
  });
  return table(chalk, columns, rows);
}
