/**
 * What the changelog says about each migration, decided here and written through the store's
 * dumb contract. Every operation is claimed first (its record marked `running`, outside any
 * transaction, so every other runner and `status` see it), and every write that finishes it is
 * conditional on that claim (compare-and-set on state + claim), so a runner whose lease was taken
 * over and whose record was re-claimed changes nothing. An operation run in a transaction writes
 * its outcome inside it, with the migration's own writes; its failure is recorded outside, after
 * the rollback, as the rolled-back attempt it was. History entries are best effort: they never change the
 * outcome of a migration (a failed history write becomes a warning). The entry of a finished
 * migration is sent at once but not waited for, so it overlaps the next migration's claim instead
 * of costing a round trip of its own; the run waits for all of them (`settled()`) before it ends.
 */
import type { ClientSession } from 'mongodb';
import type { ChangelogRecord, ChangelogStore, HistoryEvent, HistoryRecord, RecordClaim, RecordMatch } from '../changelog/contract.ts';
import { MongrateError } from '../errors.ts';
import type { CiJob, Direction, ImportedMigration, ListedMigration, RunOutput } from '../types.ts';
import type { RunIdentity } from '../util/identity.ts';

/** What a record looked like when the plan was made: `match` for the next conditional write. */
export function matchOf(record: ChangelogRecord): RecordMatch {
  return { state: record.state, claimRunId: record.claim?.runId ?? null };
}

/** Which way the operation of a `running`/`failed` record went (older records kept it in `error`). */
export function directionOf(record: ChangelogRecord): Direction {
  return record.claim?.direction ?? record.error?.direction ?? 'up';
}

/** The run id that owns a `running` record's operation. */
export function operationOwner(record: ChangelogRecord): string {
  return record.claim?.runId ?? record.runId;
}

/** A claim this run holds on a record, and when it started. */
export interface Claimed {
  id: string;
  direction: Direction;
  startedAt: Date;
  match: RecordMatch;
  claim: RecordClaim;
}

type HistoryDetails = Partial<Pick<HistoryRecord, 'at' | 'direction' | 'checksum' | 'durationMs' | 'error' | 'rolledBack' | 'note' | 'output'>>;

/** What a run's entry adds: what the migration and its helpers said (a `StepOutput`, stored bounded and masked). */
type Said = { stored: (clean: (text: string) => string) => RunOutput | undefined } | undefined;

/** How a claimed operation runs: in a transaction, a runner that dies leaves nothing of it behind. */
export interface ClaimOptions {
  transaction: boolean;
}

export interface RecorderOptions {
  store: ChangelogStore;
  identity: RunIdentity;
  /** The time to stamp on records: the server's, so runners whose clocks disagree still order right. */
  now: () => Date;
  /** A history entry that could not be written, and the like. */
  warn: (id: string | undefined, message: string) => void;
  /** Masks secrets in any text bound for a document. */
  clean: (text: string) => string;
  /** The config environment chosen, recorded with every history entry. */
  environment: string | undefined;
}

export class Recorder {
  /** History entries sent and not answered yet. */
  private readonly pendingHistory = new Set<Promise<void>>();

  constructor(private readonly options: RecorderOptions) {}

  /** Sends a history entry without waiting for it; `settled()` does (a failure is a warning, as ever). */
  private historySoon(migrationId: string, event: HistoryEvent, details: HistoryDetails): void {
    const write: Promise<void> = this.history(migrationId, event, details).finally(() => this.pendingHistory.delete(write));
    this.pendingHistory.add(write);
  }

  /** Waits for every history entry still being written; never rejects. */
  async settled(): Promise<void> {
    while (this.pendingHistory.size > 0) await Promise.all([...this.pendingHistory]);
  }

  /** The time records are stamped with. */
  now(): Date {
    return this.options.now();
  }

  private newClaim(direction: Direction, how: ClaimOptions, previousState?: RecordClaim['previousState']): RecordClaim {
    const { runId, host, pid } = this.options.identity;
    return {
      direction,
      runId,
      host,
      pid,
      startedAt: this.options.now(),
      ...(previousState === undefined ? {} : { previousState }),
      ...(how.transaction ? { transaction: true } : {}),
    };
  }

