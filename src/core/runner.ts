/**
 * Runs the steps of one `up`/`down`/`redo` under the lock. Outside a transaction each migration
 * is claimed first (its record marked `running`, in either direction), run, and its outcome
 * recorded conditionally on that claim. In a transaction the lock document is touched inside it,
 * and the outcome commits with the migration's writes. A failure stops the run and is recorded;
 * an interrupt stops it at the next safe point; a lost lease or a lost server stops it without
 * writing anything more. Returns the filled-in result; never throws for a migration's failure.
 */
import type { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { ClientSession, Db, MongoClient } from 'mongodb';
import type { ChangelogRecord } from '../changelog/contract.ts';
import type { LoadedMigration } from '../providers/contract.ts';
import { MongrateError, TransactionLimitError, type Hint } from '../errors.ts';
import type { HelperProgress } from '../helpers/types.ts';
import type { Direction, MigrationContext, MigrationFn, MigratorEvents, RunErrorCode, RunResult, StepResult } from '../types.ts';
import type { RunIdentity } from '../util/identity.ts';
import { isConnectionLoss } from '../driver/errors.ts';
import { guardClient, guardDb } from './guarded.ts';
import type { Claimed, Recorder } from './recorder.ts';
import { TRANSACTION_ATTEMPTS, commitWithRetry, isTransientTransactionError, isUnknownCommitResult, type TransactionPolicy } from './transactions.ts';

export interface Step {
  migration: LoadedMigration;
  direction: Direction;
  /** The record as planned (a retry's failed record, the applied record a down reverts), if any. */
  record: ChangelogRecord | undefined;
}

/** What the runner needs of the lease it runs under. */
export interface RunLease {
  /** Throws LOCK_LOST once the lease is lost or its own deadline passed: checked before every write. */
  assertHeld(): void;
  /** Inside a transaction: writes to the lock document, so a takeover makes the commit fail. */
  touch(session: ClientSession): Promise<void>;
  /** Why the lease was lost, once it was. */
  readonly lost: string | undefined;
}

/** Per-step callbacks the migrator turns into helpers bound to the migration. */
export interface StepHooks {
  log: (message: string) => void;
  progress: (progress: HelperProgress) => void;
  warn: (message: string) => void;
  fence: () => void;
  session: ClientSession | undefined;
  transactionDocumentLimit: number;
}

export interface Run {
  identity: RunIdentity;
  signal: AbortSignal;
  recorder: Recorder;
  lease: RunLease;
  /** mongrate's client: its sessions hold a migration's transaction and the changelog outcome. */
  client: MongoClient;
  /**
   * What migration functions are given as `ctx.client`/`ctx.db`: `client` itself, or, for
   * migrate-mongo files on the project's 4.x/5.x driver, a client of that driver (such files
   * never run in a transaction).
   */
  given: { client: MongoClient; db: Db };
  transactions: TransactionPolicy;
  /** Lease length, for messages about what a dead runner leaves behind. */
  ttlSeconds: number;
  emit: EventEmitter<MigratorEvents>['emit'];
  /** Emits a warning and lists it in the result's `warnings` (it never changes the outcome). */
  warn: (id: string | undefined, message: string) => void;
  /** Masks secrets in a message bound for output or a document. */
  clean: (text: string) => string;
  /** Completes the context (helpers, server) and calls the migration function with it. */
  invoke: (base: BaseContext, fn: MigrationFn, hooks: StepHooks) => Promise<unknown>;
}

/** What the runner knows of a migration's context; the migrator adds helpers and the server. */
export type BaseContext = Omit<MigrationContext, 'helpers' | 'server' | 'dryRun'>;

type RunError = NonNullable<RunResult['error']>;

const messageOf = (run: Run, error: unknown): string => run.clean(error instanceof Error ? error.message : String(error));

function stopReason(run: Run, after: string): RunError | undefined {
  if (run.lease.lost !== undefined) return { code: 'LOCK_LOST', message: `stopped ${after}: lost the lock (${run.lease.lost})`, id: undefined };
  if (run.signal.aborted) return { code: 'INTERRUPTED', message: `interrupted ${after}`, id: undefined };
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

/** A step's clock and the result object the runner fills in. */
interface StepState {
  run: Run;
  step: Step;
  fn: MigrationFn;
  outcome: StepResult;
  started: number;
}

const elapsed = (state: StepState): number => Math.round(performance.now() - state.started);

async function runStep(run: Run, step: Step, outcome: StepResult): Promise<RunError | undefined> {
  const { migration, direction } = step;
  const fn = direction === 'up' ? migration.definition.up : migration.definition.down;
  if (fn === undefined) return { code: 'MIGRATION_FAILED', message: `${migration.id} has no ${direction}`, id: migration.id };
  if (direction === 'up') run.emit('migrating', { id: migration.id, direction });
  else run.emit('reverting', { id: migration.id, direction });
  const state: StepState = { run, step, fn, outcome, started: performance.now() };
  if (run.transactions.use(migration)) {
    const attempt = await runInTransaction(state);
    if (!(attempt instanceof TransactionLimitError)) return attempt;
    // `auto`: nothing of the transaction remains; the migration starts over outside one
    warn(run, migration.id, `${migration.id}: ${attempt.message}; rolled back, running it again outside a transaction (batched and resumable)`);
    state.started = performance.now();
  }
  return runOutside(state);
}

function warn(run: Run, id: string | undefined, message: string): void {
  run.warn(id, run.clean(message));
}

function contextFor(state: StepState, session: ClientSession | undefined, log: (message: string) => void): BaseContext {
  const { run, step } = state;
  const fence = (): void => run.lease.assertHeld();
  return {
    db: guardDb(run.given.db, fence),
    client: guardClient(run.given.client, fence, { sessions: true }),
    session,
    log,
    signal: run.signal,
    id: step.migration.id,
    direction: step.direction,
  };
}

function hooksFor(state: StepState, session: ClientSession | undefined, log: (message: string) => void, progress: StepHooks['progress']): StepHooks {
  const { run } = state;
  return {
    log,
    progress,
    warn: (message) => warn(run, state.step.migration.id, message),
    fence: () => run.lease.assertHeld(),
    session,
    transactionDocumentLimit: run.transactions.documentLimit,
  };
}

function succeeded(state: StepState, extra: Partial<StepResult> = {}): undefined {
  const durationMs = elapsed(state);
  Object.assign(state.outcome, { status: 'success', durationMs, ...extra });
  const { id } = state.step.migration;
  if (state.step.direction === 'up') state.run.emit('migrated', { id, direction: 'up', durationMs });
  else state.run.emit('reverted', { id, direction: 'down', durationMs });
  return undefined;
}

/** What a failure carries besides its message: what was thrown, and the ways out. */
interface FailureDetails {
  /** The step's own error message (what the migration threw); defaults to the run's message. */
  stepError?: string;
  cause?: unknown;
  hints?: Hint[];
}

/** `message` says what the failure means for the run; `details.stepError` is the step's own error. */
function failed(state: StepState, code: RunErrorCode, message: string, details: FailureDetails = {}): RunError {
  const durationMs = elapsed(state);
  const { id } = state.step.migration;
  const stepError = details.stepError ?? message;
  Object.assign(state.outcome, { status: 'failed', durationMs, error: stepError });
  state.run.emit('failed', { id, direction: state.step.direction, error: stepError, durationMs });
  return {
    code,
    message,
    id,
    ...(details.hints === undefined || details.hints.length === 0 ? {} : { hints: details.hints }),
    ...(details.cause === undefined ? {} : { cause: details.cause }),
  };
}

/** The ways out of a migration recorded as failed (or left running), `once` it is fixed or its data checked. */
function retryHints(direction: Direction, once = ''): Hint[] {
  const when = once === '' ? '' : ` ${once}`;
  if (direction === 'up') return [{ command: 'up', options: { retryFailed: true }, purpose: `run it again${when}` }];
  return [
    { command: 'down', options: { retryFailed: true }, purpose: `finish reverting it${when}` },
    { command: 'up', options: { retryFailed: true }, purpose: 'apply it again instead' },
  ];
}

const CHECKED = 'once its data is checked';

const STATUS_HINT: Hint = { command: 'status', purpose: 'see which' };

/** Where a step was when something went wrong: decides what the message says was left behind. */
type Phase = 'claim' | 'run' | 'record';

async function runOutside(state: StepState): Promise<RunError | undefined> {
  const { run, step, fn } = state;
  const { migration, direction } = step;
  const emitLog = (message: string): void => {
    (state.outcome.logs ??= []).push(message);
    run.emit('log', { id: migration.id, message });
  };
  const emitProgress = (progress: HelperProgress): void => void run.emit('progress', { id: migration.id, ...progress });
  let phase: Phase = 'claim';
  let claimed: Claimed | undefined;
  try {
    run.lease.assertHeld();
    claimed = direction === 'up' ? await run.recorder.claimUp(migration, step.record) : await run.recorder.claimDown(plannedRecord(step));
    phase = 'run';
    await run.invoke(contextFor(state, undefined, emitLog), fn, hooksFor(state, undefined, emitLog, emitProgress));
    phase = 'record';
    run.lease.assertHeld();
    const durationMs = elapsed(state);
    if (direction === 'up') await run.recorder.finishUp(migration, claimed, durationMs);
    else await run.recorder.finishDown(plannedRecord(step), claimed, durationMs);
  } catch (error) {
    return failOutside(state, error, phase, claimed);
  }
  return succeeded(state);
}

function plannedRecord(step: Step): ChangelogRecord {
  if (step.record === undefined) throw new MongrateError('MIGRATION_FAILED', `internal: no changelog record planned for the down of ${step.migration.id}`);
  return step.record;
}

async function failOutside(state: StepState, error: unknown, phase: Phase, claimed: Claimed | undefined): Promise<RunError> {
  const { run, step } = state;
  const { id } = step.migration;
  const message = messageOf(run, error);
  const verb = step.direction === 'up' ? 'applying' : 'reverting';
  const lost = run.lease.lost ?? (error instanceof MongrateError && error.code === 'LOCK_LOST' ? message : undefined);
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
  try {
    await run.recorder.recordFailure(claimed, { message, interrupted }, elapsed(state));
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

function serverLostMessage(state: StepState, phase: Phase, message: string): string {
  const { id } = state.step.migration;
  const down = state.step.direction === 'down';
  const expiry = `once the lock's lease expires (within ${state.run.ttlSeconds} s)`;
  if (phase === 'claim') return `lost the connection to the server before ${id} started (${message}); nothing of ${id} ran`;
  if (phase === 'record') {
    return `${id} was ${down ? 'reverted' : 'applied'} to the end, but the server was lost before the outcome was recorded (${message}); its record stays 'running' and shows as failed${down ? ' (down)' : ''} ${expiry}`;
  }
  return `lost the connection to the server while ${down ? 'reverting' : 'applying'} ${id} (${message}); it may be partly ${down ? 'reverted' : 'applied'}: its record stays 'running' and shows as failed${down ? ' (down)' : ''} ${expiry}`;
}

/**
 * One migration in one transaction, attempted again while the server says a retry may succeed.
 * Log lines of an attempt are held back and written once: after the commit, or with the final
 * failure; progress is shown for the first attempt only. Returns the helper's
 * TransactionLimitError when the policy says to run the migration again outside a transaction.
 */
async function runInTransaction(state: StepState): Promise<RunError | undefined | TransactionLimitError> {
  const { run, step, fn } = state;
  const { migration, direction } = step;
  const session = run.client.startSession();
  let logs: string[] = [];
  const flush = (): void => {
    for (const message of logs) {
      (state.outcome.logs ??= []).push(message);
      run.emit('log', { id: migration.id, message });
    }
    logs = [];
  };
  try {
    for (let attempt = 1; ; attempt++) {
      logs = [];
      const log = (message: string): void => void logs.push(message);
      const progress = (p: HelperProgress): void => {
        if (attempt === 1) run.emit('progress', { id: migration.id, ...p });
      };
      const startedAt = run.recorder.now();
      session.startTransaction();
      try {
        run.lease.assertHeld();
        await run.lease.touch(session);
        await run.invoke(contextFor(state, session, log), fn, hooksFor(state, session, log, progress));
        run.lease.assertHeld();
        await run.recorder.recordInTransaction({ file: migration, direction, planned: step.record }, startedAt, elapsed(state), session);
        await commitWithRetry(session);
      } catch (error) {
        if (session.inTransaction()) await session.abortTransaction().catch(() => undefined);
        if (isTransientTransactionError(error) && attempt < TRANSACTION_ATTEMPTS && run.lease.lost === undefined && !run.signal.aborted) continue;
        if (error instanceof TransactionLimitError && run.transactions.rerunOutside) return error;
        flush();
        return await failInTransaction(state, error);
      }
      flush();
      run.recorder.historyAfterCommit(migration, direction, elapsed(state));
      return succeeded(state, { transaction: true });
    }
  } finally {
    await session.endSession().catch(() => undefined);
  }
}

async function failInTransaction(state: StepState, error: unknown): Promise<RunError> {
  const { run, step } = state;
  const { id } = step.migration;
  const message = messageOf(run, error);
  const lost = run.lease.lost ?? (error instanceof MongrateError && error.code === 'LOCK_LOST' ? message : undefined);
  if (lost !== undefined) return failed(state, 'LOCK_LOST', `stopped ${id}: lost the lock (${lost}); its transaction was rolled back`, { stepError: message, cause: error });
  if (isConnectionLoss(error)) {
    return failed(
      state,
      'UNREACHABLE',
      `lost the connection to the server during the transaction of ${id} (${message}); it was rolled back unless its commit reached the server`,
      { stepError: message, cause: error, hints: [STATUS_HINT] },
    );
  }
  if (isUnknownCommitResult(error)) {
    // no history entry either: it would claim an outcome nobody knows
    const done = step.direction === 'up' ? 'applied' : 'reverted';
    return failed(
      state,
      'MIGRATION_FAILED',
      `the commit of ${id} was sent but never confirmed (${message}); it may or may not have been ${done}`,
      { stepError: message, cause: error, hints: [STATUS_HINT] },
    );
  }
  const interrupted = run.signal.aborted;
  await run.recorder.history(id, 'failed', { direction: step.direction, durationMs: elapsed(state), error: { message } });
  if (error instanceof TransactionLimitError) {
    // raising the limit helps only when the document count was the reason (not for index or collection changes)
    const raise = error.reason.includes('transactionDocumentLimit') ? 'Raise transactionDocumentLimit, set' : 'Set';
    return failed(
      state,
      'TRANSACTION_LIMIT',
      `${id} failed: ${message}; nothing was written (rolled back). ${raise} \`transaction: false\` on this migration, or use transactions: 'auto'`,
      { stepError: message, cause: error },
    );
  }
  const what = step.direction === 'up' ? 'migration' : 'reverting';
  return failed(state, interrupted ? 'INTERRUPTED' : 'MIGRATION_FAILED', `${what} ${id} ${interrupted ? 'was interrupted' : 'failed'}: ${message} (rolled back)`, { stepError: message, cause: error });
}
