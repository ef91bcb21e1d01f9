/**
 * The changelog store on MongoDB: one document per migration in the changelog collection and an
 * append-only history collection, both in the migration database. Dumb by design: it turns
 * the contract's calls into commands and reports whether a conditional write matched.
 *
 * Conditional writes are one command each (a filter on `_id`, state and claim). On MongoDB that
 * filter and the write are one atomic step per document; FerretDB 1.x evaluates the filter apart
 * from the write, which is why the core also holds the lock for every writing command. Every read
 * and write goes to the primary with majority concerns (driver/own-documents.ts).
 */
import type { ClientSession, Collection, Db, Document, Filter } from 'mongodb';
import { ownCollection } from '../driver/own-documents.ts';
import { hasServerCode, isDriverErrorNamed, isDuplicateKey, SERVER_CODES } from '../driver/errors.ts';
import type { ChangelogRecord, ChangelogStore, HistoryFilter, HistoryRecord, RecordChange, RecordMatch } from './contract.ts';

/** The driver stores `undefined` as null; records leave absent fields out instead. */
function definedOnly<T extends object>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as T;
}

function matchFilter(id: string, match: RecordMatch): Filter<ChangelogRecord> {
  const claim = match.claimRunId === null ? { claim: { $exists: false } } : { 'claim.runId': match.claimRunId };
  return { _id: id, state: match.state, ...claim };
}

const withSession = (session: ClientSession | undefined): { session?: ClientSession } => (session === undefined ? {} : { session });

export interface MongoChangelogNames {
  changelogCollection: string;
  historyCollection: string;
}

export class MongoChangelogStore implements ChangelogStore {
  private readonly records: Collection<ChangelogRecord>;
  private readonly history: Collection<HistoryRecord>;

  constructor(
    private readonly db: Db,
    private readonly names: MongoChangelogNames,
  ) {
    this.records = ownCollection<ChangelogRecord>(db, names.changelogCollection);
    this.history = ownCollection<HistoryRecord>(db, names.historyCollection);
  }

  async prepare(): Promise<void> {
    const wanted = [this.names.changelogCollection, this.names.historyCollection];
    const existing = new Set(
      (await this.db.listCollections({ name: { $in: wanted } }, { nameOnly: true }).toArray()).map((c) => c.name),
    );
    const { changelogCollection, historyCollection } = this.names;
    if (!existing.has(changelogCollection)) {
      try {
        await this.db.createCollection(changelogCollection);
      } catch (error) {
        // created by another runner in between: what we wanted
        if (!hasServerCode(error, SERVER_CODES.NamespaceExists)) throw error;
      }
    }
    if (!existing.has(historyCollection)) {
      // history is read per migration (what was imported, what ran when). createIndexes creates
      // the collection with its index in one step, and is a no-op for another runner doing the
      // same: DocumentDB builds an index on a collection that exists in the background and
      // answers when it is done (1-2 s even on an empty one), the two together in ~30 ms.
      await this.history.createIndexes([{ key: { migrationId: 1, at: 1 }, name: 'migrationId_at' }]);
    }
  }

  async listRecords(): Promise<ChangelogRecord[]> {
    return this.records.find({}).sort({ finishedAt: 1, startedAt: 1, _id: 1 }).toArray();
  }

