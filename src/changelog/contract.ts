/**
 * What mongrate needs from wherever it keeps its changelog and history: a short contract, kept
 * dumb on purpose (golang-migrate's lesson). A store reads and writes records and history
 * entries and answers whether a conditional write took effect; every decision (what to claim,
 * when a record counts as dead, what a failure means) is the core's (`src/core/recorder.ts`).
 * `test/conformance/changelog-store.test.ts` proves an implementation against any server.
 */
import type { ClientSession } from 'mongodb';
import type { ChangelogRecord, ChangelogState, HistoryEvent, HistoryRecord } from '../types.ts';

/**
 * The record as the caller last saw it: a conditional write applies only while the record still
 * has this state and this claim (`null`: no claim at all), so a runner whose view went stale
 * (its lease was taken over and the record re-claimed) changes nothing.
 */
export interface RecordMatch {
  state: ChangelogState;
  claimRunId: string | null;
}

/** Fields to set and fields to remove, in one atomic update of one record. */
export interface RecordChange {
  set?: Partial<Omit<ChangelogRecord, '_id'>>;
  unset?: ('claim' | 'error' | 'finishedAt' | 'durationMs')[];
}

export interface ChangelogStore {
  /**
   * Creates the changelog and history collections and their indexes when missing. Called before
   * the first run, never inside a transaction (MongoDB 4.0/4.2 and cross-shard transactions
   * refuse to create collections). Idempotent.
   */
  prepare(): Promise<void>;
  /** Every record, oldest application first. */
  listRecords(): Promise<ChangelogRecord[]>;
  /** Inserts the record unless one with its `_id` exists; false then (atomic on every server). */
  insertRecord(record: ChangelogRecord, session?: ClientSession): Promise<boolean>;
  /** Applies `change` if the record still matches; false when it does not (anymore). */
  updateRecord(id: string, match: RecordMatch, change: RecordChange, session?: ClientSession): Promise<boolean>;
  /** Replaces the record (same `_id`) if it still matches; false otherwise. */
  replaceRecord(match: RecordMatch, record: ChangelogRecord, session?: ClientSession): Promise<boolean>;
  /** Deletes the record if it still matches; false otherwise. */
  deleteRecord(id: string, match: RecordMatch, session?: ClientSession): Promise<boolean>;
  /** Appends one entry to the history; entries are never updated. */
  appendHistory(entry: HistoryRecord, session?: ClientSession): Promise<void>;
  /** History entries, in the order they were written; of one migration and/or one event when given. */
  listHistory(filter?: { migrationId?: string; event?: HistoryEvent }): Promise<HistoryRecord[]>;
}
