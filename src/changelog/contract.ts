/**
 * What mongrate needs from wherever it keeps its changelog and history: a short contract, kept
 * dumb on purpose (golang-migrate's lesson). A store reads and writes records and history
 * entries and answers whether a conditional write took effect; every decision (what to claim,
 * when a record counts as dead, what a failure means) is the core's (`src/core/recorder.ts`).
 * `test/conformance/changelog-store.test.ts` proves an implementation against any server.
 */
import type { ClientSession } from 'mongodb';
import type { CiJob, Direction, RunOutput } from '../types.ts';

// The stored documents. They are not public API: programs read what they say through the
// migrator's results (status(), and the history a command writes), never the documents.

export type ChangelogState = 'applied' | 'failed' | 'running' | 'baseline';

/** One changelog document per migration. */
export interface ChangelogRecord {
  _id: string;
  state: ChangelogState;
  /** Absent for an in-code migration given without `source`. */
  checksum: string | undefined;
  description: string | undefined;
  startedAt: Date;
  finishedAt: Date | undefined;
  durationMs: number | undefined;
  runId: string;
  host: string;
  pid: number;
  toolVersion: string;
  /**
   * While `running`, and kept when `failed`: the operation under way or that failed. An `up`
   * claims a new record; a `down` claims the applied record it reverts (its top-level fields keep
   * describing the application). Every write that finishes an operation is conditional on it.
   */
  claim?: RecordClaim;
  error?: {
    message: string;
    direction?: Direction;
    interrupted?: boolean;
    /** It failed inside a transaction, which was rolled back: nothing of it was written. */
    rolledBack?: true;
  };
  /** Recorded by `mongrate import` from another tool's changelog, not run by mongrate. */
  importedFrom?: 'migrate-mongo';
}

/** Who is applying or reverting a migration, since when. */
export interface RecordClaim {
  direction: Direction;
  runId: string;
  host: string;
  pid: number;
  startedAt: Date;
  /** A `down`: the state to restore when the revert is given up (`repair`). */
  previousState?: 'applied' | 'baseline';
  finishedAt?: Date;
  durationMs?: number;
  /**
   * The operation runs inside a transaction: a runner that dies leaves nothing of it behind (the
   * server rolls it back), so the record is reported as interrupted and rolled back.
   */
  transaction?: boolean;
}

export type HistoryEvent = 'up' | 'down' | 'failed' | 'repair' | 'baseline' | 'unlock' | 'import';

/** Appended for every event; never updated. */
export interface HistoryRecord {
  migrationId: string;
  event: HistoryEvent;
  direction?: Direction;
  at: Date;
  runId: string;
  host: string;
  pid: number;
  user: string;
  toolVersion: string;
  checksum?: string;
  durationMs?: number;
  /** `interrupted`: Ctrl-C, SIGTERM or a time limit stopped it. */
  error?: { message: string; interrupted?: true };
  /** A `failed` entry of an attempt that ran inside a transaction and was rolled back: it changed nothing. */
  rolledBack?: true;
  /** What a `repair` or `baseline` did. */
  note?: string;
  /** The CI job that ran the command, where its environment said so. */
  ci?: CiJob;
  /** The config environment chosen (`--env`, `MONGRATE_ENV`). */
  environment?: string;
  /** An up, down or failed entry: what the migration and its helpers said during that run (bounded, masked). */
  output?: RunOutput;
}

/** Which history entries to list. */
export interface HistoryFilter {
  migrationId?: string | undefined;
  event?: HistoryEvent | undefined;
  since?: Date | undefined;
  limit?: number | undefined;
}

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
  /**
   * History entries, in the order they were written; of one migration and/or one event when
   * given, from `since` on (inclusive); with `limit`, only the newest `limit` of them.
   */
  listHistory(filter?: HistoryFilter): Promise<HistoryRecord[]>;
}
