import type { Command } from 'commander';
import type { Register } from '../context.ts';
import { dryRunOption, given, lockWaitOption, wholeNumber } from '../options.ts';
import { runInterruptibly } from '../run.ts';

interface UpFlags {
  to?: string;
  step?: number;
  dryRun?: boolean;
  allowOutOfOrder?: boolean;
  retryFailed?: boolean;
  validate?: boolean;
  lockWait?: number;
}

export function defineUp(program: Command, register: Register): void {
  const command = program
    .command('up')
    .description('apply pending migrations in id order')
    .option('--to <id>', 'apply up to and including this migration')
    .option('--step <n>', 'apply at most n migrations', wholeNumber('--step'))
    .addOption(dryRunOption())
    .option('--allow-out-of-order', 'also apply pending migrations older than the newest applied one')
    .option('--retry-failed', 'run a migration recorded as failed again (fix it first)')
    .option('--no-validate', 'skip the check that applied files are unchanged and present')
    .addOption(lockWaitOption());
  register<UpFlags>(command, async (ctx, flags) => {
    const migrator = await ctx.openMigrator();
    const dryRun = flags.dryRun === true;
    return runInterruptibly(ctx, migrator, () =>
      migrator.up({
        ...given('to', flags.to),
        ...given('step', flags.step),
        dryRun,
        allowOutOfOrder: flags.allowOutOfOrder === true,
        retryFailed: flags.retryFailed === true,
        validate: flags.validate !== false,
        ...given('lockWait', flags.lockWait),
      }),
    );
  });
}
