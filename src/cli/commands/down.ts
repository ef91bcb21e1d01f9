import type { Command } from 'commander';
import type { Register } from '../main.ts';
import { wholeNumber } from '../main.ts';
import { runInterruptibly } from '../run.ts';

interface DownFlags {
  to?: string;
  step?: number;
  lastRun?: boolean;
  all?: boolean;
  retryFailed?: boolean;
  dryRun?: boolean;
}

export function defineDown(program: Command, register: Register): void {
  const command = program
    .command('down')
    .description('revert applied migrations, newest application first (default: the newest one)')
    .option('--to <id>', 'revert every migration applied after this one; keep it')
    .option('--step <n>', 'revert the newest n', wholeNumber('--step'))
    .option('--last-run', 'revert what the newest `up` run applied')
    .option('--all', 'revert everything applied')
    .option('--retry-failed', 'finish reverting a migration whose down failed or was interrupted (it counts as the first step)')
    .option('--dry-run', 'print the plan; change nothing');
  register<DownFlags>(command, async (ctx, flags) => {
    const migrator = await ctx.openMigrator();
    return runInterruptibly(ctx, migrator, () =>
      migrator.down({
        ...(flags.to === undefined ? {} : { to: flags.to }),
        ...(flags.step === undefined ? {} : { step: flags.step }),
        lastRun: flags.lastRun === true,
        all: flags.all === true,
        retryFailed: flags.retryFailed === true,
        dryRun: flags.dryRun === true,
      }),
      { dryRun: flags.dryRun === true },
    );
  });
}

export function defineRedo(program: Command, register: Register): void {
  const command = program
    .command('redo')
    .argument('[id]', 'an applied migration (default: the newest applied)')
    .description('revert and re-apply one applied migration, for the edit-run-fix loop')
    .option('--dry-run', 'print the plan; change nothing');
  register<{ dryRun?: boolean }>(command, async (ctx, flags, [id]) => {
    const migrator = await ctx.openMigrator();
    return runInterruptibly(ctx, migrator, () => migrator.redo(id, { dryRun: flags.dryRun === true }), { dryRun: flags.dryRun === true });
  });
}
