/**
 * The migrator: one database. It plans with `plan.ts`, takes the lock for every command that
 * writes, runs steps with `runner.ts` (or simulates them with `dry-run.ts`). It never prints and
 * never exits; it returns result objects and emits events, and raises `MongrateError`s only for
 * what stops a command before anything runs. No driver error escapes it raw.
 */
import { EventEmitter } from 'node:events';
import type { Db, MongoClient } from 'mongodb';
import type { ChangelogStore } from '../changelog/contract.ts';
import { MongoChangelogStore } from '../changelog/mongo-changelog-store.ts';
import { resolveProgrammaticConfig } from '../config/resolve.ts';
import { discoverMigrations, discoverMigrationsAndDuplicates } from '../discovery/discover.ts';
import { loadMigration, type LoadedMigration } from '../discovery/load-migration.ts';
import { MongrateError, messageOf, usageError } from '../errors.ts';
import { createHelpers, leftoverCollections, runWithHelperContext, type HelperContext, type HelperPlan } from '../helpers/index.ts';
import { MongoLockStore } from '../lock/mongo-lock-store.ts';
import { measureServerClock, type ServerClock } from '../server/clock.ts';
import { probeServer, type ServerInfo } from '../server/capabilities.ts';
import type {
  BaselineResult,
  ChangelogRecord,
  DownOptions,
  Finding,
  MigrationContext,
  MigrationFile,
  MigratorEvents,
  MongrateConfig,
  RepairResult,
  ResolvedConfig,
  RunResult,
  StatusResult,
  UnlockResult,
  UpOptions,
  ValidateResult,
} from '../types.ts';
import { newRunIdentity, type RunIdentity } from '../util/identity.ts';
import { redactText, secretsOf } from '../util/redact.ts';
import { connect } from './connection.ts';
import { isConnectionLoss, isDriverError } from './driver-errors.ts';
import { Lease, readLockState, unlockLease } from './lease.ts';
import { simulateSteps } from './dry-run.ts';
import { checkCount, checkRunOptions, computeStatus, integrityFindings, isBrokenDown, planBaseline, planDown, planRedo, planRepair, planUp } from './plan.ts';
import { Recorder } from './recorder.ts';
import { runSteps, type BaseContext, type RunLease, type Step, type StepHooks } from './runner.ts';
import { transactionPolicy, transactionSupportOf } from './transactions.ts';

interface Connection {
  client: MongoClient;
  db: Db;
  store: ChangelogStore;
}

/** What a plan is made from: files, records, and the run id of the live lock holder. */
interface PlanView {
  files: MigrationFile[];
  records: ChangelogRecord[];
  liveOwner: string | undefined;
}

/** A command holding the lock: its identity, signal, lease and recorder. */
interface Locked {
  identity: RunIdentity;
  signal: AbortSignal;
  lease: RunLease;
  recorder: Recorder;
  connection: Connection;
  /** Emits a warning and lists it in the command's result. */
  warn: (id: string | undefined, message: string) => void;
}

export class Migrator extends EventEmitter<MigratorEvents> {
  readonly config: ResolvedConfig;
  private connection: Promise<Connection> | undefined;
  private serverInfo: Promise<ServerInfo> | undefined;
  private clock: Promise<ServerClock> | undefined;
  private prepared = false;
  private currentAbort: AbortController | undefined;
  /** interrupt() before a run started: that run starts already stopped. */
  private interruptPending = false;
  private readonly secrets: string[];

  constructor(config: ResolvedConfig) {
    super();
    this.config = config;
    this.secrets = secretsOf(config.uri);
  }

  /** Masks the connection string's secrets in text bound for output or a document. */
  private readonly clean = (text: string): string => redactText(text, this.secrets);

  /** Ask the current run to stop at the next safe point (between migrations, or where a migration checks `ctx.signal`). */
  interrupt(): void {
    if (this.currentAbort === undefined) this.interruptPending = true;
    else this.currentAbort.abort(new MongrateError('INTERRUPTED', 'interrupted'));
  }

