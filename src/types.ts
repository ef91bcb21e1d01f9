/**
 * The public types of mongrate's config, commands, results and events live here; users and the
 * CLI get them from the public entry. index.ts also exports, from the modules that own them, the
 * types of errors.ts, of the helpers (helpers/types.ts) and of the server probe, and the options
 * of createMigrator, createFanOut, loadConfig and adoptMigrateMongo. The changelog and history
 * documents are not public (changelog/contract.ts): programs read them through results.
 *
 * One error channel (Kysely's rule): every method of a Migrator or a FanOut that returns a result
 * (`status`, `up`, `down`, `redo`, `validate`, `baseline`, `repair`, `unlock`, `history`, `show`,
 * `importApplied`, and the FanOut's per-database commands), and `checkOffline`, reports everything a caller can act on as the result's
 * `error`, with its code and hints: a lock held, a check that failed, an earlier failure, a usage
 * error found after the call started, a failed migration, a lost server. Such a method throws only
 * for programmer errors: invalid arguments (a negative `step`, a `down` given both `to` and `step`), or a bug.
 * Functions that build something rather than run a command (`createMigrator`, `createFanOut`,
 * `loadConfig`) throw a `MongrateError` for bad input: they have no result to carry it.
 */
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
  /**
   * How many data-bearing members must finish a helper's index build before it commits
   * (MongoDB 4.4+ replica sets): a number or `'majority'`, `'votingMembers'`, a tag. Default 1,
   * the primary alone: MongoDB's own default (all voting members), and `'majority'` on a
   * primary-secondary-arbiter set, wait forever with one member down.
   */
  commitQuorum?: number | string;
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
  /**
   * Seconds a migration may run (each direction) before the run stops at the next safe point, as on
   * Ctrl-C; a migration's own `timeoutSeconds` wins. Default: no limit.
   */
  timeoutSeconds?: number;
  /**
   * Named sets of config keys, merged over the others when chosen with `--env <name>`,
   * `MONGRATE_ENV` or `loadConfig({ environment })`: `{ production: { protected: true, uri: '${PROD_URI}' } }`.
   */
  environments?: Record<string, EnvironmentConfig>;
}

/** One environment of `environments`: any config key, and whether it is protected. */
export interface EnvironmentConfig extends Omit<MongrateConfig, 'environments'> {
  /**
   * Destructive commands (`down` of everything, `unlock` of a live lock, `repair`) need confirming
   * (`confirmed: true`; the CLI's `--yes`), even on a terminal.
   */
  protected?: boolean;
}

/** The environment a command runs in. */
export interface ChosenEnvironment {
  name: string;
  protected: boolean;
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
  commitQuorum: number | string;
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
  /** The environment chosen (`--env`, `MONGRATE_ENV`), its keys merged in; undefined when none was. */
  environment: ChosenEnvironment | undefined;
  /** Config `timeoutSeconds`: absent when there is no limit. */
  timeoutSeconds?: number;
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
  /**
   * The transaction's session, when the migration runs in one. Every operation made through `db`,
   * `client` and the helpers already carries it (passing it too is fine); a session of the
   * migration's own is refused there.
   */
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
  /**
   * Seconds it may run (each direction, a transaction's retries included) before the run stops at
   * the next safe point, as on Ctrl-C: `ctx.signal` is aborted, helpers stop between batches, a
   * transaction is rolled back. Default: config `timeoutSeconds`, else no limit.
   */
  timeoutSeconds?: number;
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
  /**
   * Its last attempt failed (or its runner died) inside a transaction, which was rolled back:
   * nothing of that attempt was written. A `failed` up shown so runs again with a plain `up`; an
   * applied migration whose `down` was rolled back is still applied.
   */
  rolledBack: boolean;
  /** `failed` or `running` (or a rolled-back `down`): which way. A failed `down` outside a transaction may have left its data half reverted. */
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
  error?: ResultError | undefined;
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
  /** Asked for alone (`only`): whether running it alone keeps the order, and why not. */
  only?: OnlyPlacement;
}

/** How one migration run alone (`up`/`down` with `only`) stands to the order the plain command keeps. */
export interface OnlyPlacement {
  /** False: the plain command would run it next (the first pending; the newest applied). */
  outOfOrder: boolean;
  /** In words: `the next pending migration`, `applied after it, and staying applied: 003-c, 004-d`. */
  detail: string;
}