  private newRecord(file: ListedMigration, state: ChangelogRecord['state'], startedAt: Date): ChangelogRecord {
    const { runId, host, pid, toolVersion } = this.options.identity;
    return {
      _id: file.id,
      state,
      checksum: file.checksum,
      description: file.description,
      startedAt,
      finishedAt: undefined,
      durationMs: undefined,
      runId,
      host,
      pid,
      toolVersion,
    };
  }

  private claimLost(id: string, what: string): MongrateError {
    return new MongrateError(
      'LOCK_LOST',
      `${what}, but the changelog record of ${id} no longer carries this run's claim (another runner took the lock and the record over); nothing more was recorded`,
    );
  }

  /**
   * Claims a migration before applying it: a new `running` record, or (a retry) the failed or
   * dead record as planned, replaced only if it is still exactly that.
   */
  async claimUp(file: ListedMigration, planned: ChangelogRecord | undefined, how: ClaimOptions = { transaction: false }): Promise<Claimed> {
    const claim = this.newClaim('up', how);
    const record: ChangelogRecord = { ...this.newRecord(file, 'running', claim.startedAt), claim };
    const taken = planned === undefined ? await this.options.store.insertRecord(record) : await this.options.store.replaceRecord(matchOf(planned), record);
    if (!taken) {
      throw new MongrateError('LOCK_HELD', `migration ${file.id} was claimed by another runner while this run was starting it; nothing of it ran here`);
    }
    return { id: file.id, direction: 'up', startedAt: claim.startedAt, match: { state: 'running', claimRunId: claim.runId }, claim };
  }

  /** What `said` adds to a history entry: its bounded, masked lines, when there are any. */
  private output(said: Said): Pick<HistoryDetails, 'output'> {
    const output = said?.stored(this.options.clean);
    return output === undefined ? {} : { output };
  }

  async finishUp(file: ListedMigration, claimed: Claimed, durationMs: number, said?: Said): Promise<void> {
    const finishedAt = this.options.now();
    const done = await this.options.store.updateRecord(file.id, claimed.match, {
      set: { state: 'applied', finishedAt, durationMs, checksum: file.checksum, description: file.description },
      unset: ['claim', 'error'],
    });
    if (!done) throw this.claimLost(file.id, `${file.id} ran to the end`);
    this.historySoon(file.id, 'up', { at: finishedAt, checksum: file.checksum, durationMs, ...this.output(said) });
  }

  /**
   * Marks an applied (or baselined) record as being reverted, so a crash or an interrupt during
   * the `down` leaves a visible state; a retry takes over the failed or dead `down` as planned.
   */
  async claimDown(planned: ChangelogRecord, how: ClaimOptions = { transaction: false }): Promise<Claimed> {
    const previousState = planned.state === 'applied' || planned.state === 'baseline' ? planned.state : (planned.claim?.previousState ?? 'applied');
    const claim = this.newClaim('down', how, previousState);
    const taken = await this.options.store.updateRecord(planned._id, matchOf(planned), { set: { state: 'running', claim }, unset: ['error'] });
    if (!taken) {
      throw new MongrateError('LOCK_HELD', `migration ${planned._id} was changed by another runner while this run was starting to revert it; nothing was reverted`);
    }
    return { id: planned._id, direction: 'down', startedAt: claim.startedAt, match: { state: 'running', claimRunId: claim.runId }, claim };
  }

  async finishDown(planned: ChangelogRecord, claimed: Claimed, durationMs: number, said?: Said): Promise<void> {
    if (!(await this.options.store.deleteRecord(planned._id, claimed.match))) throw this.claimLost(planned._id, `${planned._id} was reverted to the end`);
    this.historySoon(planned._id, 'down', { direction: 'down', durationMs, checksum: planned.checksum, ...this.output(said) });
  }

