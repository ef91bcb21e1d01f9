/** `show <id>`: one migration, everything known about it: state, checksums, description, every event. */
import type { ShowResult } from '../../index.ts';
import { withoutError } from '../command.ts';
import { formatDuration } from '../format.ts';
import { printHistory, whenText } from '../history-lines.ts';
import { databaseCommand } from '../run-command.ts';

/** `sha256:1f2e3d4c5b6a…`: enough of a checksum to compare by eye. */
const short = (checksum: string): string => `${checksum.slice(0, 19)}…`;

function checksumText({ now, applied }: ShowResult['checksum']): string | undefined {
  if (now === undefined && applied === undefined) return undefined;
  if (now !== undefined && applied !== undefined) return now === applied ? `${short(now)} (as applied)` : `${short(now)} now, ${short(applied)} as applied: the file changed since`;
  return now !== undefined ? `${short(now)} (not applied)` : `${short(applied ?? '')} as applied (no file, or no source, to compare)`;
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
  },
  json: (result) => (result.error === undefined ? withoutError(result) : {}),
});
