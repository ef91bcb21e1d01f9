/**
 * Turns planned steps into a run result: for real under the lock (`runner.ts`), or simulated
 * for `--dry-run` (`dry-run.ts`). Both call migrations the same way: the context completed with
 * helpers bound to the migration, the server probe and the dry-run flag.
 */
import type { Db } from 'mongodb';
import type { Driver } from '../driver/drivers.ts';
import { createHelpers, runWithHelperContext, type HelperContext, type HelperPlan } from '../helpers/index.ts';
import type { ServerInfo } from '../server/capabilities.ts';
import type { MigrationContext, RunResult } from '../types.ts';
import type { CommandScope, Locked } from './command-scope.ts';
import { simulateSteps } from './dry-run.ts';
import { runSteps, type BaseContext, type Step, type StepHooks } from './runner.ts';
import { transactionPolicy, transactionSupportOf } from './transactions.ts';

interface InvokeOptions {
  /** The helpers' database, on mongrate's client. */
  db: Db;
  /** The driver of that client: the helpers encode and decode BSON with it. */
  driver: Driver;
  server: ServerInfo;
  dryRun: boolean;
  onPlan?: (plan: HelperPlan) => void;
}

/**
 * Calls the migration so that standalone helpers imported from 'mongrate' find the same context
 * as `ctx.helpers`. Helpers get the real database: they fence their own writes, and in a dry
 * run only count.
 */
function invoke(scope: CommandScope, base: BaseContext, fn: (ctx: MigrationContext) => Promise<unknown>, hooks: StepHooks, options: InvokeOptions): Promise<unknown> {
  const { server, dryRun, onPlan } = options;
  const helperContext: HelperContext = {
    db: options.db,
    bson: options.driver.mongodb.BSON,
    server,
    dryRun,
    signal: base.signal,
    log: hooks.log,
    onProgress: hooks.progress,
    onPlan: (plan) => {
      onPlan?.(plan);
      scope.emit('plan', { id: base.id, ...plan });
    },
    fence: hooks.fence,
    warn: hooks.warn,
    transactionDocumentLimit: hooks.transactionDocumentLimit,
    ...(hooks.session === undefined ? {} : { session: hooks.session }),
  };
  const ctx: MigrationContext = { ...base, helpers: createHelpers(helperContext), server, dryRun };
  return runWithHelperContext(helperContext, () => fn(ctx));
}

export function emptyResult(kind: RunResult['direction'], dryRun: boolean, steps: Step[], runId: string | undefined): RunResult {
  return {
    direction: kind,
    dryRun,
    ...(runId === undefined ? {} : { runId }),
    steps: steps.map((s) => ({ id: s.migration.id, direction: s.direction, status: 'not-run', durationMs: undefined, error: undefined })),
    error: undefined,
    warnings: [],
  };
}

export async function simulate(scope: CommandScope, kind: RunResult['direction'], steps: Step[]): Promise<RunResult> {
  const result = emptyResult(kind, true, steps, undefined);
  if (steps.length === 0) return result;
  const { db, drivers } = await scope.target.open();
  const given = await scope.target.forMigrations();
  const server = await scope.target.server();
  const abort = scope.interrupts.begin();
  try {
    await simulateSteps(
      {
        client: given.client,
        db: given.db,
        signal: abort.signal,
        emit: scope.emit,
        clean: scope.clean,
        documentLimit: scope.config.transactionDocumentLimit,
        invoke: (base, step, hooks, onPlan) => {
          const fn = step.direction === 'up' ? step.migration.definition.up : step.migration.definition.down;
          return fn === undefined ? Promise.resolve() : invoke(scope, base, fn, hooks, { db, driver: drivers.bookkeeping, server, dryRun: true, onPlan });
        },
      },
      steps,
      result,
    );
  } finally {
    scope.interrupts.end();
  }
  return result;
}

export async function execute(scope: CommandScope, locked: Locked, kind: RunResult['direction'], steps: Step[]): Promise<RunResult> {
  const result = emptyResult(kind, false, steps, locked.identity.runId);
  if (steps.length === 0) return result;
  const { client, db, drivers } = locked.connection;
  const given = await scope.target.forMigrations();
  const server = await scope.target.server();
  const { config } = scope;
  const transactions = transactionPolicy(config.transactions, transactionSupportOf(server), config.transactionDocumentLimit);
  if (transactions.notice !== undefined) locked.warn(undefined, transactions.notice);
  await runSteps(
    {
      identity: locked.identity,
      signal: locked.signal,
      recorder: locked.recorder,
      lease: locked.lease,
      client,
      given,
      transactions,
      ttlSeconds: config.lock.ttlSeconds,
      emit: scope.emit,
      warn: locked.warn,
      clean: scope.clean,
      invoke: (base, fn, hooks) => invoke(scope, base, fn, hooks, { db, driver: drivers.bookkeeping, server, dryRun: false }),
    },
    steps,
    result,
  );
  return result;
}