  /** The claimed operation failed (or was interrupted): the record says so, with its direction. */
  async recordFailure(claimed: Claimed, error: { message: string; interrupted: boolean }, durationMs: number, said?: Said): Promise<void> {
    const finishedAt = this.options.now();
    const message = this.options.clean(error.message);
    const done = await this.options.store.updateRecord(claimed.id, claimed.match, {
      set: {
        // a failed down keeps the application's finishedAt: it orders the record among the applied ones
        ...(claimed.direction === 'up' ? { finishedAt, durationMs } : {}),
        state: 'failed',
        claim: { ...claimed.claim, finishedAt, durationMs },
        error: { message, direction: claimed.direction, ...(error.interrupted ? { interrupted: true } : {}) },
      },
    });
    if (!done) throw this.claimLost(claimed.id, `${claimed.id} failed`);
    await this.history(claimed.id, 'failed', { at: finishedAt, direction: claimed.direction, durationMs, error: { message, ...(error.interrupted ? { interrupted: true } : {}) }, ...this.output(said) });
  }

  /**
   * Inside the migration's transaction: the outcome, conditional on this run's claim, committed
   * with the migration's own writes (an up becomes applied, a down deletes the record). No history
   * here: a failed history write must not abort the commit.
   */
  async finishInTransaction(file: ListedMigration, claimed: Claimed, durationMs: number, session: ClientSession): Promise<void> {
    const { store } = this.options;
    const done =
      claimed.direction === 'down' ?
        await store.deleteRecord(claimed.id, claimed.match, session)
      : await store.updateRecord(
          claimed.id,
          claimed.match,
          { set: { state: 'applied', finishedAt: this.options.now(), durationMs, checksum: file.checksum, description: file.description }, unset: ['claim', 'error'] },
          session,
        );
    if (!done) throw this.claimLost(claimed.id, `${claimed.id} ran to the end in its transaction`);
  }

  /**
   * The transaction of a claimed operation was rolled back (it failed, or was interrupted): an up
   * is recorded `failed` as a rolled-back attempt, which a plain `up` runs again; a down gets the
   * record back as it was (nothing was reverted). History says what was attempted.
   */
  async recordRolledBack(claimed: Claimed, error: { message: string; interrupted: boolean }, durationMs: number, said?: Said): Promise<void> {
    const finishedAt = this.options.now();
    const message = this.options.clean(error.message);
    const { store } = this.options;
    const done =
      claimed.direction === 'down' ?
        await store.updateRecord(claimed.id, claimed.match, { set: { state: claimed.claim.previousState ?? 'applied' }, unset: ['claim', 'error'] })
      : await store.updateRecord(claimed.id, claimed.match, {
          set: {
            finishedAt,
            durationMs,
            state: 'failed',
            claim: { ...claimed.claim, finishedAt, durationMs },
            error: { message, direction: 'up', ...(error.interrupted ? { interrupted: true } : {}), rolledBack: true },
          },
        });
    if (!done) throw this.claimLost(claimed.id, `${claimed.id} failed and was rolled back`);
    await this.history(claimed.id, 'failed', { at: finishedAt, direction: claimed.direction, durationMs, error: { message, ...(error.interrupted ? { interrupted: true } : {}) }, rolledBack: true, ...this.output(said) });
  }

  /**
   * Before a migration claimed for a transaction runs again outside one: from now on a runner
   * that dies leaves it possibly half done, and the record must say so (one conditional write).
   */
  async leaveTransaction(claimed: Claimed): Promise<Claimed> {
    const claim: RecordClaim = { ...claimed.claim, transaction: false };
    if (!(await this.options.store.updateRecord(claimed.id, claimed.match, { set: { claim } }))) {
      throw this.claimLost(claimed.id, `${claimed.id} was rolled back to run again outside a transaction`);
    }
    return { ...claimed, claim };
  }

  /** The history entry of an operation that committed in a transaction (sent after the commit, waited for by `settled()`). */
  historyAfterCommit(file: ListedMigration, direction: Direction, durationMs: number, said?: Said): void {
    // the same entry as outside a transaction: a down names its direction, an up does not
    this.historySoon(file.id, direction, { ...(direction === 'down' ? { direction } : {}), durationMs, checksum: file.checksum, ...this.output(said) });
  }

