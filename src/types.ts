/** Every public type of mongrate lives here, so users and the CLI import from one place. */
import type { ClientSession, Db, MongoClient, MongoClientOptions } from 'mongodb';
import type { ErrorCode, Hint } from './errors.ts';
import type { HelperPlan, HelperProgress, MigrationHelpers } from './helpers/types.ts';
import type { ServerInfo } from './server/capabilities.ts';

export type TransactionMode = 'auto' | 'always' | 'never';

/**
 * What a run that takes the lock does with operations a dead run left in progress on the server
 * (a killed runner's `updateMany` or index build goes on without it): wait for them to end, or
 * kill them (`killOp`) and then wait.
 */
export type DeadRunOperations = 'wait' | 'kill';

/** Which databases a command runs on, one after another or a few at once (one database per tenant). */
export type DatabaseSelection =
  | string[]
  /** A glob over `listDatabases` (e.g. `'tenant_*'`); `admin`, `local` and `config` never match. */
  | { match: string }
  /** Called once per command with the connected client. */
  | ((context: { client: MongoClient }) => string[] | Promise<string[]>);

/** How files written for another tool are called: `'migrate-mongo'` calls `up(db, client)` / `down(db, client)`. */
export type CompatMode = 'migrate-mongo';

/** What a user writes in `migrate.config.ts` (every key optional). */
export interface MongrateConfig {
  /** Connection string; `--uri` and `MONGODB_URI` take precedence. */
  uri?: string;
  /** Database name; `--db` and `MONGODB_DATABASE` take precedence; falls back to the URI's path. */
  database?: string;
  /** Folder of migration files, relative to the config file. Default `migrations`. */
  migrationsDir?: string;
  /** One document per migration. Default `mongrate_changelog`. */
  changelogCollection?: string;
  /** Append-only audit trail of every event. Default `mongrate_history`. */
  historyCollection?: string;
  /** Holds the single lock document. Default `mongrate_lock`. */
  lockCollection?: string;
  /**
   * Lease length, how long to wait for a held lock, and what to do with a dead run's operations
   * still in progress on the server when this run takes the lock (`wait`, the default, or `kill`).
   */
  lock?: { ttlSeconds?: number; waitSeconds?: number; deadRunOperations?: DeadRunOperations };
  /** Run each migration and its changelog write in one transaction. Default `auto`. */
  transactions?: TransactionMode;
  /**
   * Most documents a helper may touch inside a transaction (default 1000). A helper that would
   * touch more writes nothing; under `auto` the migration is rolled back and run again outside a
   * transaction, under `always` it fails naming this limit.
   */
  transactionDocumentLimit?: number;
  /** Passed to `MongoClient` (pool sizes, TLS, timeouts...). */
  clientOptions?: MongoClientOptions;
  /** Instead of `database`: several databases, each with its own changelog, history and lock. */
  databases?: DatabaseSelection;
  /** Databases processed at once when there are several (default 1); `--concurrency` wins. */
  concurrency?: number;
  /** Run migration files written for another tool unchanged (`'migrate-mongo'`). */
  compat?: CompatMode;
  /** Instead of `migrationsDir`: migrations given in code, a list or a provider (bundled apps, tests). */
  migrations?: InlineMigration[] | InlineMigrationProvider;
}

/** The configuration after flags, environment, file and defaults are merged. */
export interface ResolvedConfig {
  /** Marks a config that went through `loadConfig()`/merging. */
  resolved: true;
  uri: string;
  database: string;
  migrationsDir: string;
  changelogCollection: string;
  historyCollection: string;
  lockCollection: string;
  lock: { ttlSeconds: number; waitSeconds: number; deadRunOperations: DeadRunOperations };
  transactions: TransactionMode;
  transactionDocumentLimit: number;
  clientOptions: MongoClientOptions;
  /** Set when the command runs on several databases (then `database` is ''). */
  databases: DatabaseSelection | undefined;
  concurrency: number;
  compat: CompatMode | undefined;
  /** Set when migrations come from code rather than `migrationsDir`. */
  migrations: InlineMigration[] | InlineMigrationProvider | undefined;
  /** The config file used, if any. */
  configFile: string | undefined;
  /** Where the project's `mongodb` is resolved from: the config file's folder, else the cwd. */
  projectRoot: string;
  /** What the config set that is not used, and why (e.g. a MONGODB_URI a migrate-mongo project ignores): shown once per command. */
  notices: string[];
}

