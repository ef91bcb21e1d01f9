/**
 * One claimed migration in one transaction: the migration run with every operation bound to the
 * transaction (its first command starts it), its outcome written conditionally on the claim (an
 * up's history entry and the next up's claim with it, in one command: see `recorder.ts`), and the
 * commit. The lock document is not part of it: the lease's fence (`assertHeld`) comes right before
 * the outcome and right before the commit, and the record is the fence against a runner that took
 * the lease over (see `lease.ts`): an outcome that matches nothing, or conflicts with a write to
 * the record since the transaction started, means another runner has it, and the transaction is
 * aborted as LOCK_LOST, never retried. Attempted again while the server says a retry may succeed (bounded); a
 * transaction the server aborted is never retried blindly (see `transaction-attempt.ts`). When it
 * fails, the transaction is aborted and the failure recorded outside it, on the claim, as the
 * rolled-back attempt it was: an up `failed (rolled back)`, a down back to what it was.
 * Log lines of an attempt are held back and written once: after the commit, or with the final
 * failure; progress is shown for the first attempt only.
 */
import type { HelperProgress } from '../helpers/types.ts';
import { TransactionLimitError, type Hint } from '../errors.ts';
import { isConnectionLoss } from '../driver/errors.ts';
import type { LineSource } from './run-output.ts';
import type { Claimed, InTransaction } from './recorder.ts';
import { callMigration } from './step-context.ts';
import { STATUS_HINT, elapsed, failed, interruptedMessage, lostLease, messageOf, succeeded, warn, type RunError, type StepState } from './step-outcome.ts';
import { TransactionAttempt, attemptVerdict } from './transaction-attempt.ts';
import { commitWithRetry, isUnknownCommitResult, startMigrationTransaction } from './transactions.ts';

/** How the transaction ended: for good (success or failure), or the migration must run again outside one (`auto`). */
export type TransactionOutcome = { kind: 'ended'; error: RunError | undefined } | { kind: 'outside'; why: TransactionLimitError };

export async function runInTransaction(state: StepState, claimed: Claimed): Promise<TransactionOutcome> {
  const { run, step, fn } = state;
  const { migration, direction } = step;
  const session = run.environment.client.startSession();
  let logs: { message: string; from: LineSource }[] = [];
  const flush = (): void => {
    for (const { message, from } of logs) {
      (state.outcome.logs ??= []).push(message);
      state.output.add(message, from);
      run.emit('log', { id: migration.id, message });
    }
    logs = [];
  };
  try {
    for (let attemptNumber = 1; ; attemptNumber++) {
      logs = [];
      const lifetimeLimitMs = await run.lifetimeLimitMs();
      const attempt = new TransactionAttempt(lifetimeLimitMs);
      const call = {
        id: migration.id,
        direction,
        log: (message: string, from: LineSource): void => void logs.push({ message, from }),
        progress: (p: HelperProgress): void => {
          if (attemptNumber === 1) run.emit('progress', { id: migration.id, ...p });
        },
        warn: (message: string): void => warn(run, migration.id, message),
        transaction: { session, attempt },
      };
      let committed: InTransaction;
      try {
        run.lease.assertHeld();
        startMigrationTransaction(session);
        await callMigration(run.environment, call, fn);
        // the migration may have caught what ended the attempt: it never commits; and nothing is
        // sent with a transaction about to outlive the server's limit (see transaction-attempt.ts)
        attempt.throwIfPoisoned();
        run.lease.assertHeld();
        committed = await run.recorder.finishInTransaction(migration, claimed, elapsed(state), session, state.next);
        run.lease.assertHeld();
        await commitWithRetry(session);
      } catch (error) {
        if (session.inTransaction()) await session.abortTransaction().catch(() => undefined);
        const stopping = run.lease.lost !== undefined || run.signal.aborted;
        const verdict = await attemptVerdict(error, { attempt, attemptNumber, stopping, lifetimeLimitMs: run.lifetimeLimitMs });
        if (verdict.kind === 'retry') continue;
        if (verdict.kind === 'outside' && run.transactions.rerunOutside) return { kind: 'outside', why: verdict.why };
        flush();
        return { kind: 'ended', error: await failInTransaction(state, claimed, verdict.kind === 'outside' ? verdict.why : verdict.error) };
      }
      flush();
      run.recorder.afterCommit(migration, committed, elapsed(state), state.output);
      return { kind: 'ended', error: succeeded(state, { transaction: true }) };
    }
  } finally {
    await session.endSession().catch(() => undefined);
  }
}

