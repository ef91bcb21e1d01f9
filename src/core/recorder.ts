/**
 * What the changelog says about each migration, decided here and written through the store's
 * dumb contract. Every operation is claimed first (its record marked `running`, outside any
 * transaction, so every other runner and `status` see it), and every write that finishes it is
 * conditional on that claim (compare-and-set on state + claim), so a runner whose lease was taken
 * over and whose record was re-claimed changes nothing. An operation run in a transaction writes
 * its outcome inside it, with the migration's own writes; its failure is recorded outside, after
 * the rollback, as the rolled-back attempt it was. History entries are best effort: they never
 * change the outcome of a migration (a failed history write becomes a warning).
 *
 * What an applied migration costs: its claim and its outcome, and when the next step of the run is
 * an up of a migration with no record yet, its claim rides in the same `update` command as this
 * outcome: a statement that creates the next record `running` unless one exists
 * (`updateRecordAndCreate`). The claim is then written right before the next migration starts, as
 * it always was, and is visible outside any transaction before it runs (a claim written in a
 * transaction commits with the outcome before the next one starts); a record that exists already
 * means another runner has it, and the next step is refused as a claim refused alone would be. A
 * claim the run does not use (it stops first, or the outcome it rode with did not match) is deleted
 * when the run ends, conditionally on being this run's. So the commands of one applied migration,
 * in order, are: outside a transaction, the migration's, then `update mongrate_changelog` (outcome,
 * history entry, next claim): one of its own; in a transaction, the migration's (the first one
 * starts it), the same `update` inside it, then `commitTransaction`: two of its own. A run of K
 * fresh migrations sends one changelog write per migration, plus one claim.
 *
 * Why a transaction needs no write to the lock document: the record is the fence. The outcome in
 * the transaction matches only this run's claim, and a runner that took the lease over re-claims
 * the record (`claimUp` on a dead `running` record: a replace conditional on that claim) before it
 * runs the migration again. If the re-claim lands first, the outcome matches nothing or conflicts
 * with it (a write conflict is read as the same: LOCK_LOST, never retried), and the transaction is
 * aborted with all of the migration's writes; if the outcome was written first, the re-claim waits
 * for the commit or abort (a write outside a transaction waits for one that wrote the document
 * first, on MongoDB and PostgreSQL) and, after a commit, finds the record applied and runs
 * nothing. Two runners' transactions of one migration never both commit. The lease's own fence
 * (`assertHeld`, right before the outcome and the commit) stops a runner that knows, or by its
 * deadline must assume, that it lost the lock.
 *
 * An applied migration's history entry is not a command of its own: the outcome write carries it
 * (`pendingHistory` on the record, in the same update, so in the same transaction when there is
 * one), and the run appends the entries of all its migrations at its end in one insert, then clears
 * them from the records in one update. Nothing is lost on a crash: an entry stays on its record
 * until it is in the history, and the next run that takes the lock appends what a dead run left
 * there (`recoverHistory`). Each entry carries an `_id` given here, so an insert sent twice (its
 * answer lost, or a dead run's flush that did land) appends it once: the history stays append-only,
 * one entry per event. Entries of what deletes its record (a `down`) and of failures are sent at
 * once, as before; a `down` finished by the delete is the only event with a window (one round trip)
 * in which a crash loses its entry.
 */
import type { ClientSession } from 'mongodb';
import type { ChangelogRecord, ChangelogStore, HistoryEvent, HistoryRecord, RecordChange, RecordClaim, RecordMatch } from '../changelog/contract.ts';
import { isConnectionLoss } from '../driver/errors.ts';
import { MongrateError } from '../errors.ts';
import { isWriteConflict } from './transactions.ts';
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

/** What an outcome written in a transaction keeps for after the commit: an up's history entry. */
export interface InTransaction {
  kept: HistoryRecord | undefined;
}

/** How a claimed operation runs: in a transaction, a runner that dies leaves nothing of it behind. */
export interface ClaimOptions {
  transaction: boolean;
}

/** The next step of the run when it is an up of a migration with no record: claimed with this outcome. */
export interface NextUp {
  file: ListedMigration;
  how: ClaimOptions;
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
  /** Entries kept on their records, appended together by `settled()`. */
  private deferred: HistoryRecord[] = [];
  private entries = 0;
  /** Claims written with an earlier outcome, not used yet ('taken': a record was there already). */
  private readonly claimedAhead = new Map<string, Claimed | 'taken'>();

  constructor(private readonly options: RecorderOptions) {}

  /** Sends a history entry without waiting for it; `settled()` does (a failure is a warning, as ever). */
  private historySoon(migrationId: string, event: HistoryEvent, details: HistoryDetails): void {
    const write: Promise<void> = this.history(migrationId, event, details).finally(() => this.pendingHistory.delete(write));
    this.pendingHistory.add(write);
  }

