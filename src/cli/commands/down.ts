/** `down`: revert applied migrations, newest application first (or exactly one, `--only`). */
import { Option } from 'commander';
import type { RunResult } from '../../index.ts';
import { runOutput } from '../follow-run.ts';
import { dryRunOption, given, lockWaitOption, wholeNumber } from '../options.ts';
import { databaseCommand } from '../run-command.ts';

interface DownFlags {
  to?: string;
  step?: number;
  lastRun?: boolean;
  /** migrate-mongo's `-b, --block`: the same as `--last-run`. */
  block?: boolean;
  all?: boolean;
  retryFailed?: boolean;
  dryRun?: boolean;
  lockWait?: number;
  yes?: boolean;
  only?: string;
  allowOutOfOrder?: boolean;
}

/** `--to`, `--step`, `--last-run` (or `--block`), `--all` and `--only` each say what to revert: one at a time, refused while parsing. */
const RANGE = ['to', 'step', 'lastRun', 'block', 'all', 'only'] as const;
function range(name: (typeof RANGE)[number], flags: string, description: string): Option {
  return new Option(flags, description).conflicts(RANGE.filter((other) => other !== name));
}

export const downCommand = databaseCommand<DownFlags, RunResult>({
  declare: (program) =>
    program
      .command('down')
      .description('revert applied migrations, newest application first (default: the newest one)')
      .addOption(range('to', '--to <id>', 'revert every migration applied after this one; keep it'))
      .addOption(range('step', '--step <n>', 'revert the newest n').argParser(wholeNumber('--step')))
      .addOption(range('lastRun', '--last-run', 'revert what the newest `up` run applied'))
      .addOption(range('block', '-b, --block', "the same as --last-run (migrate-mongo's spelling)"))
      .addOption(range('all', '--all', 'revert everything applied'))
      .addOption(range('only', '--only <id>', 'revert exactly this applied migration: the newest applied, or any with --allow-out-of-order'))
      .option('--allow-out-of-order', 'with --only: revert it even though migrations applied after it stay applied')
      .option('--retry-failed', 'finish reverting a migration whose down failed or was interrupted (it counts as the first step)')
      .addOption(dryRunOption())
      .addOption(lockWaitOption())
      .option('--yes', 'confirm --all in a protected environment'),
  run: (migrator, flags) =>
    migrator.down({
      ...given('to', flags.to),
      ...given('step', flags.step),
      lastRun: flags.lastRun === true || flags.block === true,
      all: flags.all === true,
      retryFailed: flags.retryFailed === true,
      dryRun: flags.dryRun === true,
      ...given('lockWait', flags.lockWait),
      confirmed: flags.yes === true,
      ...given('only', flags.only),
      ...(flags.allowOutOfOrder === true ? { allowOutOfOrder: true } : {}),
    }),
  ...runOutput({ title: 'Reverted', direction: 'down' }),
});
