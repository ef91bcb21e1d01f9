/**
 * Pure planning: from the migrations a provider lists and changelog records to states, and to
 * what each command will do (apply, revert, refuse, repair, baseline, redo, import). No I/O
 * here, so every rule is unit-tested without a server.
 */
import type { ChangelogRecord } from '../changelog/contract.ts';
import { MongrateError, usageError } from '../errors.ts';
import { compareIds, type IdOrder, type LoadedMigration } from '../providers/contract.ts';
import type {
  DownOptions,
  Finding,
  ImportedMigration,
  ImportResult,
  ListedMigration,
  MigrationState,
  MigrationStatus,
  RepairAction,
  StatusResult,
  UpOptions,
} from '../types.ts';
import { directionOf, operationOwner } from './recorder.ts';

/** States that mean "this migration's changes are in the database". */
const IN_DATABASE = new Set<ChangelogRecord['state']>(['applied', 'baseline']);

/** Every state `status` reports, in the order its summary lists them. */
/** Every state, checked by the compiler to be all of them (a new state fails the type check until it is here). */
const MIGRATION_STATES = Object.keys({
  applied: true,
  baseline: true,
  pending: true,
  'out-of-order': true,
  running: true,
  failed: true,
  changed: true,
  missing: true,
  unchecked: true,
} satisfies Record<MigrationState, true>) as MigrationState[];

export const PROBLEM_STATES = new Set<MigrationState>(['pending', 'out-of-order', 'failed', 'running', 'changed', 'missing']);

/** A `running` record whose runner no longer holds the lock died mid-run: it counts as failed. */
export function isDeadRunning(record: ChangelogRecord, liveOwner: string | undefined): boolean {
  return record.state === 'running' && operationOwner(record) !== liveOwner;
}

/**
 * Its last attempt changed nothing: it failed inside a transaction (recorded so), or its runner
 * died while the operation ran in one (the server rolled the transaction back).
 */
export function isRolledBack(record: ChangelogRecord, liveOwner: string | undefined): boolean {
  if (record.state === 'failed') return record.error?.rolledBack === true;
  return isDeadRunning(record, liveOwner) && record.claim?.transaction === true;
}

/** Failed, or running under a runner that is gone, outside a transaction: its writes may be half done. */
function isBroken(record: ChangelogRecord, liveOwner: string | undefined): boolean {
  return (record.state === 'failed' || isDeadRunning(record, liveOwner)) && !isRolledBack(record, liveOwner);
}

/** A `down` that failed or died outside a transaction: the migration's data may be half reverted. */
export function isBrokenDown(record: ChangelogRecord, liveOwner: string | undefined): boolean {
  return isBroken(record, liveOwner) && directionOf(record) === 'down';
}

/**
 * The state a record stands for: a `down` whose runner died inside its transaction reverted
 * nothing, so the migration is what it was before (applied, or baseline).
 */
function effectiveState(record: ChangelogRecord, liveOwner: string | undefined): ChangelogRecord['state'] {
  if (isRolledBack(record, liveOwner) && directionOf(record) === 'down') return record.claim?.previousState ?? 'applied';
  return record.state;
}

/** Its changes are in the database: applied or baselined (also while a rolled-back `down` left it so). */
const isInDatabase = (record: ChangelogRecord, liveOwner: string | undefined): boolean => IN_DATABASE.has(effectiveState(record, liveOwner));

/** Both sides have a checksum, and they differ. Without one (an in-code migration without `source`) nothing can be compared. */
function checksumDiffers(file: ListedMigration, record: ChangelogRecord): boolean {
  return file.checksum !== undefined && record.checksum !== undefined && file.checksum !== record.checksum;
}

function stateOf(
  file: ListedMigration | undefined,
  record: ChangelogRecord | undefined,
  newestApplied: string,
  liveOwner: string | undefined,
  listed: boolean,
  order: IdOrder,
): MigrationState {
  if (record === undefined) return newestApplied !== '' && order(file?.id ?? '', newestApplied) < 0 ? 'out-of-order' : 'pending';
  const state = effectiveState(record, liveOwner);
  if (state === 'running' && isDeadRunning(record, liveOwner)) return 'failed';
  if (state === 'failed' || state === 'running') return state;
  // no migrations could be listed at all (no folder here): the record says what it says
  if (file === undefined) return listed ? 'missing' : state;
  if (checksumDiffers(file, record)) return 'changed';
  if (state === 'applied' && (file.checksum === undefined || record.checksum === undefined)) return 'unchecked';
  return state;
}

