/** Public types of the migration helpers (re-exported from the package entry). */
import type { BSON, ClientSession, Collection, Db, Document, Filter, IndexDescription, WithId } from 'mongodb';
import type { TransactionLimitError } from '../errors.ts';
import type { ServerInfo } from '../server/capabilities.ts';

/** A driver collection, or the name of a collection in the migration's database. */
export type CollectionRef<T extends Document = Document> = Collection<T> | string;

/** The new document, `null` to leave the document as it is, or `'delete'` to delete it. */
export type TransformResult = Document | null | 'delete';
export type DocumentTransform<T extends Document = Document> = (doc: WithId<T>) => TransformResult | Promise<TransformResult>;

/**
 * A declarative change, run server-side as `updateMany` when it can be, else applied in batches.
 * Applied in this order: rename, unset, set, setDefaults.
 */
export interface ReshapeSpec {
  /** Fields to set on every document (dotted paths allowed). */
  set?: Record<string, unknown>;
  /** Fields to set only where they are missing. */
  setDefaults?: Record<string, unknown>;
  /** Old path -> new path; may move into sub-documents (`{ bio: 'profile.bio' }`). */
  rename?: Record<string, string>;
  /** Fields to remove. */
  unset?: string[];
}

/** Slowing a batched helper down to protect a production cluster (ignored inside a transaction). */
export interface Throttle {
  /** Most documents per second over the whole call: after each batch the helper waits until it is within the rate. Default: no limit. */
  maxDocsPerSecond?: number;
  /** Milliseconds to wait between two batches, before the next one is read. Default 0. */
  pauseMs?: number;
}

export interface ReshapeOptions<T extends Document = Document> extends Throttle {
  /** Only documents matching this filter are read. Default: all. */
  filter?: Filter<T>;
  /** A function of each document, or a declarative spec. */
  transform: DocumentTransform<T> | ReshapeSpec;
  /** Documents read and written per round trip (and the most held in memory). Default 1000. */
  batchSize?: number;
  // A spec with a throttle runs in batches, never as one server-side updateMany the throttle could not pace.
}

export interface ReshapeResult {
  /** Documents that matched the filter and were examined (a dry run: that would be examined). */
  matched: number;
  /** Documents written with a change. */
  modified: number;
  deleted: number;
  /**
   * Documents another writer deleted (or changed so they no longer match the filter) between the
   * read and the write of their batch: not written. Present only when there were any.
   */
  vanished?: number;
  /** Set in a dry run: nothing was written, `matched` counts what the real run would examine. */
  dryRun?: true;
}

export interface BumpSchemaVersionOptions<T extends Document = Document> extends Throttle {
  /** The version field (dotted path allowed). Default `schema_version`. */
  field?: string;
  /** The version every document ends with. */
  to: string | number;
  /** Applied to each document whose version is not `to` yet; the helper sets the version. */
  transform?: DocumentTransform<T> | ReshapeSpec;
  /** Narrows the documents further. */
  filter?: Filter<T>;
  batchSize?: number;
}

export interface CopyAndRenameOptions<T extends Document = Document> extends Throttle {
  /** The collection the copy ends up as. Default: the source itself. */
  to?: string;
  /** Each document's new shape; `null` or `'delete'` leaves it out of the copy. Default: unchanged. */
  transform?: DocumentTransform<T> | ReshapeSpec;
  /** Keeps the original collection under this name (for `down`); without it the source is gone afterwards. */
  keepOriginalAs?: string;
  /** Rebuilds the source's indexes on the copy. Default true. */
  copyIndexes?: boolean;
  /** Changes the copy's indexes for the new shape: drop, add, re-key (see `CopyIndexes`). Default: the source's. */
  indexes?: CopyIndexes;
  batchSize?: number;
  /**
   * On servers without renameCollection dropTarget (FerretDB): accept a moment in which the
   * target is missing (moved aside, copy renamed in). Without it such servers fail clearly.
   */
  allowBriefGap?: boolean;
}

/**
 * The indexes the copy gets, from the source's (all but `_id_`; none with `copyIndexes: false`):
 * a function returning the list to build, or a declarative change of it.
 */