  /** Records migrations as applied without running them (`baseline`); those already recorded are skipped. */
  async baseline(files: ListedMigration[]): Promise<string[]> {
    const recorded: string[] = [];
    for (const file of files) {
      const now = this.options.now();
      if (await this.options.store.insertRecord({ ...this.newRecord(file, 'baseline', now), finishedAt: now, durationMs: 0 })) {
        recorded.push(file.id);
        await this.history(file.id, 'baseline', { at: now, checksum: file.checksum });
      }
    }
    return recorded;
  }

  /**
   * `import`: records what another tool applied as applied, at the time and in the run it says
   * (the checksum is of the migration as it is now); false when a record appeared meanwhile.
   */
  async imported(entry: ImportedMigration, migration: ListedMigration | undefined, from: 'migrate-mongo'): Promise<boolean> {
    const record: ChangelogRecord = {
      ...this.newRecord(migration ?? { id: entry.id, checksum: undefined, description: undefined, path: undefined }, 'applied', entry.appliedAt),
      finishedAt: entry.appliedAt,
      runId: entry.run,
      importedFrom: from,
    };
    if (!(await this.options.store.insertRecord(record))) return false;
    await this.history(entry.id, 'import', { checksum: record.checksum, note: `imported from ${from} (applied ${entry.appliedAt.toISOString()}, ${entry.run})` });
    return true;
  }

  /** `repair`: forgets a record (a failed `up`, a dead one, or one whose file is gone). */
  async forget(record: ChangelogRecord, reason: string): Promise<boolean> {
    const done = await this.options.store.deleteRecord(record._id, matchOf(record));
    if (done) await this.history(record._id, 'repair', { note: reason });
    return done;
  }

  /** `repair` of a failed `down`: back to the state it had, so `down` can run it again. */
  async restore(record: ChangelogRecord, reason: string): Promise<boolean> {
    const state = record.claim?.previousState ?? 'applied';
    const done = await this.options.store.updateRecord(record._id, matchOf(record), { set: { state }, unset: ['claim', 'error'] });
    if (done) await this.history(record._id, 'repair', { note: reason });
    return done;
  }

  /** `repair`: accepts the current file of an applied migration. */
  async rechecksum(file: ListedMigration, record: ChangelogRecord): Promise<boolean> {
    const done = await this.options.store.updateRecord(file.id, matchOf(record), { set: { checksum: file.checksum, description: file.description } });
    if (done) await this.history(file.id, 'repair', { checksum: file.checksum, note: `checksum ${record.checksum} -> ${file.checksum}` });
    return done;
  }

  /** Appends a history entry; a failure is a warning, never a different outcome. */
  async history(migrationId: string, event: HistoryEvent, details: HistoryDetails = {}): Promise<void> {
    const { runId, host, pid, user, toolVersion, ci } = this.options.identity;
    const { environment, clean } = this.options;
    const who = { ...(ci === undefined ? {} : { ci: maskedJob(ci, clean) }), ...(environment === undefined ? {} : { environment }) };
    try {
      await this.options.store.appendHistory({ migrationId, event, at: details.at ?? this.options.now(), runId, host, pid, user, toolVersion, ...who, ...details });
    } catch (error) {
      const outcome = event === 'failed' ? 'its failure is recorded in the changelog' : `the changelog says what happened`;
      this.options.warn(migrationId, `could not append the '${event}' history entry of ${migrationId} (${this.options.clean(messageText(error))}); ${outcome}`);
    }
  }
}

/** A CI job as stored: credentials in its URL (or anywhere) masked. */
function maskedJob(ci: CiJob, clean: (text: string) => string): CiJob {
  const masked: CiJob = { service: clean(ci.service) };
  for (const key of ['job', 'id', 'url'] as const) {
    const value = ci[key];
    if (value !== undefined) masked[key] = clean(value);
  }
  return masked;
}

function messageText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
