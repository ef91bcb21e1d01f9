/**
 * `repair [--yes]`: remove failed records so they run again, re-record checksums of changed files,
 * forget missing ones. It shows what it would do and asks first on a terminal; elsewhere it needs
 * `--yes` (and across databases always: it does not ask per database; and in a protected
 * environment always: there the API refuses it unconfirmed, and nothing is asked).
 */
import type { RepairAction } from '../../index.ts';
import type { CommandResult } from '../command.ts';
import { given, lockWaitOption } from '../options.ts';
import type { Renderer } from '../renderer.ts';
import { databaseCommand } from '../run-command.ts';
import { countOf } from '../format.ts';

interface RepairFlags {
  yes?: boolean;
  lockWait?: number;
}

interface RepairOutcome extends CommandResult {
  /** What it would do. */
  plan: RepairAction[];
  /** What it did; undefined when it did nothing (the question was answered no). */
  done: RepairAction[] | undefined;
  /** The plan was shown with the question, before the answer. */
  asked: boolean;
}

function showPlan(out: Renderer, plan: RepairAction[]): void {
  for (const action of plan) out.out(`  ${action.id}: ${action.detail}`);
}

export const repairCommand = databaseCommand<RepairFlags, RepairOutcome>({
  declare: (program) =>
    program
      .command('repair')
      .description('remove failed records so they run again, re-record checksums of changed files, forget missing ones')
      .option('--yes', 'do it without asking (required when not on a terminal)')
      .addOption(lockWaitOption()),
  follow: (out, migrator) => out.followLock(migrator),
  async run(migrator, flags, _args, invocation) {
    const plan = await migrator.repair({ dryRun: true });
    if (plan.error !== undefined) return { plan: [], done: undefined, asked: false, error: plan.error };
    if (plan.actions.length === 0) return { plan: [], done: [], asked: false };
    const confirmed = flags.yes === true;
    // in a protected environment the API refuses an unconfirmed repair, naming the environment: no question
    if (!confirmed && migrator.config.environment?.protected === true) {
      const refused = await migrator.repair(given('lockWait', flags.lockWait));
      return { plan: plan.actions, done: undefined, asked: false, error: refused.error };
    }
    const asked = !confirmed;
    if (asked) {
      if (!invocation.interactive) {
        return { plan: plan.actions, done: undefined, asked: false, error: { code: 'USAGE', message: 'repair changes the changelog: run it on a terminal to confirm, or pass --yes' } };
      }
      showPlan(invocation.renderer, plan.actions);
      if (!(await invocation.confirm(`Apply ${countOf(plan.actions.length, 'repair')}?`))) return { plan: plan.actions, done: undefined, asked };
    }
    const done = await migrator.repair({ ...given('lockWait', flags.lockWait), confirmed: true });
    return { plan: plan.actions, done: done.actions, asked, error: done.error };
  },
  render(out, result) {
    if (!result.asked) showPlan(out, result.plan);
    if (result.error !== undefined) return;
    if (result.plan.length === 0) out.info('Nothing to repair.');
    else if (result.done === undefined) out.out('Nothing changed.');
    else out.info(out.chalk.green(`Repaired ${countOf(result.done.length, 'record')}.`));
  },
  json: (result) => (result.error === undefined ? { actions: result.done ?? [] } : {}),
  refuseAcross: (flags) =>
    flags.yes === true ? undefined : { code: 'USAGE', message: 'repair across databases does not ask per database: check each with `mongrate repair --db <name>`, or pass --yes' },
  count: { title: 'Repaired', of: (result) => (result.error === undefined ? result.done?.length : undefined) },
});
