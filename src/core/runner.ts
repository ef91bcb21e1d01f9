/**
 * Runs the steps of one `up`/`down`/`redo` under the lock. Each migration is claimed first,
 * outside any transaction and in either direction (its record marked `running`, so `status` and
 * every other runner see it), then run, and its outcome recorded conditionally on that claim:
 * right after it (`runOutside`), or inside the migration's transaction with its own writes
 * (`transactional-step.ts`). A migration that does not fit a transaction under `auto` runs again
 * here, outside one, under the same claim. A failure stops the run and is recorded; an interrupt
 * stops it at the next safe point; a lost lease or a lost server stops it without writing
 * anything more. Returns the filled-in result; never throws for a migration's failure.
 */
import { performance } from 'node:perf_hooks';
import { MongrateError } from '../errors.ts';
import type { HelperProgress } from '../helpers/types.ts';
import type { RunErrorCode, RunResult, StepResult } from '../types.ts';
import { isConnectionLoss } from '../driver/errors.ts';
import type { Claimed } from './recorder.ts';
import { StepOutput, type LineSource } from './run-output.ts';
import { callMigration } from './step-context.ts';
import {
  CHECKED,
  failed,
  elapsed,
  interruptedMessage,
  timeLimitPassed,
  lostLease,
  messageOf,
  plannedRecord,
  retryHints,
  serverLostMessage,
  succeeded,
  TimeLimitPassed,
  warn,
  type Phase,
  type Run,
  type RunError,
  type Step,
  type StepState,
} from './step-outcome.ts';
import { runInTransaction } from './transactional-step.ts';

export type { Run, RunLease, Step } from './step-outcome.ts';

function stopReason(run: Run, after: string): RunError | undefined {
  if (run.lease.lost !== undefined) return { code: 'LOCK_LOST', message: `stopped ${after}: lost the lock (${run.lease.lost})`, id: undefined };
  if (run.signal.aborted) return { code: 'INTERRUPTED', message: `interrupted ${after}${timeLimitPassed(run)}`, id: undefined };
  return undefined;
}

export async function runSteps(run: Run, steps: Step[], result: RunResult): Promise<void> {
  try {
    await runEach(run, steps, result);
  } finally {
    // history entries go out without holding up the next migration; the run ends once they are written
    await run.recorder.settled();
  }
}

async function runEach(run: Run, steps: Step[], result: RunResult): Promise<void> {
  for (const [index, step] of steps.entries()) {
    const stop = stopReason(run, `before ${step.migration.id}`);
    if (stop !== undefined) {
      result.error = stop;
      return;
    }
    const failure = await runStep(run, step, result.steps[index] as StepResult);
    if (failure !== undefined) {
      result.error = failure;
      return;
    }
    const after = stopReason(run, `after ${step.migration.id}`);
    if (after !== undefined) {
      result.error = after;
      return;
    }
  }
}

/** One step under its time limit (the migration's `timeoutSeconds`, else the config's): past it, the run is interrupted. */
async function runStep(run: Run, step: Step, outcome: StepResult): Promise<RunError | undefined> {
  const { id, definition } = step.migration;
  const limit = definition.timeoutSeconds ?? run.timeoutSeconds;
  const timer = limit === undefined ? undefined : setTimeout(() => run.interrupt(new TimeLimitPassed(id, limit)), limit * 1000);
  try {
    return await runTimedStep(run, step, outcome);
  } finally {
    clearTimeout(timer);
  }
}

