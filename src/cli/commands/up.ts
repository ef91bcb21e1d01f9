import type { Command } from 'commander';
import type { Register } from '../main.ts';
import { wholeNumber } from '../main.ts';
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
    .option('--dry-run', 'print the plan; change nothing')
    .option('--allow-out-of-order', 'also apply pending migrations older than the newest applied one')
    .option('--retry-failed', 'run a migration recorded as failed again')
    .option('--no-validate', 'skip the check that applied files are unchanged and present')
    .option('--lock-wait <seconds>', 'wait this long for a lock held by another runner', wholeNumber('--lock-wait'));
  register<UpFlags>(command, async (ctx, flags) => {
    const migrator = await ctx.openMigrator();
    return runInterruptibly(ctx, migrator, () =>
      migrator.up({
        ...(flags.to === undefined ? {} : { to: flags.to }),
        ...(flags.step === undefined ? {} : { step: flags.step }),
        dryRun: flags.dryRun === true,
        allowOutOfOrder: flags.allowOutOfOrder === true,
        retryFailed: flags.retryFailed === true,
        validate: flags.validate !== false,
        ...(flags.lockWait === undefined ? {} : { lockWait: flags.lockWait }),
      }),
      { dryRun: flags.dryRun === true },
    );
  });
}
