/**
 * `--dry-run`: runs each planned step against a read-only view of the database, so helpers can
 * report what they would touch. A direct write ends that step's simulation with a note. Later
 * steps cannot see what earlier ones would have changed, and say so. A step that throws (a bug, a
 * helper needing a feature the server lacks) is what the real run would meet too: the simulation
 * stops there and the result carries the error. Nothing is claimed, locked or written.
 */
import type { EventEmitter } from 'node:events';
import { MongrateError } from '../errors.ts';
import type { HelperPlan } from '../helpers/types.ts';
import type { MigratorEvents, RunResult, StepResult } from '../types.ts';
import { DryRunWriteStop } from './bound-handles.ts';
import { callMigration, type StepEnvironment } from './step-context.ts';
import type { Step } from './step-outcome.ts';

export interface Simulation {
  /** A dry run's: `dryRun` set, no fence. */
  environment: StepEnvironment;
  emit: EventEmitter<MigratorEvents>['emit'];
  clean: (text: string) => string;
}

const CAVEAT = 'counted on the database as it is now: the steps before this one would change it first';

export async function simulateSteps(simulation: Simulation, steps: Step[], result: RunResult): Promise<void> {
  const { environment, emit } = simulation;
  // whether an earlier step would change the database, so this one's counts are of a state it never meets
  let changedBefore = false;
  for (const [index, step] of steps.entries()) {
    const { migration, direction } = step;
    if (environment.signal.aborted) {
      result.error = { code: 'INTERRUPTED', message: `dry run interrupted before ${migration.id}`, id: undefined };
      return;
    }
    const outcome = result.steps[index];
    if (outcome === undefined) continue;
    const fn = direction === 'up' ? migration.definition.up : migration.definition.down;
    const plan: HelperPlan[] = [];
    const logs: string[] = [];
    const call = {
      id: migration.id,
      direction,
      log: (message: string): void => {
        logs.push(message);
        emit('log', { id: migration.id, message });
      },
      progress: () => undefined,
      warn: (message: string): void => void emit('warning', { id: migration.id, message: simulation.clean(message) }),
      onPlan: (p: HelperPlan): void => void plan.push(p),
    };
    let thrown: unknown;
    try {
      if (fn !== undefined) await callMigration(environment, call, fn);
    } catch (error) {
      if (error instanceof DryRunWriteStop) outcome.note = error.message;
      else thrown = error;
    }
    outcome.plan = plan;
    outcome.logs = logs;
    if (changedBefore && plan.length > 0) outcome.caveat = CAVEAT;
    changedBefore ||= plan.length > 0 || outcome.note !== undefined;
    if (thrown !== undefined) {
      result.error = wouldFail(simulation, outcome, thrown);
      return;
    }
  }
}

/** The real run would stop at this step: the step says why, and so does the run's error. */
function wouldFail(simulation: Simulation, outcome: StepResult, thrown: unknown): NonNullable<RunResult['error']> {
  const message = simulation.clean(thrown instanceof Error ? thrown.message : String(thrown));
  const interrupted = thrown instanceof MongrateError && thrown.code === 'INTERRUPTED';
  Object.assign(outcome, { status: 'failed', error: message });
  const what = outcome.direction === 'up' ? `migration ${outcome.id}` : `reverting ${outcome.id}`;
  return {
    code: interrupted ? 'INTERRUPTED' : 'MIGRATION_FAILED',
    message: interrupted ? `dry run interrupted in ${outcome.id}` : `${what} would fail: ${message}`,
    id: outcome.id,
    cause: thrown,
  };
}
