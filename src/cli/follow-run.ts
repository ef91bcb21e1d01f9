/**
 * What `up`, `down` and `redo` print while they run and when they end: a spinner per migration on
 * a terminal (its text carries the helpers' progress and ETA), plain lines elsewhere, with a
 * progress line at least every PROGRESS_EVERY_MS so a long backfill in CI never looks hung; and
 * what else the three commands share (`runOutput`).
 */
import type { Direction, HelperProgress, Migrator, OnlyPlacement, RunResult, StepResult } from '../index.ts';
import { withoutError, type DatabaseCommand } from './command.ts';
import type { Renderer } from './renderer.ts';
import { countOf, formatDuration, progressWords } from './format.ts';

/** Plain output gets a progress line this often while a migration runs (and one when a helper finishes). */
const PROGRESS_EVERY_MS = 10_000;
/** How often the clock behind those lines looks. */
const TICK_MS = 1000;

/** The migration running now, for the plain progress lines. */
interface Current {
  id: string;
  startedAt: number;
  latest: HelperProgress | undefined;
  lastLineAt: number;
}

export function followRun(renderer: Renderer, migrator: Migrator): void {
  const { chalk } = renderer;
  let current: Current | undefined;
  let ticker: NodeJS.Timeout | undefined;

  const line = (now: number): void => {
    if (current === undefined) return;
    current.lastLineAt = now;
    const detail = current.latest === undefined ? `still running (${formatDuration(now - current.startedAt)})` : progressWords(current.latest);
    renderer.info(`  ${chalk.dim(current.id + ':')} ${detail}`);
  };
  const tick = (): void => {
    const now = Date.now();
    if (current !== undefined && !renderer.spinning && now - current.lastLineAt >= PROGRESS_EVERY_MS) line(now);
  };
  const start = (id: string, text: string): void => {
    const now = Date.now();
    current = { id, startedAt: now, latest: undefined, lastLineAt: now };
    if (!renderer.startSpinner(text)) renderer.verbose(`${text} ...`);
    clearInterval(ticker);
    ticker = setInterval(tick, TICK_MS);
    // a line clock must never keep the process alive
    ticker.unref();
  };
  const end = (): void => {
    clearInterval(ticker);
    ticker = undefined;
    current = undefined;
    renderer.stopSpinner();
  };

  migrator.on('migrating', ({ id }) => start(id, `applying ${id}`));
  migrator.on('reverting', ({ id }) => start(id, `reverting ${id}`));
  migrator.on('migrated', ({ id, durationMs }) => {
    end();
    renderer.info(`${chalk.green('✔')} applied  ${id} ${chalk.dim(`(${formatDuration(durationMs)})`)}`);
  });
  migrator.on('reverted', ({ id, durationMs }) => {
    end();
    renderer.info(`${chalk.green('✔')} reverted ${id} ${chalk.dim(`(${formatDuration(durationMs)})`)}`);
  });
  // the message is printed once, by the error that ends the run
  migrator.on('failed', ({ id, direction, durationMs }) => {
    end();
    renderer.out(`${chalk.red('✖')} ${direction === 'up' ? 'failed  ' : 'failed reverting'} ${id} ${chalk.dim(`(${formatDuration(durationMs)})`)}`);
  });
  migrator.on('progress', (progress) => {
    if (current === undefined) return;
    current.latest = progress;
    const finished = progress.done >= progress.total;
    if (renderer.spinning) renderer.updateSpinner(progressWords(progress));
    else if (finished || Date.now() - current.lastLineAt >= PROGRESS_EVERY_MS) line(Date.now());
    // what the migration does after a finished helper is its own: later lines say it still runs
    if (finished) current.latest = undefined;
  });
  migrator.on('log', ({ id, message }) => {
    // a dry run's lines are printed under its step in the summary
    if (current !== undefined) renderer.info(`  ${chalk.dim(id + ':')} ${message}`);
  });
}

