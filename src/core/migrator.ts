/**
 * The migrator: plans with `plan.ts`, takes the lock for every command that writes, runs steps
 * with `runner.ts`. It never prints and never exits; it returns result objects and emits events,
 * and raises `MongrateError`s only for what stops a command before anything runs.
 */
import { EventEmitter } from 'node:events';
import type { Db, MongoClient } from 'mongodb';
import { ChangelogStore } from '../changelog/store.ts';
import { resolveProgrammaticConfig } from '../config/resolve.ts';
import { discoverMigrations, discoverMigrationsAndDuplicates } from '../discovery/discover.ts';
import { loadMigration, type LoadedMigration } from '../discovery/load-migration.ts';
import { MongrateError, messageOf, usageError } from '../errors.ts';
import { MongoLockStore } from '../lock/mongo-lock-store.ts';
import { measureServerClock, type ServerClock } from '../server/clock.ts';
import type {
  BaselineResult,
  ChangelogRecord,
  DownOptions,
  Finding,
  MigrationFile,
  MigrationContext,
  MigrationFn,
  MigratorEvents,
  MongrateConfig,
  RepairAction,
  RepairResult,
  ResolvedConfig,
  RunResult,
  StatusResult,
  UnlockResult,
  UpOptions,
  ValidateResult,
} from '../types.ts';
import { newRunIdentity } from '../util/identity.ts';
import { connect } from './connection.ts';
import { Lease, readLockState, unlockLease } from './lease.ts';
import { appliedInOrder, computeStatus, integrityFindings, isDeadRunning, planDown, planUp } from './plan.ts';
import { createHelpers, runWithHelperContext, type HelperContext, type HelperPlan } from '../helpers/index.ts';
import { probeServer, type ServerInfo } from '../server/capabilities.ts';
import { DryRunWriteStop, readOnlyClient, readOnlyDb } from './read-only.ts';
import { runSteps, type BaseContext, type Run, type Step } from './runner.ts';
import { transactionDecider, transactionSupportOf } from './transactions.ts';

interface Connection {
  client: MongoClient;
  db: Db;
  /** For reads; writes go through a run's store, which carries that run's identity. */
  store: ChangelogStore;
}

export class Migrator extends EventEmitter<MigratorEvents> {
  readonly config: ResolvedConfig;
  private connection: Promise<Connection> | undefined;
  private serverInfo: Promise<ServerInfo> | undefined;
  private clock: Promise<ServerClock> | undefined;
  private currentAbort: AbortController | undefined;
  /** interrupt() before a run started: that run starts already stopped. */
  private interruptPending = false;

  constructor(config: ResolvedConfig) {
    super();
    this.config = config;
  }

  /** Ask the current run to stop at the next safe point (between migrations, or where a migration checks `ctx.signal`). */
  interrupt(): void {
    if (this.currentAbort === undefined) this.interruptPending = true;
    else this.currentAbort.abort(new MongrateError('INTERRUPTED', 'interrupted'));
  }