  /**
   * Waits for every history entry still being written, and appends those kept on their records
   * (one insert), then clears them from the records (one update). Never rejects: an entry that
   * could not be appended stays on its record for the next run, and the output warns.
   */
  async settled(): Promise<void> {
    while (this.pendingHistory.size > 0) await Promise.all([...this.pendingHistory]);
    const entries = this.deferred;
    this.deferred = [];
    await this.appendKept(entries, 'this run');
  }

  /**
   * Under the lock, before a command changes records: appends the entries a run that died (or
   * lost the server) left on records, and clears them. Never rejects (a failure is a warning; they
   * stay where they are for the next run).
   */
  async recoverHistory(records: ChangelogRecord[]): Promise<void> {
    const left = records.flatMap((r) => (r.pendingHistory === undefined ? [] : [r.pendingHistory]));
    await this.appendKept(left, 'an earlier run');
  }

  private async appendKept(entries: HistoryRecord[], whose: string): Promise<void> {
    if (entries.length === 0) return;
    const { store, clean, warn } = this.options;
    let refused: HistoryRecord[];
    let why = 'the server refused it';
    try {
      refused = await store.appendHistoryOnce(entries);
    } catch (error) {
      if (isConnectionLoss(error)) {
        const ids = [...new Set(entries.map((e) => e.migrationId))].join(', ');
        warn(undefined, `could not append the history entries of ${whose} (${ids}): ${clean(messageText(error))}; they stay on their changelog records and the next run appends them`);
        return;
      }
      refused = entries;
      why = clean(messageText(error));
    }
    // an entry the server refuses would be refused again: it is given up, as an entry sent alone always was
    for (const entry of refused) warn(entry.migrationId, `could not append the '${entry.event}' history entry of ${entry.migrationId} (${why}); the changelog says what happened`);
    // a record left keeping its entry is harmless: the next run appends it once (or finds it there)
    await store.clearPendingHistory(entries.flatMap((e) => (e._id === undefined ? [] : [e._id]))).catch(() => undefined);
  }

  /** A history entry to keep on its record until it is appended: with its own `_id`, so it is appended once. */
  private keptEntry(migrationId: string, event: HistoryEvent, details: HistoryDetails): HistoryRecord {
    this.entries += 1;
    const entry: HistoryRecord = { _id: `${this.options.identity.runId}/${String(this.entries).padStart(6, '0')}`, ...this.newEntry(migrationId, event, details) };
    // the driver would store an absent detail as null inside the record
    return Object.fromEntries(Object.entries(entry).filter(([, value]) => value !== undefined)) as HistoryRecord;
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
    const ahead = planned === undefined ? this.claimedAhead.get(file.id) : undefined;
    if (ahead !== undefined) {
      this.claimedAhead.delete(file.id);
      if (ahead === 'taken') throw this.claimedByAnother(file.id);
      // claimed for the way it runs (the policy decided both times); were it not, the claim says so first
      return (ahead.claim.transaction === true) === how.transaction ? ahead : this.reclaim(ahead, how);
    }
    const { record, claimed } = this.upClaim(file, how);
    const taken = planned === undefined ? await this.options.store.insertRecord(record) : await this.options.store.replaceRecord(matchOf(planned), record);
    if (!taken) throw this.claimedByAnother(file.id);
    return claimed;
  }

  /** What `said` adds to a history entry: its bounded, masked lines, when there are any. */
  private output(said: Said): Pick<HistoryDetails, 'output'> {
    const output = said?.stored(this.options.clean);
    return output === undefined ? {} : { output };
  }

  private claimedByAnother(id: string): MongrateError {
    return new MongrateError('LOCK_HELD', `migration ${id} was claimed by another runner while this run was starting it; nothing of it ran here`);
  }

  /** A new `running` record claiming `file` for an up, and the claim this run then holds. */
  private upClaim(file: ListedMigration, how: ClaimOptions): { record: ChangelogRecord; claimed: Claimed } {
    const claim = this.newClaim('up', how);
    const record: ChangelogRecord = { ...this.newRecord(file, 'running', claim.startedAt), claim };
    return { record, claimed: { id: file.id, direction: 'up', startedAt: claim.startedAt, match: { state: 'running', claimRunId: claim.runId }, claim } };
  }

  /** An up's outcome, and the next up's claim with it when there is one (one command). */
  private async finishWithNext(id: string, claimed: Claimed, change: RecordChange, next: NextUp | undefined, session?: ClientSession): Promise<boolean> {
    const { store } = this.options;
    if (next === undefined) return store.updateRecord(id, claimed.match, change, session);
    const { record, claimed: nextClaimed } = this.upClaim(next.file, next.how);
    const { updated, created } = await store.updateRecordAndCreate(id, claimed.match, change, record, session);
    // registered even if this outcome did not match: an unused claim is deleted when the run ends
    this.claimedAhead.set(next.file.id, created ? nextClaimed : 'taken');
    return updated;
  }

