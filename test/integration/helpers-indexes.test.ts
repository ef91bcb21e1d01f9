// Integration tests of ensureIndexes, dropIndexes, setValidator and the server probe against the test server.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Db, Document, IndexDescription } from 'mongodb';
import { createHelpers, ensureIndexes, runWithHelperContext, type HelperPlan } from '../../src/helpers/index.ts';
import { probeServer, probeTransactions } from '../../src/server/capabilities.ts';
import { testServerFlavour, withTestDb } from '../support/database.ts';
import { contextFor, ids, rejectsWith } from '../support/helpers.ts';
import { refusesJsonSchemaRequired } from '../support/server-features.ts';

/** name: key + options, sorted by name: what a reader of listIndexes cares about. */
async function indexes(db: Db, name: string): Promise<string[]> {
  const listed = (await db.collection(name).listIndexes().toArray()) as Document[];
  return listed
    .map((i) => {
      const options = ['unique', 'sparse', 'expireAfterSeconds', 'partialFilterExpression'].filter((o) => i[o] !== undefined).map((o) => `${o}=${JSON.stringify(i[o])}`);
      return [String(i.name), JSON.stringify(i.key), ...options].join(' ');
    })
    .sort();
}

/** Reference pattern 3: the tutorial's models. */
function products(count: number): Document[] {
  return ids(count).map((_id, n) => ({
    _id,
    email: `owner${n}@example.com`,
    name: `Product ${n}`,
    description: `A fine product number ${n}`,
    category: ['tools', 'toys', 'books'][n % 3],
    price: (n % 50) + 0.99,
    tags: n % 2 === 0 ? ['new', 'sale'] : ['classic'],
    is_active: n % 4 !== 0,
    active: n % 4 !== 0,
    created_at: new Date(Date.UTC(2024, 0, 1) + n * 60_000),
  }));
}

const PLAIN: IndexDescription[] = [
  { key: { email: 1 }, unique: true },
  { key: { created_at: 1 } },
  { key: { is_active: 1 } },
  { key: { category: 1, price: 1 } },
  { key: { tags: 1 } },
];
const PLAIN_LISTED = [
  '_id_ {"_id":1}',
  'category_1_price_1 {"category":1,"price":1}',
  'created_at_1 {"created_at":1}',
  'email_1 {"email":1} unique=true',
  'is_active_1 {"is_active":1}',
  'tags_1 {"tags":1}',
];

