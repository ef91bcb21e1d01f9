/**
 * The changelog (one document per migration) and the append-only history. The store is kept
 * dumb: it reads and writes records; every decision is the core's.
 */
import { MongoServerError, type ClientSession, type Collection, type Db } from 'mongodb';
import { MongrateError } from '../errors.ts';
import type { ChangelogRecord, Direction, HistoryEvent, HistoryRecord, MigrationFile, ResolvedConfig } from '../types.ts';
import type { RunIdentity } from '../util/identity.ts';

const DUPLICATE_KEY = 11000;

/** The driver stores `undefined` as null; records leave unknown fields out instead. */
function definedOnly<T extends object>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as T;
}

export interface FinishedStep {
  startedAt: Date;
  durationMs: number;
  session?: ClientSession | undefined;
}

export class ChangelogStore {
  private readonly changelog: Collection<ChangelogRecord>;
  private readonly history: Collection<HistoryRecord>;

  constructor(
    db: Db,
    config: Pick<ResolvedConfig, 'changelogCollection' | 'historyCollection'>,
    private readonly identity: RunIdentity,
  ) {
    this.changelog = db.collection<ChangelogRecord>(config.changelogCollection);
    this.history = db.collection<HistoryRecord>(config.historyCollection);
  }

  /** Every record, oldest application first. */
  async list(): Promise<ChangelogRecord[]> {
    return this.changelog.find({}).sort({ finishedAt: 1, startedAt: 1, _id: 1 }).toArray();
  }

  private baseRecord(file: MigrationFile, state: ChangelogRecord['state'], startedAt: Date): ChangelogRecord {
    const { runId, host, pid, toolVersion } = this.identity;
    return definedOnly({
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
    });
  }

  /**
   * Claims a migration before running it. The unique `_id` makes the claim atomic: a second
   * runner that reaches the same migration fails here instead of running it twice. A `failed`
   * record is replaced only when `retry` says so.
   */
  async claim(file: MigrationFile, options: { retry: boolean; session?: ClientSession | undefined }): Promise<Date> {
    const startedAt = new Date();
    const record = this.baseRecord(file, 'running', startedAt);
    try {
      if (options.retry) {
        // a failed record, or a `running` one whose runner is gone (the caller holds the lock)
        const replaced = await this.changelog.replaceOne({ _id: file.id, state: { $in: ['failed', 'running'] } }, record, {
          session: options.session,
        });
        if (replaced.matchedCount === 1) return startedAt;
      }
      await this.changelog.insertOne(record, { session: options.session });
      return startedAt;
    } catch (error) {
      if (error instanceof MongoServerError && error.code === DUPLICATE_KEY) {
        const holder = await this.changelog.findOne({ _id: file.id }, { session: options.session });
        const who = holder === null ? 'another runner' : `${holder.host} pid ${holder.pid} (state ${holder.state})`;
        throw new MongrateError('LOCK_HELD', `migration ${file.id} was claimed by ${who} while this run was starting it`);
      }
      throw error;
    }
  }

  async markApplied(file: MigrationFile, step: FinishedStep): Promise<void> {
    const finishedAt = new Date();
    await this.changelog.updateOne(
      { _id: file.id },
      {
        $set: definedOnly({ state: 'applied' as const, finishedAt, durationMs: step.durationMs, checksum: file.checksum, description: file.description }),
        $unset: { error: '' },
      },
      { session: step.session },
    );
    await this.appendHistory(file.id, 'up', { at: finishedAt, checksum: file.checksum, durationMs: step.durationMs }, step.session);
  }

  /** Applied in one go, inside the migration's transaction: no `running` record ever existed. */
  async recordApplied(file: MigrationFile, step: FinishedStep): Promise<void> {
    const finishedAt = new Date();
    const record: ChangelogRecord = {
      ...this.baseRecord(file, 'applied', step.startedAt),
      finishedAt,
      durationMs: step.durationMs,
    };
    await this.changelog.replaceOne({ _id: file.id }, definedOnly(record), { upsert: true, session: step.session });
    await this.appendHistory(file.id, 'up', { at: finishedAt, checksum: file.checksum, durationMs: step.durationMs }, step.session);
  }

  /** Records migrations as applied without running them (`baseline`). */
  async recordBaseline(files: MigrationFile[]): Promise<void> {
    if (files.length === 0) return;
    const now = new Date();
    await this.changelog.insertMany(
      files.map((file) => definedOnly({ ...this.baseRecord(file, 'baseline', now), finishedAt: now, durationMs: 0 })),
    );
    for (const file of files) await this.appendHistory(file.id, 'baseline', { at: now, checksum: file.checksum });
  }

  /** `repair`: forget a failed (or dead running) record so the migration runs again. */
  async forget(id: string, reason: string): Promise<void> {
    await this.changelog.deleteOne({ _id: id });
    await this.appendHistory(id, 'repair', { note: reason });
  }

  /** `repair`: accept the current file of an applied migration. */
  async rechecksum(file: MigrationFile, previous: string): Promise<void> {
    await this.changelog.updateOne({ _id: file.id }, { $set: definedOnly({ checksum: file.checksum, description: file.description }) });
    await this.appendHistory(file.id, 'repair', { checksum: file.checksum, note: `checksum ${previous} -> ${file.checksum}` });
  }

  async markFailed(
    file: MigrationFile,
    direction: Direction,
    error: { message: string; interrupted?: boolean },
    step: FinishedStep,
  ): Promise<void> {
    const finishedAt = new Date();
    const { runId, host, pid } = this.identity;
    await this.changelog.updateOne(
      { _id: file.id },
      {
        $set: {
          state: 'failed',
          finishedAt,
          durationMs: step.durationMs,
          runId,
          host,
          pid,
          error: { message: error.message, direction, ...(error.interrupted === true ? { interrupted: true } : {}) },
        },
        $setOnInsert: definedOnly({ checksum: file.checksum, description: file.description, startedAt: step.startedAt }),
      },
      { upsert: true },
    );
    await this.appendHistory(file.id, 'failed', { at: finishedAt, direction, durationMs: step.durationMs, error: { message: error.message } });
  }

  /** A reverted migration has no changelog record; the history keeps the event. */
  async remove(file: MigrationFile | { id: string; checksum?: string }, step: FinishedStep): Promise<void> {
    await this.changelog.deleteOne({ _id: file.id }, { session: step.session });
    await this.appendHistory(
      file.id,
      'down',
      { direction: 'down', durationMs: step.durationMs, ...(file.checksum === undefined ? {} : { checksum: file.checksum }) },
      step.session,
    );
  }

  async appendHistory(
    migrationId: string,
    event: HistoryEvent,
    details: Partial<Pick<HistoryRecord, 'at' | 'direction' | 'checksum' | 'durationMs' | 'error' | 'note'>> = {},
    session?: ClientSession,
  ): Promise<void> {
    const { runId, host, pid, user, toolVersion } = this.identity;
    await this.history.insertOne(
      { migrationId, event, at: details.at ?? new Date(), runId, host, pid, user, toolVersion, ...details },
      { session },
    );
  }
}
