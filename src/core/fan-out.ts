/**
 * A command across databases (one database per tenant): a migrator per database, all on one
 * shared client, each with its own changelog, history and lock, a few at a time. It returns one
 * result per database, each database's outcome read from its result's `error` (the one error
 * channel), and emits every migrator event tagged with its database. What stops the command as a
 * whole (the selection failed, the canary is not selected, an interruption) is its own `error`.
 *
 * - `canary` runs first, alone; the others start only if it ended `ok`.
 * - A database that ends failed, locked or unreachable stops further databases from starting
 *   (`keepGoing` starts them anyway); those already running finish their current migration.
 * - `interrupt()` stops every running database at its next safe point and starts no other.
 */
import { EventEmitter } from 'node:events';
import type { MongoClient } from 'mongodb';
import { checkDatabaseName, isResolved, resolveProgrammaticConfig } from '../config/resolve.ts';
import { checkConcurrency } from '../config/schema.ts';
import { MongrateError, messageOf, resultErrorOf, usageError, type ErrorCode } from '../errors.ts';
import type {
  BaselineResult,
  DatabaseOutcome,
  DatabaseResult,
  DownOptions,
  FanOutEvents,
  FanOutOptions,
  FanOutResult,
  HistoryOptions,
  HistoryResult,
  MigratorEvents,
  MongrateConfig,
  RepairResult,
  ResolvedConfig,
  ResultError,
  RunResult,
  ShowResult,
  StatusResult,
  UnlockResult,
  UpOptions,
  ValidateResult,
} from '../types.ts';
import { driversFor } from '../driver/drivers.ts';
import { retryable } from '../util/retryable.ts';
import { connect } from './connection.ts';
import { Migrator, typedDriverError } from './migrator.ts';
import { redactText, secretsOf } from '../util/redact.ts';
import { selectDatabases } from './select-databases.ts';

/** Every migrator event, forwarded with its database. Listed so that a new event fails the type check until it is forwarded. */
const FORWARDED_EVENTS = {
  migrating: true,
  migrated: true,
  reverting: true,
  reverted: true,
  failed: true,
  lockWait: true,
  lockTakeover: true,
  log: true,
  warning: true,
  progress: true,
  plan: true,
} satisfies Record<keyof MigratorEvents, true>;

/** Outcomes after which no further database starts (unless `keepGoing`). */
const STOPPING: ReadonlySet<DatabaseOutcome> = new Set(['failed', 'locked', 'unreachable']);

export function outcomeOfCode(code: ErrorCode): DatabaseOutcome {
  switch (code) {
    case 'INTERRUPTED':
      return 'interrupted';
    case 'LOCK_HELD':
    case 'LOCK_LOST':
      return 'locked';
    case 'UNREACHABLE':
    case 'SERVER_PROBE_FAILED':
      return 'unreachable';
    case 'CHECK_FAILED':
      return 'problems';
    default:
      return 'failed';
  }
}

/** How a database's result reads: its `error` decides (the one error channel), else ok. */
function outcomeOfResult(result: unknown): { outcome: DatabaseOutcome; error: ResultError | undefined } {
  const error = typeof result === 'object' && result !== null ? (result as { error?: ResultError }).error : undefined;
  return error === undefined ? { outcome: 'ok', error: undefined } : { outcome: outcomeOfCode(error.code), error };
}

export interface FanOutRunOptions extends FanOutOptions {
  /** The databases to run on, when already selected (see `databases()`). */
  databases?: string[];
}

export class FanOut extends EventEmitter<FanOutEvents> {
  readonly config: ResolvedConfig;
  /** One client for every database's migrator, connected when first needed. */
  private readonly client = retryable(() => connect(this.config, driversFor(this.config).bookkeeping));
  private readonly running = new Set<Migrator>();
  private interrupted = false;

  /** Masks the connection string's secrets in messages. */
  private readonly clean: (text: string) => string;

  constructor(config: ResolvedConfig) {
    super();
    this.config = config;
    const secrets = secretsOf(config.uri);
    this.clean = (text) => redactText(text, secrets);
  }

  /** The databases the config (or the flags) select: the list, the glob's matches, or the function's answer. */
  async databases(): Promise<string[]> {
    const { databases, database, uri } = this.config;
    if (databases === undefined) return database === '' ? [] : [database];
    const names = await selectDatabases(databases, await this.client());
    return names.map((name) => checkDatabaseName(name, uri));
  }

  /** Stops every running database at its next safe point; no other starts. */
  interrupt(): void {
    this.interrupted = true;
    for (const migrator of this.running) migrator.interrupt();
  }

  async close(): Promise<void> {
    const client = this.client.take();
    if (client !== undefined) await (await client.catch(() => undefined))?.close();
  }

