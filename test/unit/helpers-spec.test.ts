// Unit tests of the helpers' pure parts: the declarative spec (JS application and server plan), index naming
// and the count beside the work.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ObjectId } from 'mongodb';
import { countBeside } from '../../src/helpers/context.ts';
import { MongrateError } from '../../src/errors.ts';
import { copyableIndexes, defaultIndexName } from '../../src/helpers/indexes.ts';
import { applySpec, checkSpec, serverPlan } from '../../src/helpers/spec.ts';
import type { HelperContext, ReshapeSpec } from '../../src/helpers/types.ts';

const id = new ObjectId('66f1a2b3c4d5e6f708192a3b');
const when = new Date('2024-01-02T03:04:05Z');

void describe('applySpec()', () => {
  void it('applies rename, unset, set, then defaults where missing, without touching the input', () => {
    const original = { _id: id, email: 'a@x', bio: 'hi', avatar: 'a.png', old_field: 1, preferences: { theme: 'dark' } };
    const spec: ReshapeSpec = {
      rename: { bio: 'profile.bio', avatar: 'profile.avatar_url' },
      unset: ['old_field'],
      set: { updated_at: when, schema_version: 2 },
      setDefaults: { preferences: {}, created_at: when, 'settings.theme': 'light' },
    };
    const result = applySpec(spec, original);
    assert.deepEqual(result, {
      _id: id,
      email: 'a@x',
      profile: { bio: 'hi', avatar_url: 'a.png' },
      preferences: { theme: 'dark' },
      updated_at: when,
      schema_version: 2,
      created_at: when,
      settings: { theme: 'light' },
    });
    assert.deepEqual(original, { _id: id, email: 'a@x', bio: 'hi', avatar: 'a.png', old_field: 1, preferences: { theme: 'dark' } });
  });

  void it('renames like $rename: a missing source is a no-op, an existing target is overwritten', () => {
    assert.deepEqual(applySpec({ rename: { a: 'b' } }, { _id: 1, b: 'kept' }), { _id: 1, b: 'kept' });
    assert.deepEqual(applySpec({ rename: { a: 'b' } }, { _id: 1, a: 'new', b: 'old' }), { _id: 1, b: 'new' });
    assert.deepEqual(applySpec({ rename: { 'x.y': 'z' } }, { _id: 1, x: { y: 1, w: 2 } }), { _id: 1, x: { w: 2 }, z: 1 });
  });

  void it('keeps the original nested objects unchanged when changing paths inside them', () => {
    const original = { _id: 1, profile: { bio: 'a' } };
    const result = applySpec({ set: { 'profile.bio': 'b' }, unset: ['profile.x'] }, original);
    assert.deepEqual(result, { _id: 1, profile: { bio: 'b' } });
    assert.deepEqual(original, { _id: 1, profile: { bio: 'a' } });
  });

  void it('refuses to create a field inside a value that is not a sub-document, like MongoDB', () => {
    assert.throws(() => applySpec({ set: { 'a.b': 1 } }, { _id: 1, a: 5 }), /cannot set 'a\.b': 'a' holds a value/);
    assert.throws(() => applySpec({ set: { 'a.b': 1 } }, { _id: 1, a: [1] }), /holds an array/);
    // unsetting below a scalar is a no-op, as in MongoDB
    assert.deepEqual(applySpec({ unset: ['a.b'] }, { _id: 1, a: 5 }), { _id: 1, a: 5 });
  });
});

void describe('checkSpec()', () => {
  const bad: [ReshapeSpec, RegExp][] = [
    [{ set: { '': 1 } }, /is not a field path/],
    [{ set: { 'a..b': 1 } }, /is not a field path/],
    [{ unset: ['$x'] }, /starting with '\$'/],
    [{ set: { _id: 1 } }, /would change _id/],
    [{ rename: { _id: 'x' } }, /would change _id/],
    [{ rename: { a: 'a' } }, /renamed to itself/],
    [{ sett: {} } as ReshapeSpec, /unknown spec key 'sett'/],
  ];
  for (const [spec, message] of bad) {
    void it(`refuses ${JSON.stringify(spec)} as a usage error`, () => {
      assert.throws(() => checkSpec(spec, 'reshape(users)'), (error: unknown) => error instanceof MongrateError && error.code === 'USAGE' && message.test(error.message));
    });
  }
});

