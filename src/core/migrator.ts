/**
 * The migrator: one database. Orchestration only: it asks its provider for migrations, plans
 * with `plan.ts`, holds the lock for every command that writes (`command-scope.ts`), and runs or
 * simulates the steps (`execute.ts`). It never prints and never exits; it returns result objects
 * and emits events, and raises `MongrateError`s only for what stops a command before anything
 * runs. No driver error escapes it raw.
 */
import { EventEmitter } from 'node:events';
import type { MongoClient } from 'mongodb';
import { isResolved, resolveProgrammaticConfig } from '../config/resolve.ts';
import { MongrateError, messageOf, usageError } from '../errors.ts';
import { leftoverCollections } from '../helpers/index.ts';
import { checkedMigrations, listMigrations, loadMigration, providerFor, type MigrationProvider, type ProvidedMigration } from '../providers/index.ts';
import type {
  BaselineResult,
  ChangelogRecord,
  DownOptions,
  ImportedMigration,
  ImportResult,
  ListedMigration,
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
import { newRunIdentity } from '../util/identity.ts';
import { redactText, secretsOf } from '../util/redact.ts';
import { isConnectionLoss, isDriverError } from '../driver/errors.ts';
import { settingRefused } from '../server/refusals.ts';
import { withLock, type CommandScope } from './command-scope.ts';
import { execute, simulate } from './execute.ts';
import { Interrupts } from './interrupts.ts';
import { unlockLease } from './lease.ts';
import { checkCount, checkRunOptions, computeStatus, integrityFindings, planBaseline, planDown, planImport, planRedo, planRepair, planRevert, planUp, refuseIrreversible } from './plan.ts';
import { Recorder } from './recorder.ts';
import type { Step } from './runner.ts';
import { TargetDatabase } from './target-database.ts';
import { validateFindings } from './validate.ts';

/** What a plan is made from: the listed migrations, the records, and the run id of the live lock holder. */
interface PlanView {
  migrations: ProvidedMigration[];
  records: ChangelogRecord[];
  liveOwner: string | undefined;
}

export interface MigratorOptions {
  /** A connected client to use instead of opening one; the migrator never closes it. */
  client?: MongoClient;
}

export class Migrator extends EventEmitter<MigratorEvents> {
  readonly config: ResolvedConfig;
  private readonly provider: MigrationProvider;
  private readonly target: TargetDatabase;
  private readonly interrupts = new Interrupts();
  private readonly scope: CommandScope;

  constructor(config: ResolvedConfig, options: MigratorOptions = {}) {
    super();
    this.config = config;
    this.provider = providerFor(config);
    this.target = new TargetDatabase(config, options.client);
    const secrets = secretsOf(config.uri);
    this.scope = {
      config,
      target: this.target,
      interrupts: this.interrupts,
      emit: this.emit.bind(this),
      clean: (text) => redactText(text, secrets),
    };
  }

  /** Ask the current run to stop at the next safe point (between migrations, or where a migration checks `ctx.signal`). */
  interrupt(): void {
    this.interrupts.interrupt();
  }

  close(): Promise<void> {
    return this.target.close();
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
      const refused = settingRefused(error, this.scope.clean);
      if (refused !== undefined) throw refused;
      const message = this.scope.clean(messageOf(error));
      if (isConnectionLoss(error)) throw new MongrateError('UNREACHABLE', `lost the connection to the server: ${message}`, { cause: error });
      throw new MongrateError('SERVER_ERROR', `the server refused a command mongrate sent: ${message}`, { cause: error });
    }
  }

  /** The migrations the provider lists (files, or given in code); nothing is imported. */
  async files(): Promise<ListedMigration[]> {
    return listMigrations(this.provider);
  }

  /** Changelog records, read without the migrations. */
  records(): Promise<ChangelogRecord[]> {
    return this.api(async () => (await this.target.open()).store.listRecords());
  }

  private async view(liveOwner?: string): Promise<PlanView> {
    const { db, store } = await this.target.open();
    const [migrations, records, owner] = await Promise.all([listMigrations(this.provider), store.listRecords(), liveOwner ?? this.target.liveOwner(db)]);
    return { migrations, records, liveOwner: owner };
  }

  /** Every migration known from the provider or the changelog; with no migrations folder here, the changelog as recorded. */
  status(): Promise<StatusResult> {
    return this.api(async () => {
      const { db, store } = await this.target.open();
      const [survey, records, liveOwner] = await Promise.all([this.provider.survey(), store.listRecords(), this.target.liveOwner(db)]);
      const { order } = this.provider;
      if (survey.unavailable !== undefined) return computeStatus(this.config.database, [], records, liveOwner, survey.unavailable, order);
      return computeStatus(this.config.database, checkedMigrations(survey, this.provider.origin), records, liveOwner, undefined, order);
    });
  }

  /** The scaffold `up`, `down` and `redo` share: plan from a fresh view, then simulate, or run holding the lock. */
  private async command(kind: RunResult['direction'], options: { dryRun?: boolean; lockWait?: number }, plan: (view: PlanView) => Promise<Step[]>): Promise<RunResult> {
    return this.api(async () => {
      if (options.dryRun === true) return simulate(this.scope, kind, await plan(await this.view()));
      return withLock(this.scope, kind, options.lockWait, async (locked) => execute(this.scope, locked, kind, await plan(await this.view(locked.identity.runId))));
    });
  }

  async up(options: UpOptions = {}): Promise<RunResult> {
    checkRunOptions(options, 'up');
    return this.command('up', options, async ({ migrations, records, liveOwner }) => {
      if (options.validate !== false) refuseIntegrityProblems(integrityFindings(migrations, records));
      const recordsById = new Map(records.map((r) => [r._id, r]));
      const loaded = await Promise.all(planUp(migrations, records, options, liveOwner, this.provider.order).map(loadMigration));
      return loaded.map((migration) => ({ migration, direction: 'up' as const, record: recordsById.get(migration.id) }));
    });
  }

  async down(options: DownOptions = {}): Promise<RunResult> {
    checkRunOptions(options, 'down');
    return this.command('down', options, async ({ migrations, records, liveOwner }) => {
      const targets = planDown(records, options, liveOwner, this.provider.order);
      const loaded = await this.loadForRevert(migrations, targets);
      return loaded.map((migration, index) => ({ migration, direction: 'down' as const, record: targets[index] }));
    });
  }

  /** Reverts and re-applies one applied migration (default: the newest applied). */
  async redo(id?: string, options: { dryRun?: boolean; lockWait?: number } = {}): Promise<RunResult> {
    checkCount(options.lockWait, 'lockWait');
    return this.command('redo', options, async ({ migrations, records, liveOwner }) => {
      const target = planRedo(records, id, liveOwner, this.provider.order);
      const [migration] = await this.loadForRevert(migrations, [target]);
      if (migration === undefined) throw usageError(`cannot redo ${target._id}`);
      return [
        { migration, direction: 'down', record: target },
        { migration, direction: 'up', record: undefined },
      ];
    });
  }

  private async loadForRevert(migrations: ProvidedMigration[], targets: ChangelogRecord[]): Promise<Step['migration'][]> {
    const loaded = await Promise.all(planRevert(migrations, targets, this.provider.origin).map(loadMigration));
    refuseIrreversible(loaded);
    return loaded;
  }

  /** Applied migrations exist and match; ids are unique; every migration loads and exports `up`. Takes no lock. */
  validate(): Promise<ValidateResult> {
    return this.api(async () => {
      const survey = await this.provider.survey();
      if (survey.unavailable !== undefined) throw usageError(survey.unavailable);
      const { db, store } = await this.target.open();
      const [records, leftovers] = await Promise.all([store.listRecords(), leftoverCollections(db)]);
      const loadErrors: { id: string; message: string }[] = [];
      for (const migration of survey.migrations) {
        await migration.load().catch((error: unknown) => loadErrors.push({ id: migration.id, message: this.scope.clean(messageOf(error)) }));
      }
      const findings = validateFindings({ migrations: survey.migrations, duplicates: survey.duplicates, records, leftovers, loadErrors });
      return { ok: findings.length === 0, findings };
    });
  }

  /** What `repair` would do, or does: forget failed and missing records, restore failed downs, re-record changed checksums. */
  async repair(options: { dryRun?: boolean; lockWait?: number } = {}): Promise<RepairResult> {
    checkCount(options.lockWait, 'lockWait');
    return this.api(async () => {
      if (options.dryRun === true) {
        const { migrations, records, liveOwner } = await this.view();
        return { dryRun: true, actions: planRepair(migrations, records, liveOwner).map(({ record: _record, ...action }) => action) };
      }
      return withLock(this.scope, 'repair', options.lockWait, async ({ identity, recorder }): Promise<RepairResult> => {
        const { migrations, records } = await this.view(identity.runId);
        const byId = new Map(migrations.map((m) => [m.id, m]));
        const actions = [];
        for (const { record, ...action } of planRepair(migrations, records, identity.runId)) {
          const migration = byId.get(action.id);
          const done =
            action.action === 'rechecksum' && migration !== undefined ? await recorder.rechecksum(migration, record)
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
      withLock(this.scope, 'baseline', options.lockWait, async ({ identity, recorder }): Promise<BaselineResult> => {
        const { migrations, records } = await this.view(identity.runId);
        const { toRecord, skipped } = planBaseline(migrations, records, id, this.provider.order);
        const baselined = await recorder.baseline(toRecord);
        const raced = toRecord.filter((m) => !baselined.includes(m.id)).map((m) => m.id);
        return { baselined, skipped: [...skipped, ...raced] };
      }),
    );
  }

  /**
   * Records what another tool applied (its changelog, read by `src/compat/`) as applied, without
   * running anything: applied-at and runs as that tool recorded them, checksums of the
   * migrations as they are now. Never imports an entry twice, even one reverted since.
   */
  async importApplied(from: 'migrate-mongo', entries: ImportedMigration[], options: { dryRun?: boolean; lockWait?: number } = {}): Promise<ImportResult> {
    checkCount(options.lockWait, 'lockWait');
    return this.api(async () => {
      const plan = async (liveOwner?: string): Promise<ReturnType<typeof planImport>> => {
        const { migrations, records } = await this.view(liveOwner);
        const history = await (await this.target.open()).store.listHistory({ event: 'import' });
        return planImport(entries, migrations, records, new Set(history.map((h) => h.migrationId)), this.provider.order);
      };
      if (options.dryRun === true) {
        const { imported, skipped } = await plan();
        return { dryRun: true, imported, skipped };
      }
      return withLock(this.scope, 'import', options.lockWait, async ({ identity, recorder }): Promise<ImportResult> => {
        const { imported, skipped, toRecord } = await plan(identity.runId);
        const recorded = new Set<string>();
        for (const { entry, migration } of toRecord) {
          if (await recorder.imported(entry, migration, from)) recorded.add(entry.id);
          else skipped.push({ id: entry.id, reason: 'recorded' });
        }
        return { dryRun: false, imported: imported.filter((i) => recorded.has(i.id)), skipped };
      });
    });
  }

  /** Shows the lock; releases it when expired on the server's clock, or always with `force`. */
  unlock(options: { force?: boolean } = {}): Promise<UnlockResult> {
    return this.api(async () => {
      const { db, store } = await this.target.open();
      const identity = newRunIdentity();
      const clock = await this.target.clock();
      const result = await unlockLease(this.target.lockStore(db), clock, { force: options.force === true, claimant: identity, ttlSeconds: this.config.lock.ttlSeconds });
      if (result.released && result.lock !== null) {
        const warn = (id: string | undefined, message: string): void => void this.emit('warning', { id, message });
        const recorder = new Recorder({ store, identity, now: () => clock.now(), warn, clean: this.scope.clean });
        await recorder.history('(lock)', 'unlock', { note: `released lock of ${result.lock.host} pid ${result.lock.pid} (${result.expired ? 'expired' : 'forced'})` });
      }
      return result;
    });
  }
}

function refuseIntegrityProblems(findings: ReturnType<typeof integrityFindings>): void {
  if (findings.length === 0) return;
  throw new MongrateError('CHECK_FAILED', `${findings.map((f) => f.message).join('; ')}; restore the file${findings.length > 1 ? 's' : ''}`, {
    hints: [
      { command: 'repair', purpose: 'accept the change' },
      { options: { validate: false }, purpose: 'skip this check' },
    ],
  });
}

/**
 * The programmatic entry point for one database. Accepts a config object, or one returned by
 * `loadConfig()`; `createFanOut` drives several.
 */
export function createMigrator(config: MongrateConfig | ResolvedConfig, options: MigratorOptions = {}): Migrator {
  // a resolved config may leave the database out on purpose (`create` needs none); a config from code names one
  if (!isResolved(config) && config.databases !== undefined && config.database === undefined) {
    throw usageError('this config names several databases (`databases`): use createFanOut(config) to run across them, or set `database` for one');
  }
  return new Migrator(isResolved(config) ? config : resolveProgrammaticConfig(config), options);
}
