/**
 * The migrator: one database. Orchestration only: it asks its provider for migrations, plans
 * with `plan.ts`, holds the lock for every command that writes (`command-scope.ts`; a run with
 * nothing to do takes none), runs or simulates the steps (`execute.ts`), and reads the history
 * back (`history.ts`). It never prints and never exits; it returns result objects
 * and emits events. One error channel: whatever stops a command (a `MongrateError` raised below,
 * or a driver error, masked and typed) comes back as the result's `error`; a command throws only
 * for invalid arguments or a bug. No driver error escapes it raw.
 */
import { EventEmitter } from 'node:events';
import type { Db, MongoClient } from 'mongodb';
import type { ChangelogRecord, ChangelogStore } from '../changelog/contract.ts';
import { isResolved, resolveProgrammaticConfig } from '../config/resolve.ts';
import { MongrateError, messageOf, resultErrorOf, usageError } from '../errors.ts';
import { leftoverCollections } from '../helpers/index.ts';
import { checkedMigrations, listMigrations, providerFor, withDefinition, type LoadedMigration, type MigrationProvider } from '../providers/index.ts';
import type {
  BaselineResult,
  DownOptions,
  HistoryOptions,
  HistoryResult,
  ImportedMigration,
  ImportResult,
  ListedMigration,
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
import { describeHolder } from '../lock/holder.ts';
import { newRunIdentity } from '../util/identity.ts';
import { redactText, secretsOf } from '../util/redact.ts';
import { isConnectionLoss, isDriverError } from '../driver/errors.ts';
import { settingRefused } from '../server/refusals.ts';
import { withLock, type CommandScope } from './command-scope.ts';
import { emptyResult, execute, simulate } from './execute.ts';
import { checkHistoryOptions, LOCK_EVENTS_ID, readHistory, showMigration, unknownMigration } from './history.ts';
import { Interrupts } from './interrupts.ts';
import { unlockLease } from './lease.ts';
import { checkCount, checkRunOptions, computeStatus, integrityFindings, planBaseline, planDown, planImport, planRedo, planRepair, planRevert, planUp, refuseIrreversible } from './plan.ts';
import { planDownOnly, planUpOnly } from './plan-only.ts';
import { Recorder } from './recorder.ts';
import type { Step } from './runner.ts';
import { TargetDatabase } from './target-database.ts';
import { validateFindings } from './validate.ts';

/** What a plan is made from: the listed migrations, the records, and the run id of the live lock holder. */
interface PlanView {
  migrations: ListedMigration[];
  records: ChangelogRecord[];
  liveOwner: string | undefined;
}

/** How a plan turns the migrations it picked into steps' migrations: importing them, or not (`unloaded`). */
type Load = (migration: ListedMigration) => Promise<LoadedMigration>;
type Plan = (view: PlanView, load: Load) => Promise<Step[]>;

export interface MigratorOptions {
  /** A connected client to use instead of opening one; the migrator never closes it. */
  client?: MongoClient;
  /** The config environment to merge in (a config from code; `loadConfig` takes it as an override). */
  environment?: string;
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
  private async guarded<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw typedDriverError(error, this.scope.clean) ?? error;
    }
  }

  /**
   * The one error channel of a command: whatever stops it as a MongrateError comes back as the
   * result `stopped` makes of it. Anything else thrown is a bug, and is thrown.
   */
  private async command<R>(work: () => Promise<R>, stopped: (error: ResultError) => R): Promise<R> {
    try {
      return await this.guarded(work);
    } catch (error) {
      if (!(error instanceof MongrateError)) throw error;
      return stopped(resultErrorOf(error));
    }
  }

  /**
   * A destructive command in a protected environment that was not confirmed: refused before
   * anything is read or written, even where someone could have been asked (the CLI's terminal).
   */
  private unconfirmed(what: string, confirmed: boolean | undefined): ResultError | undefined {
    const { environment } = this.config;
    if (environment?.protected !== true || confirmed === true) return undefined;
    return {
      code: 'USAGE',
      message: `environment '${environment.name}' is protected: ${what} needs confirming`,
      hints: [{ options: { confirmed: true }, purpose: `confirm ${what} in ${environment.name}` }],
    };
  }

  /** The migrations the provider lists (files, or given in code); nothing is imported. */
  async migrations(): Promise<ListedMigration[]> {
    return listMigrations(this.provider);
  }

  private async view(liveOwner?: string): Promise<PlanView> {
    const { db, store } = await this.target.open();
    const [migrations, [records, owner]] = await Promise.all([listMigrations(this.provider), this.recordsAndOwner(db, store, liveOwner)]);
    return { migrations, records, liveOwner: owner };
  }

  /**
   * The changelog's records, then the lock's live owner (unless known): one read after the other,
   * beside the files being read. Sent at once, the two reads made the driver open and authenticate
   * a second connection to save one round trip, which cost more client CPU than it saved.
   */
  private async recordsAndOwner(db: Db, store: ChangelogStore, liveOwner?: string): Promise<[ChangelogRecord[], string | undefined]> {
    const records = await store.listRecords();
    return [records, liveOwner ?? (await this.target.liveOwner(db))];
  }

  /** Every migration known from the provider or the changelog; with no migrations folder here, the changelog as recorded. */
  status(): Promise<StatusResult> {
    return this.command(
      async () => {
        const { db, store } = await this.target.open();
        const [survey, [records, liveOwner]] = await Promise.all([this.provider.survey(), this.recordsAndOwner(db, store)]);
        const { order } = this.provider;
        if (survey.unavailable !== undefined) return computeStatus(this.config.database, [], records, liveOwner, survey.unavailable.message, order);
        return computeStatus(this.config.database, checkedMigrations(survey, this.provider.origin), records, liveOwner, undefined, order);
      },
      (error) => ({ ...computeStatus(this.config.database, [], []), error }),
    );
  }

  /** The history's events, oldest first: of one migration, from a date on, the newest n. Takes no lock and writes nothing. */
  history(options: HistoryOptions = {}): Promise<HistoryResult> {
    checkHistoryOptions(options);
    return this.command(
      async () => readHistory((await this.target.open()).store, options),
      (error) => ({ entries: [], error }),
    );
  }

  /**
   * One migration, everything known about it: its status, its checksum now and as applied, every
   * event of its history. With no migrations folder here, the changelog and history as recorded.
   */
  show(id: string): Promise<ShowResult> {
    if (typeof id !== 'string' || id === '') throw usageError('show(id) needs a migration id');
    return this.command(
      async () => {
        const { db, store } = await this.target.open();
        return showMigration(id, { database: this.config.database, provider: this.provider, store, liveOwner: await this.target.liveOwner(db) });
      },
      (error) => ({ ...unknownMigration(id), error }),
    );
  }

  /**
   * The scaffold `up`, `down` and `redo` share: plan from a fresh view, then simulate, or run
   * holding the lock. A start with nothing to do takes no lock and writes nothing (every pod of a
   * deploy runs `up`; those that find nothing to do must not queue for, or fail on, the lock), so
   * the plan is made first without the lock, and again under it: it may have changed meanwhile.
   */
  private run(kind: RunResult['direction'], options: { dryRun?: boolean; lockWait?: number }, plan: Plan): Promise<RunResult> {
    const dryRun = options.dryRun === true;
    const load: Load = (migration) => this.provider.load(migration);
    return this.command(
      async () => {
        if (dryRun) return simulate(this.scope, kind, await plan(await this.view(), load));
        // no run: no run id, nothing recorded
        if (await nothingToDo(plan, await this.view())) return emptyResult(kind, false, [], undefined);
        return withLock(this.scope, kind, options.lockWait, async (locked) => {
          const view = await this.view(locked.identity.runId);
          // what a run that died left unappended goes to the history before anything changes records
          await locked.recorder.recoverHistory(view.records);
          return execute(this.scope, locked, kind, await plan(view, load));
        });
      },
      // refused before any step: no run id, no steps
      (error) => ({ ...emptyResult(kind, dryRun, [], undefined), error }),
    );
  }

  async up(options: UpOptions = {}): Promise<RunResult> {
    checkRunOptions(options, 'up');
    return this.run('up', options, async ({ migrations, records, liveOwner }, load) => {
      if (options.validate !== false) refuseIntegrityProblems(integrityFindings(migrations, records));
      const recordsById = new Map(records.map((r) => [r._id, r]));
      const { only } = options;
      if (only !== undefined) {
        const planned = planUpOnly(migrations, records, { ...options, only }, liveOwner, this.provider.order);
        return [{ migration: await load(planned.migration), direction: 'up' as const, record: recordsById.get(only), only: planned.only }];
      }
      const loaded = await Promise.all(planUp(migrations, records, options, liveOwner, this.provider.order).map(load));
      return loaded.map((migration) => ({ migration, direction: 'up' as const, record: recordsById.get(migration.id) }));
    });
  }

  async down(options: DownOptions = {}): Promise<RunResult> {
    checkRunOptions(options, 'down');
    const refusal = options.all === true && options.dryRun !== true ? this.unconfirmed('reverting every applied migration', options.confirmed) : undefined;
    if (refusal !== undefined) return { ...emptyResult('down', false, [], undefined), error: refusal };
    return this.run('down', options, async ({ migrations, records, liveOwner }, load) => {
      const { only } = options;
      if (only !== undefined) {
        const planned = planDownOnly(records, { ...options, only }, liveOwner, this.provider.order);
        const [migration] = await this.loadForRevert(migrations, [planned.record], load);
        if (migration === undefined) throw usageError(`cannot revert ${only}`);
        return [{ migration, direction: 'down' as const, record: planned.record, only: planned.only }];
      }
      const targets = planDown(records, options, liveOwner, this.provider.order);
      const loaded = await this.loadForRevert(migrations, targets, load);
      return loaded.map((migration, index) => ({ migration, direction: 'down' as const, record: targets[index] }));
    });
  }

  /** Reverts and re-applies one applied migration (default: the newest applied). */
  async redo(id?: string, options: { dryRun?: boolean; lockWait?: number } = {}): Promise<RunResult> {
    checkCount(options.lockWait, 'lockWait');
    return this.run('redo', options, async ({ migrations, records, liveOwner }, load) => {
      const target = planRedo(records, id, liveOwner, this.provider.order);
      const [migration] = await this.loadForRevert(migrations, [target], load);
      if (migration === undefined) throw usageError(`cannot redo ${target._id}`);
      return [
        { migration, direction: 'down', record: target },
        { migration, direction: 'up', record: undefined },
      ];
    });
  }

  private async loadForRevert(migrations: ListedMigration[], targets: ChangelogRecord[], load: Load): Promise<LoadedMigration[]> {
    const loaded = await Promise.all(planRevert(migrations, targets, this.provider.origin).map(load));
    refuseIrreversible(loaded);
    return loaded;
  }

  /** Applied migrations exist and match; ids are unique; every migration loads and exports `up`. Takes no lock. */
  validate(): Promise<ValidateResult> {
    return this.command(
      async (): Promise<ValidateResult> => {
        const survey = await this.provider.survey();
        if (survey.unavailable !== undefined) throw survey.unavailable;
        const { db, store } = await this.target.open();
        // one read after the other, on one connection (see recordsAndOwner)
        const records = await store.listRecords();
        const leftovers = await leftoverCollections(db);
        const loadErrors: { id: string; message: string }[] = [];
        for (const migration of survey.migrations) {
          await this.provider.load(migration).catch((error: unknown) => loadErrors.push({ id: migration.id, message: this.scope.clean(messageOf(error)) }));
        }
        const findings = validateFindings({ migrations: survey.migrations, duplicates: survey.duplicates, records, leftovers, loadErrors });
        if (findings.length === 0) return { ok: true, findings };
        return { ok: false, findings, error: { code: 'CHECK_FAILED', message: `${findings.length} problem${findings.length === 1 ? '' : 's'} found` } };
      },
      (error) => ({ ok: false, findings: [], error }),
    );
  }

  /** What `repair` would do, or does: forget failed and missing records, restore failed downs, re-record changed checksums. */
  async repair(options: { dryRun?: boolean; lockWait?: number; confirmed?: boolean } = {}): Promise<RepairResult> {
    checkCount(options.lockWait, 'lockWait');
    const dryRun = options.dryRun === true;
    const refusal = dryRun ? undefined : this.unconfirmed('repairing the changelog', options.confirmed);
    if (refusal !== undefined) return { dryRun, actions: [], error: refusal };
    return this.command(async () => {
      if (dryRun) {
        const { migrations, records, liveOwner } = await this.view();
        return { dryRun: true, actions: planRepair(migrations, records, liveOwner).map(({ record: _record, ...action }) => action) };
      }
      return withLock(this.scope, 'repair', options.lockWait, async ({ identity, recorder }): Promise<RepairResult> => {
        const { migrations, records } = await this.view(identity.runId);
        // a record repair deletes may keep the history entry of a run that died: appended first
        await recorder.recoverHistory(records);
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
    }, (error) => ({ dryRun, actions: [], error }));
  }

  /** Records every migration up to and including `id` as applied without running it. */
  async baseline(id: string, options: { lockWait?: number } = {}): Promise<BaselineResult> {
    checkCount(options.lockWait, 'lockWait');
    return this.command(
      () =>
        withLock(this.scope, 'baseline', options.lockWait, async ({ identity, recorder }): Promise<BaselineResult> => {
          const { migrations, records } = await this.view(identity.runId);
          const { toRecord, skipped } = planBaseline(migrations, records, id, this.provider.order);
          const baselined = await recorder.baseline(toRecord);
          const raced = toRecord.filter((m) => !baselined.includes(m.id)).map((m) => m.id);
          return { baselined, skipped: [...skipped, ...raced] };
        }),
      (error) => ({ baselined: [], skipped: [], error }),
    );
  }

  /**
   * Records what another tool applied (its changelog, read by `src/compat/`) as applied, without
   * running anything: applied-at and runs as that tool recorded them, checksums of the
   * migrations as they are now. Never imports an entry twice, even one reverted since.
   */
  async importApplied(from: 'migrate-mongo', entries: ImportedMigration[], options: { dryRun?: boolean; lockWait?: number } = {}): Promise<ImportResult> {
    checkCount(options.lockWait, 'lockWait');
    const dryRun = options.dryRun === true;
    return this.command(async () => {
      const plan = async (liveOwner?: string): Promise<ReturnType<typeof planImport>> => {
        const { migrations, records } = await this.view(liveOwner);
        const history = await (await this.target.open()).store.listHistory({ event: 'import' });
        return planImport(entries, migrations, records, new Set(history.map((h) => h.migrationId)), this.provider.order);
      };
      if (dryRun) {
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
    }, (error) => ({ dryRun, imported: [], skipped: [], error }));
  }

  /** Shows the lock; releases it when expired on the server's clock, or always with `force`. */
  async unlock(options: { force?: boolean; confirmed?: boolean } = {}): Promise<UnlockResult> {
    const refusal = options.force === true ? this.unconfirmed('releasing a lock whatever its lease', options.confirmed) : undefined;
    if (refusal !== undefined) return { lock: null, expired: false, released: false, error: refusal };
    return this.command(
      async (): Promise<UnlockResult> => {
        const { db, store } = await this.target.open();
        const identity = newRunIdentity();
        const clock = await this.target.clock();
        const result = await unlockLease(this.target.lockStore(db), clock, { force: options.force === true, claimant: identity, ttlSeconds: this.config.lock.ttlSeconds });
        if (result.lock === null) return result;
        if (!result.released) return { ...result, error: lockStillHeld(result.lock, result.expired) };
        const warn = (id: string | undefined, message: string): void => void this.emit('warning', { id, message });
        const recorder = new Recorder({ store, identity, now: () => clock.now(), warn, clean: this.scope.clean, environment: this.config.environment?.name });
        await recorder.history(LOCK_EVENTS_ID, 'unlock', { note: `released lock of ${result.lock.host} pid ${result.lock.pid} (${result.expired ? 'expired' : 'forced'})` });
        return result;
      },
      (error) => ({ lock: null, expired: false, released: false, error }),
    );
  }
}

/** Stands for a migration's code in a plan that is only counted: never called. */
function notLoaded(): never {
  throw new Error('a migration planned without loading it was called');
}

/**
 * A migration as a plan that is only counted sees it: listed, not imported. Importing is the
 * costly part of a plan (a TypeScript file is transpiled and evaluated, 50 of them take tens of
 * milliseconds), and its outcome, like any refusal, is decided under the lock, where the plan is
 * made again with the files imported.
 */
const unloaded: Load = (migration) => Promise.resolve(withDefinition(migration, { up: notLoaded, down: notLoaded }));

/**
 * Whether a plan made without the lock is empty; the migrations it picks are not imported (see
 * `unloaded`). Anything else, a refusal included (a migration `running` under a live runner, an
 * earlier failure, a file that does not load, one with no `down` to revert), is decided under the
 * lock, as before: the lock is waited for or reported held, and the plan made again there.
 */
async function nothingToDo(plan: Plan, view: PlanView): Promise<boolean> {
  try {
    return (await plan(view, unloaded)).length === 0;
  } catch (error) {
    if (error instanceof MongrateError) return false;
    throw error;
  }
}

/** Why `unlock` left a lock where it was: it is live (and `force` was not given), or another runner is taking over its expired lease. */
function lockStillHeld(lock: NonNullable<UnlockResult['lock']>, expired: boolean): ResultError {
  const why = expired ? 'its lease expired, but another runner is taking it over' : 'it is live';
  return {
    code: 'LOCK_HELD',
    message: `lock held by ${describeHolder(lock)}, lease until ${lock.expiresAt.toISOString()}; ${why}`,
    hints: expired ? [] : [{ options: { force: true }, purpose: 'release it if that runner is dead' }],
  };
}

/**
 * A driver error as a MongrateError, its message masked: a connection setting the server refused a
 * config error naming it, a lost server UNREACHABLE, any other refusal SERVER_ERROR; undefined for anything else.
 */
export function typedDriverError(error: unknown, clean: (text: string) => string): MongrateError | undefined {
  if (error instanceof MongrateError || !isDriverError(error)) return undefined;
  const refused = settingRefused(error, clean);
  if (refused !== undefined) return refused;
  const message = clean(messageOf(error));
  if (isConnectionLoss(error)) return new MongrateError('UNREACHABLE', `lost the connection to the server: ${message}`, { cause: error });
  return new MongrateError('SERVER_ERROR', `the server refused a command mongrate sent: ${message}`, { cause: error });
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
  return new Migrator(isResolved(config) ? config : resolveProgrammaticConfig(config, { environment: options.environment }), options);
}
