/**
 * `show <id>`: one migration, everything known about it: state, checksums, description, every
 * event, and what it and its helpers said during its last run (as its history entry keeps it).
 */
import type { HistoryEntry, ShowResult } from '../../index.ts';
import { withoutError } from '../command.ts';
import { formatDuration } from '../format.ts';
import { printHistory, whenText } from '../history-lines.ts';
import type { Renderer } from '../renderer.ts';
import { databaseCommand } from '../run-command.ts';

/** `sha256:1f2e3d4c5b6a…`: enough of a checksum to compare by eye. */
const short = (checksum: string): string => `${checksum.slice(0, 19)}…`;

function checksumText({ now, applied }: ShowResult['checksum']): string | undefined {
  if (now === undefined && applied === undefined) return undefined;
  if (now !== undefined && applied !== undefined) return now === applied ? `${short(now)} (as applied)` : `${short(now)} now, ${short(applied)} as applied: the file changed since`;
  return now !== undefined ? `${short(now)} (not applied)` : `${short(applied ?? '')} as applied (no file, or no source, to compare)`;
}

/** The events that end a run of the migration (not a repair, baseline or import). */
const RUN_EVENTS = new Set(['applied', 'reverted', 'failed', 'rolled back', 'interrupted']);

/** Its last run: what the migration logged, and each helper's line with its counts. */
function printLastRun(out: Renderer, events: HistoryEntry[]): void {
  const last = events.findLast((e) => RUN_EVENTS.has(e.event));
  if (last === undefined) return;
  const { output } = last;
  out.out(`  last run (${last.event}${last.direction === 'down' && last.event !== 'reverted' ? ' (down)' : ''} ${whenText(last.at)}):`);
  if (output === undefined) {
    out.out('    it logged nothing and ran no helper');
    return;
  }
  const sections: [string, string[]][] = [
    ['helpers', output.helpers],
    ['log', output.log],
  ];
  for (const [title, lines] of sections) {
    if (lines.length === 0) continue;
    out.out(`    ${title}:`);
    for (const line of lines) out.out(`      ${line}`);
  }
}

export const showCommand = databaseCommand<object, ShowResult>({
  declare: (program) =>
    program
      .command('show')
      .argument('<id>', 'the migration')
      .description('show one migration: its state, checksum now and as applied, description, and every event of its history'),
  run: (migrator, _flags, [id = '']) => migrator.show(id),
  render(out, result) {
    if (result.error !== undefined) return;
    const { chalk } = out;
    const { status } = result;
    const state = status === undefined ? 'gone (no migration and no changelog record: only its history is left)' : status.state + (status.direction === 'down' ? ' (down)' : '');
    out.out(`${chalk.bold(result.id)}  ${state}`);
    const facts: [string, string | undefined][] = [
      ['description', status?.description],
      ['file', status?.file],
      ['applied at', status?.appliedAt === undefined ? undefined : `${whenText(status.appliedAt)} (${formatDuration(status.durationMs)})`],
      ['checksum', checksumText(result.checksum)],
      ['error', status?.error],
    ];
    for (const [label, value] of facts) if (value !== undefined && value !== '') out.out(`  ${label.padEnd(12)} ${value}`);
    if (result.events.length === 0) {
      out.out('  no events in the history');
      return;
    }
    out.out('  events:');
    printHistory(out, result.events, { withId: false, indent: '    ' });
    printLastRun(out, result.events);
  },
  json: (result) => (result.error === undefined ? withoutError(result) : {}),
});