/** Why a failed (or dead) record is in that state, in words for `status`. */
function errorOf(record: ChangelogRecord | undefined, liveOwner: string | undefined): string | undefined {
  if (record === undefined) return undefined;
  if (!isDeadRunning(record, liveOwner)) return record.error?.message;
  const runner = `its runner (${record.claim?.host ?? record.host} pid ${record.claim?.pid ?? record.pid}) is gone`;
  if (!isRolledBack(record, liveOwner)) return `interrupted: ${runner}`;
  return directionOf(record) === 'down' ?
      `a down was interrupted: ${runner}; its transaction was rolled back, nothing was reverted`
    : `interrupted: ${runner}; its transaction was rolled back, nothing was applied`;
}

/** When the migration's changes went in: for applied records, and for those a `down` is reverting. */
function appliedAtOf(record: ChangelogRecord | undefined): Date | undefined {
  if (record === undefined) return undefined;
  if (IN_DATABASE.has(record.state) || record.claim?.direction === 'down') return record.finishedAt;
  return undefined;
}

function durationOf(record: ChangelogRecord | undefined): number | undefined {
  if (record === undefined) return undefined;
  return record.state === 'failed' ? (record.claim?.durationMs ?? record.durationMs) : record.durationMs;
}

/**
 * `liveOwner` is the run id holding an unexpired lock (judged on the server's clock), if any:
 * only its `running` records are really running. `migrationsUnavailable` says why no
 * migrations could be listed (no migrations folder): the changelog is then shown as recorded.
 * `order` is the provider's (migrate-mongo's in compat mode), by default id order.
 */
export function computeStatus(
  database: string,
  files: ListedMigration[],
  records: ChangelogRecord[],
  liveOwner?: string,
  migrationsUnavailable?: string,
  order: IdOrder = compareIds,
): StatusResult {
  const filesById = new Map(files.map((f) => [f.id, f]));
  const recordsById = new Map(records.map((r) => [r._id, r]));
  const newestApplied = records
    .filter((r) => isInDatabase(r, liveOwner))
    .map((r) => r._id)
    .reduce((max, id) => (max === '' || order(id, max) > 0 ? id : max), '');
  const ids = [...new Set([...filesById.keys(), ...recordsById.keys()])].sort(order);
  const migrations = ids.map((id): MigrationStatus => {
    const file = filesById.get(id);
    const record = recordsById.get(id);
    const dead = record !== undefined && isDeadRunning(record, liveOwner);
    const rolledBack = record !== undefined && isRolledBack(record, liveOwner);
    const state = stateOf(file, record, newestApplied, liveOwner, migrationsUnavailable === undefined, order);
    return {
      id,
      state,
      description: file?.description ?? record?.description,
      appliedAt: appliedAtOf(record),
      durationMs: durationOf(record),
      file: file?.path,
      error: errorOf(record, liveOwner),
      interrupted: dead || record?.error?.interrupted === true,
      rolledBack,
      direction: record !== undefined && (state === 'failed' || state === 'running' || rolledBack) ? directionOf(record) : undefined,
    };
  });
  // every state, zeros included, so `counts.pending` is a number whatever the database holds
  const counts = Object.fromEntries(MIGRATION_STATES.map((state) => [state, 0])) as StatusResult['counts'];
  for (const m of migrations) counts[m.state] += 1;
  const problems = migrations.filter((m) => PROBLEM_STATES.has(m.state)).length;
  return { database, migrations, counts, problems, ...(migrationsUnavailable === undefined ? {} : { migrationsUnavailable }) };
}

export function describeRecord(record: ChangelogRecord): string {
  const claim = record.claim;
  return `${claim?.host ?? record.host} pid ${claim?.pid ?? record.pid} at ${(claim?.startedAt ?? record.startedAt).toISOString()}`;
}

export function halfRevertedError(ids: string[]): MongrateError {
  const which = ids.join(', ');
  return new MongrateError('MIGRATION_FAILED', `the down of ${which} failed or was interrupted; its data may be half reverted`, {
    hints: [
      { command: 'down', options: { retryFailed: true }, purpose: 'finish reverting it' },
      { command: 'up', options: { retryFailed: true }, purpose: 'apply it again' },
    ],
  });
}

