/** `validate`, `repair`, `baseline` and `unlock`: the commands for when history needs attention. */
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { MongrateError } from '../../errors.ts';
import type { CommandContext, Register } from '../context.ts';
import { exitCodeOf } from '../errors.ts';
import { given, lockWaitOption } from '../options.ts';
import { holderWords } from '../renderer.ts';

export function defineValidate(program: Command, register: Register): void {
  const command = program
    .command('validate')
    .description('check applied files exist and match their checksums, ids are unique, every file exports up (exit 4 on findings)');
  register(command, async (ctx) => {
    const migrator = await ctx.openMigrator();
    const result = await migrator.validate();
    const { renderer } = ctx;
    if (result.error !== undefined && result.error.code !== 'CHECK_FAILED') return renderer.report(result.error);
    for (const finding of result.findings) renderer.out(`${renderer.chalk.red('✖')} ${finding.kind}: ${finding.message}`);
    if (result.error === undefined) renderer.info(renderer.chalk.green('✔ valid: every applied migration is present and unchanged'));
    renderer.emitJson({ ok: result.ok, findings: result.findings, ...(result.error === undefined ? {} : { error: { code: result.error.code, message: result.error.message } }) });
    if (result.error !== undefined) renderer.out(renderer.chalk.red(`validate: ${result.error.message}`));
    return exitCodeOf([result.error]);
  });
}

async function confirm(ctx: CommandContext, question: string): Promise<boolean> {
  const prompt = createInterface({ input: ctx.io.stdin, output: ctx.io.stderr });
  try {
    return /^y(es)?$/i.test((await prompt.question(`${question} [y/N] `)).trim());
  } finally {
    prompt.close();
  }
}

export function defineRepair(program: Command, register: Register): void {
  const command = program
    .command('repair')
    .description('remove failed records so they run again, re-record checksums of changed files, forget missing ones')
    .option('--yes', 'do it without asking (required when not on a terminal)')
    .addOption(lockWaitOption());
  register<{ yes?: boolean; lockWait?: number }>(command, async (ctx, flags) => {
    const migrator = await ctx.openMigrator();
    ctx.renderer.followLock(migrator);
    const { renderer } = ctx;
    const plan = await migrator.repair({ dryRun: true });
    if (plan.error !== undefined) return renderer.report(plan.error);
    if (plan.actions.length === 0) {
      renderer.info('Nothing to repair.');
      renderer.emitJson({ ok: true, actions: [] });
      return 0;
    }
    for (const action of plan.actions) renderer.out(`  ${action.id}: ${action.detail}`);
    if (flags.yes !== true) {
      const interactive = ctx.io.stdin.isTTY === true && !renderer.json;
      if (!interactive) {
        throw new MongrateError('USAGE', 'repair changes the changelog: run it on a terminal to confirm, or pass --yes');
      }
      if (!(await confirm(ctx, `Apply ${plan.actions.length} repair${plan.actions.length === 1 ? '' : 's'}?`))) {
        renderer.out('Nothing changed.');
        return 0;
      }
    }
    const done = await migrator.repair(given('lockWait', flags.lockWait));
    if (done.error !== undefined) return renderer.report(done.error);
    renderer.info(renderer.chalk.green(`Repaired ${done.actions.length} record${done.actions.length === 1 ? '' : 's'}.`));
    renderer.emitJson({ ok: true, actions: done.actions });
    return 0;
  });
}

export function defineBaseline(program: Command, register: Register): void {
  const command = program
    .command('baseline')
    .argument('<id>', 'the newest migration the database already reflects')
    .description('record every migration up to and including <id> as applied without running it')
    .addOption(lockWaitOption());
  register<{ lockWait?: number }>(command, async (ctx, flags, [id = '']) => {
    const migrator = await ctx.openMigrator();
    ctx.renderer.followLock(migrator);
    const result = await migrator.baseline(id, given('lockWait', flags.lockWait));
    if (result.error !== undefined) return ctx.renderer.report(result.error);
    for (const baselined of result.baselined) ctx.renderer.info(`${ctx.renderer.chalk.cyan('✔')} baselined ${baselined}`);
    ctx.renderer.out(
      `Baselined ${result.baselined.length} migration${result.baselined.length === 1 ? '' : 's'}` +
        (result.skipped.length > 0 ? `; ${result.skipped.length} already recorded, left as they were` : '') +
        '.',
    );
    ctx.renderer.emitJson({ ok: true, ...result });
    return 0;
  });
}

export function defineUnlock(program: Command, register: Register): void {
  const command = program
    .command('unlock')
    .description('show the lock holder; release an expired lock, or any lock with --force')
    .option('--force', 'release the lock even if its lease is still running');
  register<{ force?: boolean }>(command, async (ctx, flags) => {
    const migrator = await ctx.openMigrator();
    const result = await migrator.unlock({ force: flags.force === true });
    const { renderer } = ctx;
    if (result.error !== undefined) return renderer.report(result.error);
    const lock = result.lock;
    if (lock === null) {
      renderer.out('No lock is held.');
      renderer.emitJson({ ok: true, ...result });
      return 0;
    }
    const holder = `${holderWords(lock)}, lease until ${lock.expiresAt.toISOString()}`;
    renderer.out(`Released the ${result.expired ? 'expired' : 'live'} lock of ${holder}.`);
    renderer.emitJson({ ok: true, ...result });
    return 0;
  });
}
