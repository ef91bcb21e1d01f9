// copyAndRename on a MongoDB replica set, where the local servers cannot show it: the simple
// collation made explicit for indexes listIndexes lists without one on a collated collection, Atlas
// Search indexes refused by name, the source frozen (collMod) for the last pass and the swap and
// thawed under its kept name, and the notice that the rename ends change streams. The scripted set
// stores collations and validators without applying them, so what is checked is what mongrate sends.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Long, type Document } from 'mongodb';
import { createHelpers } from '../../src/helpers/index.ts';
import { probeServer } from '../../src/server/capabilities.ts';
import { rejectsWith } from '../support/helpers.ts';
import type { RecordedCommand } from '../support/scripted-replica-set/index.ts';
import { scriptedSet } from './fixtures.ts';

const DB = 'shop';
const cursorReply = (collection: string, batch: Document[]): Document => ({ cursor: { id: Long.ZERO, ns: `${DB}.${collection}`, firstBatch: batch }, ok: 1 });

void describe('copyAndRename() on a MongoDB replica set (scripted)', () => {
  void it('rebuilds an index listed without a collation, on a collated collection, with the simple collation made explicit', async (t) => {
    const { rs, client } = await scriptedSet(t);
    const db = client.db(DB);
    await db.createCollection('users', { collation: { locale: 'en', strength: 2 } });
    await db.collection('users').insertMany([{ _id: 1, sku: 'A1', name: 'x' }, { _id: 2, sku: 'a1', name: 'y' }] as Document[]);
    // as MongoDB lists them: no collation for the indexes built with the simple one
    rs.script({ name: 'listIndexes', collection: 'users' }, {
      reply: cursorReply('users', [
        { v: 2, key: { _id: 1 }, name: '_id_', collation: { locale: 'en', strength: 2 } },
        { v: 2, key: { sku: 1 }, name: 'sku_1', unique: true },
        { v: 2, key: { _fts: 'text', _ftsx: 1 }, name: 'name_text', weights: { name: 1 }, default_language: 'english', language_override: 'language', textIndexVersion: 3 },
        { v: 2, key: { name: 1 }, name: 'name_1', collation: { locale: 'en', strength: 2 } },
      ]),
    });
    const ctx = { db, server: await probeServer(db), dryRun: false };
    await createHelpers(ctx).copyAndRename('users', { to: 'people' });
    const [build] = rs.recorded({ name: 'createIndexes', collection: '_mongrate_tmp_people' });
    // (as recorded, numbers keep their BSON types: compared as JSON)
    const collations: unknown = JSON.parse(JSON.stringify(((build?.command.indexes ?? []) as Document[]).map((index) => [index.name as unknown, index.collation as unknown])));
    assert.deepEqual(collations, [
      ['sku_1', { locale: 'simple' }],
      ['name_text', { locale: 'simple' }],
      ['name_1', { locale: 'en', strength: 2 }],
    ]);
  });

  void it('refuses a collection with Atlas Search indexes, naming them, before anything is copied', async (t) => {
    const { rs, client } = await scriptedSet(t);
    const db = client.db(DB);
    await db.collection('products').insertMany([{ _id: 1, name: 'p' }] as Document[]);
    rs.script(
      { name: 'aggregate', collection: 'products', when: (c) => JSON.stringify(c.command.pipeline).includes('$listSearchIndexes') },
      { reply: cursorReply('products', [{ id: 'a', name: 'default', status: 'READY' }, { id: 'b', name: 'by_vector', type: 'vectorSearch', status: 'READY' }]) },
    );
    const helpers = createHelpers({ db, server: await probeServer(db), dryRun: false });
    await rejectsWith(
      helpers.copyAndRename('products', { to: 'products_v2' }),
      'MIGRATION_FAILED',
      /'products' has Atlas Search indexes \(default, by_vector \(vector search\)\), which are not in listIndexes: the copy would not get them and the swap would drop them\. Nothing was copied/,
    );
    assert.deepEqual(rs.recorded({ name: ['create', 'insert', 'renameCollection'] }).filter((c) => c.collection !== 'products'), [], 'nothing created, copied or renamed');
  });

  void it('freezes the source for the last pass and the swap, thaws it under its kept name, and says that change streams ended', async (t) => {
    const { rs, client } = await scriptedSet(t);
    const db = client.db(DB);
    const validator = { $jsonSchema: { bsonType: 'object', required: ['n'] } };
    await db.createCollection('orders', { validator, validationLevel: 'moderate' });
    await db.collection('orders').insertMany([{ _id: 1, n: 1 }, { _id: 2, n: 2 }] as Document[]);
    const warnings: string[] = [];
    const helpers = createHelpers({ db, server: await probeServer(db), dryRun: false, warn: (w) => warnings.push(w) });
    rs.clearCommands();
    assert.deepEqual(await helpers.copyAndRename('orders', { to: 'orders_v2', keepOriginalAs: 'orders_v1' }), { matched: 2, copied: 2, carriedOver: 0 });
    const steps = rs
      .recorded({ name: ['collMod', 'renameCollection', 'find'] })
      .map((c: RecordedCommand) => `${c.name} ${c.name === 'renameCollection' ? String(c.command.to) : (c.collection ?? '')}`);
    // the copy's read, a pass, the freeze, a pass frozen, the swap, the original kept and thawed
    assert.deepEqual(steps, [
      'find orders',
      'find orders',
      'find _mongrate_sums_orders_v2',
      'collMod orders',
      'find orders',
      'find _mongrate_sums_orders_v2',
      `renameCollection ${DB}.orders_v2`,
      `renameCollection ${DB}.orders_v1`,
      'collMod orders_v1',
    ]);
    const [freeze, thaw] = rs.recorded({ name: 'collMod' }).map((c) => c.command);
    assert.deepEqual(freeze?.validator as unknown, { $and: [{ _mongrate_frozen_for_copy: { $exists: true } }, { _mongrate_frozen_for_copy_was: { $in: ['moderate', 'error'] } }, validator] });
    assert.ok(freeze !== undefined && thaw !== undefined);
    assert.deepEqual([freeze.validationLevel, freeze.validationAction], ['strict', 'error']);
    assert.deepEqual([thaw.validator, thaw.validationLevel, thaw.validationAction], [validator, 'moderate', 'error']);
    assert.deepEqual(warnings, ["copyAndRename(orders -> orders_v2): the rename ended the change streams on 'orders_v2' (an Atlas Trigger on it stops): resume them on the new collection"]);
  });
});