/** What `up`, `down` and `redo` return. They never throw for a failed migration. */
export interface RunResult {
  direction: Direction | 'redo';
  dryRun: boolean;
  /** The run's id, as recorded in the changelog and history; absent when nothing was recorded (a dry run, or nothing to do: no lock was taken). */
  runId?: string;
  /** Every migration of the plan, in plan order. */
  steps: StepResult[];
  /**
   * Set when a migration failed, the run was interrupted or lost its lock or its server; in a dry
   * run, when the simulation already knows the real run would fail.
   */
  error: ResultError | undefined;
  /** Things that did not change the outcome but deserve a look (a history entry not written...). */
  warnings: string[];
}

/**
 * Why a command stopped short of what was asked (see the header: the one error channel). When it
 * is set, the result's other fields hold what was done before it: often nothing.
 */
export interface ResultError {
  code: ErrorCode;
  /** What happened; what to do about it is in `hints`. */
  message: string;
  /** The migration it is about (the one a run stopped at), if any. */
  id?: string | undefined;
  /** Ways out, in API terms (`{ command: 'up', options: { retryFailed: true } }`). */
  hints?: readonly Hint[] | undefined;
  /** What was thrown (by the migration, a helper, the driver or mongrate), with its own class, stack and `cause`. */
  cause?: unknown;
}

/** The codes a run's steps end with (the others stop a command before any step runs). */
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
  /**
   * Apply exactly this pending migration, nothing else. Alone it is in order only when it is the
   * first pending; otherwise (pending ones before it stay behind, or it sorts before an applied
   * one) it needs `allowOutOfOrder`. The step's `only` says which. Not with `to` or `step`.
   */
  only?: string;
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
  /** In a protected environment, `all` needs this (the CLI's `--yes`). */
  confirmed?: boolean;
  /**
   * Revert exactly this applied migration: when it is the newest applied, or with
   * `allowOutOfOrder` when migrations applied after it stay. The step's `only` says which.
   */
  only?: string;
  /** With `only`: revert it even though migrations applied after it stay applied. */
  allowOutOfOrder?: boolean;
}

export type FindingKind =
  | 'changed'
  | 'missing'
  | 'duplicate-id'
  | 'no-up'
  | 'load-error'
  | 'failed'
  | 'leftover-collection'
  /** `checkOffline`: an id without a version prefix, with odd characters, or a prefix of another width than the others. */
  | 'malformed-id'
  /** `checkOffline`: a TypeScript error in a migration. */
  | 'type-error'
  /** `checkOffline` with `base`: a new migration that sorts before the base branch's newest. */
  | 'out-of-order';

export interface Finding {
  id: string;
  kind: FindingKind;
  message: string;
}

export interface ValidateResult {
  ok: boolean;
  findings: Finding[];
  /** `CHECK_FAILED` when there are findings; or what kept it from looking (no migrations folder...). */
  error?: ResultError | undefined;
}

/** What `checkOffline` found, without a database: ids, loading, types, and with `base` the git history. */
export interface OfflineCheckResult {
  /** `changed` and `missing` (with `base`): a file of the base branch edited or deleted here. */
  findings: Finding[];
  /** How many migrations were checked. */
  migrations: number;
  /** The TypeScript that type-checked the `.ts` migrations and how many, or why none did. */
  typescript: { version: string; files: number } | { skipped: string };
  /** With `base`: the ref, and the commit where this branch forked from it. */
  base?: { ref: string; mergeBase: string };
  /** `CHECK_FAILED` when there are findings; or what kept it from looking (an unknown ref, no migrations folder...). */
  error?: ResultError | undefined;
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
  error?: ResultError | undefined;
}