export interface MigrationLogger {
  (message: string): void;
}

/** What `up` and `down` receive. */
export interface MigrationContext {
  /** The migration's database. */
  db: Db;
  client: MongoClient;
  /** The transaction's session, when the migration runs in one. Pass it to every write. */
  session: ClientSession | undefined;
  /** Writes a line under the migration in the CLI output (and a `log` event). */
  log: MigrationLogger;
  /** Aborted on Ctrl-C/SIGTERM: long loops should stop at the next safe point. */
  signal: AbortSignal;
  /** The migration's id. */
  id: string;
  direction: Direction;
  /** Batched, resumable helpers bound to this migration (session, progress, dry run). */
  helpers: MigrationHelpers;
  /** What the server is and supports: branch on `server.supports('partialIndexes')` and friends. */
  server: ServerInfo;
  /**
   * True under `--dry-run`: `db` and `client` are then read-only (a direct write stops the dry run
   * of this migration) and helpers only count what they would touch.
   */
  dryRun: boolean;
}

export type Direction = 'up' | 'down';
export type MigrationFn = (ctx: MigrationContext) => Promise<unknown>;

/** What a migration file exports (default export via `defineMigration`, or named exports). */
export interface MigrationDefinition {
  /** Shown by `status`. */
  description?: string;
  /** Set `false` to never run this migration in a transaction. */
  transaction?: boolean;
  up: MigrationFn;
  /** Absent means irreversible: `down` refuses it. */
  down?: MigrationFn;
}

/** A migration given in code (`createMigrator({ migrations: [...] })`), for bundles with no files at run time. */
export interface InlineMigration extends MigrationDefinition {
  /** Orders like a file id: by code unit. */
  id: string;
  /**
   * The migration's source text (e.g. its file imported raw), checksummed so an edit after it ran
   * shows as `changed`. Without it the migration's edits cannot be detected: `status` says `unchecked`.
   */
  source?: string;
}

/** Gives the in-code migrations when asked (Kysely's `MigrationProvider`). */
export interface InlineMigrationProvider {
  list(): Promise<InlineMigration[]>;
}

/** A migration as its provider lists it: nothing imported yet. */
export interface ListedMigration {
  id: string;
  /** `sha256:<hex>` of its source; undefined when it has none (its edits cannot be detected). */
  checksum: string | undefined;
  /** Read statically from a file, so `status` needs no import. */
  description: string | undefined;
  /** Its file, when it has one. */
  path: string | undefined;
}

/** A migration file found on disk; nothing imported yet. */
export interface MigrationFile extends ListedMigration {
  path: string;
  checksum: string;
}

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
  error?: { message: string; direction?: Direction; interrupted?: boolean };
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
  error?: { message: string };
  /** What a `repair` or `baseline` did. */
  note?: string;
}

export type MigrationState =
  | 'applied'
  | 'pending'
  | 'failed'
  | 'running'
  | 'changed'
  | 'missing'
  | 'baseline'
  | 'out-of-order'
  /** Applied, but with no checksum to compare (an in-code migration without `source`). */
  | 'unchecked';

export interface MigrationStatus {
  id: string;
  state: MigrationState;
  description: string | undefined;
  appliedAt: Date | undefined;
  durationMs: number | undefined;
  file: string | undefined;
  error: string | undefined;
  /** A failed migration whose runner was interrupted or died mid-run. */
  interrupted: boolean;
  /** `failed` or `running`: which way. A failed `down` may have left its data half reverted. */
  direction: Direction | undefined;
}