  /** Deletes the claims written ahead that no step used (the run stopped first) when `held` (the lock is ours); never rejects. */
  async releaseUnused(held: boolean): Promise<void> {
    const unused = [...this.claimedAhead.values()].filter((c): c is Claimed => c !== 'taken');
    this.claimedAhead.clear();
    if (!held) return;
    for (const claimed of unused) {
      try {
        // only while it is still exactly this run's untouched claim
        await this.options.store.deleteRecord(claimed.id, claimed.match);
      } catch (error) {
        this.options.warn(claimed.id, `could not remove the claim on ${claimed.id}, which did not run (${this.options.clean(messageText(error))}); it shows as interrupted once the lock expires`);
      }
    }
  }

  private async reclaim(claimed: Claimed, how: ClaimOptions): Promise<Claimed> {
    const claim: RecordClaim = { ...claimed.claim, transaction: how.transaction };
    if (!(await this.options.store.updateRecord(claimed.id, claimed.match, { set: { claim } }))) throw this.claimedByAnother(claimed.id);
    return { ...claimed, claim };
  }

  async finishUp(file: ListedMigration, claimed: Claimed, durationMs: number, said?: Said, next?: NextUp): Promise<void> {
    const finishedAt = this.options.now();
    const entry = this.keptEntry(file.id, 'up', { at: finishedAt, checksum: file.checksum, durationMs, ...this.output(said) });
    const change: RecordChange = {
      set: { state: 'applied', finishedAt, durationMs, checksum: file.checksum, description: file.description, pendingHistory: entry },
      unset: ['claim', 'error'],
    };
    if (!(await this.finishWithNext(file.id, claimed, change, next))) throw this.claimLost(file.id, `${file.id} ran to the end`);
    this.deferred.push(entry);
  }

  /**
   * Marks an applied (or baselined) record as being reverted, so a crash or an interrupt during
   * the `down` leaves a visible state; a retry takes over the failed or dead `down` as planned.
   */
  async claimDown(planned: ChangelogRecord, how: ClaimOptions = { transaction: false }): Promise<Claimed> {
    // a record about to be deleted keeps no entry of this run: it is appended first
    if (this.deferred.some((e) => e.migrationId === planned._id)) await this.settled();
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
   * with the migration's own writes (an up becomes applied, a down deletes the record). No write
   * to the history here (a failed history write must not abort the commit): an up's entry is kept
   * on its record, so it commits with the outcome; `afterCommit` takes it from there.
   */
  async finishInTransaction(file: ListedMigration, claimed: Claimed, durationMs: number, session: ClientSession, next?: NextUp): Promise<InTransaction> {
    const { store } = this.options;
    const lost = (): MongrateError => this.claimLost(claimed.id, `${claimed.id} ran to the end in its transaction`);
    // a conflict on the record: another runner wrote it since this transaction began (a re-claim)
    const fenced = <T>(write: Promise<T>): Promise<T> =>
      write.catch((error: unknown) => {
        throw isWriteConflict(error) ? lost() : error;
      });
    if (claimed.direction === 'down') {
      if (!(await fenced(store.deleteRecord(claimed.id, claimed.match, session)))) throw lost();
      return { kept: undefined };
    }
    const finishedAt = this.options.now();
    const entry = this.keptEntry(file.id, 'up', { at: finishedAt, checksum: file.checksum, durationMs });
    const change: RecordChange = {
      set: { state: 'applied', finishedAt, durationMs, checksum: file.checksum, description: file.description, pendingHistory: entry },
      unset: ['claim', 'error'],
    };
    // the next claim commits with this outcome, before the next migration starts; if this
    // transaction is rolled back, so is the claim (and the run stops: its removal finds nothing)
    if (!(await fenced(this.finishWithNext(claimed.id, claimed, change, next, session)))) throw lost();
    return { kept: entry };
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

  /**
   * The history entry of an operation that committed in a transaction: an up's, committed on its
   * record, is appended with the run's others by `settled()`; a down's is sent now (its record is
   * gone), waited for by `settled()`.
   */
  afterCommit(file: ListedMigration, committed: InTransaction, durationMs: number, said?: Said): void {
    // what the attempt said is known once it committed: the appended entry carries it (the copy
    // on the record, for a run that dies before appending, goes without it)
    if (committed.kept !== undefined) this.deferred.push({ ...committed.kept, ...this.output(said) });
    // the same entry as outside a transaction: a down names its direction
    else this.historySoon(file.id, 'down', { direction: 'down', durationMs, checksum: file.checksum, ...this.output(said) });
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
  /** A history entry: the event, who ran it (host, user, pid, CI job, environment), with which version, and its details. */
  private newEntry(migrationId: string, event: HistoryEvent, details: HistoryDetails): HistoryRecord {
    const { runId, host, pid, user, toolVersion, ci } = this.options.identity;
    const { environment, clean } = this.options;
    const who = { ...(ci === undefined ? {} : { ci: maskedJob(ci, clean) }), ...(environment === undefined ? {} : { environment }) };
    return { migrationId, event, at: details.at ?? this.options.now(), runId, host, pid, user, toolVersion, ...who, ...details };
  }

  async history(migrationId: string, event: HistoryEvent, details: HistoryDetails = {}): Promise<void> {
    try {
      await this.options.store.appendHistory(this.newEntry(migrationId, event, details));
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
