/** `status [--check]`: every migration known from files or the changelog, with its state; `--check` is a CI gate. */
import type { StatusResult } from '../../index.ts';
import { withoutError } from '../command.ts';
import { databaseCommand } from '../run-command.ts';
import { statusAcross, statusOf, statusTable } from '../status-table.ts';

interface StatusFlags {
  check?: boolean;
}

export const statusCommand = databaseCommand<StatusFlags, StatusResult>({
  declare: (program) =>
    program
      .command('status')
      .description('show every migration known from files or the changelog, with its state')
      .option('--check', 'exit 4 if anything is pending, failed, changed or missing (a CI gate)'),
  async run(migrator, flags) {
    const status = await migrator.status();
    if (status.error !== undefined || flags.check !== true || status.problems === 0) return status;
    const problemIds = status.migrations.filter((m) => !['applied', 'baseline'].includes(m.state)).map((m) => `${m.id} (${m.state})`);
    const message = `${status.problems} migration${status.problems === 1 ? ' needs' : 's need'} attention: ${problemIds.join(', ')}`;
    return { ...status, error: { code: 'CHECK_FAILED', message } };
  },
  render(out, result) {
    const status = statusOf(result);
    if (status === undefined) return;
    statusTable(out, status);
    if (status.migrationsUnavailable !== undefined) out.warn(`showing the changelog as recorded, with nothing to compare it to: ${status.migrationsUnavailable}`);
    if (status.error !== undefined) out.out(out.chalk.red(`check failed: ${status.error.message}`));
  },
  showsError: (error) => error.code === 'CHECK_FAILED',
  json: (result) => {
    const status = statusOf(result);
    return status === undefined ? {} : withoutError(status);
  },
  across: statusAcross,
});
