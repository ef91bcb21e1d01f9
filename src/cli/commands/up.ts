/** `up`: apply pending migrations in id order (or exactly one, `--only`). */
import { Option } from 'commander';
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
  only?: string;
}

export const upCommand = databaseCommand<UpFlags, RunResult>({
  declare: (program) =>
    program
      .command('up')
      .description('apply pending migrations in id order')
      .addOption(new Option('--to <id>', 'apply up to and including this migration').conflicts('only'))
      .addOption(new Option('--step <n>', 'apply at most n migrations').argParser(wholeNumber('--step')).conflicts('only'))
      .option('--only <id>', 'apply exactly this pending migration (out of order only with --allow-out-of-order)')
      .addOption(dryRunOption())
      .option('--allow-out-of-order', 'also apply pending migrations older than the newest applied one (with --only: apply it alone out of order)')
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
      ...given('only', flags.only),
    }),
  ...runOutput({ title: 'Applied', direction: 'up' }),
});