  private open(): Promise<Connection> {
    this.connection ??= connect(this.config).then((client) => {
      const db = client.db(this.config.database);
      return { client, db, store: new ChangelogStore(db, this.config, newRunIdentity()) };
    });
    // a failed connection may be retried by a later call
    this.connection.catch(() => (this.connection = undefined));
    return this.connection;
  }

  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    if (connection !== undefined) await (await connection.catch(() => undefined))?.client.close();
  }

  /** Files on disk; nothing is imported. */
  async files(): Promise<MigrationFile[]> {
    return discoverMigrations(this.config.migrationsDir);
  }

  /** Changelog records, read without the migration files. */
  async records(): Promise<ChangelogRecord[]> {
    const { store } = await this.open();
    return store.list();
  }

  /** The run id holding a lock whose lease is live on the server's clock, if any. */
  private async liveOwner(db: Db): Promise<string | undefined> {
    const { lock, live } = await readLockState(this.lockStore(db), await this.serverClock(db));
    return live ? lock?.owner : undefined;
  }

  private lockStore(db: Db): MongoLockStore {
    return new MongoLockStore(db, this.config.lockCollection);
  }

  /** The server's clock, measured once per migrator and refreshed when its sample is a minute old. */
  private async serverClock(db: Db): Promise<ServerClock> {
    this.clock ??= measureServerClock(db);
    this.clock.catch(() => (this.clock = undefined));
    return (await this.clock).refreshIfOlderThan(60_000);
  }

  async status(): Promise<StatusResult> {
    const [files, { db, store }] = await Promise.all([this.files(), this.open()]);
    const [records, owner] = await Promise.all([store.list(), this.liveOwner(db)]);
    return computeStatus(this.config.database, files, records, owner);
  }

  /**
   * Runs `work` holding the lock, with a fresh run (its own id and abort signal). Losing the lease
   * aborts the signal, so helpers stop after their current batch.
   */
  private async locked<T>(command: string, lockWait: number | undefined, work: (run: Run) => Promise<T>): Promise<T> {
    const { client, db } = await this.open();
    const identity = newRunIdentity();
    const abort = new AbortController();
    if (this.interruptPending) abort.abort(new MongrateError('INTERRUPTED', 'interrupted'));
    this.interruptPending = false;
    this.currentAbort = abort;
    try {
      const lease = new Lease({
        store: this.lockStore(db),
        clock: await this.serverClock(db),
        identity,
        command,
        ttlSeconds: this.config.lock.ttlSeconds,
        waitSeconds: lockWait ?? this.config.lock.waitSeconds,
        signal: abort.signal,
        onLost: (reason) => abort.abort(new MongrateError('LOCK_LOST', reason)),
      });
      await lease.acquire();
      try {
        return await work({
          identity,
          abort,
          lease,
          client,
          db,
          store: new ChangelogStore(db, this.config, identity),
          useTransaction: () => false, // decided in execute(), once there is something to run
          emit: this.emit.bind(this),
          invoke: async (base, fn) =>
            this.invoke(base, fn, { db, server: await this.server(db), dryRun: false, fence: () => lease.assertHeld() }),
        });
      } finally {
        // never throws; a lock it could not release expires by itself
        await lease.release();
      }
    } finally {
      this.currentAbort = undefined;
    }
  }

  /** What the server is and supports; probed once per migrator, when a migration first needs it. */
  private server(db: Db): Promise<ServerInfo> {
    this.serverInfo ??= probeServer(db);
    this.serverInfo.catch(() => (this.serverInfo = undefined));
    return this.serverInfo;
  }

  /**
   * Completes a migration's context (helpers bound to it, the server probe, the dry-run flag) and
   * calls `fn` so that standalone helpers imported from 'mongrate' find the same context.
   */
  private invoke(
    base: BaseContext,
    fn: MigrationFn,
    options: { db: Db; server: ServerInfo; dryRun: boolean; onPlan?: (plan: HelperPlan) => void; fence?: () => void },
  ): Promise<unknown> {
    const { server, dryRun, onPlan, fence } = options;
    // helpers get the real database: in a dry run they only count, and never write
    const helperContext: HelperContext = {
      db: options.db,
      server,
      dryRun,
      signal: base.signal,
      log: base.log,
      onProgress: (progress) => this.emit('progress', { id: base.id, ...progress }),
      onPlan: (plan) => {
        onPlan?.(plan);
        this.emit('plan', { id: base.id, ...plan });
      },
      ...(base.session === undefined ? {} : { session: base.session }),
      ...(fence === undefined ? {} : { fence }),
    };
    const ctx: MigrationContext = { ...base, helpers: createHelpers(helperContext), server, dryRun };
    return runWithHelperContext(helperContext, () => fn(ctx));
  }

  async up(options: UpOptions = {}): Promise<RunResult> {
    checkCount(options.step, '--step');
    checkCount(options.lockWait, '--lock-wait');
    const plan = async (records: ChangelogRecord[], files: MigrationFile[], liveOwner: string | undefined): Promise<Step[]> => {
      if (options.validate !== false) refuseIntegrityProblems(integrityFindings(files, records));
      const planned = planUp(files, records, options, liveOwner);
      const retry = new Set(records.filter((r) => r.state === 'failed' || isDeadRunning(r, liveOwner)).map((r) => r._id));
      const migrations = await Promise.all(planned.map(loadMigration));
      return migrations.map((migration) => ({ migration, direction: 'up' as const, retry: retry.has(migration.id) }));
    };
    if (options.dryRun === true) {
      const { db, store } = await this.open();
      const [files, records, owner] = await Promise.all([this.files(), store.list(), this.liveOwner(db)]);
      return this.simulate('up', await plan(records, files, owner));
    }
    return this.locked('up', options.lockWait, async (run) => {
      const [files, records] = await Promise.all([this.files(), run.store.list()]);
      return this.execute(run, 'up', await plan(records, files, run.identity.runId));
    });
  }

  async down(options: DownOptions = {}): Promise<RunResult> {
    checkCount(options.step, '--step');
    const plan = async (records: ChangelogRecord[], files: MigrationFile[]): Promise<Step[]> => {
      const migrations = await this.loadForDown(files, planDown(records, options));
      return migrations.map((migration) => ({ migration, direction: 'down' as const, retry: false }));
    };
    if (options.dryRun === true) {
      const [files, records] = await Promise.all([this.files(), this.records()]);
      return this.simulate('down', await plan(records, files));
    }
    return this.locked('down', options.lockWait, async (run) => {
      const [files, records] = await Promise.all([this.files(), run.store.list()]);
      return this.execute(run, 'down', await plan(records, files));
    });
  }

  /** Reverts and re-applies one applied migration (default: the newest applied). */
  async redo(id?: string, options: { dryRun?: boolean; lockWait?: number } = {}): Promise<RunResult> {
    const plan = async (records: ChangelogRecord[], files: MigrationFile[]): Promise<Step[]> => {
      const applied = appliedInOrder(records);
      const target = id === undefined ? applied.at(-1) : applied.find((r) => r._id === id);
      if (target === undefined) {
        throw usageError(id === undefined ? 'nothing to redo: no migration is applied' : `cannot redo ${id}: it is not applied`);
      }
      const [migration] = await this.loadForDown(files, [target]);
      if (migration === undefined) throw usageError(`cannot redo ${target._id}`);
      return [
        { migration, direction: 'down', retry: false },
        { migration, direction: 'up', retry: false },
      ];
    };
    if (options.dryRun === true) {
      const [files, records] = await Promise.all([this.files(), this.records()]);
      return this.simulate('redo', await plan(records, files));
    }
    return this.locked('redo', options.lockWait, async (run) => {
      const [files, records] = await Promise.all([this.files(), run.store.list()]);
      return this.execute(run, 'redo', await plan(records, files));
    });
  }

  /**
   * `--dry-run`: runs each step against a read-only view of the database so helpers can report
   * what they would touch. A direct write ends that step's simulation with a note. Later steps
   * cannot see what earlier ones would have changed.
   */
  private async simulate(kind: RunResult['direction'], steps: Step[]): Promise<RunResult> {
    const result = emptyResult(kind, true, steps, '');
    if (steps.length === 0) return result;
    const { client, db } = await this.open();
    const server = await this.server(db);
    const abort = new AbortController();
    if (this.interruptPending) abort.abort(new MongrateError('INTERRUPTED', 'interrupted'));
    this.interruptPending = false;
    this.currentAbort = abort;
    try {
      await this.simulateSteps(steps, result, { client, db, server, signal: abort.signal });
    } finally {
      this.currentAbort = undefined;
    }
    return result;
  }

  private async simulateSteps(
    steps: Step[],
    result: RunResult,
    { client, db, server, signal }: { client: MongoClient; db: Db; server: ServerInfo; signal: AbortSignal },
  ): Promise<void> {
    for (const [index, { migration, direction }] of steps.entries()) {
      if (signal.aborted) {
        result.error = { code: 'INTERRUPTED', message: `dry run interrupted before ${migration.id}`, id: undefined };
        return;
      }
      const outcome = result.steps[index];
      const fn = direction === 'up' ? migration.definition.up : migration.definition.down;
      if (outcome === undefined || fn === undefined) continue;
      const plan: HelperPlan[] = [];
      const logs: string[] = [];
      const base: BaseContext = {
        db: readOnlyDb(db),
        client: readOnlyClient(client),
        session: undefined,
        log: (message) => {
          logs.push(message);
          this.emit('log', { id: migration.id, message });
        },
        signal,
        id: migration.id,
        direction,
      };
      try {
        await this.invoke(base, fn, { db, server, dryRun: true, onPlan: (p) => plan.push(p) });
      } catch (error) {
        outcome.note = error instanceof DryRunWriteStop ? error.message : `dry run stopped: ${messageOf(error)}`;
      }
      outcome.plan = plan;
      outcome.logs = logs;
    }
  }

  private async execute(run: Run, kind: RunResult['direction'], steps: Step[]): Promise<RunResult> {
    const result = emptyResult(kind, false, steps, run.identity.runId);
    if (steps.length === 0) return result;
    const server = await this.server(run.db);
    run.useTransaction = transactionDecider(this.config.transactions, transactionSupportOf(server));
    await runSteps(run, steps, result);
    return result;
  }

  /** Loads every migration to revert and refuses the whole plan when one cannot be reverted. */
  private async loadForDown(files: MigrationFile[], targets: ChangelogRecord[]): Promise<LoadedMigration[]> {
    const filesById = new Map(files.map((f) => [f.id, f]));
    const missing = targets.filter((r) => !filesById.has(r._id)).map((r) => r._id);
    if (missing.length > 0) {
      throw usageError(`cannot revert ${missing.join(', ')}: the migration file is missing from ${this.config.migrationsDir}`);
    }
    const migrations = await Promise.all(targets.map((r) => loadMigration(filesById.get(r._id) as MigrationFile)));
    const irreversible = migrations.filter((m) => m.definition.down === undefined).map((m) => m.id);
    if (irreversible.length > 0) {
      throw usageError(`cannot revert ${irreversible.join(', ')}: irreversible (it exports no \`down\`); nothing was reverted`);
    }
    return migrations;
  }

  /** Applied files exist and match; ids are unique; every file loads and exports `up`. Takes no lock. */
  async validate(): Promise<ValidateResult> {
    const { files, duplicates } = await discoverMigrationsAndDuplicates(this.config.migrationsDir);
    const findings: Finding[] = duplicates.map(({ id, names }) => ({
      id,
      kind: 'duplicate-id',
      message: `duplicate migration id '${id}': ${names.join(' and ')}; rename or remove one`,
    }));
    const duplicated = new Set(duplicates.map((d) => d.id));
    const records = (await this.records()).filter((r) => !duplicated.has(r._id));
    findings.push(...integrityFindings(files, records));
    for (const file of files) {
      try {
        await loadMigration(file);
      } catch (error) {
        const kind = messageOf(error).includes('does not export an `up`') ? 'no-up' : 'load-error';
        findings.push({ id: file.id, kind, message: messageOf(error) });
      }
    }
    return { ok: findings.length === 0, findings };
  }

  /** What `repair` would do, or does: forget failed and missing records, re-record changed checksums. */
  async repair(options: { dryRun?: boolean } = {}): Promise<RepairResult> {
    const plan = (files: MigrationFile[], records: ChangelogRecord[], liveOwner: string | undefined): RepairAction[] => {
      const filesById = new Map(files.map((f) => [f.id, f]));
      const actions: RepairAction[] = [];
      for (const record of records) {
        const file = filesById.get(record._id);
        if (record.state === 'failed' || isDeadRunning(record, liveOwner)) {
          actions.push({ id: record._id, action: 'forget-failed', detail: `remove the ${record.state} record so it runs again` });
        } else if (record.state === 'running') {
          continue;
        } else if (file === undefined) {
          actions.push({ id: record._id, action: 'forget-missing', detail: 'remove the record of a migration whose file is gone' });
        } else if (file.checksum !== record.checksum) {
          actions.push({ id: record._id, action: 'rechecksum', detail: `accept the edited file (${file.checksum.slice(0, 19)}…)` });
        }
      }
      return actions;
    };
    if (options.dryRun === true) {
      const { db, store } = await this.open();
      const [files, records, owner] = await Promise.all([this.files(), store.list(), this.liveOwner(db)]);
      return { dryRun: true, actions: plan(files, records, owner) };
    }
    return this.locked('repair', undefined, async (run) => {
      const [files, records] = await Promise.all([this.files(), run.store.list()]);
      const actions = plan(files, records, run.identity.runId);
      const filesById = new Map(files.map((f) => [f.id, f]));
      const recordsById = new Map(records.map((r) => [r._id, r]));
      for (const action of actions) {
        const file = filesById.get(action.id);
        if (action.action === 'rechecksum' && file !== undefined) {
          await run.store.rechecksum(file, recordsById.get(action.id)?.checksum ?? '');
        } else {
          await run.store.forget(action.id, action.detail);
        }
      }
      return { dryRun: false, actions };
    });
  }

  /** Records every migration up to and including `id` as applied without running it. */
  async baseline(id: string): Promise<BaselineResult> {
    return this.locked('baseline', undefined, async (run) => {
      const [files, records] = await Promise.all([this.files(), run.store.list()]);
      if (!files.some((f) => f.id === id)) throw usageError(`cannot baseline to ${id}: no migration file has that id`);
      const recorded = new Set(records.map((r) => r._id));
      const upTo = files.filter((f) => f.id <= id);
      const toRecord = upTo.filter((f) => !recorded.has(f.id));
      await run.store.recordBaseline(toRecord);
      return { baselined: toRecord.map((f) => f.id), skipped: upTo.filter((f) => recorded.has(f.id)).map((f) => f.id) };
    });
  }

  /** Shows the lock; releases it when expired, or always with `force`. */
  async unlock(options: { force?: boolean } = {}): Promise<UnlockResult> {
    const { db, store } = await this.open();
    const result = await unlockLease(this.lockStore(db), await this.serverClock(db), {
      force: options.force === true,
      claimant: newRunIdentity(),
      ttlSeconds: this.config.lock.ttlSeconds,
    });
    if (result.released && result.lock !== null) {
      await store.appendHistory('(lock)', 'unlock', { note: `released lock of ${result.lock.host} pid ${result.lock.pid} (${result.expired ? 'expired' : 'forced'})` });
    }
    return result;
  }
}

function emptyResult(kind: RunResult['direction'], dryRun: boolean, steps: Step[], runId: string): RunResult {
  return {
    direction: kind,
    dryRun,
    runId,
    steps: steps.map((s) => ({ id: s.migration.id, direction: s.direction, status: 'not-run', durationMs: undefined, error: undefined })),
    error: undefined,
  };
}

function refuseIntegrityProblems(findings: Finding[]): void {
  if (findings.length === 0) return;
  throw new MongrateError(
    'CHECK_FAILED',
    `${findings.map((f) => f.message).join('; ')}. Restore the file${findings.length > 1 ? 's' : ''}, ` +
      'or run `mongrate repair` to accept the change; `mongrate up --no-validate` skips this check',
  );
}

function checkCount(value: number | undefined, flag: string): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 0)) throw usageError(`${flag} must be a whole number >= 0`);
}

/** The programmatic entry point. Accepts a config object, or one returned by `loadConfig()`. */
export function createMigrator(config: MongrateConfig | ResolvedConfig): Migrator {
  return new Migrator(isResolved(config) ? config : resolveProgrammaticConfig(config));
}

function isResolved(config: MongrateConfig | ResolvedConfig): config is ResolvedConfig {
  return 'resolved' in config;
}
