// copyAndRename beside an application that keeps writing to the source: updates, inserts and deletes
// made at several moments of the copy (while batches are read, and during the catch-up passes) all
// reach the copy before the swap; a writer that never stops gets the copy refused (or, where the
// server can freeze the source, its late write refused). The moments are the transform's own calls,
// never timing: the transform is awaited, so what it writes has happened before the helper goes on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MongoServerError, type Db, type Document, type ObjectId } from 'mongodb';
import { createHelpers, leftoverCollections } from '../../src/helpers/index.ts';
import { freeze, validationOf } from '../../src/helpers/copy-freeze.ts';
import { compareIds } from '../../src/helpers/id-order.ts';
import { withTestDb } from '../support/database.ts';
import { contextFor, ids, rejectsWith } from '../support/helpers.ts';

const ORDERS = 300;
const BATCH = 50;
/** ObjectIds that sort before every seeded order: inserted behind the copy's cursor. */
const EARLY = ids(10, Math.floor(Date.UTC(2020, 0, 1) / 1000));
/** ObjectIds that sort after every seeded order. */
const LATE = ids(10, Math.floor(Date.UTC(2030, 0, 1) / 1000));

const orderOf = (_id: ObjectId, n: number, status = 'new'): Document => ({ _id, n, status, total: n * 3 });
const transform = (doc: Document): Document => ({ ...doc, total_cents: (doc.total as number) * 100, v: 2 });

async function optionsOf(db: Db, name: string): Promise<Document | undefined> {
  const [entry] = await db.listCollections({ name }, { nameOnly: false }).toArray();
  return entry?.options;
}

