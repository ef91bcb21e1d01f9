/** `up`: apply pending migrations in id order. */
import type { RunResult } from '../../index.ts';
import { runOutput } from '../follow-run.ts';
import { dryRunOption, given, lockWaitOption, wholeNumber } from '../options.ts';
import { databaseCommand } from '../run-command.ts';

interface UpFlags {
  to?: string;
  step?: number;
  dryRun?: boolean;
  allowOutOfOrder?: boolean;
  retryFailed?: boolean;
  validate?: boolean;
  lockWait?: number;
}

export const upCommand = databaseCommand<UpFlags, RunResult>({
  declare: (program) =>
    program
      .command('up')
      .description('apply pending migrations in id order')
      .option('--to <id>', 'apply up to and including this migration')
      .option('--step <n>', 'apply at most n migrations', wholeNumber('--step'))
      .addOption(dryRunOption())
      .option('--allow-out-of-order', 'also apply pending migrations older than the newest applied one')
      .option('--retry-failed', 'run a migration recorded as failed again (fix it first)')
      .option('--no-validate', 'skip the check that applied files are unchanged and present')
      .addOption(lockWaitOption()),
  run: (migrator, flags) =>
    migrator.up({
      ...given('to', flags.to),
      ...given('step', flags.step),
      dryRun: flags.dryRun === true,
      allowOutOfOrder: flags.allowOutOfOrder === true,
      retryFailed: flags.retryFailed === true,
      validate: flags.validate !== false,
      ...given('lockWait', flags.lockWait),
    }),
  ...runOutput({ title: 'Applied', direction: 'up' }),
});
