/**
 * Runs the steps of one `up`/`down`/`redo` under the lock: each migration is claimed, run (in a
 * transaction when one is used), and recorded. A failure stops the run and is recorded; losing the
 * lock or an interrupt stops it at the next safe point. Returns the filled-in result.
 */
import type { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { ClientSession, Db, MongoClient } from 'mongodb';
import type { ChangelogStore } from '../changelog/store.ts';
import type { LoadedMigration } from '../discovery/load-migration.ts';
import { messageOf } from '../errors.ts';
import type { Lease } from './lease.ts';
import type { Direction, MigrationContext, MigrationFn, MigratorEvents, RunResult, StepResult } from '../types.ts';
import type { RunIdentity } from '../util/identity.ts';

export interface Step {
  migration: LoadedMigration;
  direction: Direction;
  /** Replace a `failed` (or dead `running`) record instead of inserting a new one. */
  retry: boolean;
}

export interface Run {
  identity: RunIdentity;
  abort: AbortController;
  store: ChangelogStore;
  lease: Lease | undefined;
  client: MongoClient;
  db: Db;
  /** Whether this migration runs in a transaction (decided per migration by the caller). */
  useTransaction: (migration: LoadedMigration) => boolean;
  emit: EventEmitter<MigratorEvents>['emit'];
  /** Completes the context (helpers, server, dry run) and calls the migration function with it. */
  invoke: (base: BaseContext, fn: MigrationFn) => Promise<unknown>;
}

/** What the runner knows of a migration's context; the migrator adds helpers and the server. */
export type BaseContext = Omit<MigrationContext, 'helpers' | 'server' | 'dryRun'>;

type RunError = NonNullable<RunResult['error']>;

function stopReason(run: Run, after: string): RunError | undefined {
  if (run.lease?.lost !== undefined) {
    return { code: 'LOCK_LOST', message: `stopped ${after}: lost the lock (${run.lease.lost})`, id: undefined };
  }
  if (run.abort.signal.aborted) return { code: 'INTERRUPTED', message: `interrupted ${after}`, id: undefined };
  return undefined;
}

export async function runSteps(run: Run, steps: Step[], result: RunResult): Promise<void> {
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

async function runStep(run: Run, step: Step, outcome: StepResult): Promise<RunError | undefined> {
  const { migration, direction } = step;
  const { store } = run;
  const fn = direction === 'up' ? migration.definition.up : migration.definition.down;
  if (fn === undefined) return { code: 'MIGRATION_FAILED', message: `${migration.id} has no ${direction}`, id: migration.id };
  const transactional = run.useTransaction(migration);
  run.emit('migrating', { id: migration.id, direction });
  // in a transaction nothing is claimed outside it: a failure then leaves no record at all
  const startedAt = direction === 'up' && !transactional ? await store.claim(migration, { retry: step.retry }) : new Date();
  const t0 = performance.now();
  const elapsed = (): number => Math.round(performance.now() - t0);
  const context = (session: ClientSession | undefined): BaseContext => ({
    db: run.db,
    client: run.client,
    session,
    log: (message: string) => run.emit('log', { id: migration.id, message }),
    signal: run.abort.signal,
    id: migration.id,
    direction,
  });
  const record = async (session: ClientSession | undefined): Promise<void> => {
    // the fence: a runner that lost its lease (or whose lease ran out unrenewed) records nothing;
    // the new owner decides what happens
    try {
      run.lease?.assertHeld();
    } catch (error) {
      throw new LockLostError(messageOf(error));
    }
    const finished = { startedAt, durationMs: elapsed(), session };
    if (direction === 'down') await store.remove(migration, finished);
    else if (transactional) await store.recordApplied(migration, finished);
    else await store.markApplied(migration, finished);
  };
  try {
    if (transactional) {
      const session = run.client.startSession();
      try {
        await session.withTransaction(async () => {
          // first, so a takeover of the lock during the transaction makes its commit fail
          await run.lease?.touch(session);
          await run.invoke(context(session), fn);
          await record(session);
        });
      } finally {
        await session.endSession();
      }
    } else {
      await run.invoke(context(undefined), fn);
      await record(undefined);
    }
  } catch (error) {
    const durationMs = elapsed();
    if (error instanceof LockLostError) {
      Object.assign(outcome, { status: 'failed', durationMs, error: error.message });
      return { code: 'LOCK_LOST', message: `${migration.id} finished but was not recorded: ${error.message}`, id: migration.id };
    }
    const interrupted = run.abort.signal.aborted;
    const message = messageOf(error);
    if (run.lease?.lost === undefined) {
      if (transactional) await store.appendHistory(migration.id, 'failed', { direction, durationMs, error: { message } });
      else await store.markFailed(migration, direction, { message, interrupted }, { startedAt, durationMs });
    }
    Object.assign(outcome, { status: 'failed', durationMs, error: message });
    run.emit('failed', { id: migration.id, direction, error: message, durationMs });
    const verb = direction === 'up' ? 'migration' : 'reverting';
    const lost = run.lease?.lost;
    if (lost !== undefined) {
      return {
        code: 'LOCK_LOST',
        message: `stopped ${migration.id}: lost the lock (${lost}); its record is left 'running' for whoever holds the lock next`,
        id: migration.id,
      };
    }
    return {
      code: interrupted ? 'INTERRUPTED' : 'MIGRATION_FAILED',
      message: `${verb} ${migration.id} ${interrupted ? 'was interrupted' : 'failed'}: ${message}${transactional ? ' (rolled back)' : ''}`,
      id: migration.id,
    };
  }
  const durationMs = elapsed();
  Object.assign(outcome, { status: 'success', durationMs });
  run.emit('migrated', { id: migration.id, direction, durationMs });
  return undefined;
}

class LockLostError extends Error {}