void describe('ensureIndexes()', () => {
  void it("builds the tutorial's indexes on 2000 documents once; a second call is a no-op", () =>
    withTestDb('indexes_plain', async ({ db }) => {
      await db.collection('products').insertMany(products(2000));
      const helpers = createHelpers(await contextFor(db));
      const first = await helpers.ensureIndexes('products', PLAIN);
      assert.deepEqual(first, { created: ['email_1', 'created_at_1', 'is_active_1', 'category_1_price_1', 'tags_1'], modified: [], unchanged: [] });
      assert.deepEqual(await indexes(db, 'products'), PLAIN_LISTED);
      const second = await helpers.ensureIndexes('products', PLAIN);
      assert.deepEqual(second, { created: [], modified: [], unchanged: ['email_1', 'created_at_1', 'is_active_1', 'category_1_price_1', 'tags_1'] });
      assert.deepEqual(await indexes(db, 'products'), PLAIN_LISTED);
      // the indexes work: unique email refuses a duplicate
      await assert.rejects(db.collection('products').insertOne({ email: 'owner1@example.com' }), (error: unknown) => (error as { code?: unknown }).code === 11000, 'a duplicate key, told by its code (DocumentDB words it differently)');
    }));

  void it('an index named like an existing one but defined differently is an error, not a silent keep', () =>
    withTestDb('indexes_conflict', async ({ db }) => {
      await db.collection('products').insertMany(products(20));
      const helpers = createHelpers(await contextFor(db));
      await helpers.ensureIndexes('products', PLAIN);
      await rejectsWith(
        helpers.ensureIndexes('products', [{ key: { email: 1 } }]),
        'MIGRATION_FAILED',
        /an index named 'email_1' exists with another definition \(unique true instead of false\); drop it first \(dropIndexes\) or choose another name/,
      );
      await rejectsWith(
        helpers.ensureIndexes('products', [{ key: { price: 1 }, name: 'tags_1' }]),
        'MIGRATION_FAILED',
        /'tags_1' exists with another definition \(key \{"tags":1\} instead of \{"price":1\}\)/,
      );
      await rejectsWith(helpers.ensureIndexes('products', [{ key: { email: 1 }, unique: true, name: 'email_unique' }]), 'MIGRATION_FAILED', /already exists as 'email_1'/);
      await rejectsWith(helpers.ensureIndexes('products', [{ key: {} }]), 'USAGE', /needs a key document/);
      await rejectsWith(helpers.ensureIndexes('products', [{ key: { a: 1 } }, { key: { b: 1 }, name: 'a_1' }]), 'USAGE', /two specs are named 'a_1'/);
      assert.deepEqual(await indexes(db, 'products'), PLAIN_LISTED, 'nothing built or dropped');
    }));

  void it('partial, TTL and text indexes: built where the server has them, a named error where it lacks them', () =>
    withTestDb('indexes_features', async ({ db }) => {
      await db.collection('products').insertMany(products(50));
      const ctx = await contextFor(db);
      const helpers = createHelpers(ctx);
      const cases: [IndexDescription, 'partialIndexes' | 'ttlIndexes' | 'textIndexes', RegExp, string][] = [
        [{ key: { price: 1 }, partialFilterExpression: { active: true } }, 'partialIndexes', /index 'price_1' needs partial indexes \(partialFilterExpression\) \[partialIndexes\]/, 'price_1 {"price":1} partialFilterExpression={"active":true}'],
        [{ key: { created_at: 1 }, expireAfterSeconds: 3600, name: 'expiry' }, 'ttlIndexes', /index 'expiry' needs TTL indexes \(expireAfterSeconds\) \[ttlIndexes\]/, 'expiry {"created_at":1} expireAfterSeconds=3600'],
        [{ key: { name: 'text', description: 'text' } }, 'textIndexes', /index 'name_text_description_text' needs text indexes \[textIndexes\]/, 'name_text_description_text {"_fts":"text","_ftsx":1}'],
      ];
      const built: string[] = ['_id_ {"_id":1}'];
      for (const [spec, feature, message, listed] of cases) {
        if (ctx.server.supports(feature)) {
          assert.equal((await helpers.ensureIndexes('products', [spec])).created.length, 1);
          assert.deepEqual(await helpers.ensureIndexes('products', [spec]), { created: [], modified: [], unchanged: [spec.name ?? listed.split(' ')[0] ?? ''] });
          built.push(listed);
        } else {
          await rejectsWith(helpers.ensureIndexes('products', [spec]), 'MIGRATION_FAILED', message);
          // the whole call fails before anything is built, even the supported indexes beside it
          await rejectsWith(helpers.ensureIndexes('products', [{ key: { tags: 1 } }, spec]), 'MIGRATION_FAILED', message);
        }
      }
      assert.deepEqual(await indexes(db, 'products'), built.sort());
    }));

  void it('compares every option: another wildcardProjection or other 2d bits/min/max is another index, the same one is unchanged', async (t) => {
    await withTestDb('indexes_options', async ({ db }) => {
      await db.collection('places').insertOne({ loc: [1, 2], attrs: { a: 1, b: 2 } });
      const cases: [IndexDescription, IndexDescription, RegExp][] = [
        [{ key: { loc: '2d' }, bits: 20, min: -90, max: 90 }, { key: { loc: '2d' } }, /'loc_2d' exists with another definition \(bits 20 instead of 26; min -90 instead of -180; max 90 instead of 180\)/],
        [{ key: { '$**': 1 }, wildcardProjection: { attrs: 1 } }, { key: { '$**': 1 }, wildcardProjection: { loc: 1 } }, /'\$\*\*_1' exists with another definition \(wildcardProjection \{"attrs":1\} instead of \{"loc":1\}\)/],
      ];
      const helpers = createHelpers(await contextFor(db));
      let ran = 0;
      for (const [built, other, message] of cases) {
        try {
          await db.collection('places').createIndexes([built]);
        } catch (error) {
          t.diagnostic(`${JSON.stringify(built.key)} not tested: the test server cannot build it (${error instanceof Error ? error.message : String(error)})`);
          continue;
        }
        ran++;
        await rejectsWith(helpers.ensureIndexes('places', [other]), 'MIGRATION_FAILED', message);
        assert.deepEqual((await helpers.ensureIndexes('places', [built])).created, [], 'the same definition is unchanged');
      }
      if (ran === 0) t.skip('the test server lacks 2d and wildcard indexes');
    });
  });

  void it('a dry run reports what it would build and builds nothing; the standalone function uses the migration context', () =>
    withTestDb('indexes_dry', async ({ db }) => {
      await db.collection('products').insertMany(products(30));
      await createHelpers(await contextFor(db)).ensureIndexes('products', [{ key: { email: 1 }, unique: true }]);
      const plans: HelperPlan[] = [];
      const ctx = await contextFor(db, { dryRun: true, onPlan: (p) => plans.push(p) });
      const result = await runWithHelperContext(ctx, () => ensureIndexes('products', PLAIN));
      const wouldBuild = ['created_at_1', 'is_active_1', 'category_1_price_1', 'tags_1'];
      assert.deepEqual(result, { created: wouldBuild, modified: [], unchanged: ['email_1'], dryRun: true }, 'a dry run returns what it would build');
      assert.deepEqual(plans, [{ helper: 'ensureIndexes', collection: 'products', action: `build indexes ${wouldBuild.join(', ')}`, note: 'over 30 documents', documents: 30 }]);
      assert.deepEqual(await indexes(db, 'products'), ['_id_ {"_id":1}', 'email_1 {"email":1} unique=true']);
    }));

  void it('creates the collection when it does not exist yet', () =>
    withTestDb('indexes_new', async ({ db }) => {
      assert.deepEqual(await createHelpers(await contextFor(db)).ensureIndexes('fresh', [{ key: { a: 1 } }]), { created: ['a_1'], modified: [], unchanged: [] });
      assert.deepEqual(await indexes(db, 'fresh'), ['_id_ {"_id":1}', 'a_1 {"a":1}']);
    }));
});

