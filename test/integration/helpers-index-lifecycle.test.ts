// The index lifecycle and views against the test server, where it has the feature, and the error
// naming the feature where it lacks it (FerretDB 1.24: no TTL, hidden indexes, collMod or views;
// DocumentDB: TTL changes and views, no hidden indexes, collations not kept). The scripted replica
// set (test/scripted/index-lifecycle.test.ts, views.test.ts) shows what no local server can.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Db, Document } from 'mongodb';
import { createHelpers, type HelperContext } from '../../src/helpers/index.ts';
import { MongrateError } from '../../src/errors.ts';
import { withTestDb } from '../support/database.ts';
import { contextFor, rejectsWith } from '../support/helpers.ts';

async function indexNames(db: Db, collection: string): Promise<string[]> {
  return ((await db.collection(collection).listIndexes().toArray()) as Document[]).map((i) => String(i.name)).sort();
}

/** The promise's value, or the MongrateError it rejected with (anything else is rethrown). */
async function outcome<T>(promise: Promise<T>): Promise<{ value: T } | { error: MongrateError }> {
  try {
    return { value: await promise };
  } catch (error) {
    if (error instanceof MongrateError) return { error };
    throw error;
  }
}

void describe('index lifecycle on the test server', () => {
  void it("changes a TTL index's expireAfterSeconds in place", async (t) => {
    await withTestDb('lifecycle_ttl', async ({ db }) => {
      const ctx = await contextFor(db);
      if (!ctx.server.supports('ttlIndexes') || !ctx.server.supports('collMod')) {
        t.skip(`${ctx.server.describe()} lacks TTL indexes or collMod (ttlIndexes, collMod)`);
        return;
      }
      await db.collection('sessions').insertOne({ created_at: new Date() });
      const helpers = createHelpers(ctx);
      await helpers.ensureIndexes('sessions', [{ key: { created_at: 1 }, name: 'expires', expireAfterSeconds: 2_592_000 }]);
      const spec = { key: { created_at: 1 }, name: 'expires', expireAfterSeconds: 604_800 };
      assert.deepEqual(await helpers.ensureIndexes('sessions', [spec]), { created: [], modified: ['expires'], unchanged: [] });
      const [, expires] = (await db.collection('sessions').listIndexes().toArray()) as Document[];
      assert.equal(expires?.expireAfterSeconds, 604_800);
      assert.deepEqual(await helpers.ensureIndexes('sessions', [spec]), { created: [], modified: [], unchanged: ['expires'] });
    });
  });

  void it('hides an index with hideFirst and drops it in a later migration, or fails naming hidden indexes and changes nothing', async (t) => {
    await withTestDb('lifecycle_hide', async ({ db }) => {
      await db.collection('products').insertMany([{ sku: 'a', legacy: 1 }, { sku: 'b', legacy: 2 }]);
      const context = (extra: Partial<HelperContext>): Promise<HelperContext> => contextFor(db, extra);
      const first = createHelpers(await context({ migration: '001-hide' }));
      await first.ensureIndexes('products', [{ key: { sku: 1 } }, { key: { legacy: 1 } }]);
      const attempt = await outcome(first.dropIndexes('products', ['legacy_1'], { hideFirst: true }));
      if ('error' in attempt) {
        // FerretDB by the capability table; a server that poses as MongoDB (DocumentDB) by its own answer
        assert.equal(attempt.error.code, 'MIGRATION_FAILED');
        assert.match(attempt.error.message, /needs hidden indexes \(hidden, collMod index\.hidden\) \[hiddenIndexes\], which .* does not support/);
        t.diagnostic(attempt.error.message);
        await rejectsWith(first.ensureIndexes('products', [{ key: { sku: 1 }, hidden: true }]), 'MIGRATION_FAILED', /\[hiddenIndexes\]/);
        assert.deepEqual(await indexNames(db, 'products'), ['_id_', 'legacy_1', 'sku_1'], 'nothing dropped');
        assert.ok(((await db.collection('products').listIndexes().toArray()) as Document[]).every((i) => i.hidden !== true), 'nothing hidden');
        assert.equal(await db.collection('_mongrate_hidden_indexes').countDocuments(), 0, 'nothing recorded');
        return;
      }
      assert.deepEqual(attempt.value, { dropped: [], hidden: ['legacy_1'] });
      assert.deepEqual(await first.dropIndexes('products', ['legacy_1'], { hideFirst: true }), { dropped: [], hidden: ['legacy_1'] }, 'the same migration again never drops');
      assert.deepEqual(await createHelpers(await context({ migration: '002-drop' })).dropIndexes('products', ['legacy_1'], { hideFirst: true }), { dropped: ['legacy_1'], hidden: [] });
      assert.deepEqual(await indexNames(db, 'products'), ['_id_', 'sku_1']);
    });
  });

  void it('reportUndeclared lists the indexes no spec names', () =>
    withTestDb('lifecycle_undeclared', async ({ db }) => {
      await db.collection('products').createIndexes([{ key: { sku: 1 } }, { key: { legacy: 1 } }]);
      const result = await createHelpers(await contextFor(db)).ensureIndexes('products', [{ key: { sku: 1 } }, { key: { price: 1 } }], { reportUndeclared: true });
      assert.deepEqual(result, { created: ['price_1'], modified: [], unchanged: ['sku_1'], undeclared: ['legacy_1'] });
    }));
});

