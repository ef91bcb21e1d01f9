import type { Command } from 'commander';
import type { Register } from '../context.ts';
import { exitCodeOf } from '../errors.ts';
import { statusTable } from '../status-table.ts';

export function defineStatus(program: Command, register: Register): void {
  const command = program
    .command('status')
    .description('show every migration known from files or the changelog, with its state')
    .option('--check', 'exit 4 if anything is pending, failed, changed or missing (a CI gate)');
  register<{ check?: boolean }>(command, async (ctx, flags) => {
    const migrator = await ctx.openMigrator();
    const status = await migrator.status();
    if (status.error !== undefined) return ctx.renderer.report(status.error);
    const failing = flags.check === true && status.problems > 0;
    const problemIds = status.migrations.filter((m) => !['applied', 'baseline'].includes(m.state)).map((m) => `${m.id} (${m.state})`);
    const message = `${status.problems} migration${status.problems === 1 ? ' needs' : 's need'} attention: ${problemIds.join(', ')}`;
    statusTable(ctx.renderer, status);
    if (status.migrationsUnavailable !== undefined) ctx.renderer.warn(`showing the changelog as recorded, with nothing to compare it to: ${status.migrationsUnavailable}`);
    const { error: _error, ...shown } = status;
    ctx.renderer.emitJson({
      ok: !failing,
      ...shown,
      ...(failing ? { error: { code: 'CHECK_FAILED', message } } : {}),
    });
    if (!failing) return 0;
    if (!ctx.renderer.json) ctx.renderer.out(ctx.renderer.chalk.red(`check failed: ${message}`));
    return exitCodeOf([{ code: 'CHECK_FAILED' }]);
  });
}