  async insertRecord(record: ChangelogRecord, session?: ClientSession): Promise<boolean> {
    try {
      await this.records.insertOne(definedOnly(record), withSession(session));
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  async updateRecord(id: string, match: RecordMatch, change: RecordChange, session?: ClientSession): Promise<boolean> {
    const update = updateOf(change);
    if (Object.keys(update).length === 0) return (await this.records.countDocuments(matchFilter(id, match), { ...withSession(session), limit: 1 })) === 1;
    const result = await this.records.updateOne(matchFilter(id, match), update, withSession(session));
    return result.matchedCount === 1;
  }

  async updateRecordAndCreate(id: string, match: RecordMatch, change: RecordChange, next: ChangelogRecord, session?: ClientSession): Promise<{ updated: boolean; created: boolean }> {
    const { _id, ...fields } = definedOnly(next);
    // two statements of one `update` command, in order. The second is an upsert that never fails:
    // it inserts `next`, or matches the record already there and leaves it as it is. So the reply
    // says which applied: an upsert means `next` is new, and the first statement matched
    // whatever the total count of matches leaves once the second's (1 when not new) is taken off.
    const result = await this.records.bulkWrite(
      [
        { updateOne: { filter: matchFilter(id, match), update: updateOf(change) } },
        { updateOne: { filter: { _id }, update: { $setOnInsert: fields }, upsert: true } },
      ],
      { ordered: true, ...withSession(session) },
    );
    const created = result.upsertedCount === 1;
    return { updated: result.matchedCount - (created ? 0 : 1) === 1, created };
  }

  async replaceRecord(match: RecordMatch, record: ChangelogRecord, session?: ClientSession): Promise<boolean> {
    const result = await this.records.replaceOne(matchFilter(record._id, match), definedOnly(record), withSession(session));
    return result.matchedCount === 1;
  }

  async deleteRecord(id: string, match: RecordMatch, session?: ClientSession): Promise<boolean> {
    const result = await this.records.deleteOne(matchFilter(id, match), withSession(session));
    return result.deletedCount === 1;
  }

  async appendHistory(entry: HistoryRecord, session?: ClientSession): Promise<void> {
    await this.history.insertOne(definedOnly({ ...entry }), withSession(session));
  }

  async appendHistoryOnce(entries: HistoryRecord[]): Promise<HistoryRecord[]> {
    if (entries.length === 0) return [];
    try {
      // unordered: an entry already there (a retry) does not keep the others out
      await this.history.insertMany(entries.map((entry) => definedOnly({ ...entry })), { ordered: false });
      return [];
    } catch (error) {
      const refused = refusedIndexes(error);
      if (refused === undefined) throw error;
      const candidates = refused.flatMap((i) => (entries[i] === undefined ? [] : [entries[i]]));
      // a duplicate key may be its _id (sent before: it is there) or another unique index (refused): the history says which
      const ids = candidates.flatMap((e) => (e._id === undefined ? [] : [e._id]));
      const there = new Set((await this.history.find({ _id: { $in: ids } } as Filter<HistoryRecord>, { projection: { _id: 1 } }).toArray()).map((d) => d._id));
      return candidates.filter((e) => e._id === undefined || !there.has(e._id));
    }
  }

  async clearPendingHistory(entryIds: string[]): Promise<void> {
    if (entryIds.length === 0) return;
    await this.records.updateMany({ 'pendingHistory._id': { $in: entryIds } }, { $unset: { pendingHistory: '' } });
  }

  async listHistory(filter: HistoryFilter = {}): Promise<HistoryRecord[]> {
    const query: Filter<HistoryRecord> = definedOnly({ migrationId: filter.migrationId, event: filter.event });
    if (filter.since !== undefined) query.at = { $gte: filter.since };
    if (filter.limit === undefined) return this.history.find(query, { projection: { _id: 0 } }).sort({ at: 1, _id: 1 }).toArray();
    // the newest `limit`, read newest first, handed back in the order written
    const newest = await this.history.find(query, { projection: { _id: 0 } }).sort({ at: -1, _id: -1 }).limit(filter.limit).toArray();
    return newest.reverse();
  }
}

function updateOf(change: RecordChange): Document {
  const update: Document = {};
  if (change.set !== undefined && Object.keys(change.set).length > 0) update.$set = definedOnly(change.set);
  if (change.unset !== undefined && change.unset.length > 0) update.$unset = Object.fromEntries(change.unset.map((key) => [key, '']));
  return update;
}

/** The indexes of the documents a bulk insert refused, or undefined when it failed as a whole (a lost connection). */
function refusedIndexes(error: unknown): number[] | undefined {
  if (!isDriverErrorNamed(error, 'MongoBulkWriteError')) return undefined;
  const writeErrors: unknown = (error as { writeErrors?: unknown }).writeErrors;
  const list: unknown[] = Array.isArray(writeErrors) ? writeErrors : [writeErrors];
  const indexes = list.map((w) => Number((w as { index?: unknown } | null)?.index));
  return indexes.length > 0 && indexes.every(Number.isInteger) ? indexes : undefined;
}