/** The files `up` will apply, in id order (or `order`). Throws when something blocks the run. */
export function planUp<M extends ListedMigration>(
  files: M[],
  records: ChangelogRecord[],
  options: UpOptions,
  liveOwner?: string,
  order: IdOrder = compareIds,
): M[] {
  const status = computeStatus('', files, records, liveOwner, undefined, order);
  const recordsById = new Map(records.map((r) => [r._id, r]));
  for (const m of status.migrations) {
    const record = recordsById.get(m.id);
    if (m.state === 'running' && record !== undefined) {
      throw new MongrateError('LOCK_HELD', `migration ${m.id} is marked running by ${describeRecord(record)}; wait for that runner to finish`, {
        hints: [{ options: { lockWait: 'seconds' }, purpose: 'wait for it' }],
      });
    }
  }
  if (options.retryFailed !== true) {
    const brokenDowns = records.filter((r) => isBrokenDown(r, liveOwner)).map((r) => r._id);
    if (brokenDowns.length > 0) throw halfRevertedError(brokenDowns);
    // a failure rolled back with its transaction changed nothing: it runs again like a pending one
    const failed = status.migrations.find((m) => m.state === 'failed' && !m.rolledBack);
    if (failed !== undefined) {
      throw new MongrateError('MIGRATION_FAILED', `migration ${failed.id} failed earlier (${failed.error ?? 'no message'}); its writes may be half done`, {
        hints: [
          { command: 'up', options: { retryFailed: true }, purpose: 'run it again once it is fixed' },
          { command: 'repair', purpose: 'clear the failure' },
        ],
      });
    }
  }
  const outOfOrder = status.migrations.filter((m) => m.state === 'out-of-order');
  if (outOfOrder.length > 0 && options.allowOutOfOrder !== true) {
    throw new MongrateError(
      'CHECK_FAILED',
      `pending migration${outOfOrder.length > 1 ? 's' : ''} ${outOfOrder.map((m) => m.id).join(', ')} sort${outOfOrder.length > 1 ? '' : 's'} before the newest applied one`,
      { hints: [{ command: 'up', options: { allowOutOfOrder: true }, purpose: `apply ${outOfOrder.length > 1 ? 'them' : 'it'} anyway` }] },
    );
  }
  const runnable = new Set<MigrationState>(['pending', 'out-of-order', 'failed']);
  const stateById = new Map(status.migrations.map((m) => [m.id, m.state]));
  let plan = files
    .filter((f) => {
      const state = stateById.get(f.id);
      return state !== undefined && runnable.has(state);
    })
    .sort((a, b) => order(a.id, b.id));
  if (options.to !== undefined) {
    const target = options.to;
    if (!files.some((f) => f.id === target) && !recordsById.has(target)) throw usageError(`unknown migration id '${target}' (given as \`to\`)`);
    plan = plan.filter((f) => order(f.id, target) <= 0);
  }
  if (options.step !== undefined) plan = plan.slice(0, options.step);
  return plan;
}

const appliedTime = (r: ChangelogRecord): number => (r.finishedAt ?? r.startedAt).getTime();

/**
 * Applied records (and baselines, and those a rolled-back `down` left so), in the order they were
 * applied (ties, e.g. within one imported millisecond, in `order`).
 */
export function appliedInOrder(records: ChangelogRecord[], liveOwner?: string, order: IdOrder = compareIds): ChangelogRecord[] {
  return records.filter((r) => isInDatabase(r, liveOwner)).sort((a, b) => appliedTime(a) - appliedTime(b) || order(a._id, b._id));
}

/**
 * The checks of `up`/`down` options that need no server: run before connecting, so a mistake is
 * reported at once, even when the server is down.
 */
export function checkRunOptions(options: UpOptions & DownOptions, direction: 'up' | 'down'): void {
  checkCount(options.step, 'step');
  checkCount(options.lockWait, 'lockWait');
  if (options.only !== undefined && (typeof options.only !== 'string' || options.only === '')) throw usageError('`only` must be a migration id');
  const given = (name: 'to' | 'step' | 'lastRun' | 'all' | 'only'): boolean => options[name] !== undefined && options[name] !== false;
  if (direction === 'down') {
    const chosen = (['to', 'step', 'lastRun', 'all', 'only'] as const).filter(given);
    if (chosen.length > 1) throw usageError(`use only one of \`to\`, \`step\`, \`lastRun\`, \`all\` and \`only\` (got ${chosen.map((c) => `\`${c}\``).join(' and ')})`);
  } else if (given('only') && (given('to') || given('step'))) {
    throw usageError(`\`only\` runs exactly one migration: it takes no \`${given('to') ? 'to' : 'step'}\``);
  }
  if (direction === 'down' && options.allowOutOfOrder === true && options.only === undefined) {
    throw usageError('`allowOutOfOrder` on a down goes with `only`: any other down reverts newest first, in order');
  }
}

