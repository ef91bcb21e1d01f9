// The document-writing helpers change exactly what the transform changed: BSON types kept at any
// depth (reshape, bumpSchemaVersion, copyAndRename, with a function and with a spec), `undefined` as
// no field, regular expressions with their flags, and writes of very large values within the
// server's size limit.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Binary, BSON, BSONRegExp, Decimal128, Double, Int32, Long, Timestamp, type Db, type Document } from 'mongodb';
import { createHelpers, type HelperContext } from '../../src/helpers/index.ts';
import { withTestDb } from '../support/database.ts';
import { contextFor, ids } from '../support/helpers.ts';

/** Every BSON type kept, regexes as BSONRegExp. */
const AS_STORED = { promoteValues: false, promoteLongs: false, promoteBuffers: false, bsonRegExp: true } as const;

/** A typed profile; Decimal128 only where the server can store it (FerretDB 1.x cannot). */
function typedUser(n: number, decimals: boolean): Document {
  return {
    n,
    top: Long.fromNumber(7),
    profile: {
      logins: Long.fromNumber(5),
      score: new Double(2),
      small: new Int32(3),
      ...(decimals ? { price: Decimal128.fromString('1.50') } : {}),
      uuid: new Binary(Buffer.alloc(16, n), 4),
      seen: new Timestamp({ t: 1700000000, i: n + 1 }),
      pattern: new BSONRegExp('^a b # spaced$', 'xs'),
      tags: [Long.fromNumber(1), new Double(2)],
      name: `user ${n}`,
    },
    legacy: 'x',
    nested: { keep: new Double(1), drop: 'me' },
  };
}

/** Type names of the profile's values and what else the helper was asked to change. */
async function typesAfter(db: Db, name: string): Promise<Document[]> {
  const docs = await db.collection(name).find({}, AS_STORED).sort({ _id: 1 }).toArray();
  return docs.map((doc) => {
    const profile = doc.profile as Document;
    const bsonType = (value: unknown): string => (value as { _bsontype?: string } | null)?._bsontype ?? typeof value;
    return {
      top: bsonType(doc.top),
      profile: Object.fromEntries(Object.entries(profile).map(([key, value]) => [key, Array.isArray(value) ? (value as unknown[]).map(bsonType) : bsonType(value)])),
      flags: (profile.pattern as BSONRegExp).options,
      legacy: 'legacy' in doc,
      nested: doc.nested as unknown,
    };
  });
}

function expectedTypes(decimals: boolean, renamed: string): Document {
  return {
    top: 'Long',
    profile: {
      logins: 'Long',
      score: 'Double',
      small: 'Int32',
      ...(decimals ? { price: 'Decimal128' } : {}),
      uuid: 'Binary',
      seen: 'Timestamp',
      pattern: 'BSONRegExp',
      tags: ['Long', 'Double'],
      name: 'string',
      ...(renamed === '' ? {} : { [renamed]: 'Long' }),
    },
    flags: 'sx',
    legacy: false,
    nested: { keep: new Double(1) },
  };
}

/** Changes one field inside `profile`, removes `legacy` and `nested.drop` by setting them undefined. */
const touchProfile = (doc: Document): Document => ({
  ...doc,
  profile: { ...(doc.profile as Document), name: String((doc.profile as Document).name).toUpperCase() },
  legacy: undefined,
  nested: { ...(doc.nested as Document), drop: undefined },
});

async function seed(db: Db, name: string, ctx: HelperContext, extra: Document = {}): Promise<boolean> {
  const decimals = ctx.server.flavour !== 'ferretdb';
  await db.collection(name).insertMany(ids(4).map((_id, n) => ({ _id, ...typedUser(n, decimals), ...extra })));
  return decimals;
}