  private open(): Promise<Connection> {
    this.connection ??= connect(this.config).then((client) => {
      const db = client.db(this.config.database);
      return { client, db, store: new MongoChangelogStore(db, this.config) };
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

  /**
   * Every public method runs through here: a driver error becomes a MongrateError (a lost server
   * UNREACHABLE, anything else SERVER_ERROR) with secrets masked, never a raw driver error.
   */
  private async api<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof MongrateError || !isDriverError(error)) throw error;
      const message = this.clean(messageOf(error));
      if (isConnectionLoss(error)) throw new MongrateError('UNREACHABLE', `lost the connection to the server: ${message}`, { cause: error });
      throw new MongrateError('SERVER_ERROR', `the server refused a command mongrate sent: ${message}`, { cause: error });
    }
  }

  /** Files on disk; nothing is imported. */
  async files(): Promise<MigrationFile[]> {
    return discoverMigrations(this.config.migrationsDir);
  }

  /** Changelog records, read without the migration files. */
  records(): Promise<ChangelogRecord[]> {
    return this.api(async () => (await this.open()).store.listRecords());
  }

  /** The run id holding a lock whose lease is live on the server's clock, if any. */
  private async liveOwner(db: Db): Promise<string | undefined> {
    const { lock, live } = await readLockState(this.lockStore(db), await this.serverClock(db));
    return live ? lock?.owner : undefined;
  }

  private lockStore(db: Db): MongoLockStore {
    return new MongoLockStore(db, this.config.lockCollection);
  }

  /**
   * The server's clock, measured once per migrator and refreshed when its sample is a minute old.
   * Lease expiry and every date mongrate writes use it, never this machine's clock.
   */
  private async serverClock(db: Db): Promise<ServerClock> {
    this.clock ??= measureServerClock(db);
    this.clock.catch(() => (this.clock = undefined));
    return (await this.clock).refreshIfOlderThan(60_000);
  }

  private async view(): Promise<PlanView> {
    const { db, store } = await this.open();
    const [files, records, liveOwner] = await Promise.all([this.files(), store.listRecords(), this.liveOwner(db)]);
    return { files, records, liveOwner };
  }

  status(): Promise<StatusResult> {
    return this.api(async () => {
      const { files, records, liveOwner } = await this.view();
      return computeStatus(this.config.database, files, records, liveOwner);
    });
  }

  private newAbort(): AbortController {
    const abort = new AbortController();
    if (this.interruptPending) abort.abort(new MongrateError('INTERRUPTED', 'interrupted'));
    this.interruptPending = false;
    this.currentAbort = abort;
    return abort;
  }

  /**
   * Runs `work` holding the lock, with a fresh run (its own id and abort signal). The changelog
   * and history collections exist before the lock is taken (so never first inside a
   * transaction). Losing the lease aborts the signal; a failed release is a warning.
   */
  private async locked<T extends { warnings?: string[] }>(command: string, lockWait: number | undefined, work: (locked: Locked) => Promise<T>): Promise<T> {
    const connection = await this.open();
    if (!this.prepared) {
      await connection.store.prepare();
      this.prepared = true;
    }
    const identity = newRunIdentity();
    const abort = this.newAbort();
    const warnings: string[] = [];
    const warn = (id: string | undefined, message: string): void => {
      warnings.push(message);
      this.emit('warning', { id, message });
    };
    const clock = await this.serverClock(connection.db);
    const lease = new Lease({
      store: this.lockStore(connection.db),
      clock,
      identity,
      command,
      ttlSeconds: this.config.lock.ttlSeconds,
      waitSeconds: lockWait ?? this.config.lock.waitSeconds,
      signal: abort.signal,
      onWait: (holder) => this.emit('lockWait', { holder, waitSeconds: lockWait ?? this.config.lock.waitSeconds }),
      onTakeover: (previous) => this.emit('lockTakeover', { previous }),
      onLost: (reason) => abort.abort(new MongrateError('LOCK_LOST', reason)),
    });
    try {
      await lease.acquire();
      const recorder = new Recorder({ store: connection.store, identity, now: () => clock.now(), warn, clean: this.clean });
      let result: T;
      try {
        result = await work({ identity, signal: abort.signal, lease, recorder, connection, warn });
      } finally {
        const released = await lease.release();
        if (released.warning !== undefined) warn(undefined, this.clean(released.warning));
      }
      // a run result always lists its warnings; the others only when there are some
      if (warnings.length > 0 || Array.isArray(result.warnings)) result.warnings = warnings;
      return result;
    } finally {
      this.currentAbort = undefined;
    }
  }