export type CopyIndexes =
  | ((sourceIndexes: IndexDescription[]) => IndexDescription[])
  | {
      /** Names of source indexes the copy does not get (e.g. one on a field the transform moved). */
      drop?: string[];
      /** Indexes built on the copy besides the rest (a renamed or re-keyed index: drop it and add it here). */
      add?: IndexDescription[];
    };

export interface CopyAndRenameResult {
  /** Documents read from the source (a dry run: its count). */
  matched: number;
  /** Documents written to the copy (the rest the transform left out); 0 in a dry run. */
  copied: number;
  /**
   * Inserts, updates and deletes another writer made to the source while it was copied, carried
   * into the copy before the swap (0 when nothing wrote to it).
   */
  carriedOver: number;
  /** Set in a dry run: nothing was copied or renamed. */
  dryRun?: true;
}

/** A collection copyAndRename left behind when a run stopped part-way (`validate` reports them). */
export interface LeftoverCollection {
  /** e.g. `_mongrate_tmp_users`. */
  name: string;
  /** `copy`: an unfinished or refused copy, or its digests (`_mongrate_sums_*`) (the next copyAndRename to it drops it); `original`: a target moved aside by a brief-gap swap (check it, then rename it back). */
  kind: 'copy' | 'original';
  /** The collection it belongs to (the copy's target, or the target moved aside). */
  collection: string;
}

export interface EnsureIndexesOptions {
  /** Also lists the collection's indexes that no spec names (all but `_id_`), in the result's `undeclared` and a log line. Default false. */
  reportUndeclared?: boolean;
}

export interface EnsureIndexesResult {
  /** Names of the indexes built now (a dry run: that would be built). */
  created: string[];
  /** Names of existing indexes changed in place with `collMod`: a TTL's `expireAfterSeconds`, `hidden` (a dry run: that would be changed). */
  modified: string[];
  /** Names of the indexes that already existed as asked. */
  unchanged: string[];
  /** With `reportUndeclared`: the collection's indexes that no spec names, besides `_id_`. */
  undeclared?: string[];
  /** Set in a dry run: nothing was built or changed. */
  dryRun?: true;
}

export interface DropIndexesOptions {
  /**
   * Hides the indexes now (`collMod`) instead of dropping them; a later migration's dropIndexes
   * of the same names drops them, finding them still hidden by an earlier one. Until then a
   * regression is undone by unhiding (the index is kept up to date while hidden). Default false.
   */
  hideFirst?: boolean;
}

export interface DropIndexesResult {
  /** Names of the indexes dropped now (a dry run: that would be dropped; missing ones are not listed). */
  dropped: string[];
  /** With `hideFirst`: names of the indexes hidden now (or found hidden and taken over), for a later migration to drop. */
  hidden?: string[];
  /** Set in a dry run: nothing was hidden or dropped. */
  dryRun?: true;
}

export interface CreateViewOptions {
  /** The view's default collation. It cannot be changed in place: a view with another one is an error (dropView, then createView). */
  collation?: Document;
}

export interface CreateViewResult {
  /** The view did not exist and was created (a dry run: would be). */
  created: boolean;
  /** The view existed with another source or pipeline and was redefined with `collMod` (a dry run: would be). */
  redefined: boolean;
  /** Set in a dry run: nothing was changed. */
  dryRun?: true;
}

export interface DropViewResult {
  /** The view existed and was dropped (a dry run: would be). */
  dropped: boolean;
  /** Set in a dry run: nothing was dropped. */
  dryRun?: true;
}

export interface SetValidatorOptions {
  level?: 'off' | 'strict' | 'moderate';
  action?: 'error' | 'warn';
}

export interface SetValidatorResult {
  /** The collection did not exist and was created with the validator (a dry run: would be). */
  created: boolean;
  /** Set in a dry run: nothing was changed. */
  dryRun?: true;
}

/** Reported after each write (a batch, or part of one on a server that takes few updates per command). */
export interface HelperProgress {
  helper: string;
  collection: string;
  done: number;
  total: number;
  /** Since the helper started. */
  docsPerSecond: number;
}