void describe('dropIndexes()', () => {
  void it('drops what exists and is fine with what does not (twice, or on a missing collection)', () =>
    withTestDb('indexes_drop', async ({ db }) => {
      await db.collection('products').insertMany(products(20));
      const helpers = createHelpers(await contextFor(db));
      await helpers.ensureIndexes('products', PLAIN);
      assert.deepEqual(await helpers.dropIndexes('products', ['tags_1', 'email_1', 'never_there']), { dropped: ['tags_1', 'email_1'] });
      assert.deepEqual(await helpers.dropIndexes('products', ['tags_1', 'email_1']), { dropped: [] });
      assert.deepEqual(await helpers.dropIndexes('nothing_here', ['a_1']), { dropped: [] });
      assert.deepEqual(await indexes(db, 'products'), PLAIN_LISTED.filter((i) => !i.startsWith('tags_1') && !i.startsWith('email_1')));
      await rejectsWith(helpers.dropIndexes('products', ['_id_']), 'USAGE', /the _id index cannot be dropped/);

      const plans: HelperPlan[] = [];
      const dry = createHelpers(await contextFor(db, { dryRun: true, onPlan: (p) => plans.push(p) }));
      assert.deepEqual(await dry.dropIndexes('products', ['is_active_1']), { dropped: ['is_active_1'], dryRun: true });
      assert.deepEqual(plans, [{ helper: 'dropIndexes', collection: 'products', action: 'drop index is_active_1' }], 'an index dropped, not "0 documents"');
      assert.ok((await indexes(db, 'products')).some((i) => i.startsWith('is_active_1')));
    }));
});

const PRODUCT_SCHEMA: Document = {
  bsonType: 'object',
  required: ['name', 'price'],
  properties: {
    name: { bsonType: 'string' },
    price: { bsonType: ['double', 'int', 'long', 'decimal'], minimum: 0 },
    tags: { bsonType: 'array', items: { bsonType: 'string' } },
  },
};

