/**
 * Reading the history back: each stored entry, whichever mongrate version wrote it, as one event
 * in the words users read (applied, reverted, failed, rolled back, interrupted, repaired,
 * baselined, imported, unlocked). Entries are facts, appended and never changed; nothing here
 * decides a migration's state (that is plan.ts, from the changelog).
 */
import type { ChangelogRecord, ChangelogStore, HistoryEvent, HistoryRecord } from '../changelog/contract.ts';
import { usageError } from '../errors.ts';
import { checkedMigrations, type MigrationProvider } from '../providers/index.ts';
import type { HistoryEntry, HistoryEventName, HistoryOptions, HistoryResult, ShowResult } from '../types.ts';
import { computeStatus } from './plan.ts';

/** The migration id the lock's own events (`unlock`) are stored under. */
export const LOCK_EVENTS_ID = '(lock)';

/** A stored entry, as any mongrate version may have written it. */
type StoredEntry = HistoryRecord;

const NAMES: Record<HistoryEvent, HistoryEventName> = {
  up: 'applied',
  down: 'reverted',
  failed: 'failed',
  repair: 'repaired',
  baseline: 'baselined',
  import: 'imported',
  unlock: 'unlocked',
};

function eventName(stored: StoredEntry): HistoryEntry['event'] {
  if (stored.event === 'failed') return stored.rolledBack === true ? 'rolled back' : stored.error?.interrupted === true ? 'interrupted' : 'failed';
  return Object.hasOwn(NAMES, stored.event) ? NAMES[stored.event] : stored.event;
}

/** A stored entry as the event `history()` and `show()` return. */
export function historyEntryOf(stored: StoredEntry): HistoryEntry {
  const event = eventName(stored);
  return {
    id: stored.migrationId === LOCK_EVENTS_ID ? undefined : stored.migrationId,
    event,
    direction: stored.event === 'down' ? 'down' : stored.event === 'failed' ? (stored.direction ?? 'up') : undefined,
    at: stored.at,
    durationMs: stored.durationMs,
    host: stored.host,
    user: stored.user,
    pid: stored.pid,
    runId: stored.runId,
    toolVersion: stored.toolVersion,
    ci: stored.ci,
    environment: stored.environment,
    output: stored.output,
    checksum: stored.checksum,
    outcome: stored.error?.message ?? stored.note,
  };
}

/** `history()`'s options, checked before anything connects (a bad one is a programmer error: thrown). */
export function checkHistoryOptions(options: HistoryOptions): void {
  const { limit, since } = options;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw usageError(`\`limit\` must be a whole number >= 1, got ${String(limit)}`);
  if (since !== undefined && (!(since instanceof Date) || Number.isNaN(since.getTime()))) throw usageError(`\`since\` must be a valid Date, got ${String(since)}`);
  if (options.id !== undefined && (typeof options.id !== 'string' || options.id === '')) throw usageError('`id` must be a migration id');
}

export async function readHistory(store: ChangelogStore, options: HistoryOptions): Promise<HistoryResult> {
  const stored = await store.listHistory({ migrationId: options.id, since: options.since, limit: options.limit });
  return { entries: stored.map(historyEntryOf) };
}

/** `show(id)` before anything is known about `id`. */
export function unknownMigration(id: string): ShowResult {
  return { id, status: undefined, checksum: { now: undefined, applied: undefined }, events: [] };
}

/** What `show(id)` reads from: the migrations, the changelog and the history of one database. */
export interface ShowSources {
  database: string;
  provider: MigrationProvider;
  store: ChangelogStore;
  /** The run id of a live lock holder, if any: only its `running` records are running. */
  liveOwner: string | undefined;
}

/**
 * One migration: its status row, its checksum now and as applied, every event. An id nothing
 * knows (no migration, no record, no history entry) is a USAGE error.
 */
export async function showMigration(id: string, { database, provider, store, liveOwner }: ShowSources): Promise<ShowResult> {
  // the two reads one after the other, on one connection (see Migrator's recordsAndOwner)
  const recordsThenHistory = async (): Promise<[ChangelogRecord[], HistoryRecord[]]> => {
    const records = await store.listRecords();
    return [records, await store.listHistory({ migrationId: id })];
  };
  const [survey, [records, stored]] = await Promise.all([provider.survey(), recordsThenHistory()]);
  const listed = survey.unavailable === undefined ? checkedMigrations(survey, provider.origin) : [];
  const status = computeStatus(database, listed, records, liveOwner, survey.unavailable?.message, provider.order).migrations.find((m) => m.id === id);
  if (status === undefined && stored.length === 0) throw usageError(`no migration '${id}': no migration, changelog record or history entry has that id`);
  const checksum = { now: listed.find((m) => m.id === id)?.checksum, applied: records.find((r) => r._id === id)?.checksum };
  return { id, status, checksum, events: stored.map(historyEntryOf) };
}
