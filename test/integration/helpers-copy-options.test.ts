// copyAndRename keeps what defines the collection (options, indexes for the new shape), refuses
// what a document copy cannot rebuild, and refuses a swap when the copy does not add up.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MongoServerError, type Db, type Document } from 'mongodb';
import { createHelpers, leftoverCollections } from '../../src/helpers/index.ts';
import { FEATURE_NAMES } from '../../src/server/capabilities.ts';
import { withTestDb } from '../support/database.ts';
import { contextFor, ids, rejectsWith } from '../support/helpers.ts';
import { createOrSkip, JSON_SCHEMA_REQUIRED, optionsOf } from '../support/server-features.ts';

async function collectionNames(db: Db): Promise<string[]> {
  return (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
}

async function indexSummary(db: Db, name: string): Promise<string[]> {
  const indexes = (await db.collection(name).listIndexes().toArray()) as Document[];
  return indexes.map((i) => `${String(i.name)} ${JSON.stringify(i.key)}${i.unique === true ? ' unique' : ''}`).sort();
}

const users = (count: number): Document[] => ids(count).map((_id, n) => ({ _id, n, email: `u${n}@example.com`, name: `User ${n}`, created_at: new Date(Date.UTC(2024, 0, 1 + n)) }));
const nest = ({ email, name, ...rest }: Document): Document => ({ ...rest, profile: { email: email as unknown, name: name as unknown } });

void describe('copyAndRename() keeps the collection', () => {
  void it('a capped collection stays capped with its size and max, and keeps its natural order, and so does the kept original', async (t) => {
    await withTestDb('copy_capped', async ({ db }) => {
      if (!(await createOrSkip(t, db, 'logs', { capped: true, size: 100_000, max: 500 }, 'capped collections', (o) => o?.capped === true))) return;
      // inserted in an order that is not the _id order: the natural order a capped collection keeps
      const docs = users(40);
      const shuffled = docs.map((doc, i) => docs[(i * 7) % docs.length] as Document);
      await db.collection('logs').insertMany(shuffled);
      const natural = async (name: string): Promise<unknown[]> => (await db.collection(name).find({}).sort({ $natural: 1 }).toArray()).map((doc): unknown => doc.n);
      const order = await natural('logs');
      assert.deepEqual(order, shuffled.map((doc) => doc.n as unknown));
      const capped = await optionsOf(db, 'logs');
      assert.deepEqual(capped, { capped: true, size: 100_000, max: 500 });
      const helpers = createHelpers(await contextFor(db));
      assert.deepEqual(await helpers.copyAndRename('logs', { transform: nest, keepOriginalAs: 'logs_v1', allowBriefGap: true, batchSize: 15 }), { matched: 40, copied: 40, carriedOver: 0 });
      assert.deepEqual(await optionsOf(db, 'logs'), capped);
      assert.deepEqual(await optionsOf(db, 'logs_v1'), capped);
      assert.deepEqual(await natural('logs'), order, 'the copy keeps the natural order');
      assert.deepEqual(await natural('logs_v1'), order);
      await helpers.copyAndRename('logs', { to: 'events' });
      assert.deepEqual(await optionsOf(db, 'events'), capped);
      assert.deepEqual(await natural('events'), order);
      assert.equal(await db.collection('events').countDocuments({ 'profile.email': 'u3@example.com' }), 1);
    });
  });

  void it('a validator (bypassed by the copy, which has the new shape) and its level and action are kept', async (t) => {
    await withTestDb('copy_validator', async ({ db }) => {
      const ctx = await contextFor(db);
      if (!ctx.server.supports('validators')) {
        t.skip(`${ctx.server.describe()} lacks ${FEATURE_NAMES.validators}`);
        return;
      }
      const options = { validator: { $jsonSchema: { required: ['email'] } }, validationLevel: 'moderate', validationAction: 'error' };
      if (!(await createOrSkip(t, db, 'users', options, JSON_SCHEMA_REQUIRED, (o) => o?.validator !== undefined))) return;
      await db.collection('users').insertMany(users(30));
      const before = await optionsOf(db, 'users');
      await createHelpers(ctx).copyAndRename('users', { transform: nest, keepOriginalAs: 'users_v1', allowBriefGap: true });
      assert.deepEqual(await optionsOf(db, 'users'), before);
      assert.deepEqual(await optionsOf(db, 'users_v1'), before);
      await assert.rejects(db.collection('users').insertOne({ no: 'email' }), /Document failed validation/);
    });
  });

  void it('a default collation is kept, and an index with the simple collation keeps it on the copy', async (t) => {
    await withTestDb('copy_collation', async ({ db }) => {
      if (!(await createOrSkip(t, db, 'users', { collation: { locale: 'en', strength: 2 } }, 'collections with a default collation', (o) => o?.collation !== undefined))) return;
      await db.collection('users').insertMany(users(10).map((doc, n) => ({ ...doc, sku: n === 0 ? 'A1' : n === 1 ? 'a1' : `s${n}` })));
      // case-sensitive unique beside the case-insensitive default, and a text index (simple collation only)
      await db.collection('users').createIndexes([
        { key: { sku: 1 }, unique: true, collation: { locale: 'simple' } },
        { key: { name: 'text' }, collation: { locale: 'simple' } },
      ]);
      const before = await optionsOf(db, 'users');
      await createHelpers(await contextFor(db)).copyAndRename('users', { to: 'people', transform: nest, indexes: { drop: ['name_text'], add: [{ key: { 'profile.name': 'text' }, collation: { locale: 'simple' } }] } });
      assert.deepEqual(await optionsOf(db, 'people'), before);
      const sku = ((await db.collection('people').listIndexes().toArray()) as Document[]).find((index) => index.name === 'sku_1');
      assert.equal(sku?.collation, undefined, 'listed without a collation: the simple one, as on the source');
      await db.collection('people').insertOne({ sku: 'A2' });
      await db.collection('people').insertOne({ sku: 'a2' });
      await assert.rejects(db.collection('people').insertOne({ sku: 'a2' }), (error: unknown) => error instanceof MongoServerError && error.code === 11000);
    });
  });

  void it('a clustered collection stays clustered (its clustered index is not rebuilt as a secondary one)', async (t) => {
    await withTestDb('copy_clustered', async ({ db }) => {
      const clustered = { clusteredIndex: { key: { _id: 1 }, unique: true } };
      if (!(await createOrSkip(t, db, 'users', clustered, 'clustered collections (clusteredIndex)', (o) => o?.clusteredIndex !== undefined))) return;
      await db.collection('users').insertMany(users(10));
      const before = await optionsOf(db, 'users');
      const indexesBefore = await indexSummary(db, 'users');
      await createHelpers(await contextFor(db)).copyAndRename('users', { transform: nest, keepOriginalAs: 'users_v1', allowBriefGap: true });
      for (const name of ['users', 'users_v1']) {
        assert.deepEqual(await optionsOf(db, name), before, name);
        assert.deepEqual(await indexSummary(db, name), indexesBefore, name);
      }
    });
  });

  void it('a view and a time-series collection are refused with a message naming what they are', async (t) => {
    await withTestDb('copy_refuse_kinds', async ({ db }) => {
      await db.collection('users').insertMany(users(3));
      const helpers = createHelpers(await contextFor(db));
      let ran = 0;
      try {
        await db.createCollection('active_users', { viewOn: 'users', pipeline: [{ $match: { n: { $gt: 0 } } }] });
        await rejectsWith(helpers.copyAndRename('active_users', { to: 'x' }), 'USAGE', /'active_users' is a view \(of 'users'\), not a collection: it holds no documents to copy/);
        ran++;
      } catch (error) {
        if (!(error instanceof MongoServerError)) throw error;
        t.diagnostic(`views not tested: the test server lacks views (create with viewOn): ${error.message}`);
      }
      try {
        await db.createCollection('readings', { timeseries: { timeField: 'at' } });
        await rejectsWith(helpers.copyAndRename('readings', { to: 'x' }), 'USAGE', /'readings' is a time-series collection, which copyAndRename cannot rebuild/);
        ran++;
      } catch (error) {
        if (!(error instanceof MongoServerError)) throw error;
        t.diagnostic(`time-series not tested: the test server lacks time-series collections: ${error.message}`);
      }
      if (ran === 0) t.skip('the test server lacks views and time-series collections');
      assert.ok(!(await collectionNames(db)).includes('x'));
    });
  });
});

void describe('copyAndRename() checks the copy before the swap', () => {
  void it('carries a document the source gained during the copy into it, and lists what a stopped run leaves behind', () =>
    withTestDb('copy_verify', async ({ db }) => {
      await db.collection('users').insertMany(users(30));
      let inserted = false;
      const late = ids(1, 1000)[0];
      const result = await createHelpers(await contextFor(db)).copyAndRename('users', {
        to: 'people',
        batchSize: 10,
        transform: async (doc) => {
          if (!inserted) {
            inserted = true;
            // an application still writing: its new document sorts before every copied one
            await db.collection('users').insertOne({ _id: late, n: -1, email: 'late@example.com' });
          }
          return (doc.n as number) % 5 === 0 ? null : nest(doc);
        },
      });
      assert.deepEqual(result, { matched: 31, copied: 25, carriedOver: 1 });
      // (its name, undefined in the transform's result, is no field, not null)
      assert.deepEqual(await db.collection('people').findOne({ _id: late }), { _id: late, n: -1, profile: { email: 'late@example.com' } });
      assert.deepEqual(await collectionNames(db), ['people']);
      await db.createCollection('_mongrate_old_ghosts');
      await db.createCollection('_mongrate_sums_people2');
      assert.deepEqual(await leftoverCollections(db), [
        { name: '_mongrate_old_ghosts', kind: 'original', collection: 'ghosts' },
        { name: '_mongrate_sums_people2', kind: 'copy', collection: 'people2' },
      ]);
    }));
});

void describe('copyAndRename() indexes', () => {
  async function seed(db: Db): Promise<void> {
    await db.collection('users').insertMany(users(20));
    await db.collection('users').createIndexes([{ key: { email: 1 }, unique: true }, { key: { created_at: 1 } }, { key: { name: 1 } }]);
  }

  void it('the indexes option drops, adds, renames and re-keys indexes for the new shape', () =>
    withTestDb('copy_indexes_option', async ({ db }) => {
      await seed(db);
      const helpers = createHelpers(await contextFor(db));
      await helpers.copyAndRename('users', {
        to: 'people',
        keepOriginalAs: 'users_v1',
        transform: nest,
        indexes: { drop: ['email_1', 'name_1'], add: [{ key: { 'profile.email': 1 }, unique: true, name: 'profile_email' }, { key: { 'profile.name': 1 } }] },
      });
      assert.deepEqual(await indexSummary(db, 'people'), ['_id_ {"_id":1}', 'created_at_1 {"created_at":1}', 'profile.name_1 {"profile.name":1}', 'profile_email {"profile.email":1} unique']);
      assert.deepEqual(await indexSummary(db, 'users_v1'), ['_id_ {"_id":1}', 'created_at_1 {"created_at":1}', 'email_1 {"email":1} unique', 'name_1 {"name":1}'], 'the original keeps its own');

      // the function form: rename one, re-key another, leave one out
      await helpers.copyAndRename('users_v1', {
        to: 'accounts',
        indexes: (source) =>
          source
            .filter((index) => index.name !== 'name_1')
            .map((index) => (index.name === 'created_at_1' ? { ...index, name: 'by_creation' } : index.name === 'email_1' ? { ...index, key: { email: -1 }, name: 'email_desc' } : index)),
      });
      assert.deepEqual(await indexSummary(db, 'accounts'), ['_id_ {"_id":1}', 'by_creation {"created_at":1}', 'email_desc {"email":-1} unique']);
      // copyIndexes: false starts from none
      await helpers.copyAndRename('accounts', { to: 'bare', copyIndexes: false, indexes: { add: [{ key: { n: 1 } }] } });
      assert.deepEqual(await indexSummary(db, 'bare'), ['_id_ {"_id":1}', 'n_1 {"n":1}']);
    }));

  void it('a mistake in the indexes option is refused before anything is copied', () =>
    withTestDb('copy_indexes_bad', async ({ db }) => {
      await seed(db);
      const helpers = createHelpers(await contextFor(db));
      await rejectsWith(helpers.copyAndRename('users', { to: 'p', indexes: { drop: ['nope'] } }), 'USAGE', /indexes\.drop names 'nope', which the copy would not get anyway \(the source's indexes: [a-z_1, ]*email_1/);
      await rejectsWith(helpers.copyAndRename('users', { to: 'p', indexes: { add: [{ key: { email: 1 }, unique: true }] } }), 'USAGE', /two indexes of the copy are named 'email_1'; to change a source index, drop it/);
      await rejectsWith(helpers.copyAndRename('users', { to: 'p', indexes: { remove: ['x'] } as never }), 'USAGE', /unknown indexes key 'remove'/);
      assert.deepEqual(await collectionNames(db), ['users']);
    }));

  void it('a unique index the new shape breaks fails naming the index and the indexes option; nothing is swapped', () =>
    withTestDb('copy_indexes_dup', async ({ db }) => {
      await seed(db);
      await rejectsWith(
        // the moved field left as null: MongoDB indexes a missing field as null as well, FerretDB 1.24 does not
        createHelpers(await contextFor(db)).copyAndRename('users', { to: 'people', transform: (doc) => ({ ...nest(doc), email: null }) }),
        'MIGRATION_FAILED',
        /the unique index 'email_1' \(\{"email":1\}\) cannot be rebuilt on the copy: the copied documents repeat a value it indexes .* with the indexes option, e\.g\. indexes: \{ drop: \['email_1'\], add: \[/,
      );
      assert.deepEqual(await collectionNames(db), ['users']);
    }));
});
