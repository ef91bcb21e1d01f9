/** What `up`, `down` and `redo` share: Ctrl-C handling and turning a run result into output and an exit code. */
import type { Migrator, RunResult } from '../index.ts';
import type { CommandContext } from './context.ts';
import { followRun, runSummary } from './follow-run.ts';
import { onStopSignals } from './stop-signals.ts';

/**
 * First SIGINT/SIGTERM: ask the migrator to stop at the next safe point (it records the
 * interrupted migration and the command exits 130). Second: leave at once.
 */
export async function runInterruptibly(ctx: CommandContext, migrator: Migrator, run: () => Promise<RunResult>): Promise<number> {
  // one database of several: the fan-out owns the signals and interrupts every database
  const signals =
    ctx.member === undefined
      ? onStopSignals(ctx, { stopping: 'stopping at the next safe point', leftBehind: 'the lock and the running record are' }, () => migrator.interrupt())
      : undefined;
  try {
    await ctx.renderer.prepareSpinners();
    ctx.renderer.followLock(migrator);
    followRun(ctx.renderer, migrator);
    migrator.on('warning', ({ message }) => ctx.renderer.warn(message));
    return finishRun(ctx, await run());
  } finally {
    signals?.dispose();
  }
}

/** The summary, then the one JSON document or the one error line; the exit code of the outcome. */
function finishRun(ctx: CommandContext, result: RunResult): number {
  const { renderer } = ctx;
  const { error, ...rest } = result;
  // refused before any step (a held lock, a failed check): only the error is shown
  const refused = error !== undefined && result.steps.length === 0;
  if (!refused) {
    renderer.runEnded(result);
    runSummary(renderer, result);
  }
  if (error === undefined) {
    renderer.emitJson({ ok: true, ...rest });
    return 0;
  }
  return renderer.report(error, refused ? {} : rest);
}
