/**
 * Pure planning: from files on disk and changelog records to states and to the ordered list of
 * migrations a command will run. No I/O here, so every rule is unit-tested without a server.
 */
import { compareIds } from '../discovery/discover.ts';
import { MongrateError, usageError } from '../errors.ts';
import type {
  ChangelogRecord,
  DownOptions,
  Finding,
  MigrationFile,
  MigrationState,
  MigrationStatus,
  StatusResult,
  UpOptions,
} from '../types.ts';

/** States that mean "this migration's changes are in the database". */
const IN_DATABASE = new Set<ChangelogRecord['state']>(['applied', 'baseline']);

export const PROBLEM_STATES = new Set<MigrationState>(['pending', 'out-of-order', 'failed', 'running', 'changed', 'missing']);

/** A `running` record whose runner no longer holds the lock died mid-run: it counts as failed. */
export function isDeadRunning(record: ChangelogRecord, liveOwner: string | undefined): boolean {
  return record.state === 'running' && record.runId !== liveOwner;
}

function stateOf(
  file: MigrationFile | undefined,
  record: ChangelogRecord | undefined,
  newestApplied: string,
  liveOwner: string | undefined,
): MigrationState {
  if (record === undefined) return newestApplied !== '' && compareIds(file?.id ?? '', newestApplied) < 0 ? 'out-of-order' : 'pending';
  if (isDeadRunning(record, liveOwner)) return 'failed';
  if (record.state === 'failed' || record.state === 'running') return record.state;
  if (file === undefined) return 'missing';
  if (file.checksum !== record.checksum) return 'changed';
  return record.state;
}

/**
 * `liveOwner` is the run id holding an unexpired lock, if any: only its `running` records are
 * really running.
 */
export function computeStatus(
  database: string,
  files: MigrationFile[],
  records: ChangelogRecord[],
  liveOwner?: string,
): StatusResult {
  const filesById = new Map(files.map((f) => [f.id, f]));
  const recordsById = new Map(records.map((r) => [r._id, r]));
  const newestApplied = records
    .filter((r) => IN_DATABASE.has(r.state))
    .map((r) => r._id)
    .reduce((max, id) => (compareIds(id, max) > 0 ? id : max), '');
  const ids = [...new Set([...filesById.keys(), ...recordsById.keys()])].sort(compareIds);
  const migrations = ids.map((id): MigrationStatus => {
    const file = filesById.get(id);
    const record = recordsById.get(id);
    const dead = record !== undefined && isDeadRunning(record, liveOwner);
    return {
      id,
      state: stateOf(file, record, newestApplied, liveOwner),
      description: file?.description ?? record?.description,
      appliedAt: record?.finishedAt ?? undefined,
      durationMs: record?.durationMs ?? undefined,
      file: file?.path,
      error: dead ? `interrupted: its runner (${record.host} pid ${record.pid}) is gone` : record?.error?.message,
      interrupted: dead || record?.error?.interrupted === true,
    };
  });
  const counts: StatusResult['counts'] = {};
  for (const m of migrations) counts[m.state] = (counts[m.state] ?? 0) + 1;
  const problems = migrations.filter((m) => PROBLEM_STATES.has(m.state)).length;
  return { database, migrations, counts, problems };
}

function describeRecord(record: ChangelogRecord): string {
  return `${record.host} pid ${record.pid} at ${record.startedAt.toISOString()}`;
}