  /** What the server is and supports; probed once per migrator, when first needed. */
  private server(db: Db): Promise<ServerInfo> {
    this.serverInfo ??= probeServer(db);
    this.serverInfo.catch(() => (this.serverInfo = undefined));
    return this.serverInfo;
  }

  /**
   * Completes a migration's context (helpers bound to it, the server probe, the dry-run flag) and
   * calls the migration so that standalone helpers imported from 'mongrate' find the same context.
   */
  private invoke(base: BaseContext, fn: (ctx: MigrationContext) => Promise<unknown>, hooks: StepHooks, options: { db: Db; server: ServerInfo; dryRun: boolean; onPlan?: (plan: HelperPlan) => void }): Promise<unknown> {
    const { server, dryRun, onPlan } = options;
    // helpers get the real database: they fence their own writes, and in a dry run only count
    const helperContext: HelperContext = {
      db: options.db,
      server,
      dryRun,
      signal: base.signal,
      log: hooks.log,
      onProgress: hooks.progress,
      onPlan: (plan) => {
        onPlan?.(plan);
        this.emit('plan', { id: base.id, ...plan });
      },
      fence: hooks.fence,
      warn: hooks.warn,
      transactionDocumentLimit: hooks.transactionDocumentLimit,
      ...(hooks.session === undefined ? {} : { session: hooks.session }),
    };
    const ctx: MigrationContext = { ...base, helpers: createHelpers(helperContext), server, dryRun };
    return runWithHelperContext(helperContext, () => fn(ctx));
  }

  /** The scaffold `up`, `down` and `redo` share: plan from a fresh view, then simulate or run locked. */
  private async command(kind: RunResult['direction'], options: { dryRun?: boolean; lockWait?: number }, plan: (view: PlanView) => Promise<Step[]>): Promise<RunResult> {
    return this.api(async () => {
      if (options.dryRun === true) return this.simulate(kind, await plan(await this.view()));
      return this.locked(kind, options.lockWait, async (locked) => {
        const [files, records] = await Promise.all([this.files(), locked.connection.store.listRecords()]);
        return this.execute(locked, kind, await plan({ files, records, liveOwner: locked.identity.runId }));
      });
    });
  }

  async up(options: UpOptions = {}): Promise<RunResult> {
    checkRunOptions(options, 'up');
    return this.command('up', options, async ({ files, records, liveOwner }) => {
      if (options.validate !== false) refuseIntegrityProblems(integrityFindings(files, records));
      const recordsById = new Map(records.map((r) => [r._id, r]));
      const migrations = await Promise.all(planUp(files, records, options, liveOwner).map(loadMigration));
      return migrations.map((migration) => ({ migration, direction: 'up' as const, record: recordsById.get(migration.id) }));
    });
  }

  async down(options: DownOptions = {}): Promise<RunResult> {
    checkRunOptions(options, 'down');
    return this.command('down', options, async ({ files, records, liveOwner }) => {
      const targets = planDown(records, options, liveOwner);
      const migrations = await this.loadForDown(files, targets);
      return migrations.map((migration, index) => ({ migration, direction: 'down' as const, record: targets[index] }));
    });
  }

