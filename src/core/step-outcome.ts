/**
 * How a step ends, in the result, the events and the run's error: shared by the steps that run
 * outside a transaction (`runner.ts`) and in one (`transactional-step.ts`). A failure's message
 * says what it means for the run and what it left behind; `hints` say the ways out.
 */
import type { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { LoadedMigration } from '../providers/contract.ts';
import { MongrateError, type Hint } from '../errors.ts';
import type { ChangelogRecord } from '../changelog/contract.ts';
import type { Direction, MigrationFn, MigratorEvents, OnlyPlacement, RunErrorCode, RunResult, StepResult } from '../types.ts';
import type { RunIdentity } from '../util/identity.ts';
import type { NextUp, Recorder } from './recorder.ts';
import type { StepOutput } from './run-output.ts';
import type { StepEnvironment } from './step-context.ts';
import type { TransactionPolicy } from './transactions.ts';

export interface Step {
  migration: LoadedMigration;
  direction: Direction;
  /** The record as planned (a retry's failed record, the applied record a down reverts), if any. */
  record: ChangelogRecord | undefined;
  /** Asked for alone (`only`): how that stands to the order. */
  only?: OnlyPlacement;
}

/** What the runner needs of the lease it runs under. */
export interface RunLease {
  /** Throws LOCK_LOST once the lease is lost or its own deadline passed: checked before every write. */
  assertHeld(): void;
  /** Why the lease was lost, once it was. */
  readonly lost: string | undefined;
}

export interface Run {
  identity: RunIdentity;
  signal: AbortSignal;
  /** Aborts `signal` for `reason`: a migration past its time limit stops the run as Ctrl-C does. */
  interrupt: (reason: MongrateError) => void;
  /** Config `timeoutSeconds`: each migration's time limit unless it sets its own. */
  timeoutSeconds: number | undefined;
  recorder: Recorder;
  lease: RunLease;
  transactions: TransactionPolicy;
  /** What each migration's context is built from (see `step-context.ts`). */
  environment: StepEnvironment;
  /** The server's transaction lifetime limit (asked once): an attempt sends nothing past it. */
  lifetimeLimitMs: () => Promise<number>;
  /** Lease length, for messages about what a dead runner leaves behind. */
  ttlSeconds: number;
  emit: EventEmitter<MigratorEvents>['emit'];
  /** Emits a warning and lists it in the result's `warnings` (it never changes the outcome). */
  warn: (id: string | undefined, message: string) => void;
  /** Masks secrets in a message bound for output or a document. */
  clean: (text: string) => string;
}

export type RunError = NonNullable<RunResult['error']>;

/** The run's abort reason when a migration ran past its time limit (`timeoutSeconds`). */
export class TimeLimitPassed extends MongrateError {
  constructor(id: string, seconds: number) {
    super('INTERRUPTED', `${id} ran past its time limit of ${seconds} s (timeoutSeconds)`);
  }
}

/** `: 001-x ran past its time limit of 1 s (timeoutSeconds)` when that is what interrupted the run; '' for Ctrl-C. */
export function timeLimitPassed(run: Run): string {
  const reason: unknown = run.signal.reason;
  return reason instanceof TimeLimitPassed ? `: ${reason.message}` : '';
}

/**
 * An interrupted step's message: when a time limit (not Ctrl-C) interrupted the run, it names the
 * limit first, whatever the migration threw on seeing the signal (a helper's "interrupted after
 * 1000 of 5000 documents").
 */
export function interruptedMessage(run: Run, message: string): string {
  const reason: unknown = run.signal.reason;
  if (!(reason instanceof TimeLimitPassed) || message.includes(reason.message)) return message;
  return message === 'interrupted' ? reason.message : `${reason.message}: ${message}`;
}

/** A step's clock and the result object the runner fills in. */
export interface StepState {
  run: Run;
  step: Step;
  fn: MigrationFn;
  outcome: StepResult;
  started: number;
  /** What the migration and its helpers said (the attempt that counted): stored with its history entry. */
  output: StepOutput;
  /** The next step's claim, written with this step's outcome when it is an up of a migration with no record. */
  next: NextUp | undefined;
}

export const elapsed = (state: StepState): number => Math.round(performance.now() - state.started);

export const messageOf = (run: Run, error: unknown): string => run.clean(error instanceof Error ? error.message : String(error));

export function warn(run: Run, id: string | undefined, message: string): void {
  run.warn(id, run.clean(message));
}

/** Why the lease is lost, if it is (or the error says so). */
export function lostLease(run: Run, error: unknown, message: string): string | undefined {
  return run.lease.lost ?? (error instanceof MongrateError && error.code === 'LOCK_LOST' ? message : undefined);
}

export function succeeded(state: StepState, extra: Partial<StepResult> = {}): undefined {
  const durationMs = elapsed(state);
  Object.assign(state.outcome, { status: 'success', durationMs, ...extra });
  const { id } = state.step.migration;
  if (state.step.direction === 'up') state.run.emit('migrated', { id, direction: 'up', durationMs });
  else state.run.emit('reverted', { id, direction: 'down', durationMs });
  return undefined;
}

/** What a failure carries besides its message: what was thrown, and the ways out. */
export interface FailureDetails {
  /** The step's own error message (what the migration threw); defaults to the run's message. */
  stepError?: string;
  cause?: unknown;
  hints?: Hint[];
}

/** `message` says what the failure means for the run; `details.stepError` is the step's own error. */
export function failed(state: StepState, code: RunErrorCode, message: string, details: FailureDetails = {}): RunError {
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
export function retryHints(direction: Direction, once = ''): Hint[] {
  const when = once === '' ? '' : ` ${once}`;
  if (direction === 'up') return [{ command: 'up', options: { retryFailed: true }, purpose: `run it again${when}` }];
  return [
    { command: 'down', options: { retryFailed: true }, purpose: `finish reverting it${when}` },
    { command: 'up', options: { retryFailed: true }, purpose: 'apply it again instead' },
  ];
}

export const CHECKED = 'once its data is checked';

export const STATUS_HINT: Hint = { command: 'status', purpose: 'see which' };

/** Where a step was when something went wrong: decides what the message says was left behind. */
export type Phase = 'claim' | 'run' | 'record';

export function serverLostMessage(state: StepState, phase: Phase, message: string): string {
  const { id } = state.step.migration;
  const down = state.step.direction === 'down';
  const expiry = `once the lock's lease expires (within ${state.run.ttlSeconds} s)`;
  if (phase === 'claim') return `lost the connection to the server before ${id} started (${message}); nothing of ${id} ran`;
  if (phase === 'record') {
    return `${id} was ${down ? 'reverted' : 'applied'} to the end, but the server was lost before the outcome was recorded (${message}); its record stays 'running' and shows as failed${down ? ' (down)' : ''} ${expiry}`;
  }
  return `lost the connection to the server while ${down ? 'reverting' : 'applying'} ${id} (${message}); it may be partly ${down ? 'reverted' : 'applied'}: its record stays 'running' and shows as failed${down ? ' (down)' : ''} ${expiry}`;
}

export function plannedRecord(step: Step): ChangelogRecord {
  if (step.record === undefined) throw new MongrateError('MIGRATION_FAILED', `internal: no changelog record planned for the down of ${step.migration.id}`);
  return step.record;
}
