/**
 * The migrator: plans with `plan.ts`, runs migrations, records every step in the changelog.
 * It never prints and never exits; it returns result objects and emits events, and raises
 * `MongrateError`s only for what stops a command before anything runs.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Db, MongoClient } from 'mongodb';
import { ChangelogStore } from '../changelog/store.ts';
import { resolveProgrammaticConfig } from '../config/resolve.ts';
import { discoverMigrations } from '../discovery/discover.ts';
import { loadMigration, type LoadedMigration } from '../discovery/load-migration.ts';
import { MongrateError, messageOf, usageError } from '../errors.ts';
import type {
  ChangelogRecord,
  Direction,
  DownOptions,
  MigrationContext,
  MigrationFile,
  MigratorEvents,
  MongrateConfig,
  ResolvedConfig,
  RunResult,
  StatusResult,
  StepResult,
  UpOptions,
} from '../types.ts';
import { newRunIdentity, type RunIdentity } from '../util/identity.ts';
import { connect } from './connection.ts';
import { appliedInOrder, computeStatus, planDown, planUp } from './plan.ts';

interface Step {
  migration: LoadedMigration;
  direction: Direction;
  /** Replace a `failed` record instead of inserting a new one. */
  retry: boolean;
}

/** One `up`/`down`/`redo` call: its own run id (what `down --last-run` groups by) and its own abort signal. */
interface Run {
  identity: RunIdentity;
  abort: AbortController;
  store: ChangelogStore;
}

interface Connection {
  client: MongoClient;
  db: Db;
  /** For reads; writes go through the run's store, which carries the run's identity. */
  store: ChangelogStore;
}

export class Migrator extends EventEmitter<MigratorEvents> {
  readonly config: ResolvedConfig;
  private connection: Promise<Connection> | undefined;
  private currentRun: Run | undefined;
  /** interrupt() before a run started: that run starts already stopped. */
  private interruptPending = false;

  constructor(config: ResolvedConfig) {
    super();
    this.config = config;
  }

  /** Ask the current run to stop at the next safe point (between migrations, or where a migration checks `ctx.signal`). */
  interrupt(): void {
    if (this.currentRun === undefined) this.interruptPending = true;
    else this.currentRun.abort.abort(new MongrateError('INTERRUPTED', 'interrupted'));
  }