  /** Reverts and re-applies one applied migration (default: the newest applied). */
  async redo(id?: string, options: { dryRun?: boolean; lockWait?: number } = {}): Promise<RunResult> {
    checkCount(options.lockWait, 'lockWait');
    return this.command('redo', options, async ({ files, records, liveOwner }) => {
      const broken = records.filter((r) => isBrokenDown(r, liveOwner));
      if (broken.length > 0) planDown(records, {}, liveOwner); // throws, naming the ways out
      const target = planRedo(records, id);
      const [migration] = await this.loadForDown(files, [target]);
      if (migration === undefined) throw usageError(`cannot redo ${target._id}`);
      return [
        { migration, direction: 'down', record: target },
        { migration, direction: 'up', record: undefined },
      ];
    });
  }

  private async simulate(kind: RunResult['direction'], steps: Step[]): Promise<RunResult> {
    const result = emptyResult(kind, true, steps, undefined);
    if (steps.length === 0) return result;
    const { client, db } = await this.open();
    const server = await this.server(db);
    const abort = this.newAbort();
    try {
      await simulateSteps(
        {
          client,
          db,
          signal: abort.signal,
          emit: this.emit.bind(this),
          clean: this.clean,
          documentLimit: this.config.transactionDocumentLimit,
          invoke: (base, step, hooks, onPlan) => {
            const fn = step.direction === 'up' ? step.migration.definition.up : step.migration.definition.down;
            return fn === undefined ? Promise.resolve() : this.invoke(base, fn, hooks, { db, server, dryRun: true, onPlan });
          },
        },
        steps,
        result,
      );
    } finally {
      this.currentAbort = undefined;
    }
    return result;
  }