export interface StatusResult {
  database: string;
  migrations: MigrationStatus[];
  /** How many migrations are in each state; every state is there, 0 when none is in it. */
  counts: Record<MigrationState, number>;
  /** Anything pending, failed, changed, missing or running: what `status --check` fails on. */
  problems: number;
  /**
   * Why no migrations could be listed (no migrations folder here): the changelog is shown as
   * recorded, and nothing counts as missing.
   */
  migrationsUnavailable?: string;
}

export type StepStatus = 'success' | 'failed' | 'not-run';

export interface StepResult {
  id: string;
  direction: Direction;
  status: StepStatus;
  durationMs: number | undefined;
  error: string | undefined;
  /** Dry run: what each helper call would touch. */
  plan?: HelperPlan[];
  /** Dry run: why the simulation of this step stopped early, if it did. */
  note?: string;
  /**
   * Dry run: why its counts may not be what the real run meets (earlier steps of the run would
   * change the database first, e.g. the `down` before the `up` of a redo).
   */
  caveat?: string;
  /** What the migration logged (`ctx.log` and the helpers' summaries), in order; a dry run's too. */
  logs?: string[];
  /** It ran and committed in a transaction (with its changelog record). */
  transaction?: boolean;
}

/** What `up`, `down` and `redo` return. They never throw for a failed migration. */
export interface RunResult {
  direction: Direction | 'redo';
  dryRun: boolean;
  /** The run's id, as recorded in the changelog and history; absent for a dry run (nothing is recorded). */
  runId?: string;
  /** Every migration of the plan, in plan order. */
  steps: StepResult[];
  /**
   * Set when a migration failed, the run was interrupted or lost its lock or its server; in a dry
   * run, when the simulation already knows the real run would fail.
   */
  error: RunError | undefined;
  /** Things that did not change the outcome but deserve a look (a history entry not written...). */
  warnings: string[];
}

/** Why a run stopped early. */
export interface RunError {
  code: RunErrorCode;
  /** What happened; what to do about it is in `hints`. */
  message: string;
  /** The migration the run stopped at, if any. */
  id: string | undefined;
  /** Ways out, in API terms (`{ command: 'up', options: { retryFailed: true } }`). */
  hints?: Hint[];
  /** What was thrown (by the migration, a helper or the driver), with its own class, stack and `cause`. */
  cause?: unknown;
}

export type RunErrorCode = 'MIGRATION_FAILED' | 'INTERRUPTED' | 'LOCK_HELD' | 'LOCK_LOST' | 'UNREACHABLE' | 'TRANSACTION_LIMIT';

export interface UpOptions {
  /** Apply up to and including this id. */
  to?: string;
  /** Apply at most this many. */
  step?: number;
  dryRun?: boolean;
  allowOutOfOrder?: boolean;
  /** Run a migration recorded as failed again. */
  retryFailed?: boolean;
  /** Check applied files first (default true): refuse when one changed or vanished. */
  validate?: boolean;
  /** Seconds to wait for a held lock (default: config lock.waitSeconds). */
  lockWait?: number;
}

export interface DownOptions {
  /** Revert every migration applied after this one; keep it. */
  to?: string;
  /** Revert the newest n (default 1). */
  step?: number;
  /** Revert what the newest `up` run applied. */
  lastRun?: boolean;
  /** Revert everything applied. */
  all?: boolean;
  /** Finish reverting a migration whose `down` failed or was interrupted (it comes first). */
  retryFailed?: boolean;
  dryRun?: boolean;
  lockWait?: number;
}

export type FindingKind = 'changed' | 'missing' | 'duplicate-id' | 'no-up' | 'load-error' | 'failed' | 'leftover-collection';

export interface Finding {
  id: string;
  kind: FindingKind;
  message: string;
}

export interface ValidateResult {
  ok: boolean;
  findings: Finding[];
}

export interface RepairAction {
  id: string;
  action: 'forget-failed' | 'restore-applied' | 'rechecksum' | 'forget-missing';
  detail: string;
}

