/**
 * `--dry-run`: runs each planned step against a read-only view of the database, so helpers can
 * report what they would touch. A direct write ends that step's simulation with a note. Later
 * steps cannot see what earlier ones would have changed, and say so. A step that throws (a bug, a
 * helper needing a feature the server lacks) is what the real run would meet too: the simulation
 * stops there and the result carries the error. Nothing is claimed, locked or written.
 */
import type { EventEmitter } from 'node:events';
import type { Db, MongoClient } from 'mongodb';
import { MongrateError } from '../errors.ts';
import type { HelperPlan } from '../helpers/types.ts';
import type { MigratorEvents, RunResult, StepResult } from '../types.ts';
import { DryRunWriteStop, readOnlyClient, readOnlyDb } from './guarded.ts';
import type { BaseContext, Step, StepHooks } from './runner.ts';

export interface Simulation {
  client: MongoClient;
  db: Db;
  signal: AbortSignal;
  emit: EventEmitter<MigratorEvents>['emit'];
  clean: (text: string) => string;
  /** Calls the migration function with helpers in dry-run mode; `onPlan` receives what they would do. */
  invoke: (base: BaseContext, step: Step, hooks: StepHooks, onPlan: (plan: HelperPlan) => void) => Promise<unknown>;
  documentLimit: number;
}

const CAVEAT = 'counted on the database as it is now: the steps before this one would change it first';

export async function simulateSteps(simulation: Simulation, steps: Step[], result: RunResult): Promise<void> {
  const { db, client, signal, emit } = simulation;
  // whether an earlier step would change the database, so this one's counts are of a state it never meets
  let changedBefore = false;
  for (const [index, step] of steps.entries()) {
    const { migration, direction } = step;
    if (signal.aborted) {
      result.error = { code: 'INTERRUPTED', message: `dry run interrupted before ${migration.id}`, id: undefined };
      return;
    }
    const outcome = result.steps[index];
    if (outcome === undefined) continue;
    const plan: HelperPlan[] = [];
    const logs: string[] = [];
    const log = (message: string): void => {
      logs.push(message);
      emit('log', { id: migration.id, message });
    };
    const base: BaseContext = {
      db: readOnlyDb(db),
      client: readOnlyClient(client),
      session: undefined,
      log,
      signal,
      id: migration.id,
      direction,
    };
    const hooks: StepHooks = {
      log,
      progress: () => undefined,
      warn: (message) => emit('warning', { id: migration.id, message: simulation.clean(message) }),
      fence: () => undefined,
      session: undefined,
      transactionDocumentLimit: simulation.documentLimit,
    };
    let thrown: unknown;
    try {
      await simulation.invoke(base, step, hooks, (p) => plan.push(p));
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
