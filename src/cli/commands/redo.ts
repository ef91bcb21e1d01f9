/** `redo [id]`: revert and re-apply one applied migration, for the edit-run-fix loop. */
import type { RunResult } from '../../index.ts';
import { runOutput } from '../follow-run.ts';
import { dryRunOption, given, lockWaitOption } from '../options.ts';
import { databaseCommand } from '../run-command.ts';

interface RedoFlags {
  dryRun?: boolean;
  lockWait?: number;
}

export const redoCommand = databaseCommand<RedoFlags, RunResult>({
  declare: (program) =>
    program
      .command('redo')
      .argument('[id]', 'an applied migration (default: the newest applied)')
      .description('revert and re-apply one applied migration, for the edit-run-fix loop')
      .addOption(dryRunOption())
      .addOption(lockWaitOption()),
  run: (migrator, flags, [id]) => migrator.redo(id, { dryRun: flags.dryRun === true, ...given('lockWait', flags.lockWait) }),
  ...runOutput({ title: 'Redone', direction: 'up' }),
});