async function runTimedStep(run: Run, step: Step, outcome: StepResult): Promise<RunError | undefined> {
  const { migration, direction } = step;
  const fn = direction === 'up' ? migration.definition.up : migration.definition.down;
  if (fn === undefined) return { code: 'MIGRATION_FAILED', message: `${migration.id} has no ${direction}`, id: migration.id };
  if (direction === 'up') run.emit('migrating', { id: migration.id, direction });
  else run.emit('reverting', { id: migration.id, direction });
  const state: StepState = { run, step, fn, outcome, started: performance.now(), output: new StepOutput() };
  const transaction = run.transactions.use(migration);
  let claimed: Claimed;
  try {
    run.lease.assertHeld();
    claimed = direction === 'up' ? await run.recorder.claimUp(migration, step.record, { transaction }) : await run.recorder.claimDown(plannedRecord(step), { transaction });
  } catch (error) {
    return failOutside(state, error, 'claim', undefined);
  }
  if (!transaction) return runOutside(state, claimed);
  const ended = await runInTransaction(state, claimed);
  if (ended.kind === 'ended') return ended.error;
  // `auto`: nothing of the transaction remains; the migration starts over outside one
  warn(run, migration.id, `${migration.id}: ${ended.why.message}; rolled back, running it again outside a transaction (batched and resumable)`);
  try {
    run.lease.assertHeld();
    claimed = await run.recorder.leaveTransaction(claimed);
  } catch (error) {
    // nothing ran outside the transaction yet: a record left `running` shows as rolled back
    return failOutside(state, error, 'claim', undefined);
  }
  state.started = performance.now();
  return runOutside(state, claimed);
}

async function runOutside(state: StepState, claimed: Claimed): Promise<RunError | undefined> {
  const { run, step, fn } = state;
  const { migration, direction } = step;
  const log = (message: string, from: LineSource): void => {
    (state.outcome.logs ??= []).push(message);
    state.output.add(message, from);
    run.emit('log', { id: migration.id, message });
  };
  const progress = (p: HelperProgress): void => void run.emit('progress', { id: migration.id, ...p });
  let phase: Phase = 'run';
  try {
    await callMigration(run.environment, { id: migration.id, direction, log, progress, warn: (message) => warn(run, migration.id, message) }, fn);
    phase = 'record';
    run.lease.assertHeld();
    const durationMs = elapsed(state);
    if (direction === 'up') await run.recorder.finishUp(migration, claimed, durationMs, state.output);
    else await run.recorder.finishDown(plannedRecord(step), claimed, durationMs, state.output);
  } catch (error) {
    return failOutside(state, error, phase, claimed);
  }
  return succeeded(state);
}

async function failOutside(state: StepState, error: unknown, phase: Phase, claimed: Claimed | undefined): Promise<RunError> {
  const { run, step } = state;
  const { id } = step.migration;
  let message = messageOf(run, error);
  const verb = step.direction === 'up' ? 'applying' : 'reverting';
  const lost = lostLease(run, error, message);
  if (lost !== undefined) {
    const left = claimed === undefined ? 'nothing of it ran' : `its record is left 'running' for whoever holds the lock next`;
    return failed(state, 'LOCK_LOST', `stopped ${verb} ${id}: lost the lock (${lost}); ${left}`, { stepError: message, cause: error });
  }
  if (isConnectionLoss(error)) {
    const hints = phase === 'claim' ? [] : retryHints(step.direction, CHECKED);
    return failed(state, 'UNREACHABLE', serverLostMessage(state, phase, message), { stepError: message, cause: error, hints });
  }
  if (claimed === undefined) {
    // nothing ran: the claim itself was refused or failed
    const code: RunErrorCode = error instanceof MongrateError && error.code === 'LOCK_HELD' ? 'LOCK_HELD' : 'MIGRATION_FAILED';
    return failed(state, code, `${verb} ${id} did not start: ${message}`, { stepError: message, cause: error });
  }
  const interrupted = run.signal.aborted;
  if (interrupted) message = interruptedMessage(run, message);
  try {
    await run.recorder.recordFailure(claimed, { message, interrupted }, elapsed(state), state.output);
  } catch (recordError) {
    if (isConnectionLoss(recordError)) {
      const hints = retryHints(step.direction, CHECKED);
      return failed(state, 'UNREACHABLE', serverLostMessage(state, 'run', `${message}; then the server was lost`), { stepError: message, cause: error, hints });
    }
    warn(run, id, `could not record the failure of ${id} (${messageOf(run, recordError)})`);
  }
  const what = step.direction === 'up' ? 'migration' : 'reverting';
  const hints = retryHints(step.direction, interrupted ? '' : 'once it is fixed');
  return failed(state, interrupted ? 'INTERRUPTED' : 'MIGRATION_FAILED', `${what} ${id} ${interrupted ? 'was interrupted' : 'failed'}: ${message}`, { stepError: message, cause: error, hints });
}