  private isInterrupted(run: Run): boolean {
    return run.abort.signal.aborted;
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

  async status(): Promise<StatusResult> {
    const [files, { store }] = await Promise.all([this.files(), this.open()]);
    return computeStatus(this.config.database, files, await store.list());
  }

  async up(options: UpOptions = {}): Promise<RunResult> {
    checkCount(options.step, '--step');
    const [files, { store }] = await Promise.all([this.files(), this.open()]);
    const records = await store.list();
    const planned = planUp(files, records, options);
    const failed = new Set(records.filter((r) => r.state === 'failed').map((r) => r._id));
    const migrations = await Promise.all(planned.map(loadMigration));
    const steps = migrations.map((migration) => ({ migration, direction: 'up' as const, retry: failed.has(migration.id) }));
    return this.run('up', steps, options.dryRun === true);
  }

  async down(options: DownOptions = {}): Promise<RunResult> {
    checkCount(options.step, '--step');
    const [files, { store }] = await Promise.all([this.files(), this.open()]);
    const targets = planDown(await store.list(), options);
    const migrations = await this.loadForDown(files, targets);
    const steps = migrations.map((migration) => ({ migration, direction: 'down' as const, retry: false }));
    return this.run('down', steps, options.dryRun === true);
  }

  /** Reverts and re-applies one applied migration (default: the newest applied). */
  async redo(id?: string, options: { dryRun?: boolean } = {}): Promise<RunResult> {
    const [files, { store }] = await Promise.all([this.files(), this.open()]);
    const applied = appliedInOrder(await store.list());
    const target = id === undefined ? applied.at(-1) : applied.find((r) => r._id === id);
    if (target === undefined) {
      throw usageError(id === undefined ? 'nothing to redo: no migration is applied' : `cannot redo ${id}: it is not applied`);
    }
    const [migration] = await this.loadForDown(files, [target]);
    if (migration === undefined) throw usageError(`cannot redo ${target._id}`);
    const steps: Step[] = [
      { migration, direction: 'down', retry: false },
      { migration, direction: 'up', retry: false },
    ];
    return this.run('redo', steps, options.dryRun === true);
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

  private async run(kind: RunResult['direction'], steps: Step[], dryRun: boolean): Promise<RunResult> {
    const identity = newRunIdentity();
    const result: RunResult = {
      direction: kind,
      dryRun,
      runId: identity.runId,
      steps: steps.map((s) => ({ id: s.migration.id, direction: s.direction, status: 'not-run', durationMs: undefined, error: undefined })),
      error: undefined,
    };
    if (dryRun || steps.length === 0) return result;
    const { client, db } = await this.open();
    const run: Run = { identity, abort: new AbortController(), store: new ChangelogStore(db, this.config, identity) };
    if (this.interruptPending) run.abort.abort(new MongrateError('INTERRUPTED', 'interrupted'));
    this.interruptPending = false;
    this.currentRun = run;
    try {
      await this.runSteps(run, steps, result, { client, db });
    } finally {
      this.currentRun = undefined;
    }
    return result;
  }

  private async runSteps(run: Run, steps: Step[], result: RunResult, connection: { client: MongoClient; db: Db }): Promise<void> {
    for (const [index, step] of steps.entries()) {
      const outcome = result.steps[index] as StepResult;
      if (this.isInterrupted(run)) {
        result.error = { code: 'INTERRUPTED', message: 'interrupted before ' + step.migration.id, id: undefined };
        break;
      }
      const failure = await this.runStep(run, step, outcome, connection);
      if (failure !== undefined) {
        result.error = failure;
        break;
      }
      if (this.isInterrupted(run)) {
        result.error = { code: 'INTERRUPTED', message: `interrupted after ${step.migration.id}`, id: undefined };
        break;
      }
    }
  }

  private async runStep(
    run: Run,
    step: Step,
    outcome: StepResult,
    { client, db }: { client: MongoClient; db: Db },
  ): Promise<RunResult['error']> {
    const { store } = run;
    const { migration, direction } = step;
    const fn = direction === 'up' ? migration.definition.up : migration.definition.down;
    if (fn === undefined) throw usageError(`${migration.id} has no ${direction}`);
    this.emit('migrating', { id: migration.id, direction });
    const startedAt = direction === 'up' ? await store.claim(migration, { retry: step.retry }) : new Date();
    const t0 = performance.now();
    const ctx: MigrationContext = {
      db,
      client,
      session: undefined,
      log: (message: string) => this.emit('log', { id: migration.id, message }),
      signal: run.abort.signal,
      id: migration.id,
      direction,
    };
    try {
      await fn(ctx);
    } catch (error) {
      const durationMs = Math.round(performance.now() - t0);
      const interrupted = this.isInterrupted(run);
      const message = messageOf(error);
      await store.markFailed(migration, direction, { message, interrupted }, { startedAt, durationMs });
      Object.assign(outcome, { status: 'failed', durationMs, error: message });
      this.emit('failed', { id: migration.id, direction, error: message, durationMs });
      return {
        code: interrupted ? 'INTERRUPTED' : 'MIGRATION_FAILED',
        message: `${direction === 'up' ? 'migration' : 'reverting'} ${migration.id} ${interrupted ? 'was interrupted' : 'failed'}: ${message}`,
        id: migration.id,
      };
    }
    const durationMs = Math.round(performance.now() - t0);
    if (direction === 'up') await store.markApplied(migration, { startedAt, durationMs });
    else await store.remove(migration, { startedAt, durationMs });
    Object.assign(outcome, { status: 'success', durationMs });
    this.emit('migrated', { id: migration.id, direction, durationMs });
    return undefined;
  }
}

function checkCount(value: number | undefined, flag: string): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 0)) throw usageError(`${flag} must be a whole number >= 0`);
}

/** The programmatic entry point. Accepts a config object, or one returned by `loadConfig()`. */
export function createMigrator(config: MongrateConfig | ResolvedConfig): Migrator {
  return new Migrator(isResolved(config) ? config : resolveProgrammaticConfig(config));
}

function isResolved(config: MongrateConfig | ResolvedConfig): config is ResolvedConfig {
  return 'resolved' in config && config.resolved;
}
