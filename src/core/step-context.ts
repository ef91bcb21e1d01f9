/**
 * The one place a migration's context is built and the migration called, for the real run (in a
 * transaction or not) and for the dry run alike: its `db` and `client` bound to the step
 * (`bound-handles.ts`), helpers bound to the same handles, session and callbacks, and the same
 * context stored for the standalone helpers imported from 'mongrate'.
 */
import type { ClientSession, Db, MongoClient } from 'mongodb';
import { createHelpers, runWithHelperContext, type HelperContext, type HelperPlan } from '../helpers/index.ts';
import type { HelperBson, HelperProgress } from '../helpers/types.ts';
import type { ServerInfo } from '../server/capabilities.ts';
import type { Direction, MigrationContext, MigrationFn } from '../types.ts';
import { bindHandles, stopAtWrite } from './bound-handles.ts';
import type { LineSource } from './run-output.ts';
import type { TransactionAttempt } from './transaction-attempt.ts';

/** What every step of a run (or of a dry run) is built from. */
export interface StepEnvironment {
  /** mongrate's client and the migration database on it: the helpers work on them, and a transaction is one of its sessions. */
  client: MongoClient;
  db: Db;
  /** The BSON of that client's driver: the helpers encode and decode with it. */
  bson: HelperBson;
  /**
   * What migration functions are given as `ctx.client`/`ctx.db`: `client`/`db` themselves, or, for
   * migrate-mongo files on the project's 4.x/5.x driver, a client of that driver (such files never
   * run in a transaction).
   */
  given: { client: MongoClient; db: Db };
  server: ServerInfo;
  signal: AbortSignal;
  /** A simulation: direct writes stop the step, helpers only count. */
  dryRun: boolean;
  transactionDocumentLimit: number;
  /** The commitQuorum of the helpers' index builds. */
  commitQuorum: number | string;
  /** The longest a helper's server-side command may run (half the lease); undefined in a dry run. */
  commandTimeLimitMs?: number;
  /** The lease fence, before every write of a real run. */
  fence: () => void;
  /** Every helper plan, as an event (the dry run shows them). */
  emitPlan: (id: string, plan: HelperPlan) => void;
}

/** One call of a migration function: which, how it reports, and the transaction it runs in, if any. */
export interface StepCall {
  id: string;
  direction: Direction;
  /** A line of the migration's own (`ctx.log`), or one a helper reported (its summary with counts). */
  log: (message: string, from: LineSource) => void;
  progress: (progress: HelperProgress) => void;
  warn: (message: string) => void;
  /** A dry run: what each helper would do. */
  onPlan?: (plan: HelperPlan) => void;
  transaction?: { session: ClientSession; attempt: TransactionAttempt };
}

export function callMigration(environment: StepEnvironment, call: StepCall, fn: MigrationFn): Promise<unknown> {
  const { server, dryRun, signal } = environment;
  const { transaction } = call;
  const fence = (): void => environment.fence();
  const binding = { guard: dryRun ? stopAtWrite : fence, dryRun, log: (line: string) => call.log(line, 'migration'), ...(transaction === undefined ? {} : { transaction }) };
  const handles = bindHandles(environment.given.client, environment.given.db, binding);
  // the helpers need mongrate's own driver: the migration's handles are those, unless it was given the project's 4.x/5.x
  const helperHandles = environment.given.db === environment.db ? handles : bindHandles(environment.client, environment.db, binding);
  const helperContext: HelperContext = {
    // a dry run's helpers read the real database and write nothing; a real run's go through the
    // migration's own bound handles (the fence, the transaction, its errors)
    db: dryRun ? environment.db : helperHandles.db,
    bson: environment.bson,
    server,
    dryRun,
    signal,
    log: (line) => call.log(line, 'helper'),
    onProgress: call.progress,
    onPlan: (plan) => {
      call.onPlan?.(plan);
      environment.emitPlan(call.id, plan);
    },
    fence: dryRun ? () => undefined : fence,
    warn: call.warn,
    transactionDocumentLimit: environment.transactionDocumentLimit,
    commitQuorum: environment.commitQuorum,
    ...(environment.commandTimeLimitMs === undefined ? {} : { commandTimeLimitMs: environment.commandTimeLimitMs }),
    migration: call.id,
    ...(transaction === undefined ? {} : { session: transaction.session, onTransactionLimit: (error) => void transaction.attempt.poison(error) }),
  };
  const ctx: MigrationContext = {
    db: handles.db,
    client: handles.client,
    session: transaction?.session,
    log: (message) => call.log(message, 'migration'),
    signal,
    id: call.id,
    direction: call.direction,
    helpers: createHelpers(helperContext),
    server,
    dryRun,
  };
  return runWithHelperContext(helperContext, () => fn(ctx));
}