/** A count option (`step`, `lockWait`): a whole number >= 0. */
export function checkCount(value: number | undefined, option: string): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 0)) throw usageError(`\`${option}\` must be a whole number >= 0, got ${String(value)}`);
}

/**
 * The records `down` will revert, newest application first. A `down` that failed or died blocks
 * plain `down` (reverting below it would leave it half reverted); with `retryFailed` it comes
 * first and counts as the first step.
 */
export function planDown(records: ChangelogRecord[], options: DownOptions, liveOwner?: string, order: IdOrder = compareIds): ChangelogRecord[] {
  checkRunOptions(options, 'down');
  const broken = records.filter((r) => isBrokenDown(r, liveOwner)).sort((a, b) => appliedTime(b) - appliedTime(a));
  if (broken.length > 0 && options.retryFailed !== true) throw halfRevertedError(broken.map((r) => r._id));
  const applied = appliedInOrder(records, liveOwner, order);
  const newestFirst = (list: ChangelogRecord[]): ChangelogRecord[] => [...broken, ...[...list].reverse()];
  if (options.all === true) return newestFirst(applied);
  if (options.lastRun === true) {
    const lastRunId = applied.at(-1)?.runId;
    return newestFirst(applied.filter((r) => r.runId === lastRunId));
  }
  if (options.to !== undefined) {
    const index = applied.findIndex((r) => r._id === options.to);
    if (index === -1) throw usageError(`cannot revert down to ${options.to} (given as \`to\`): that migration is not applied`);
    return newestFirst(applied.slice(index + 1));
  }
  const step = options.step ?? 1;
  return newestFirst(applied).slice(0, step);
}

/**
 * The migrations to revert, as listed, for the records `down` (or `redo`) planned; refuses the
 * whole plan when one has no migration any more.
 */
export function planRevert<M extends ListedMigration>(migrations: M[], targets: ChangelogRecord[], origin: string): M[] {
  const byId = new Map(migrations.map((m) => [m.id, m]));
  const missing = targets.filter((r) => !byId.has(r._id)).map((r) => r._id);
  if (missing.length > 0) throw usageError(`cannot revert ${missing.join(', ')}: the migration file is missing from ${origin}`);
  return targets.map((r) => byId.get(r._id) as M);
}

/** Refuses a plan with a migration that exports no `down`, before anything is reverted. */
export function refuseIrreversible(migrations: LoadedMigration[]): void {
  const irreversible = migrations.filter((m) => m.definition.down === undefined).map((m) => m.id);
  if (irreversible.length > 0) {
    throw usageError(`cannot revert ${irreversible.join(', ')}: irreversible (it exports no \`down\`); nothing was reverted`);
  }
}

/**
 * The applied record `redo` reverts and applies again (default: the newest applied). A `down`
 * that failed or died blocks it as it blocks `down`.
 */
export function planRedo(records: ChangelogRecord[], id: string | undefined, liveOwner?: string, order: IdOrder = compareIds): ChangelogRecord {
  if (records.some((r) => isBrokenDown(r, liveOwner))) planDown(records, {}, liveOwner); // throws, naming the ways out
  const applied = appliedInOrder(records, liveOwner, order);
  const target = id === undefined ? applied.at(-1) : applied.find((r) => r._id === id);
  if (target === undefined) throw usageError(id === undefined ? 'nothing to redo: no migration is applied' : `cannot redo ${id}: it is not applied`);
  return target;
}

/** `baseline <id>`: the files up to and including `id` that have no record yet, and those that have one. */
export function planBaseline<M extends ListedMigration>(files: M[], records: ChangelogRecord[], id: string, order: IdOrder = compareIds): { toRecord: M[]; skipped: string[] } {
  if (!files.some((f) => f.id === id)) throw usageError(`cannot baseline to ${id}: no migration file has that id`);
  const recorded = new Set(records.map((r) => r._id));
  const upTo = files.filter((f) => order(f.id, id) <= 0);
  return { toRecord: upTo.filter((f) => !recorded.has(f.id)), skipped: upTo.filter((f) => recorded.has(f.id)).map((f) => f.id) };
}

/** A repair action with the record it acts on (as planned: the write is conditional on it). */
export interface PlannedRepair extends RepairAction {
  record: ChangelogRecord;
}