export interface BaselineResult {
  baselined: string[];
  /** Already had a changelog record: left as they were. */
  skipped: string[];
  warnings?: string[];
  error?: ResultError | undefined;
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
  /** `LOCK_HELD` when a lock is held and was not released (live, without `force`; or another runner is taking it over). */
  error?: ResultError | undefined;
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

/** What happened to a migration (or to the lock), in the words `history()` and `show()` use. */
export type HistoryEventName = 'applied' | 'reverted' | 'failed' | 'rolled back' | 'interrupted' | 'repaired' | 'baselined' | 'imported' | 'unlocked';

/**
 * What a migration said during the run an event ends (applied, reverted, failed, rolled back,
 * interrupted): bounded (100 of its own lines, 50 of its helpers', the first and last halves
 * when there are more; 500 characters a line) and masked.
 */
export interface RunOutput {
  /** Its own `log()` lines. */
  log: string[];
  /** What its helpers reported, one line per helper call with its counts: `bumpSchemaVersion(users): 3 matched, 3 modified, 0 deleted in 0.0 s`. */
  helpers: string[];
  /** Lines left out to keep the entry small (a marker line stands where they were). */
  omitted?: number;
}

/** The CI job that ran a command (GitHub Actions, GitLab CI, CircleCI, Buildkite, Jenkins), as its environment variables say. */
export interface CiJob {
  /** `GitHub Actions`, `GitLab CI`, `CircleCI`, `Buildkite`, `Jenkins`. */
  service: string;
  /** The job's name as the service shows it (workflow / job, project / job, pipeline / step, Jenkins job). */
  job?: string;
  /** The run or build id (GITHUB_RUN_ID, CI_JOB_ID, CIRCLE_BUILD_NUM, BUILDKITE_BUILD_NUMBER, BUILD_NUMBER). */
  id?: string;
  url?: string;
}

/** One event of the history, as `history()` and `show()` read it back (the stored documents are not public). */
export interface HistoryEntry {
  /** The migration; undefined for an event of the lock (`unlocked`). */
  id: string | undefined;
  /** What happened; an event a newer mongrate wrote and this one does not know keeps its stored name. */
  event: HistoryEventName | (string & Record<never, never>);
  /** Which way a failed, rolled back or interrupted operation went (`reverted` is always down). */
  direction: Direction | undefined;
  /** When it ended, on the server's clock. */
  at: Date;
  durationMs: number | undefined;
  /** Who: the machine, the user and the process that ran the command, and its run (one per command). */
  host: string;
  user: string;
  pid: number;
  runId: string;
  /** The mongrate version that ran it. */
  toolVersion: string;
  /** The CI job that ran it, where the environment said so. */
  ci: CiJob | undefined;
  /** The config environment it ran in (`--env`, `MONGRATE_ENV`), if one was chosen. */
  environment: string | undefined;
  /** What the migration and its helpers said during the run this event ends, if anything. */
  output: RunOutput | undefined;
  /** The migration's checksum recorded with it (applied, baselined, imported, repaired). */
  checksum: string | undefined;
  /** The outcome in words, where there is more to say than the event: a failure's error, what a repair or an unlock did. */
  outcome: string | undefined;
}

export interface HistoryOptions {
  /** One migration's events only. */
  id?: string;
  /** Only the newest this many (still oldest first). */
  limit?: number;
  /** Only events from this time on. */
  since?: Date;
}

export interface HistoryResult {
  /** Oldest first. */
  entries: HistoryEntry[];
  error?: ResultError | undefined;
}

/** One migration, everything known about it: what `show(id)` returns. */
export interface ShowResult {
  id: string;
  /**
   * Its row of `status()`; undefined when neither a migration nor a changelog record has this id
   * any more (it was reverted and its file deleted: only the history remembers it).
   */
  status: MigrationStatus | undefined;
  /** `now`: of the migration as it is (undefined: no file, or no `source`); `applied`: as recorded when it went in. */
  checksum: { now: string | undefined; applied: string | undefined };
  /** Every event of its history, oldest first. */
  events: HistoryEntry[];
  error?: ResultError | undefined;
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
  error?: ResultError | undefined;
}

/** How one database of a command across databases ended. */
export type DatabaseOutcome = 'ok' | 'failed' | 'interrupted' | 'not started' | 'locked' | 'problems' | 'unreachable';

export interface DatabaseResult<R> {
  database: string;
  outcome: DatabaseOutcome;
  /** What the command returned there; undefined when it did not start or threw. */
  result: R | undefined;
  /** Why it did not end `ok`: the result's `error` (or what the work given to `run` threw). */
  error: ResultError | undefined;
  durationMs: number | undefined;
}

/** What a command across databases returns: one entry per database, in the order they were selected. */
export interface FanOutResult<R> {
  ok: boolean;
  command: string;
  databases: DatabaseResult<R>[];
  /**
   * What stopped the command as a whole: selecting the databases failed (then `databases` is
   * empty), the canary is not among them, or `interrupt()` was called (databases not started).
   */
  error?: ResultError | undefined;
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
  'database-end': [{ database: string; outcome: DatabaseOutcome; durationMs: number; error: ResultError | undefined }];
};