void describe('serverPlan()', () => {
  void it('turns a conflict-free spec into per-default updates, a move per rename into a sub-document, and one combined update', () => {
    const plan = serverPlan(
      { rename: { bio: 'profile.bio', nick: 'alias' }, unset: ['old'], set: { v: 2 }, setDefaults: { prefs: {}, 'settings.theme': 'light' } },
      { v: { $ne: 2 } },
    );
    assert.deepEqual(plan, {
      defaults: [
        { filter: { v: { $ne: 2 }, prefs: { $exists: false } }, update: { $set: { prefs: {} } } },
        { filter: { v: { $ne: 2 }, 'settings.theme': { $exists: false } }, update: { $set: { 'settings.theme': 'light' } } },
      ],
      // DocumentDB's combined update would create profile: {} where bio is missing
      moves: [{ filter: { v: { $ne: 2 }, bio: { $exists: true } }, update: { $rename: { bio: 'profile.bio' } } }],
      main: { $rename: { nick: 'alias' }, $unset: { old: '' }, $set: { v: 2 } },
    });
    // alone, a rename into a sub-document is one update everywhere
    assert.deepEqual(serverPlan({ rename: { bio: 'profile.bio' } }, {}), { defaults: [], moves: [], main: { $rename: { bio: 'profile.bio' } } });
    assert.equal(serverPlan({ rename: { bio: 'profile.bio' }, set: { v: 2 } }, { bio: { $exists: true } }), undefined, 'the filter reads a moved field');
  });

  void it('combines with $and when the filter already constrains a defaulted path', () => {
    const plan = serverPlan({ setDefaults: { a: 1 } }, { $or: [{ b: 1 }, { c: 2 }] });
    assert.deepEqual(plan?.defaults[0]?.filter, { $or: [{ b: 1 }, { c: 2 }], a: { $exists: false } });
  });

  void it('declines (so the batched path applies the spec) when order would matter', () => {
    assert.equal(serverPlan({ rename: { a: 'b' }, set: { b: 1 } }, {}), undefined, 'rename target also set');
    assert.equal(serverPlan({ set: { a: { x: 1 }, 'a.y': 2 } }, {}), undefined, 'parent and child');
    assert.equal(serverPlan({ unset: ['profile'], setDefaults: { 'profile.bio': '' } }, {}), undefined, 'unset parent, default child');
    assert.equal(serverPlan({ setDefaults: { a: 1 } }, { a: { $exists: false } }), undefined, 'filter reads a defaulted field');
    assert.equal(serverPlan({ setDefaults: { a: 1 } }, { $expr: { $gt: ['$x', 1] } }), undefined, 'filter too opaque to tell');
    // without defaults a single update reads the filter before it changes anything
    assert.notEqual(serverPlan({ set: { a: 1 } }, { a: { $ne: 1 } }), undefined);
  });

  void it('an empty spec needs no command', () => {
    assert.deepEqual(serverPlan({}, {}), { defaults: [], moves: [], main: undefined });
  });
});

void describe('index naming', () => {
  void it("defaultIndexName() matches MongoDB's", () => {
    assert.equal(defaultIndexName({ email: 1 }), 'email_1');
    assert.equal(defaultIndexName({ category: 1, price: -1 }), 'category_1_price_-1');
    assert.equal(defaultIndexName({ name: 'text', description: 'text' }), 'name_text_description_text');
  });

  void it('copyableIndexes() drops _id_ and the build-only fields', () => {
    const listed = [
      { v: 2, key: { _id: 1 }, name: '_id_' },
      { v: 2, key: { email: 1 }, name: 'email_1', unique: true, background: true, ns: 'db.users' },
    ];
    assert.deepEqual(copyableIndexes(listed), [{ key: { email: 1 }, name: 'email_1', unique: true }]);
  });

  void it('copyableIndexes() makes the simple collation explicit where the collection has a default one', () => {
    const listed = [
      { v: 2, key: { _id: 1 }, name: '_id_', collation: { locale: 'en', strength: 2 } },
      // listIndexes leaves out the collation of an index built with the simple one
      { v: 2, key: { sku: 1 }, name: 'sku_1', unique: true },
      { v: 2, key: { _fts: 'text', _ftsx: 1 }, name: 'name_text', weights: { name: 1 } },
      { v: 2, key: { name: 1 }, name: 'name_1', collation: { locale: 'en', strength: 2 } },
    ];
    assert.deepEqual(copyableIndexes(listed, { locale: 'en', strength: 2 }), [
      { key: { sku: 1 }, name: 'sku_1', unique: true, collation: { locale: 'simple' } },
      { key: { _fts: 'text', _ftsx: 1 }, name: 'name_text', weights: { name: 1 }, collation: { locale: 'simple' } },
      { key: { name: 1 }, name: 'name_1', collation: { locale: 'en', strength: 2 } },
    ]);
    assert.deepEqual(copyableIndexes(listed.slice(1, 2)), [{ key: { sku: 1 }, name: 'sku_1', unique: true }], 'no default collation: as listed');
  });
});

void describe('countBeside()', () => {
  const later = (): { promise: Promise<number>; resolve: (n: number) => void } => {
    let resolve: (n: number) => void = () => undefined;
    const promise = new Promise<number>((r) => (resolve = r));
    return { promise, resolve };
  };

  void it('starts the count and returns at once outside a session; settled() waits for the count', async () => {
    const count = later();
    const ctx = { dryRun: false } as unknown as HelperContext;
    const { counting, settled } = await countBeside(ctx, () => count.promise);
    let done = false;
    const waiting = settled().then(() => (done = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(done, false, 'settled() waits for the count');
    count.resolve(7);
    await waiting;
    assert.equal(await counting, 7);
  });

  void it('inside a transaction session counts first: one transaction takes one command at a time', async () => {
    const order: string[] = [];
    const ctx = { dryRun: false, session: {} } as unknown as HelperContext;
    const result = countBeside(ctx, async () => {
      order.push('count started');
      await new Promise((r) => setImmediate(r));
      order.push('count answered');
      return 3;
    }).then(async ({ counting }) => {
      order.push('work starts');
      return counting;
    });
    assert.equal(await result, 3);
    assert.deepEqual(order, ['count started', 'count answered', 'work starts']);
  });

  void it('a failed count is no unhandled rejection; settled() still resolves', async () => {
    const ctx = { dryRun: false } as unknown as HelperContext;
    const { counting, settled } = await countBeside(ctx, () => Promise.reject(new Error('count refused')));
    await settled();
    await assert.rejects(counting, /count refused/);
  });
});
