// reshape/bumpSchemaVersion beside an application that keeps writing. FerretDB's own updates are not
// atomic under concurrency, so "an application write between our read and our write" is made
// deterministic: the transform itself writes the document through a second client before it returns.
// What the helper sends is checked at the command level (the conditional update MongoDB documents).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Double, Int32, Long, type Db, type Document, type ObjectId } from 'mongodb';
import { createHelpers } from '../../src/helpers/index.ts';
import { withTestDb } from '../support/database.ts';
import { contextFor, ids, rejectsWith, withMonitoredDb, type Seen } from '../support/helpers.ts';

const COUNT = 20;

async function seed(db: Db): Promise<ObjectId[]> {
  const keys = ids(COUNT);
  await db.collection('users').insertMany(
    keys.map((_id, n) => ({ _id, n, name: `user ${n}`, score: new Double(2), big: Long.fromNumber(5), small: new Int32(7), legacy: 'x', tags: ['a'] })),
  );
  return keys;
}

/** The statements of every update command the helper sent. */
const statements = (seen: Seen): Document[] => seen.updates.flat();
/** The re-reads: finds by a list of _ids. */
const rereads = (seen: Seen): Document[] => seen.finds.filter((f) => JSON.stringify(f.filter).includes('"$in"'));

void describe('reshape() beside a live application', () => {
  void it('writes $set/$unset of the changed fields, conditional on their values as read: another field written meanwhile survives', () =>
    withTestDb('conc_other', async ({ db, dbName, uri }) => {
      const keys = await seed(db);
      await withMonitoredDb(uri, dbName, async (mdb, seen) => {
        const result = await createHelpers(await contextFor(mdb)).reshape('users', {
          batchSize: 10,
          transform: async ({ legacy: _gone, ...doc }) => {
            // the application updates another field of this document after our read
            if (doc.n === 7) await db.collection('users').updateOne({ _id: doc._id }, { $set: { app: 'kept', tags: ['b'] } });
            return { ...doc, name: String(doc.name).toUpperCase(), added: doc.n as number };
          },
        });
        assert.deepEqual(result, { matched: COUNT, modified: COUNT, deleted: 0 });

        const sent = statements(seen);
        assert.equal(sent.length, COUNT);
        for (const s of sent) assert.deepEqual(Object.keys(s.u as Document), ['$set', '$unset'], 'an update, never a whole replacement');
        const seventh = sent.find((s) => String((s.q as Document)._id) === String(keys[7]));
        assert.deepEqual(seventh?.q, { _id: keys[7], name: { $eq: 'user 7' }, added: { $exists: false }, legacy: { $eq: 'x' } });
        assert.deepEqual(seventh.u, { $set: { name: 'USER 7', added: 7 }, $unset: { legacy: '' } });
        assert.equal(rereads(seen).length, 0, 'every write applied: no second read');
      });

      const seventh = await db.collection('users').findOne({ _id: keys[7] });
      assert.deepEqual(seventh, { _id: keys[7], n: 7, name: 'USER 7', score: 2, big: 5, small: 7, tags: ['b'], app: 'kept', added: 7 });
      // untouched fields were never written, so they keep their BSON types
      const raw = await db.collection('users').findOne({ _id: keys[3] }, { promoteValues: false });
      assert.ok(raw?.score instanceof Double, 'a Double 2.0 stays a Double');
      assert.ok(raw.big instanceof Long, 'a Long stays a Long');
      assert.ok(raw.small instanceof Int32);
    }));

  void it('a document changed in the same field meanwhile is read again and transformed from its new value', () =>
    withTestDb('conc_same', async ({ db, dbName, uri }) => {
      const keys = await seed(db);
      const namesSeen: string[] = [];
      await withMonitoredDb(uri, dbName, async (mdb, seen) => {
        const result = await createHelpers(await contextFor(mdb)).reshape('users', {
          batchSize: 10,
          transform: async (doc) => {
            if (doc.n === 3) {
              namesSeen.push(String(doc.name));
              if (namesSeen.length === 1) await db.collection('users').updateOne({ _id: doc._id }, { $set: { name: 'app name' } });
            }
            // the application takes tags 'a' away from document 5: the delete judged on 'a' must not apply
            if (doc.n === 5 && (doc.tags as string[]).includes('a')) {
              await db.collection('users').updateOne({ _id: doc._id }, { $set: { tags: ['z'] } });
              return 'delete';
            }
            return { ...doc, name: String(doc.name).toUpperCase() };
          },
        });
        assert.deepEqual(result, { matched: COUNT, modified: COUNT, deleted: 0 });
        const again = rereads(seen);
        assert.equal(again.length, 1, 'one re-read for the batch that fell short');
        const asked = ((again[0]?.filter as Document)._id as Document).$in as unknown[];
        assert.deepEqual(asked.map(String), keys.slice(0, 10).map(String), "just the first batch's written documents");
        const deletes = seen.deletes.flat();
        assert.equal(deletes.length, 1);
        // conditional on every field, each with its BSON type as read
        assert.deepEqual(deletes[0]?.q, {
          _id: keys[5], n: { $eq: new Int32(5) }, name: { $eq: 'user 5' }, score: { $eq: new Double(2) }, big: { $eq: Long.fromNumber(5) },
          small: { $eq: new Int32(7) }, legacy: { $eq: 'x' }, tags: { $eq: ['a'] },
        });
      });
      assert.deepEqual(namesSeen, ['user 3', 'app name'], 'the transform saw the value the application wrote');
      const after = await db.collection('users').find({ n: { $in: [3, 5] } }).sort({ _id: 1 }).toArray();
      assert.deepEqual(after.map((d): unknown[] => [d.name, d.tags]), [['APP NAME', ['a']], ['USER 5', ['z']]]);
    }));

  void it('a document deleted by another writer meanwhile is skipped and counted', () =>
    withTestDb('conc_gone', async ({ db }) => {
      const keys = await seed(db);
      const logs: string[] = [];
      const result = await createHelpers(await contextFor(db, { log: (line) => logs.push(line) })).reshape('users', {
        batchSize: 10,
        transform: async (doc) => {
          if (doc.n === 9) await db.collection('users').deleteOne({ _id: doc._id });
          return { ...doc, name: 'x' };
        },
      });
      assert.deepEqual(result, { matched: COUNT, modified: COUNT - 1, deleted: 0, vanished: 1 });
      assert.equal(await db.collection('users').countDocuments({ _id: keys[9] }), 0, 'not brought back');
      assert.match(logs.join('\n'), /1 deleted or changed out of the filter by another writer before their write/);
    }));

  void it('gives up after a bounded number of attempts, naming the document', () =>
    withTestDb('conc_retries', async ({ db }) => {
      const keys = await seed(db);
      let calls = 0;
      await rejectsWith(
        createHelpers(await contextFor(db)).reshape('users', {
          batchSize: 10,
          transform: async (doc) => {
            if (doc.n === 4) await db.collection('users').updateOne({ _id: doc._id }, { $set: { name: `app ${++calls}` } });
            return { ...doc, name: 'ours' };
          },
        }),
        'MIGRATION_FAILED',
        new RegExp(`the document with _id ${String(keys[4])} changed by another writer on every attempt \\(5 reads and writes\\)`),
      );
      assert.equal(calls, 5);
      assert.equal(await db.collection('users').countDocuments({ name: 'ours' }), 9, 'the rest of the batch is written, nothing after it');
      assert.equal((await db.collection('users').findOne({ _id: keys[4] }))?.name, 'app 5');
    }));
});

void describe('bumpSchemaVersion() beside a live application', () => {
  void it('a document the application bumped meanwhile is left as the application wrote it, not converted twice', () =>
    withTestDb('conc_bump', async ({ db }) => {
      const keys = await seed(db);
      await db.collection('users').updateMany({}, { $set: { schema_version: 1 } });
      const result = await createHelpers(await contextFor(db)).bumpSchemaVersion('users', {
        to: 2,
        batchSize: 10,
        transform: async (doc) => {
          if (doc.n === 12) await db.collection('users').updateOne({ _id: doc._id }, { $set: { schema_version: 2, by: 'app' } });
          return { ...doc, visits: ((doc.visits as number | undefined) ?? 0) + 1 };
        },
      });
      assert.deepEqual(result, { matched: COUNT, modified: COUNT - 1, deleted: 0, vanished: 1 });
      assert.deepEqual(await db.collection('users').findOne({ _id: keys[12] }, { projection: { schema_version: 1, by: 1, visits: 1 } }), {
        _id: keys[12],
        schema_version: 2,
        by: 'app',
      });
      assert.equal(await db.collection('users').countDocuments({ schema_version: 2, visits: 1 }), COUNT - 1);
    }));
});
