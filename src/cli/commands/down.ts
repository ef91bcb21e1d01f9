import { Option, type Command } from 'commander';
import type { Register } from '../context.ts';
import { dryRunOption, given, lockWaitOption, wholeNumber } from '../options.ts';
import { runInterruptibly } from '../run.ts';

interface DownFlags {
  to?: string;
  step?: number;
  lastRun?: boolean;
  all?: boolean;
  retryFailed?: boolean;
  dryRun?: boolean;
  lockWait?: number;
}

/** `--to`, `--step`, `--last-run` and `--all` each say how far to go: one at a time, refused while parsing. */
const RANGE = ['to', 'step', 'lastRun', 'all'] as const;
function range(name: (typeof RANGE)[number], flags: string, description: string): Option {
  return new Option(flags, description).conflicts(RANGE.filter((other) => other !== name));
}

export function defineDown(program: Command, register: Register): void {
  const command = program
    .command('down')
    .description('revert applied migrations, newest application first (default: the newest one)')
    .addOption(range('to', '--to <id>', 'revert every migration applied after this one; keep it'))
    .addOption(range('step', '--step <n>', 'revert the newest n').argParser(wholeNumber('--step')))
    .addOption(range('lastRun', '--last-run', 'revert what the newest `up` run applied'))
    .addOption(range('all', '--all', 'revert everything applied'))
    .option('--retry-failed', 'finish reverting a migration whose down failed or was interrupted (it counts as the first step)')
    .addOption(dryRunOption())
    .addOption(lockWaitOption());
  register<DownFlags>(command, async (ctx, flags) => {
    const migrator = await ctx.openMigrator();
    return runInterruptibly(ctx, migrator, () =>
      migrator.down({
        ...given('to', flags.to),
        ...given('step', flags.step),
        lastRun: flags.lastRun === true,
        all: flags.all === true,
        retryFailed: flags.retryFailed === true,
        dryRun: flags.dryRun === true,
        ...given('lockWait', flags.lockWait),
      }),
    );
  });
}

export function defineRedo(program: Command, register: Register): void {
  const command = program
    .command('redo')
    .argument('[id]', 'an applied migration (default: the newest applied)')
    .description('revert and re-apply one applied migration, for the edit-run-fix loop')
    .addOption(dryRunOption())
    .addOption(lockWaitOption());
  register<{ dryRun?: boolean; lockWait?: number }>(command, async (ctx, flags, [id]) => {
    const migrator = await ctx.openMigrator();
    return runInterruptibly(ctx, migrator, () => migrator.redo(id, { dryRun: flags.dryRun === true, ...given('lockWait', flags.lockWait) }));
  });
}