  /**
   * Runs `work` with each database's migrator, as the options say. Never throws for one
   * database's failure, nor for what stops the whole command (selecting the databases failed, the
   * canary is not selected, an interruption): that is the result's `error`.
   */
  async run<R>(command: string, work: (migrator: Migrator, database: string) => Promise<R>, options: FanOutRunOptions = {}): Promise<FanOutResult<R>> {
    const concurrency = options.concurrency ?? this.config.concurrency;
    checkConcurrency(concurrency, 'concurrency');
    const { canary } = options;
    let names: string[];
    let client: MongoClient;
    try {
      names = options.databases ?? (await this.databases());
      if (canary !== undefined && !names.includes(canary)) {
        throw usageError(`canary ${canary}: not one of the selected databases (${names.join(', ') || 'none'})`);
      }
      client = await this.client();
    } catch (error) {
      const known = error instanceof MongrateError ? error : typedDriverError(error, this.clean);
      if (known === undefined) throw error;
      return { ok: false, command, databases: [], error: resultErrorOf(known) };
    }
    const results = new Map<string, DatabaseResult<R>>(
      names.map((database) => [database, { database, outcome: 'not started', result: undefined, error: undefined, durationMs: undefined }]),
    );
    const runOne = async (database: string): Promise<DatabaseOutcome> => {
      const entry = await this.runOne(client, database, work);
      results.set(database, entry);
      return entry.outcome;
    };
    let queue = names.filter((name) => name !== canary);
    if (canary !== undefined && (await runOne(canary)) !== 'ok') queue = [];
    let stopped = false;
    const worker = async (): Promise<void> => {
      for (let next = queue.shift(); next !== undefined && !stopped && !this.interrupted; next = queue.shift()) {
        const outcome = await runOne(next);
        if (STOPPING.has(outcome) && options.keepGoing !== true) stopped = true;
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
    const databases = names.map((name) => results.get(name) as DatabaseResult<R>);
    if (this.interrupted) return { ok: false, command, databases, error: { code: 'INTERRUPTED', message: 'interrupted: no further database was started' } };
    return { ok: databases.every((d) => d.outcome === 'ok'), command, databases };
  }

  private async runOne<R>(client: MongoClient, database: string, work: (migrator: Migrator, database: string) => Promise<R>): Promise<DatabaseResult<R>> {
    const migrator = new Migrator({ ...this.config, database, databases: undefined }, { client });
    this.running.add(migrator);
    if (this.interrupted) migrator.interrupt();
    for (const name of Object.keys(FORWARDED_EVENTS) as (keyof MigratorEvents)[]) this.forward(migrator, name, database);
    this.emit('database-start', { database });
    const started = performance.now();
    let entry: DatabaseResult<R>;
    try {
      const result = await work(migrator, database);
      entry = { database, result, ...outcomeOfResult(result), durationMs: 0 };
    } catch (error) {
      // what a caller's own `work` threw (the migrator's commands return their errors)
      const thrown: ResultError = error instanceof MongrateError ? resultErrorOf(error) : { code: 'MIGRATION_FAILED', message: messageOf(error), cause: error };
      entry = { database, result: undefined, outcome: outcomeOfCode(thrown.code), error: thrown, durationMs: 0 };
    } finally {
      this.running.delete(migrator);
      await migrator.close();
    }
    entry.durationMs = Math.round(performance.now() - started);
    this.emit('database-end', { database, outcome: entry.outcome, durationMs: entry.durationMs, error: entry.error });
    return entry;
  }

  /** Re-emits one migrator event with the database added (the event's payload type follows its name). */
  private forward(migrator: Migrator, name: keyof MigratorEvents, database: string): void {
    const emit = this.emit.bind(this) as (event: string, payload: object) => boolean;
    const on = migrator.on.bind(migrator) as (event: string, listener: (payload: object) => void) => Migrator;
    on(name, (payload) => emit(name, { ...payload, database }));
  }

  status(options: FanOutRunOptions = {}): Promise<FanOutResult<StatusResult>> {
    return this.run('status', (m) => m.status(), options);
  }

  up(options: UpOptions & FanOutRunOptions = {}): Promise<FanOutResult<RunResult>> {
    return this.run('up', (m) => m.up(options), options);
  }

  down(options: DownOptions & FanOutRunOptions = {}): Promise<FanOutResult<RunResult>> {
    return this.run('down', (m) => m.down(options), options);
  }

  redo(id?: string, options: { dryRun?: boolean; lockWait?: number } & FanOutRunOptions = {}): Promise<FanOutResult<RunResult>> {
    return this.run('redo', (m) => m.redo(id, options), options);
  }

  validate(options: FanOutRunOptions = {}): Promise<FanOutResult<ValidateResult>> {
    return this.run('validate', (m) => m.validate(), options);
  }

  history(options: HistoryOptions & FanOutRunOptions = {}): Promise<FanOutResult<HistoryResult>> {
    const { id, limit, since } = options;
    return this.run('history', (m) => m.history({ ...(id === undefined ? {} : { id }), ...(limit === undefined ? {} : { limit }), ...(since === undefined ? {} : { since }) }), options);
  }

  show(id: string, options: FanOutRunOptions = {}): Promise<FanOutResult<ShowResult>> {
    return this.run('show', (m) => m.show(id), options);
  }

  baseline(id: string, options: { lockWait?: number } & FanOutRunOptions = {}): Promise<FanOutResult<BaselineResult>> {
    return this.run('baseline', (m) => m.baseline(id, options), options);
  }

  repair(options: { dryRun?: boolean; lockWait?: number; confirmed?: boolean } & FanOutRunOptions = {}): Promise<FanOutResult<RepairResult>> {
    return this.run('repair', (m) => m.repair(options), options);
  }

  unlock(options: { force?: boolean; confirmed?: boolean } & FanOutRunOptions = {}): Promise<FanOutResult<UnlockResult>> {
    return this.run('unlock', (m) => m.unlock(options), options);
  }
}

/** The programmatic entry point for several databases: config `databases` (or one `database`). */
export function createFanOut(config: MongrateConfig | ResolvedConfig, options: { environment?: string } = {}): FanOut {
  const resolved = isResolved(config) ? config : resolveProgrammaticConfig(config, { source: 'createFanOut(config)', environment: options.environment });
  return new FanOut(resolved);
}