async function collectionNames(db: Db): Promise<string[]> {
  return (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
}

/** The application: every write it makes, applied to its own picture of the collection too. */
class Application {
  readonly expected = new Map<string, Document>();
  writes = 0;

  constructor(private readonly db: Db) {}

  async seed(keys: ObjectId[]): Promise<void> {
    const orders = keys.map((_id, n) => orderOf(_id, n));
    await this.db.collection('orders').insertMany(orders.map((o) => ({ ...o })));
    for (const order of orders) this.expected.set(String(order._id), order);
  }

  async update(_id: ObjectId, status: string): Promise<void> {
    await this.db.collection('orders').updateOne({ _id }, { $set: { status } });
    const order = this.expected.get(String(_id));
    assert.ok(order !== undefined);
    this.expected.set(String(_id), { ...order, status });
    this.writes++;
  }

  async delete(_id: ObjectId): Promise<void> {
    await this.db.collection('orders').deleteOne({ _id });
    this.expected.delete(String(_id));
    this.writes++;
  }

  async insert(_id: ObjectId, n: number): Promise<void> {
    await this.db.collection('orders').insertOne(orderOf(_id, n));
    this.expected.set(String(_id), orderOf(_id, n));
    this.writes++;
  }
}

void describe('copyAndRename() beside an application that keeps writing', () => {
  void it('carries every update, insert and delete made at several moments of the copy into it: none is lost', ({ name }) =>
    withTestDb('copy_writes', async ({ db }) => {
      const keys = ids(ORDERS);
      const app = new Application(db);
      await app.seed(keys);
      const at = (n: number): ObjectId => keys[n] as ObjectId;
      const calls = new Map<number, number>();
      const warnings: string[] = [];
      const logs: string[] = [];
      const ctx = await contextFor(db, { warn: (w) => warnings.push(w), log: (l) => logs.push(l) });

      const result = await createHelpers(ctx).copyAndRename('orders', {
        to: 'orders_v2',
        keepOriginalAs: 'orders_v1',
        batchSize: BATCH,
        transform: async (doc) => {
          const n = doc.n as number;
          const call = (calls.get(n) ?? 0) + 1;
          calls.set(n, call);
          if (n === 60 && call === 1) {
            // batch 2 is being transformed: orders 0-99 are read, 0-49 written to the copy
            await app.update(at(10), 'paid');
            await app.update(at(20), 'paid');
            await app.delete(at(30));
            await app.delete(at(31));
            await app.insert(EARLY[0] as ObjectId, 1000);
          }
          if (n === 160 && call === 1) {
            // batch 4: orders 0-199 are read
            await app.update(at(120), 'shipped');
            await app.update(at(5), 'shipped');
            await app.delete(at(130));
            await app.insert(EARLY[1] as ObjectId, 1001);
          }
          if (n === 10 && call === 2) {
            // the first catch-up pass carries order 10 over: behind it (order 3, an early insert) and ahead of it
            await app.update(at(3), 'refunded');
            await app.update(at(290), 'refunded');
            await app.delete(at(280));
            await app.insert(EARLY[2] as ObjectId, 1002);
            await app.insert(LATE[0] as ObjectId, 1003);
          }
          return transform(doc);
        },
      });

      const kept = await db.collection('orders_v1').find({}).sort({ _id: 1 }).toArray();
      const copy = await db.collection('orders_v2').find({}).sort({ _id: 1 }).toArray();
      const expected = [...app.expected.values()].sort((a, b) => String(a._id).localeCompare(String(b._id)));
      assert.deepEqual(kept, expected, 'the original, kept, has every write the application made');
      const wanted = new Map(expected.map((doc) => [String(doc._id), transform(doc)]));
      const lost =
        [...wanted].filter(([id, doc]) => JSON.stringify(copy.find((c) => String(c._id) === id)) !== JSON.stringify(doc)).length +
        copy.filter((doc) => !wanted.has(String(doc._id))).length;
      process.stderr.write(`# ${name}: written during the copy ${app.writes}, carried over ${result.carriedOver}, lost ${lost} (${ctx.server.describe()})\n`);
      assert.equal(lost, 0, 'no write is lost');
      assert.deepEqual(copy, expected.map(transform));
      assert.equal(app.writes, 14);
      assert.deepEqual(result, { matched: expected.length, copied: expected.length, carriedOver: app.writes });
      assert.deepEqual(await collectionNames(db), ['orders_v1', 'orders_v2'], 'no temporary collections left');
      assert.match(logs.join('\n'), /14 written during the copy and carried over \(\d catch-up passes/);
      if (ctx.server.supports('validators')) {
        assert.match(logs.join('\n'), /inserts and updates to 'orders' refused for \d+\.\d s around the swap/);
        // (collMod leaves an empty validator listed, with the default level and action: the same validation)
        assert.deepEqual(validationOf(await optionsOf(db, 'orders_v1')), validationOf({}), 'the kept original refuses nothing any more');
      } else {
        assert.match(warnings.join('\n'), /writes to 'orders' in the last \d+\.\d s before the swap .* could not be refused, since .* cannot set a validator \(collMod\): a write in that moment is lost/);
      }
    }));

  void it('carries writes over for _ids of mixed BSON types, in the order the server sorts them', () =>
    withTestDb('copy_writes_mixed', async ({ db }) => {
      const keys: unknown[] = [3, 1.5, -7, 'b', 'a', 'é', 'zz', { k: 1 }, { k: 2 }, ...ids(4), false, true, new Date(0), new Date(1)];
      const coll = db.collection('mixed');
      await coll.insertMany(keys.map((_id, n): Document => ({ _id, n, status: 'new', total: n })));
      // the order the catch-up walks by is the server's, for every kind it compares
      const order = (await coll.find({}).sort({ _id: 1 }).toArray()).map((doc) => doc._id as unknown);
      const known = order.filter((id) => compareIds(id, id) !== undefined);
      assert.deepEqual([...known].sort((a, b) => compareIds(a, b) ?? 0), known);
      let writes = 0;
      const write = async (op: Promise<unknown>): Promise<void> => {
        await op;
        writes++;
      };
      const calls = new Map<unknown, number>();
      const result = await createHelpers(await contextFor(db)).copyAndRename('mixed', {
        to: 'mixed_v2',
        keepOriginalAs: 'mixed_v1',
        batchSize: 3,
        transform: async (doc) => {
          const call = (calls.get(doc.n) ?? 0) + 1;
          calls.set(doc.n, call);
          const id: unknown = doc._id;
          if (id === 'zz' && call === 1) {
            await write(coll.updateOne({ _id: 1.5 } as Document, { $set: { status: 'paid' } }));
            await write(coll.deleteOne({ _id: 'b' } as Document));
            await write(coll.insertOne({ _id: -10, n: 100, status: 'new', total: 1 } as Document));
            await write(coll.insertOne({ _id: 'aa', n: 101, status: 'new', total: 1 } as Document));
            await write(coll.updateOne({ _id: { k: 2 } }, { $set: { status: 'paid' } }));
            await write(coll.deleteOne({ _id: true } as Document));
          }
          if (id === 1.5 && call === 2) {
            await write(coll.updateOne({ _id: -7 } as Document, { $set: { status: 'late' } }));
            await write(coll.insertOne({ _id: { k: 0 }, n: 102, status: 'new', total: 1 } as Document));
            await write(coll.deleteOne({ _id: new Date(1) }));
          }
          return transform(doc);
        },
      });
      const kept = await db.collection('mixed_v1').find({}).sort({ _id: 1 }).toArray();
      assert.deepEqual(await db.collection('mixed_v2').find({}).sort({ _id: 1 }).toArray(), kept.map(transform));
      assert.equal(writes, 9);
      assert.deepEqual(result, { matched: kept.length, copied: kept.length, carriedOver: writes });
    }));

  void it('a writer that never lets a pass come out clean: its late write is refused where the source can be frozen, else the copy is refused and both kept', () =>
    withTestDb('copy_writes_busy', async ({ db }) => {
      const keys = ids(40);
      const app = new Application(db);
      await app.seed(keys);
      const ctx = await contextFor(db);
      const refused: unknown[] = [];
      let bumps = 0;
      // every time order 0 is transformed, the application changes it again
      const busy = async (doc: Document): Promise<Document> => {
        if (doc.n === 0) {
          try {
            await app.update(keys[0] as ObjectId, `bump ${++bumps}`);
          } catch (error) {
            refused.push(error);
          }
        }
        return transform(doc);
      };
      const helpers = createHelpers(ctx);
      if (ctx.server.supports('validators')) {
        const result = await helpers.copyAndRename('orders', { to: 'orders_v2', keepOriginalAs: 'orders_v1', batchSize: 10, transform: busy });
        assert.equal(refused.length, 1, 'the write while the source was frozen failed in the application');
        assert.ok(refused[0] instanceof MongoServerError && refused[0].code === 121, `DocumentValidationFailure: ${String(refused[0])}`);
        assert.equal(result.carriedOver, bumps - 1);
        assert.equal((await db.collection('orders_v2').findOne({ n: 0 }))?.status, `bump ${bumps - 1}`, 'the last accepted write is in the copy');
        await db.collection('orders_v1').insertOne({ n: -1 });
        return;
      }
      await rejectsWith(
        helpers.copyAndRename('orders', { to: 'orders_v2', batchSize: 10, transform: busy }),
        'MIGRATION_FAILED',
        /writers kept changing 'orders' while it was copied: each of 6 catch-up passes found documents to carry over \(1, 1, 1, 1, 1, 1\)\. Nothing was swapped: 'orders' is unchanged and the copy is kept to inspect/,
      );
      assert.deepEqual(await collectionNames(db), ['_mongrate_sums_orders_v2', '_mongrate_tmp_orders_v2', 'orders']);
      assert.deepEqual(await leftoverCollections(db), [
        { name: '_mongrate_sums_orders_v2', kind: 'copy', collection: 'orders_v2' },
        { name: '_mongrate_tmp_orders_v2', kind: 'copy', collection: 'orders_v2' },
      ]);
      // quiet again: the next run drops the leftovers and copies
      assert.deepEqual(await helpers.copyAndRename('orders', { to: 'orders_v2', transform }), { matched: 40, copied: 40, carriedOver: 0 });
      assert.deepEqual(await collectionNames(db), ['orders_v2']);
    }));

  void it('a source left frozen by a copy that stopped gets its validator back on the next run', async (t) => {
    await withTestDb('copy_writes_thaw', async ({ db }) => {
      const ctx = await contextFor(db);
      if (!ctx.server.supports('validators')) {
        t.skip(`${ctx.server.describe()} lacks collection validators (collMod): a source is never frozen there`);
        return;
      }
      const validator = { $jsonSchema: { bsonType: 'object', properties: { n: { bsonType: 'int' } } } };
      await db.createCollection('orders', { validator, validationLevel: 'moderate', validationAction: 'warn' });
      await db.collection('orders').insertMany(ids(5).map((_id, n) => orderOf(_id, n)));
      const before = await optionsOf(db, 'orders');
      // what a crash between the freeze and the swap leaves
      const frozen = await freeze(ctx, db, 'orders', validationOf(before));
      assert.ok(!('reason' in frozen));
      await assert.rejects(db.collection('orders').insertOne({ n: 9 }), (error: unknown) => error instanceof MongoServerError && error.code === 121);
      const warnings: string[] = [];
      await createHelpers({ ...ctx, warn: (w) => warnings.push(w) }).copyAndRename('orders', { to: 'orders_v2', keepOriginalAs: 'orders_v1', transform });
      assert.match(warnings.join('\n'), /'orders' was left refusing writes by a copy that stopped; its validator is restored/);
      for (const name of ['orders_v1', 'orders_v2']) assert.deepEqual(await optionsOf(db, name), before, name);
    });
  });
});