/** What a helper would do, reported instead of doing it in a dry run. */
export interface HelperPlan {
  helper: string;
  collection: string;
  /** What would happen, in words: `transform 25 documents`, `drop index email_unique`, `set the $jsonSchema validator`. */
  action: string;
  /** How, where that is worth knowing: `in batches of 1000`, `server-side updateMany`, `collMod`. */
  note?: string;
  /** The documents it would work through, where it works through documents (not for an index drop or a validator). */
  documents?: number;
}

/** What helpers need of a driver's BSON library. */
export type HelperBson = Pick<typeof BSON, 'serialize' | 'deserialize' | 'calculateObjectSize'>;

/** Everything a helper needs from the migration that runs it. */
export interface HelperContext {
  db: Db;
  /**
   * The BSON library of the driver `db` belongs to (the project's `mongodb`): another copy's
   * would refuse the project's values. Default: that of the `mongodb` the cwd resolves.
   */
  bson?: HelperBson;
  /** The migration's transaction session; every operation passes it. */
  session?: ClientSession;
  /** Checked after each batch; aborted means stop with an INTERRUPTED error. */
  signal?: AbortSignal;
  server: ServerInfo;
  /** Count and report, write nothing. */
  dryRun: boolean;
  onProgress?: (progress: HelperProgress) => void;
  onPlan?: (plan: HelperPlan) => void;
  log?: (line: string) => void;
  /**
   * Throws (a LOCK_LOST MongrateError) once the run's lease is lost or its own deadline passed
   * without a renewal. Synchronous and cheap: helpers call it right before every write command
   * (each bulkWrite/insertMany chunk, index build, rename, drop, collMod), never after.
   */
  fence?: () => void;
  /**
   * Inside a transaction (`session` set and in a transaction): a helper that would touch more
   * documents than this writes nothing and throws `TransactionLimitError`. Default 1000.
   */
  transactionDocumentLimit?: number;
  /**
   * The longest one server-side command of a helper may run (`maxTimeMS`) before it is sent
   * again, with the lock checked in between: half the lease, so a runner that died or lost the
   * lock leaves no such command running on the server for long. Undefined: no limit.
   */
  commandTimeLimitMs?: number;
  /** The commitQuorum of every index build a helper starts (see index-build.ts). Default 1: the primary alone. */
  commitQuorum?: number | string;
  /**
   * Told of every TransactionLimitError a helper raises inside the transaction, before it is
   * thrown: the runner ends the attempt with it even if the migration catches it.
   */
  onTransactionLimit?: (error: TransactionLimitError) => void;
  /** A notice shown once in the run's output (not a failure), e.g. what a server cannot do. */
  warn?: (message: string) => void;
  /**
   * The id of the migration running (none outside one): `dropIndexes(..., { hideFirst })` records
   * which migration hid an index, so that only a later one drops it.
   */
  migration?: string;
}

export interface MigrationHelpers {
  reshape<T extends Document = Document>(collection: CollectionRef<T>, options: ReshapeOptions<T>): Promise<ReshapeResult>;
  bumpSchemaVersion<T extends Document = Document>(collection: CollectionRef<T>, options: BumpSchemaVersionOptions<T>): Promise<ReshapeResult>;
  copyAndRename<T extends Document = Document>(source: CollectionRef<T>, options?: CopyAndRenameOptions<T>): Promise<CopyAndRenameResult>;
  ensureIndexes<T extends Document = Document>(collection: CollectionRef<T>, specs: IndexDescription[], options?: EnsureIndexesOptions): Promise<EnsureIndexesResult>;
  dropIndexes<T extends Document = Document>(collection: CollectionRef<T>, names: string[], options?: DropIndexesOptions): Promise<DropIndexesResult>;
  setValidator<T extends Document = Document>(
    collection: CollectionRef<T>,
    schema: Document | null,
    options?: SetValidatorOptions,
  ): Promise<SetValidatorResult>;
  createView(name: CollectionRef, source: CollectionRef, pipeline: Document[], options?: CreateViewOptions): Promise<CreateViewResult>;
  dropView(name: CollectionRef): Promise<DropViewResult>;
}
