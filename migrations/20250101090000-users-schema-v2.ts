/**
 * Reference pattern 1, schema evolution: every user not at schema_version 2 gets version 2,
 * `created_at` kept (or set), `updated_at` set, `preferences` defaulting to {}, `old_field` removed.
 * Writes go in batches of 500 through bulkWrite, never one round trip per document. What `down`
 * needs to restore each document exactly is saved beside it in a backup collection.
 */
import type { AnyBulkWriteOperation, Document, ObjectId } from 'mongodb';
import { defineMigration } from 'mongrate';

interface User extends Document {
  _id: ObjectId;
  schema_version?: number;
  created_at?: Date;
  updated_at?: Date;
  preferences?: Record<string, unknown>;
  old_field?: unknown;
}

const BACKUP = 'mongrate_backup_users_schema_v2';
// FerretDB 1.24 (SQLite) holds one connection per statement of an `update` command and has 100:
// a bulkWrite of 100 or more updates there never returns. 50 keeps well clear of that.
const BATCH = 50;
const RESTORED_FIELDS = ['schema_version', 'created_at', 'updated_at', 'preferences', 'old_field'] as const;

export default defineMigration({
  description: 'Users to schema_version 2: timestamps, preferences default, old_field removed',

  async up({ db, log }) {
    const users = db.collection<User>('users');
    const backup = db.collection<User>(BACKUP);
    const now = new Date();
    let batch: User[] = [];
    let converted = 0;
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      // upserts, so a rerun after a crash between the two writes does not trip over its own backup
      await backup.bulkWrite(
        batch.map((doc) => ({
          replaceOne: {
            filter: { _id: doc._id },
            replacement: Object.fromEntries(RESTORED_FIELDS.filter((f) => f in doc).map((f) => [f, doc[f]])),
            upsert: true,
          },
        })),
        { ordered: false },
      );
      const writes: AnyBulkWriteOperation<User>[] = batch.map((doc) => {
        const { old_field: _removed, ...rest } = doc;
        return {
          replaceOne: {
            filter: { _id: doc._id },
            replacement: { ...rest, schema_version: 2, created_at: doc.created_at ?? now, updated_at: now, preferences: doc.preferences ?? {} },
          },
        };
      });
      await users.bulkWrite(writes, { ordered: false });
      converted += batch.length;
      batch = [];
    };
    for await (const doc of users.find({ schema_version: { $ne: 2 } }).sort({ _id: 1 }).batchSize(BATCH)) {
      batch.push(doc);
      if (batch.length >= BATCH) await flush();
    }
    await flush();
    log(`${converted} users now at schema_version 2`);
  },

  async down({ db, log }) {
    const users = db.collection<User>('users');
    const backup = db.collection<User>(BACKUP);
    let writes: AnyBulkWriteOperation<User>[] = [];
    let restored = 0;
    for await (const saved of backup.find().sort({ _id: 1 }).batchSize(BATCH)) {
      const $set: Document = {};
      const $unset: Document = {};
      for (const field of RESTORED_FIELDS) {
        if (field in saved) $set[field] = saved[field];
        else $unset[field] = '';
      }
      writes.push({ updateOne: { filter: { _id: saved._id }, update: Object.keys($unset).length > 0 ? { $set, $unset } : { $set } } });
      if (writes.length >= BATCH) {
        await users.bulkWrite(writes, { ordered: false });
        restored += writes.length;
        writes = [];
      }
    }
    if (writes.length > 0) await users.bulkWrite(writes, { ordered: false });
    restored += writes.length;
    await backup.drop().catch(() => false);
    log(`${restored} users restored to their version 1 shape`);
  },
});