void describe('BSON types at any depth', () => {
  void it('reshape with a function keeps every untouched value inside a changed sub-document, and undefined removes fields', () =>
    withTestDb('types_reshape', async ({ db }) => {
      const ctx = await contextFor(db);
      const decimals = await seed(db, 'users', ctx);
      assert.deepEqual(await createHelpers(ctx).reshape('users', { transform: touchProfile }), { matched: 4, modified: 4, deleted: 0 });
      for (const doc of await typesAfter(db, 'users')) assert.deepEqual(doc, expectedTypes(decimals, ''));
      assert.equal(await db.collection('users').countDocuments({ legacy: { $exists: true } }), 0, 'undefined is no field, never null');
      assert.equal(await db.collection('users').countDocuments({ 'profile.name': 'USER 1' }), 1);
    }));

  void it('bumpSchemaVersion keeps them too, with a function and with a spec that moves a Long', () =>
    withTestDb('types_bump', async ({ db }) => {
      const ctx = await contextFor(db);
      const decimals = await seed(db, 'users', ctx, { schema_version: 1, visits: Long.fromNumber(9) });
      const helpers = createHelpers(ctx);
      await helpers.bumpSchemaVersion('users', { to: 2, transform: touchProfile });
      for (const doc of await typesAfter(db, 'users')) assert.deepEqual(doc, expectedTypes(decimals, ''));
      // the batched path of a spec (throttled, so never server-side): a renamed Long stays a Long
      await helpers.bumpSchemaVersion('users', { to: 3, transform: { rename: { visits: 'profile.visits' } }, pauseMs: 1 });
      for (const doc of await typesAfter(db, 'users')) assert.deepEqual(doc, expectedTypes(decimals, 'visits'));
      const raw = await db.collection('users').findOne({}, AS_STORED);
      assert.ok(raw?.schema_version instanceof Int32);
    }));

  void it('copyAndRename keeps them in the copy, and the kept original is the original to the byte', () =>
    withTestDb('types_copy', async ({ db }) => {
      const ctx = await contextFor(db);
      const decimals = await seed(db, 'users', ctx);
      const before = await db.collection('users').find({}, AS_STORED).sort({ _id: 1 }).toArray();
      await createHelpers(ctx).copyAndRename('users', { to: 'people', keepOriginalAs: 'users_v1', transform: touchProfile });
      for (const doc of await typesAfter(db, 'people')) assert.deepEqual(doc, expectedTypes(decimals, ''));
      assert.deepEqual(await db.collection('users_v1').find({}, AS_STORED).sort({ _id: 1 }).toArray(), before);
      // a spec moving a value: it keeps its type in the copy
      await createHelpers(ctx).copyAndRename('users_v1', { to: 'moved', transform: { rename: { top: 'profile.top' }, unset: ['legacy'] } });
      const moved = await db.collection('moved').findOne({}, AS_STORED);
      assert.ok((moved?.profile as Document).top instanceof Long);
    }));

  void it('the driver classes write a type on purpose; a JavaScript number is written as the number it is', () =>
    withTestDb('types_given', async ({ db }) => {
      await db.collection('c').insertOne({ _id: ids(1)[0], a: new Double(1), b: Long.fromNumber(1) });
      await createHelpers(await contextFor(db)).reshape('c', { transform: (doc) => ({ ...doc, a: 2, b: Long.fromNumber(2), c: new Double(3), d: new Int32(4) }) });
      const doc = await db.collection('c').findOne({}, AS_STORED);
      assert.ok(doc?.a instanceof Int32 && doc.b instanceof Long && doc.c instanceof Double && doc.d instanceof Int32);
    }));
});

void describe('writes near the size limit', () => {
  const MB = 1024 * 1024;

  void it('changes a 9 MB field: the condition compares it by re-reading it, not by carrying it beside the new value', () =>
    withTestDb('size_field', async ({ db }) => {
      const [id] = ids(1);
      await db.collection('files').insertOne({ _id: id, n: 1, blob: 'a'.repeat(9 * MB) });
      const result = await createHelpers(await contextFor(db)).reshape('files', { transform: (doc) => ({ ...doc, blob: 'b'.repeat(9 * MB), n: 2 }) });
      assert.deepEqual(result, { matched: 1, modified: 1, deleted: 0 });
      const after = await db.collection('files').findOne({ _id: id });
      assert.equal(after?.n, 2);
      assert.equal(after.blob, 'b'.repeat(9 * MB));
    }));

  void it('a large field another writer changed after the read is read again and transformed from its new value', () =>
    withTestDb('size_changed', async ({ db }) => {
      const [id] = ids(1);
      await db.collection('files').insertOne({ _id: id, blob: 'a'.repeat(2 * MB) });
      const seen: string[] = [];
      await createHelpers(await contextFor(db)).reshape('files', {
        transform: async (doc) => {
          const blob = String(doc.blob);
          seen.push(blob.slice(0, 1));
          if (seen.length === 1) await db.collection('files').updateOne({ _id: id }, { $set: { blob: 'c'.repeat(2 * MB) } });
          return { ...doc, blob: blob.toUpperCase() };
        },
      });
      assert.deepEqual(seen, ['a', 'c'], 'the application write was seen, not overwritten');
      assert.equal((await db.collection('files').findOne({ _id: id }))?.blob, 'C'.repeat(2 * MB));
    }));

  void it('deletes a document near 16 MB: its condition stays within the limit', () =>
    withTestDb('size_delete', async ({ db }) => {
      const [id] = ids(1);
      // 2000 fields of 8 KB and a pad: the document is 2 KB under the 16 MiB limit, a condition on
      // each of its fields (an `$eq` around every value) 18 KB over it
      const fields: Document = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`f${i}`, 'x'.repeat(8 * 1024 - 8)]));
      const size = BSON.calculateObjectSize({ _id: id, ...fields, pad: '' });
      await db.collection('files').insertOne({ _id: id, ...fields, pad: 'p'.repeat(16 * MB - 2048 - size) });
      const result = await createHelpers(await contextFor(db)).reshape('files', { transform: () => 'delete' });
      assert.deepEqual(result, { matched: 1, modified: 0, deleted: 1 });
      assert.equal(await db.collection('files').countDocuments(), 0);
    }));
});
