// The query, update and catalog commands of the scripted replica set, with MongoDB's results:
// operators on dotted paths and arrays, update operators and upserts, write errors with
// `ordered`, collection options, renames, collMod and index conflicts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BSONRegExp, MongoBulkWriteError, MongoServerError, type Document } from 'mongodb';
import { scriptedSet } from './fixtures.ts';

type Doc = { _id: number } & Document;

const ids = (documents: Document[]): unknown[] => documents.map((d) => d._id as unknown);

void describe('queries, updates and the catalog on the scripted replica set', () => {
  void it('matches operators on dotted paths and arrays as MongoDB does', async (t) => {
    const { client } = await scriptedSet(t);
    const docs = client.db('app').collection<Doc>('docs');
    await docs.insertMany([
      { _id: 1, name: 'Ada', tags: ['a', 'b'], scores: [{ s: 3 }, { s: 9 }], nested: { deep: 1 } },
      { _id: 2, name: 'bob', tags: [], scores: [{ s: 5 }], nested: null },
      { _id: 3, name: 'Cy', tags: ['b'], n: 2.5 },
    ]);
    const find = async (filter: Document): Promise<unknown[]> => ids(await docs.find(filter).toArray());
    assert.deepEqual(await find({ tags: 'b' }), [1, 3], 'an array matches on an element');
    assert.deepEqual(await find({ tags: ['b'] }), [3], 'or as a whole');
    assert.deepEqual(await find({ 'scores.s': { $gt: 4 } }), [1, 2], 'through arrays of documents');
    assert.deepEqual(await find({ scores: { $elemMatch: { s: { $gte: 3, $lt: 5 } } } }), [1]);
    assert.deepEqual(await find({ tags: { $size: 0 } }), [2]);
    assert.deepEqual(await find({ 'nested.deep': null }), [2, 3], 'null matches missing');
    assert.deepEqual(await find({ nested: { $exists: true } }), [1, 2]);
    assert.deepEqual(await find({ name: { $regex: '^[ab]', $options: 'i' } }), [1, 2]);
    assert.deepEqual(await find({ name: new BSONRegExp('^c', 'i') }), [3]);
    assert.deepEqual(await find({ name: { $not: /^A/ } }), [2, 3]);
    assert.deepEqual(await find({ n: { $type: 'double' } }), [3]);
    assert.deepEqual(await find({ $nor: [{ _id: 1 }, { tags: { $in: ['b'] } }] }), [2]);
    assert.deepEqual(await find({ _id: { $nin: [1, 2] }, name: { $ne: 'x' } }), [3]);
    assert.deepEqual(ids(await docs.find({}).sort({ 'scores.s': -1, _id: 1 }).skip(1).limit(1).toArray()), [2], 'an array sorts by its largest element descending');
    assert.deepEqual(await docs.findOne({ _id: 1 }, { projection: { 'scores.s': 1, name: 1, _id: 0 } }), { name: 'Ada', scores: [{ s: 3 }, { s: 9 }] });
    assert.deepEqual(await docs.findOne({ _id: 1 }, { projection: { scores: 0, tags: 0, nested: 0 } }), { _id: 1, name: 'Ada' });
  });

  void it('applies update operators, array filters, upserts and replacements, keeping _id', async (t) => {
    const { client } = await scriptedSet(t);
    const docs = client.db('app').collection<Doc>('docs');
    await docs.insertOne({ _id: 1, a: 1, b: 5, list: [1, 2, 3, 2], grades: [70, 90], old: 'x' });
    const operators: Document = {
      $inc: { a: 2 },
      $min: { b: 3 },
      $max: { c: 7 },
      $pull: { list: 2 },
      $push: { more: { $each: [1, 2] } },
      $rename: { old: 'renamed' },
      $currentDate: { at: true },
      $set: { 'x.y': 1 },
      $unset: { gone: '' },
    };
    await docs.updateOne({ _id: 1 }, operators);
    await docs.updateOne({ _id: 1 }, { $set: { 'grades.$[g]': 100 } }, { arrayFilters: [{ g: { $gte: 80 } }] });
    const updated = await docs.findOne({ _id: 1 });
    assert.ok(updated?.at instanceof Date);
    assert.deepEqual({ ...updated, at: undefined }, { _id: 1, a: 3, b: 3, list: [1, 3], grades: [70, 100], renamed: 'x', c: 7, more: [1, 2], at: undefined, x: { y: 1 } });

    const upsert = await docs.updateOne({ _id: 2, kind: 'new' }, { $set: { n: 1 }, $setOnInsert: { created: true } }, { upsert: true });
    assert.equal(upsert.upsertedId, 2);
    assert.deepEqual(await docs.findOne({ _id: 2 }), { _id: 2, kind: 'new', n: 1, created: true });
    await docs.replaceOne({ _id: 2 }, { replaced: true });
    assert.deepEqual(await docs.findOne({ _id: 2 }), { _id: 2, replaced: true });
    const immutable = await docs.updateOne({ _id: 2 }, { $set: { _id: 3 } }).catch((e: unknown) => e);
    assert.ok(immutable instanceof MongoServerError && immutable.code === 66, String(immutable));
  });

  void it('reports write errors per statement: ordered stops at the first, unordered goes on', async (t) => {
    const { client } = await scriptedSet(t);
    const docs = client.db('app').collection<Doc>('docs');
    const ordered = await docs.insertMany([{ _id: 1 }, { _id: 1 }, { _id: 2 }]).catch((e: unknown) => e);
    assert.ok(ordered instanceof MongoBulkWriteError);
    assert.deepEqual([ordered.insertedCount, [ordered.writeErrors].flat().map((e) => [e.index, e.code])], [1, [[1, 11000]]]);
    const unordered = await docs.insertMany([{ _id: 1 }, { _id: 3 }, { _id: 1 }], { ordered: false }).catch((e: unknown) => e);
    assert.ok(unordered instanceof MongoBulkWriteError);
    assert.deepEqual([unordered.writeErrors].flat().map((e) => e.index), [0, 2]);
    assert.deepEqual(ids(await docs.find({}).toArray()), [1, 3]);
  });

  void it('keeps collection options, renames with dropTarget, changes validators and hides indexes with collMod', async (t) => {
    const { client } = await scriptedSet(t);
    const db = client.db('app');
    const validator = { $jsonSchema: { required: ['name'] } };
    await db.createCollection('products', { validator, validationLevel: 'moderate' });
    await db.createCollection('other');
    const [entry] = await db.listCollections({ name: 'products' }, { nameOnly: false }).toArray();
    assert.deepEqual(entry?.options, { validator, validationLevel: 'moderate' });
    assert.deepEqual(await db.listCollections({}, { nameOnly: true }).toArray(), [{ name: 'products', type: 'collection' }, { name: 'other', type: 'collection' }]);
    const exists = await db.createCollection('other').catch((e: unknown) => e);
    assert.ok(exists instanceof MongoServerError && exists.code === 48);

    await db.collection('products').createIndexes([{ key: { name: 1 }, name: 'name_1' }]);
    await db.command({ collMod: 'products', validationAction: 'warn', index: { name: 'name_1', hidden: true } });
    const conflict = await db.collection('products').createIndexes([{ key: { other: 1 }, name: 'name_1' }]).catch((e: unknown) => e);
    assert.ok(conflict instanceof MongoServerError && conflict.code === 86, String(conflict));

    await db.renameCollection('products', 'other', { dropTarget: true });
    const [renamed] = await db.listCollections({ name: 'other' }, { nameOnly: false }).toArray();
    assert.equal(renamed?.options?.validationAction, 'warn');
    assert.deepEqual((await db.collection('other').listIndexes().toArray()).map((i: Document) => [i.name as unknown, i.hidden as unknown]), [['_id_', undefined], ['name_1', true]]);
    const missing = await db.renameCollection('products', 'x').catch((e: unknown) => e);
    assert.ok(missing instanceof MongoServerError && missing.code === 26);
    assert.deepEqual((await client.db('admin').admin().listDatabases({ nameOnly: true })).databases.map((d) => d.name), ['app']);
  });
});