/** The files `up` will apply, in id order. Throws when something blocks the run. */
export function planUp(
  files: MigrationFile[],
  records: ChangelogRecord[],
  options: UpOptions,
  liveOwner?: string,
): MigrationFile[] {
  const status = computeStatus('', files, records, liveOwner);
  const recordsById = new Map(records.map((r) => [r._id, r]));
  for (const m of status.migrations) {
    const record = recordsById.get(m.id);
    if (m.state === 'running' && record !== undefined) {
      throw new MongrateError(
        'LOCK_HELD',
        `migration ${m.id} is marked running by ${describeRecord(record)}; wait for that runner to finish`,
      );
    }
    if (m.state === 'failed' && options.retryFailed !== true) {
      throw new MongrateError(
        'MIGRATION_FAILED',
        `migration ${m.id} failed earlier (${m.error ?? 'no message'}); its writes may be half done. ` +
          'Fix it, then run `mongrate up --retry-failed` to run it again, or `mongrate repair` to clear the failure',
      );
    }
  }
  const outOfOrder = status.migrations.filter((m) => m.state === 'out-of-order');
  if (outOfOrder.length > 0 && options.allowOutOfOrder !== true) {
    throw new MongrateError(
      'CHECK_FAILED',
      `pending migration${outOfOrder.length > 1 ? 's' : ''} ${outOfOrder.map((m) => m.id).join(', ')} sort${outOfOrder.length > 1 ? '' : 's'} before the newest applied one; ` +
        'run `mongrate up --allow-out-of-order` to apply them anyway',
    );
  }
  const runnable = new Set<MigrationState>(['pending', 'out-of-order', 'failed']);
  const stateById = new Map(status.migrations.map((m) => [m.id, m.state]));
  let plan = files
    .filter((f) => {
      const state = stateById.get(f.id);
      return state !== undefined && runnable.has(state);
    })
    .sort((a, b) => compareIds(a.id, b.id));
  if (options.to !== undefined) {
    const target = options.to;
    if (!files.some((f) => f.id === target) && !recordsById.has(target)) throw usageError(`unknown migration id '${target}' for --to`);
    plan = plan.filter((f) => compareIds(f.id, target) <= 0);
  }
  if (options.step !== undefined) plan = plan.slice(0, options.step);
  return plan;
}

/** Applied records (and baselines), in the order they were applied. */
export function appliedInOrder(records: ChangelogRecord[]): ChangelogRecord[] {
  const time = (r: ChangelogRecord): number => (r.finishedAt ?? r.startedAt).getTime();
  return records.filter((r) => IN_DATABASE.has(r.state)).sort((a, b) => time(a) - time(b) || compareIds(a._id, b._id));
}

/** The records `down` will revert, newest application first. */
export function planDown(records: ChangelogRecord[], options: DownOptions): ChangelogRecord[] {
  const chosen = [options.to !== undefined, options.step !== undefined, options.lastRun === true, options.all === true];
  if (chosen.filter(Boolean).length > 1) throw usageError('use only one of --to, --step, --last-run and --all');
  const applied = appliedInOrder(records);
  const newestFirst = (list: ChangelogRecord[]): ChangelogRecord[] => [...list].reverse();
  if (options.all === true) return newestFirst(applied);
  if (options.lastRun === true) {
    const lastRunId = applied.at(-1)?.runId;
    return newestFirst(applied.filter((r) => r.runId === lastRunId));
  }
  if (options.to !== undefined) {
    const index = applied.findIndex((r) => r._id === options.to);
    if (index === -1) throw usageError(`--to ${options.to}: that migration is not applied`);
    return newestFirst(applied.slice(index + 1));
  }
  const step = options.step ?? 1;
  return step === 0 ? [] : newestFirst(applied.slice(-step));
}

/** Applied migrations whose file changed or vanished: what `validate` reports and `up` refuses. */
export function integrityFindings(files: MigrationFile[], records: ChangelogRecord[]): Finding[] {
  const filesById = new Map(files.map((f) => [f.id, f]));
  const findings: Finding[] = [];
  for (const record of records.filter((r) => IN_DATABASE.has(r.state)).sort((a, b) => compareIds(a._id, b._id))) {
    const file = filesById.get(record._id);
    if (file === undefined) {
      findings.push({ id: record._id, kind: 'missing', message: `applied migration ${record._id} has no file any more` });
    } else if (file.checksum !== record.checksum) {
      findings.push({
        id: record._id,
        kind: 'changed',
        message: `applied migration ${record._id} changed since it ran (${record.checksum.slice(0, 19)}… -> ${file.checksum.slice(0, 19)}…)`,
      });
    }
  }
  return findings;
}