export interface RepairResult {
  dryRun: boolean;
  actions: RepairAction[];
  /** Did not change the outcome (a history entry not written, the lock not released...). */
  warnings?: string[];
}

export interface BaselineResult {
  baselined: string[];
  /** Already had a changelog record: left as they were. */
  skipped: string[];
  warnings?: string[];
}

export interface LockInfo {
  owner: string;
  host: string;
  pid: number;
  command: string;
  acquiredAt: Date;
  expiresAt: Date;
}

export interface UnlockResult {
  lock: LockInfo | null;
  expired: boolean;
  released: boolean;
}

/**
 * Events of a Migrator (umzug's names): `migrating`/`migrated` around each `up` step,
 * `reverting`/`reverted` around each `down` step, `failed` for either direction.
 */
export interface MigratorEvents {
  migrating: [{ id: string; direction: 'up' }];
  migrated: [{ id: string; direction: 'up'; durationMs: number }];
  reverting: [{ id: string; direction: 'down' }];
  reverted: [{ id: string; direction: 'down'; durationMs: number }];
  failed: [{ id: string; direction: Direction; error: string; durationMs: number }];
  /** The lock is held by another live runner and this command waits (up to `lockWait` seconds) for it. */
  lockWait: [{ holder: LockInfo; waitSeconds: number }];
  /** This command took over the lock from a runner whose lease had expired (it died or stalled). */
  lockTakeover: [{ previous: LockInfo }];
  log: [{ id: string; message: string }];
  /** Did not change the outcome: a history entry not written, a migration rerun outside a transaction... */
  warning: [{ id: string | undefined; message: string }];
  progress: [HelperProgress & { id: string }];
  plan: [HelperPlan & { id: string }];
}

/** One entry of another tool's changelog, as `Migrator.importApplied` records it. */
export interface ImportedMigration {
  id: string;
  /** When the other tool applied it: the record's startedAt and finishedAt. */
  appliedAt: Date;
  /** Entries the other tool applied in one go (migrate-mongo's `migrationBlock`): one run, so `down --last-run` reverts them together. */
  run: string;
}

export interface ImportResult {
  dryRun: boolean;
  /** Recorded as applied (or, in a dry run, would be), oldest first. */
  imported: { id: string; appliedAt: Date; run: string; state: 'applied' | 'missing' }[];
  /** Left alone: already in mongrate's changelog, or imported once before (even if reverted since). */
  skipped: { id: string; reason: 'recorded' | 'imported-before' }[];
  warnings?: string[];
}

/** How one database of a command across databases ended. */
export type DatabaseOutcome = 'ok' | 'failed' | 'interrupted' | 'not started' | 'locked' | 'problems' | 'unreachable';

export interface DatabaseResult<R> {
  database: string;
  outcome: DatabaseOutcome;
  /** What the command returned there; undefined when it did not start or stopped with an error. */
  result: R | undefined;
  /** Why it did not end `ok` (the run's error, or what stopped the command). */
  error: { code: ErrorCode; message: string } | undefined;
  durationMs: number | undefined;
}

/** What a command across databases returns: one entry per database, in the order they were selected. */
export interface FanOutResult<R> {
  ok: boolean;
  command: string;
  databases: DatabaseResult<R>[];
}

/** How a command runs across databases. */
export interface FanOutOptions {
  /** Databases processed at once (default: config `concurrency`, else 1). */
  concurrency?: number;
  /** This database runs first, alone; the others start only if it ended `ok`. */
  canary?: string;
  /** Start the remaining databases even after one failed, was locked or unreachable. */
  keepGoing?: boolean;
}

/** A migrator event, with the database it happened in. */
export type WithDatabase<T> = T & { database: string };

/** Every migrator event tagged with its database, plus when each database starts and ends. */
export type FanOutEvents = { [K in keyof MigratorEvents]: [WithDatabase<MigratorEvents[K][0]>] } & {
  'database-start': [{ database: string }];
  'database-end': [{ database: string; outcome: DatabaseOutcome; durationMs: number; error: { code: ErrorCode; message: string } | undefined }];
};