void describe('setValidator()', () => {
  void it('sets the $jsonSchema validator with collMod, or creates the collection with it; a named error where unsupported', () =>
    withTestDb('validator', async ({ db }) => {
      const ctx = await contextFor(db);
      const helpers = createHelpers(ctx);
      if (!ctx.server.supports('validators')) {
        await rejectsWith(
          helpers.setValidator('products', PRODUCT_SCHEMA),
          'MIGRATION_FAILED',
          /setValidator\(products\) needs collection validators \(collMod \/ create with validator\) \[validators\], which FerretDB 1\.24\.2/,
        );
        await db.collection('products').insertOne({ name: 'x', price: 1 });
        await rejectsWith(helpers.setValidator('products', PRODUCT_SCHEMA, { level: 'moderate' }), 'MIGRATION_FAILED', /\[validators\]/);
        assert.deepEqual(await db.listCollections({}, { nameOnly: true }).toArray().then((l) => l.map((c) => c.name)), ['products']);
        return;
      }
      if (await refusesJsonSchemaRequired(db)) {
        // the open-source DocumentDB has validators but no `required`: the helper names the keyword, on create and on collMod
        const refused = /setValidator\(products\): .+ does not support the \$jsonSchema keyword 'required' \(it answered: .*required/;
        await rejectsWith(helpers.setValidator('products', PRODUCT_SCHEMA), 'MIGRATION_FAILED', refused);
        assert.deepEqual(await db.listCollections({}, { nameOnly: true }).toArray(), []);
        await db.collection('products').insertOne({ name: 'x', price: 1 });
        await rejectsWith(helpers.setValidator('products', PRODUCT_SCHEMA, { level: 'moderate' }), 'MIGRATION_FAILED', refused);
        return;
      }
      assert.deepEqual(await helpers.setValidator('products', PRODUCT_SCHEMA), { created: true });
      await assert.rejects(db.collection('products').insertOne({ name: 'free', price: -1 }), /Document failed validation/);
      await db.collection('products').insertOne({ name: 'ok', price: 2, tags: ['a'] });

      assert.deepEqual(await helpers.setValidator('products', { ...PRODUCT_SCHEMA, required: ['name'] }, { level: 'moderate', action: 'warn' }), { created: false });
      const info: Document | undefined = (await db.listCollections({ name: 'products' }).toArray())[0];
      assert.deepEqual(info?.options, { validator: { $jsonSchema: { ...PRODUCT_SCHEMA, required: ['name'] } }, validationLevel: 'moderate', validationAction: 'warn' });

      assert.deepEqual(await helpers.setValidator('products', null), { created: false });
      await db.collection('products').insertOne({ price: 'anything' });
    }));

  void it('a dry run reports and changes nothing (where validators exist)', async (t) => {
    await withTestDb('validator_dry', async ({ db }) => {
      const plans: HelperPlan[] = [];
      const ctx = await contextFor(db, { dryRun: true, onPlan: (p) => plans.push(p) });
      if (!ctx.server.supports('validators')) {
        t.skip(`${ctx.server.describe()} lacks collection validators (collMod / create with validator)`);
        return;
      }
      assert.deepEqual(await createHelpers(ctx).setValidator('products', PRODUCT_SCHEMA), { created: true, dryRun: true });
      assert.deepEqual(plans, [{ helper: 'setValidator', collection: 'products', action: 'create the collection with the $jsonSchema validator' }]);
      assert.deepEqual(await db.listCollections().toArray(), []);
    });
  });
});

void describe('probeServer()', () => {
  void it('identifies the test server and probes transactions for real', () =>
    withTestDb('probe', async ({ client, db }) => {
      const info = await probeServer(db);
      const transactions = await probeTransactions(client, db);
      if (testServerFlavour() === 'ferretdb') {
        assert.equal(info.flavour, 'ferretdb');
        assert.equal(info.version, '1.24.2');
        assert.equal(info.topology, 'standalone');
        assert.equal(info.maxUpdatesPerCommand, 50);
        assert.equal(transactions, false, 'FerretDB accepts the transaction fields on a read but has no commitTransaction');
      }
      if (testServerFlavour() === 'mongod') {
        assert.equal(info.flavour, 'mongodb');
        assert.equal(info.topology, 'replicaset');
        assert.equal(transactions, true);
      }
      assert.equal(info.supports('transactions'), transactions && info.topology !== 'standalone');
      assert.deepEqual(await db.listCollections().toArray(), [], 'the probe leaves nothing behind');
    }));
});
