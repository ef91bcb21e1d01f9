/** `history [id] [--limit n] [--since date]`: the events of the history, oldest first. */
import { Option } from 'commander';
import type { HistoryResult } from '../../index.ts';
import { MongrateError } from '../../light.ts';
import { withoutError } from '../command.ts';
import { countOf } from '../format.ts';
import { printHistory } from '../history-lines.ts';
import { given, wholeNumber } from '../options.ts';
import { databaseCommand } from '../run-command.ts';

interface HistoryFlags {
  limit?: number;
  since?: Date;
}

/** `2026-11-01`, `2026-11-01T10:00Z`, ...: what `Date` reads; parsed before any server is contacted. */
function sinceDate(value: string): Date {
  const date = new Date(value);
  if (!/^\d{4}-\d\d-\d\d/.test(value) || Number.isNaN(date.getTime())) {
    throw new MongrateError('USAGE', `--since takes a date such as 2026-11-01 or 2026-11-01T10:00:00Z, got '${value}'`);
  }
  return date;
}

export const historyCommand = databaseCommand<HistoryFlags, HistoryResult>({
  declare: (program) =>
    program
      .command('history')
      .argument('[id]', "one migration's events")
      .description('list the events of the history (applied, reverted, failed, repaired, ...) with who, when and how long')
      .addOption(new Option('--limit <n>', 'only the newest n events').argParser(wholeNumber('--limit', 1)))
      .addOption(new Option('--since <date>', 'only events from this date (UTC unless it says otherwise) on').argParser(sinceDate)),
  run: (migrator, flags, [id]) => migrator.history({ ...given('id', id), ...given('limit', flags.limit), ...given('since', flags.since) }),
  render(out, result) {
    if (result.error !== undefined) return;
    if (result.entries.length === 0) {
      out.info('No events in the history.');
      return;
    }
    printHistory(out, result.entries, { withId: true });
    out.info(out.chalk.dim(countOf(result.entries.length, 'event')));
  },
  json: (result) => (result.error === undefined ? withoutError(result) : {}),
  count: { title: 'Events', of: (result) => (result.error === undefined ? result.entries.length : undefined) },
});
