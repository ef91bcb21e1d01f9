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
import { hasServerCode, isDuplicateKey, SERVER_CODES } from '../driver/errors.ts';
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
    for (const name of wanted.filter((n) => !existing.has(n))) {
      try {
        await this.db.createCollection(name);
      } catch (error) {
        // created by another runner in between: what we wanted
        if (!hasServerCode(error, SERVER_CODES.NamespaceExists)) throw error;
      }
    }
    // history is read per migration (what was imported, what ran when); createIndex is a no-op when it exists
    if (!existing.has(this.names.historyCollection)) {
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
    const update: Document = {};
    if (change.set !== undefined && Object.keys(change.set).length > 0) update.$set = definedOnly(change.set);
    if (change.unset !== undefined && change.unset.length > 0) update.$unset = Object.fromEntries(change.unset.map((key) => [key, '']));
    if (Object.keys(update).length === 0) return (await this.records.countDocuments(matchFilter(id, match), { ...withSession(session), limit: 1 })) === 1;
    const result = await this.records.updateOne(matchFilter(id, match), update, withSession(session));
    return result.matchedCount === 1;
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

  async listHistory(filter: HistoryFilter = {}): Promise<HistoryRecord[]> {
    const query: Filter<HistoryRecord> = definedOnly({ migrationId: filter.migrationId, event: filter.event });
    if (filter.since !== undefined) query.at = { $gte: filter.since };
    if (filter.limit === undefined) return this.history.find(query, { projection: { _id: 0 } }).sort({ at: 1, _id: 1 }).toArray();
    // the newest `limit`, read newest first, handed back in the order written
    const newest = await this.history.find(query, { projection: { _id: 0 } }).sort({ at: -1, _id: -1 }).limit(filter.limit).toArray();
    return newest.reverse();
  }
}
