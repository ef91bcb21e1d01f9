/**
 * Turns planned steps into a run result: for real under the lock (`runner.ts`), or simulated
 * for `--dry-run` (`dry-run.ts`). Both build each migration's context the same way
 * (`step-context.ts`), from an environment made here.
 */
import type { RunResult } from '../types.ts';
import type { CommandScope, Locked } from './command-scope.ts';
import type { Connection } from './target-database.ts';
import { simulateSteps } from './dry-run.ts';
import { runSteps, type Step } from './runner.ts';
import type { StepEnvironment } from './step-context.ts';
import { lifetimeLimitReader } from './transaction-attempt.ts';
import { transactionPolicy, transactionSupportOf } from './transactions.ts';

/** What differs between a real run and a dry run; the rest of the environment is the same for both. */
type RunKind = Pick<StepEnvironment, 'signal' | 'dryRun' | 'fence' | 'commandTimeLimitMs'>;

/** The environment every migration's context is built from (`step-context.ts`), on this connection. */
async function environmentOf(scope: CommandScope, connection: Connection, kind: RunKind): Promise<StepEnvironment> {
  const { client, db, drivers } = connection;
  return {
    client,
    db,
    bson: drivers.bookkeeping.mongodb.BSON,
    given: await scope.target.forMigrations(),
    server: await scope.target.server(),
    transactionDocumentLimit: scope.config.transactionDocumentLimit,
    commitQuorum: scope.config.commitQuorum,
    emitPlan: (id, plan) => void scope.emit('plan', { id, ...plan }),
    ...kind,
  };
}

export function emptyResult(kind: RunResult['direction'], dryRun: boolean, steps: Step[], runId: string | undefined): RunResult {
  return {
    direction: kind,
    dryRun,
    ...(runId === undefined ? {} : { runId }),
    steps: steps.map((s) => ({ id: s.migration.id, direction: s.direction, status: 'not-run', durationMs: undefined, error: undefined, ...(s.only === undefined ? {} : { only: s.only }) })),
    error: undefined,
    warnings: [],
  };
}

export async function simulate(scope: CommandScope, kind: RunResult['direction'], steps: Step[]): Promise<RunResult> {
  const result = emptyResult(kind, true, steps, undefined);
  if (steps.length === 0) return result;
  const connection = await scope.target.open();
  const abort = scope.interrupts.begin();
  try {
    const environment = await environmentOf(scope, connection, { signal: abort.signal, dryRun: true, fence: () => undefined });
    await simulateSteps({ environment, emit: scope.emit, clean: scope.clean }, steps, result);
  } finally {
    scope.interrupts.end();
  }
  return result;
}

export async function execute(scope: CommandScope, locked: Locked, kind: RunResult['direction'], steps: Step[]): Promise<RunResult> {
  const result = emptyResult(kind, false, steps, locked.identity.runId);
  if (steps.length === 0) return result;
  const { config } = scope;
  const environment = await environmentOf(scope, locked.connection, {
    signal: locked.signal,
    dryRun: false,
    commandTimeLimitMs: (config.lock.ttlSeconds * 1000) / 2,
    fence: () => locked.lease.assertHeld(),
  });
  const { client, server } = environment;
  const transactions = transactionPolicy(config.transactions, transactionSupportOf(server), config.transactionDocumentLimit);
  if (transactions.notice !== undefined) locked.warn(undefined, transactions.notice);
  await runSteps(
    {
      identity: locked.identity,
      signal: locked.signal,
      interrupt: locked.interrupt,
      timeoutSeconds: config.timeoutSeconds,
      recorder: locked.recorder,
      lease: locked.lease,
      transactions,
      environment,
      lifetimeLimitMs: lifetimeLimitReader(client),
      ttlSeconds: config.lock.ttlSeconds,
      emit: scope.emit,
      warn: locked.warn,
      clean: scope.clean,
    },
    steps,
    result,
  );
  return result;
}