const ACTIVE = [{ $match: { active: true } }, { $project: { _id: 0, sku: 1 } }];

void describe('views on the test server', () => {
  void it('creates, redefines (collMod) and drops a view where the server has views; a named error where it lacks them', () =>
    withTestDb('views', async ({ db }) => {
      await db.collection('products').insertMany([{ sku: 'a', active: true }, { sku: 'b', active: false }]);
      const ctx = await contextFor(db);
      const helpers = createHelpers(ctx);
      if (!ctx.server.supports('views')) {
        await rejectsWith(helpers.createView('active_products', 'products', ACTIVE), 'MIGRATION_FAILED', /createView\(active_products\) needs views \(create with viewOn and pipeline\) \[views\]/);
        assert.deepEqual(await helpers.dropView('active_products'), { dropped: false });
        assert.deepEqual((await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name), ['products']);
        return;
      }
      assert.deepEqual(await helpers.createView('active_products', 'products', ACTIVE), { created: true, redefined: false });
      assert.deepEqual(await db.collection('active_products').find().toArray(), [{ sku: 'a' }]);
      assert.deepEqual(await helpers.createView('active_products', 'products', ACTIVE), { created: false, redefined: false }, 'the pipeline as listed compares equal');
      assert.deepEqual(await helpers.createView('active_products', 'products', [{ $project: { _id: 0, sku: 1 } }]), { created: false, redefined: true });
      assert.deepEqual(await db.collection('active_products').find().sort({ sku: 1 }).toArray(), [{ sku: 'a' }, { sku: 'b' }]);
      await rejectsWith(helpers.createView('products', 'active_products', ACTIVE), 'MIGRATION_FAILED', /'products' is a collection, not a view/);
      await rejectsWith(helpers.dropView('products'), 'MIGRATION_FAILED', /dropView never drops a collection/);
      assert.equal(await db.collection('products').countDocuments(), 2);
      assert.deepEqual(await helpers.dropView('active_products'), { dropped: true });
      assert.deepEqual((await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name), ['products']);
    }));

  void it("keeps a view's collation, or refuses a server that does not keep it and leaves no view", async (t) => {
    await withTestDb('views_collation', async ({ db }) => {
      const helpers = createHelpers(await contextFor(db));
      const ctx = await contextFor(db);
      if (!ctx.server.supports('views')) {
        t.skip(`${ctx.server.describe()} lacks views`);
        return;
      }
      await db.collection('products').insertOne({ sku: 'a', active: true });
      const attempt = await outcome(helpers.createView('by_sku', 'products', ACTIVE, { collation: { locale: 'en', strength: 2 } }));
      if ('error' in attempt) {
        assert.match(attempt.error.message, /createView\(by_sku\): .* created the view without its collation \(it does not keep collations\); the view was dropped again/);
        t.diagnostic(attempt.error.message);
        assert.deepEqual((await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name), ['products']);
        return;
      }
      assert.deepEqual(attempt.value, { created: true, redefined: false });
      assert.deepEqual(await helpers.createView('by_sku', 'products', ACTIVE, { collation: { locale: 'en', strength: 2 } }), { created: false, redefined: false });
    });
  });
});