  private async execute(locked: Locked, kind: RunResult['direction'], steps: Step[]): Promise<RunResult> {
    const result = emptyResult(kind, false, steps, locked.identity.runId);
    if (steps.length === 0) return result;
    const { client, db } = locked.connection;
    const server = await this.server(db);
    await runSteps(
      {
        identity: locked.identity,
        signal: locked.signal,
        recorder: locked.recorder,
        lease: locked.lease,
        client,
        db,
        transactions: transactionPolicy(this.config.transactions, transactionSupportOf(server), this.config.transactionDocumentLimit),
        ttlSeconds: this.config.lock.ttlSeconds,
        emit: this.emit.bind(this),
        warn: locked.warn,
        clean: this.clean,
        invoke: (base, fn, hooks) => this.invoke(base, fn, hooks, { db, server, dryRun: false }),
      },
      steps,
      result,
    );
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
  validate(): Promise<ValidateResult> {
    return this.api(async () => {
      const { files, duplicates } = await discoverMigrationsAndDuplicates(this.config.migrationsDir);
      const findings: Finding[] = duplicates.map(({ id, names }) => ({
        id,
        kind: 'duplicate-id',
        message: `duplicate migration id '${id}': ${names.join(' and ')}; rename or remove one`,
      }));
      const duplicated = new Set(duplicates.map((d) => d.id));
      const records = (await this.records()).filter((r) => !duplicated.has(r._id));
      findings.push(...integrityFindings(files, records));
      // what a copyAndRename that crashed or refused its swap left behind; its next run removes it
      for (const leftover of await leftoverCollections((await this.open()).db)) {
        const message =
          leftover.kind === 'copy' ?
            `collection '${leftover.name}' is an unfinished copy of '${leftover.collection}' left by a copyAndRename that stopped or refused its swap; the next run of that migration drops it (or check it and drop it)`
          : `collection '${leftover.name}' is the original of '${leftover.collection}', moved aside by a brief-gap copyAndRename that stopped between its renames; if '${leftover.collection}' is missing, rename it back, else drop it`;
        findings.push({ id: leftover.name, kind: 'leftover-collection', message });
      }
      for (const file of files) {
        try {
          await loadMigration(file);
        } catch (error) {
          const kind = messageOf(error).includes('does not export an `up`') ? 'no-up' : 'load-error';
          findings.push({ id: file.id, kind, message: this.clean(messageOf(error)) });
        }
      }
      return { ok: findings.length === 0, findings };
    });
  }

  /** What `repair` would do, or does: forget failed and missing records, restore failed downs, re-record changed checksums. */
  async repair(options: { dryRun?: boolean; lockWait?: number } = {}): Promise<RepairResult> {
    checkCount(options.lockWait, 'lockWait');
    return this.api(async () => {
      if (options.dryRun === true) {
        const { files, records, liveOwner } = await this.view();
        return { dryRun: true, actions: planRepair(files, records, liveOwner).map(({ record: _record, ...action }) => action) };
      }
      return this.locked('repair', options.lockWait, async ({ identity, recorder, connection }): Promise<RepairResult> => {
        const [files, records] = await Promise.all([this.files(), connection.store.listRecords()]);
        const filesById = new Map(files.map((f) => [f.id, f]));
        const actions = [];
        for (const { record, ...action } of planRepair(files, records, identity.runId)) {
          const file = filesById.get(action.id);
          const done =
            action.action === 'rechecksum' && file !== undefined ? await recorder.rechecksum(file, record)
            : action.action === 'restore-applied' ? await recorder.restore(record, action.detail)
            : await recorder.forget(record, action.detail);
          if (done) actions.push(action);
        }
        return { dryRun: false, actions };
      });
    });
  }

  /** Records every migration up to and including `id` as applied without running it. */
  async baseline(id: string, options: { lockWait?: number } = {}): Promise<BaselineResult> {
    checkCount(options.lockWait, 'lockWait');
    return this.api(() =>
      this.locked('baseline', options.lockWait, async ({ recorder, connection }): Promise<BaselineResult> => {
        const [files, records] = await Promise.all([this.files(), connection.store.listRecords()]);
        const { toRecord, skipped } = planBaseline(files, records, id);
        const baselined = await recorder.baseline(toRecord);
        const raced = toRecord.filter((f) => !baselined.includes(f.id)).map((f) => f.id);
        return { baselined, skipped: [...skipped, ...raced] };
      }),
    );
  }

  /** Shows the lock; releases it when expired on the server's clock, or always with `force`. */
  unlock(options: { force?: boolean } = {}): Promise<UnlockResult> {
    return this.api(async () => {
      const { db, store } = await this.open();
      const identity = newRunIdentity();
      const clock = await this.serverClock(db);
      const result = await unlockLease(this.lockStore(db), clock, { force: options.force === true, claimant: identity, ttlSeconds: this.config.lock.ttlSeconds });
      if (result.released && result.lock !== null) {
        const recorder = new Recorder({ store, identity, now: () => clock.now(), warn: (id, message) => this.emit('warning', { id, message }), clean: this.clean });
        await recorder.history('(lock)', 'unlock', { note: `released lock of ${result.lock.host} pid ${result.lock.pid} (${result.expired ? 'expired' : 'forced'})` });
      }
      return result;
    });
  }
}

function emptyResult(kind: RunResult['direction'], dryRun: boolean, steps: Step[], runId: string | undefined): RunResult {
  return {
    direction: kind,
    dryRun,
    ...(runId === undefined ? {} : { runId }),
    steps: steps.map((s) => ({ id: s.migration.id, direction: s.direction, status: 'not-run', durationMs: undefined, error: undefined })),
    error: undefined,
    warnings: [],
  };
}

function refuseIntegrityProblems(findings: Finding[]): void {
  if (findings.length === 0) return;
  throw new MongrateError('CHECK_FAILED', `${findings.map((f) => f.message).join('; ')}; restore the file${findings.length > 1 ? 's' : ''}`, {
    hints: [
      { command: 'repair', purpose: 'accept the change' },
      { options: { validate: false }, purpose: 'skip this check' },
    ],
  });
}

/** The programmatic entry point. Accepts a config object, or one returned by `loadConfig()`. */
export function createMigrator(config: MongrateConfig | ResolvedConfig): Migrator {
  return new Migrator(isResolved(config) ? config : resolveProgrammaticConfig(config));
}

function isResolved(config: MongrateConfig | ResolvedConfig): config is ResolvedConfig {
  return 'resolved' in config;
}

