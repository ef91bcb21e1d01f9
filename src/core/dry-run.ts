/**
 * `--dry-run`: runs each planned step against a read-only view of the database, so helpers can
 * report what they would touch. A direct write ends that step's simulation with a note. Later
 * steps cannot see what earlier ones would have changed. Nothing is claimed, locked or written.
 */
import type { Db, MongoClient } from 'mongodb';
import type { HelperPlan } from '../helpers/types.ts';
import type { EventEmitter } from 'node:events';
import type { MigratorEvents, RunResult } from '../types.ts';
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

export async function simulateSteps(simulation: Simulation, steps: Step[], result: RunResult): Promise<void> {
  const { db, client, signal, emit } = simulation;
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
    try {
      await simulation.invoke(base, step, hooks, (p) => plan.push(p));
    } catch (error) {
      outcome.note = error instanceof DryRunWriteStop ? error.message : `dry run stopped: ${simulation.clean(error instanceof Error ? error.message : String(error))}`;
    }
    outcome.plan = plan;
    outcome.logs = logs;
  }
}