/** The ways out of a failure that was rolled back: nothing was written, so the plain command runs it again. */
function againHints(state: StepState, interrupted: boolean): Hint[] {
  const once = interrupted ? '' : ' once it is fixed';
  return state.step.direction === 'up' ? [{ command: 'up', purpose: `run it again${once}` }] : [{ command: 'down', purpose: `revert it again${once}` }];
}

async function failInTransaction(state: StepState, claimed: Claimed, error: unknown): Promise<RunError> {
  const { run, step } = state;
  const { id } = step.migration;
  const down = step.direction === 'down';
  let message = messageOf(run, error);
  // the record stays `running` (in a transaction): once the lease expires it shows as interrupted and rolled back
  const lost = lostLease(run, error, message);
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
    // nothing recorded outside either: it would claim an outcome nobody knows (the record, in the transaction, tells)
    return failed(state, 'MIGRATION_FAILED', `the commit of ${id} was sent but never confirmed (${message}); it may or may not have been ${down ? 'reverted' : 'applied'}`, {
      stepError: message,
      cause: error,
      hints: [STATUS_HINT],
    });
  }
  const interrupted = run.signal.aborted;
  if (interrupted) message = interruptedMessage(run, message);
  try {
    run.lease.assertHeld();
    await run.recorder.recordRolledBack(claimed, { message, interrupted }, elapsed(state), state.output);
  } catch (recordError) {
    const recordMessage = messageOf(run, recordError);
    const lostSince = lostLease(run, recordError, recordMessage);
    if (lostSince !== undefined) {
      return failed(state, 'LOCK_LOST', `${id} failed (${message}) and was rolled back; then the lock was lost (${lostSince}), so that is not recorded: its record shows as interrupted and rolled back`, {
        stepError: message,
        cause: error,
      });
    }
    if (isConnectionLoss(recordError)) {
      return failed(state, 'UNREACHABLE', `${id} failed (${message}) and was rolled back; then the server was lost before that was recorded: its record shows as interrupted and rolled back once the lock's lease expires (within ${run.ttlSeconds} s)`, {
        stepError: message,
        cause: error,
        hints: [STATUS_HINT],
      });
    }
    warn(run, id, `could not record the failure of ${id} (${recordMessage})`);
  }
  if (error instanceof TransactionLimitError) {
    // raising the limit helps only when the document count was the reason (not for index or collection changes)
    const raise = error.reason.includes('transactionDocumentLimit') ? 'Raise transactionDocumentLimit, set' : 'Set';
    return failed(state, 'TRANSACTION_LIMIT', `${id} failed: ${message}; nothing was written (rolled back). ${raise} \`transaction: false\` on this migration, or use transactions: 'auto'`, {
      stepError: message,
      cause: error,
    });
  }
  const what = down ? 'reverting' : 'migration';
  const rolledBack = down ? 'rolled back: it is still applied' : 'rolled back: nothing of it was written';
  const code = interrupted ? 'INTERRUPTED' : 'MIGRATION_FAILED';
  return failed(state, code, `${what} ${id} ${interrupted ? 'was interrupted' : 'failed'}: ${message} (${rolledBack})`, { stepError: message, cause: error, hints: againHints(state, interrupted) });
}