/** The plan of a dry run, step by step: what each helper would do, what the migration logged. */
function dryRunSummary(renderer: Renderer, result: RunResult): void {
  const { chalk } = renderer;
  if (result.steps.length === 0) {
    renderer.out('Dry run: nothing to do.');
    return;
  }
  renderer.out(`Dry run: would run ${countOf(result.steps.length, 'step')}, in this order:`);
  const failedAt = result.steps.findIndex((s) => s.status === 'failed');
  for (const [index, step] of result.steps.entries()) {
    const arrow = step.direction === 'up' ? '↑ up  ' : '↓ down';
    if (failedAt !== -1 && index > failedAt) {
      renderer.out(chalk.dim(`  ${arrow} ${step.id} (not simulated: the run would stop before it)`));
      continue;
    }
    renderer.out(`  ${arrow} ${step.id}${step.only === undefined ? '' : ` ${onlyWords(step.only)}`}`);
    for (const p of step.plan ?? []) renderer.out(`      ${p.helper} ${p.collection}: ${p.action}${p.note === undefined ? '' : ` (${p.note})`}`);
    for (const line of step.logs ?? []) renderer.out(`      ${chalk.dim(line)}`);
    if (step.caveat !== undefined) renderer.out(`      ${chalk.dim(`(${step.caveat})`)}`);
    if (step.note !== undefined) renderer.out(`      ${chalk.yellow(step.note)}`);
    if (index === failedAt) renderer.out(`      ${chalk.red('✖ the real run would fail here (the error is below)')}`);
  }
  renderer.out('Nothing was changed.');
}

/** `(alone, in order: the newest applied migration)`: how a step asked for with `--only` stands to the order. */
function onlyWords(only: OnlyPlacement): string {
  return `(alone, ${only.outOfOrder ? 'out of order' : 'in order'}: ${only.detail})`;
}

function runSummary(renderer: Renderer, result: RunResult): void {
  if (result.dryRun) {
    dryRunSummary(renderer, result);
    return;
  }
  for (const step of result.steps) if (step.only !== undefined) renderer.info(`${step.id} ${onlyWords(step.only)}`);
  const done = result.steps.filter((s: StepResult) => s.status === 'success');
  const notRun = result.steps.filter((s) => s.status === 'not-run');
  if (result.steps.length === 0) {
    renderer.info(result.direction === 'down' ? 'Nothing to revert.' : 'Nothing to apply: the database is up to date.');
    return;
  }
  if (result.error === undefined) {
    const verb = result.direction === 'down' ? 'reverted' : result.direction === 'redo' ? 'redone' : 'applied';
    renderer.info(renderer.chalk.green(`Done: ${verb} ${countOf(result.direction === 'redo' ? 1 : done.length, 'migration')}.`));
    return;
  }
  const before = done.map((s) => s.id);
  renderer.out(
    `${result.direction === 'down' ? 'Reverted' : 'Applied'} before the ${result.error.code === 'INTERRUPTED' ? 'interruption' : 'failure'}: ${before.length === 0 ? 'none' : before.join(', ')}` +
      (notRun.length > 0 ? `; not run: ${notRun.map((s) => s.id).join(', ')}` : ''),
  );
}

/** Refused before any step (a held lock, a failed check): such a run shows only its error. */
function refused(result: RunResult): boolean {
  return result.error !== undefined && result.steps.length === 0;
}

/** How `up`, `down` and `redo` follow, show and count a run; each adds its `declare`, `run` and count title. */
export function runOutput<F>(count: { title: string; direction: Direction }): Omit<DatabaseCommand<F, RunResult>, 'declare' | 'run'> {
  return {
    interruptible: true,
    async follow(out, migrator) {
      await out.prepareSpinners();
      out.followLock(migrator);
      followRun(out, migrator);
      migrator.on('warning', ({ message }) => out.warn(message));
    },
    render(out, result) {
      if (!refused(result)) runSummary(out, result);
    },
    json: (result) => (refused(result) ? {} : withoutError(result)),
    count: {
      title: count.title,
      // a dry run counts what it would run
      of: (result) => (refused(result) ? undefined : result.steps.filter((s) => s.direction === count.direction && (result.dryRun || s.status === 'success')).length),
      dryRun: (result) => !refused(result) && result.dryRun,
    },
  };
}