/**
 * What `repair` does: a failed (or dead) `up` is forgotten so it runs again; a failed (or dead)
 * `down` gets its applied record back so `down` can run it again; an applied record whose file
 * is gone is forgotten; one whose file changed takes the new checksum. Live runs are left alone.
 */
export function planRepair(files: ListedMigration[], records: ChangelogRecord[], liveOwner: string | undefined): PlannedRepair[] {
  const filesById = new Map(files.map((f) => [f.id, f]));
  const actions: PlannedRepair[] = [];
  for (const record of [...records].sort((a, b) => compareIds(a._id, b._id))) {
    const file = filesById.get(record._id);
    const rolledBack = isRolledBack(record, liveOwner);
    if (isBrokenDown(record, liveOwner) || (rolledBack && directionOf(record) === 'down' && record.state === 'running')) {
      const previous = record.claim?.previousState ?? 'applied';
      const why = rolledBack ? 'its interrupted down was rolled back' : 'its data may be half reverted';
      actions.push({ id: record._id, action: 'restore-applied', detail: `mark it ${previous} again, so \`down\` reverts it again (${why})`, record });
    } else if (isBroken(record, liveOwner) || rolledBack) {
      actions.push({ id: record._id, action: 'forget-failed', detail: `remove the ${record.state} record so it runs again`, record });
    } else if (record.state === 'running') {
      continue;
    } else if (file === undefined) {
      actions.push({ id: record._id, action: 'forget-missing', detail: 'remove the record of a migration whose file is gone', record });
    } else if (file.checksum !== undefined && file.checksum !== record.checksum) {
      const detail = record.checksum === undefined ? `record the checksum of its source (${file.checksum.slice(0, 19)}…)` : `accept the edited file (${file.checksum.slice(0, 19)}…)`;
      actions.push({ id: record._id, action: 'rechecksum', detail, record });
    }
  }
  return actions;
}

/** Applied migrations whose file changed or vanished: what `validate` reports and `up` refuses. */
export function integrityFindings(files: ListedMigration[], records: ChangelogRecord[]): Finding[] {
  const filesById = new Map(files.map((f) => [f.id, f]));
  const findings: Finding[] = [];
  for (const record of records.filter((r) => IN_DATABASE.has(r.state)).sort((a, b) => compareIds(a._id, b._id))) {
    const file = filesById.get(record._id);
    if (file === undefined) {
      findings.push({ id: record._id, kind: 'missing', message: `applied migration ${record._id} has no file any more` });
    } else if (checksumDiffers(file, record)) {
      findings.push({
        id: record._id,
        kind: 'changed',
        message: `applied migration ${record._id} changed since it ran (${record.checksum?.slice(0, 19) ?? ''}… -> ${file.checksum?.slice(0, 19) ?? ''}…)`,
      });
    }
  }
  return findings;
}

/**
 * Which entries of another tool's changelog `import` records: not those mongrate already has a
 * record of, and never one imported before, even if mongrate reverted it since (the other
 * tool's changelog still lists it; importing it again would mark reverted work as applied).
 * Entries whose migration is gone are imported too, and show as `missing`.
 */
export function planImport(
  entries: ImportedMigration[],
  migrations: ListedMigration[],
  records: ChangelogRecord[],
  importedBefore: Set<string>,
  order: IdOrder = compareIds,
): Pick<ImportResult, 'imported' | 'skipped'> & { toRecord: { entry: ImportedMigration; migration: ListedMigration | undefined }[] } {
  const listed = new Map(migrations.map((m) => [m.id, m]));
  const recorded = new Set(records.map((r) => r._id));
  const ordered = [...entries].sort((a, b) => a.appliedAt.getTime() - b.appliedAt.getTime() || order(a.id, b.id));
  const skipped: ImportResult['skipped'] = [];
  const toRecord: { entry: ImportedMigration; migration: ListedMigration | undefined }[] = [];
  for (const entry of ordered) {
    if (recorded.has(entry.id)) skipped.push({ id: entry.id, reason: 'recorded' });
    else if (importedBefore.has(entry.id)) skipped.push({ id: entry.id, reason: 'imported-before' });
    else toRecord.push({ entry, migration: listed.get(entry.id) });
  }
  const imported = toRecord.map(({ entry, migration }) => ({ ...entry, state: migration === undefined ? ('missing' as const) : ('applied' as const) }));
  return { imported, skipped, toRecord };
}
