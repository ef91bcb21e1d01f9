// Unit tests of how a transform's result keeps the stored BSON types: at any depth, array elements by
// position, undefined as no field, regexes with their flags, and values the transform changed as given.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BSON, Binary, BSONRegExp, BSONSymbol, Code, DBRef, Decimal128, Double, Int32, Long, MaxKey, MinKey, ObjectId, Timestamp, type Document } from 'mongodb';
import { decodeOnce, idOf, keepTypes, readAs, storedValues, transformView } from '../../src/helpers/typed.ts';

const id = new ObjectId('66f1a2b3c4d5e6f708192a3b');

/** A stored document as the helpers hold it: the transform's view and the stored values, from the same bytes. */
function stored(doc: Document): { view: Document; values: Document } {
  const bytes = BSON.serialize(doc);
  return { view: transformView(bytes), values: storedValues(bytes) };
}

/** BSON type names of a document's values, one level deep. */
const typesOf = (doc: unknown): Record<string, string> =>
  Object.fromEntries(Object.entries(doc as Document).map(([key, value]) => [key, (value as { _bsontype?: string } | null)?._bsontype ?? typeof value]));

void describe('keepTypes()', () => {
  const seed = {
    _id: id,
    top: Long.fromNumber(7),
    profile: {
      logins: Long.fromNumber(5),
      score: new Double(2),
      small: new Int32(3),
      price: Decimal128.fromString('1.50'),
      uuid: new Binary(Buffer.alloc(16, 1), 4),
      at: new Timestamp({ t: 1, i: 2 }),
      pattern: new BSONRegExp('^a b$', 'xs'),
      name: 'a',
    },
  };

  void it('keeps every untouched value of a sub-document the transform changed with its stored type', () => {
    const { view, values } = stored(seed);
    assert.equal(typeof (view.profile as Document).logins, 'number', 'the transform sees numbers');
    const next = { ...(view.profile as Document), name: 'b' };
    const kept = keepTypes(next, values.profile);
    assert.equal(kept.same, false);
    assert.deepEqual(typesOf(kept.value), {
      logins: 'Long',
      score: 'Double',
      small: 'Int32',
      price: 'Decimal128',
      uuid: 'Binary',
      at: 'Timestamp',
      pattern: 'BSONRegExp',
      name: 'string',
    });
    const written = BSON.deserialize(BSON.serialize({ v: kept.value }), { promoteValues: false, bsonRegExp: true }).v as Document;
    assert.equal((written.pattern as BSONRegExp).options, 'sx', 'the regex keeps its x and s flags');
    assert.equal((written.uuid as Binary).sub_type, 4);
    assert.equal((written.score as Double).value, 2);
  });

  void it('gives back the stored value itself for an untouched sub-document, at any depth', () => {
    const { view, values } = stored({ _id: id, a: { b: { c: Long.fromNumber(1), d: [new Double(1), { e: new Int32(2) }] } } });
    const kept = keepTypes(structuredClone(view.a), values.a);
    assert.equal(kept.same, true);
    assert.equal(kept.value, values.a);
  });

  void it('removes a field set to undefined at any depth, and a removed or reordered member is a change', () => {
    const { view, values } = stored({ _id: id, p: { a: 1, b: 2, c: { d: 3, e: 4 } } });
    const p = view.p as Document;
    const kept = keepTypes({ ...p, b: undefined, c: { ...(p.c as Document), e: undefined } }, values.p);
    assert.equal(kept.same, false);
    assert.deepEqual(BSON.deserialize(BSON.serialize({ v: kept.value }, { ignoreUndefined: true })).v as unknown, { a: 1, c: { d: 3 } });
    assert.equal(keepTypes({ b: 2, a: 1, c: p.c as unknown }, values.p).same, false, 'reordered');
  });

  void it('keeps array elements by position; an element added is written as given', () => {
    const { view, values } = stored({ _id: id, tags: [Long.fromNumber(1), new Double(2), 'x'] });
    const kept = keepTypes([...(view.tags as unknown[]), 4], values.tags);
    assert.equal(kept.same, false);
    assert.deepEqual((kept.value as unknown[]).map((v) => (v as { _bsontype?: string })._bsontype ?? typeof v), ['Long', 'Double', 'string', 'number']);
  });

  void it('writes a value the transform changed or moved as it gave it; the driver classes give a type on purpose', () => {
    const { view, values } = stored({ _id: id, n: new Double(2), l: Long.fromNumber(5) });
    assert.deepEqual(keepTypes(3, values.n), { value: 3, same: false });
    assert.equal(keepTypes(new Double(3), values.n).value instanceof Double, true);
    // a Long moved under another name is a new value there: the transform gives the type
    assert.deepEqual(keepTypes({ moved: view.l as unknown }, {}), { value: { moved: 5 }, same: false });
    assert.equal(keepTypes(Long.fromNumber(5), values.l).same, true);
  });
});

void describe('readAs()', () => {
  void it('matches a stored value with what the driver decodes it to, and nothing else', () => {
    const cases: [unknown, unknown, boolean][] = [
      [new Int32(2), 2, true],
      [new Double(2), 2, true],
      [new Double(-0), -0, true],
      [new Double(-0), 0, false],
      [new Double(NaN), NaN, true],
      [new Int32(2), 2.5, false],
      [Long.fromNumber(5), 5, true],
      [Long.fromString('9007199254740993'), 9007199254740992, false],
      [Long.fromString('9007199254740993'), Long.fromString('9007199254740993'), true],
      [Decimal128.fromString('2'), 2, false],
      [new Date(5), new Date(5), true],
      [new Date(5), 5, false],
      [id, new ObjectId(id.toHexString()), true],
      ['x', 'x', true],
      [null, null, true],
      [null, undefined, false],
      [new BSONRegExp('a', 'x'), new BSONRegExp('a', 'x'), true],
      [new BSONRegExp('a', 'x'), /a/, false],
    ];
    for (const [storedValue, js, expected] of cases) assert.equal(readAs(storedValue, js), expected, `${String(storedValue)} read as ${String(js)}`);
  });
});

void describe('idOf()', () => {
  void it("reads the _id from a document's bytes as the full decoding would, for every kind of _id", () => {
    const kinds: unknown[] = [
      id, 1, -2.5, Long.fromString('9007199254740993'), Decimal128.fromString('1.5'), 'text', 'é\u{1F600}', '', true, null, new Date(7),
      new Timestamp({ t: 1, i: 2 }), new Binary(Buffer.from('abc'), 4), { a: 1, b: [new Double(2)] }, new BSONRegExp('a', 'x'),
    ];
    for (const value of kinds) {
      for (const doc of [{ _id: value, other: 'x', n: 1 }, { first: 1, _id: value }]) {
        const bytes = BSON.serialize(doc);
        assert.deepEqual(idOf(bytes), transformView(bytes)._id, JSON.stringify(doc));
      }
    }
  });
});

void describe('decodeOnce()', () => {
  const longs = ['9007199254740992', '-9007199254740992', '9007199254740993', '-9007199254740993', '4294967296', '-1', '0'].map((text) => Long.fromString(text));
  const withProto: Document = { a: 1 };
  Object.defineProperty(withProto, '__proto__', { value: { b: new Int32(2) }, enumerable: true, writable: true, configurable: true });
  const docs: Document[] = [
    { _id: id, n: new Int32(5), d: new Double(2), z: new Double(-0), nan: Number.NaN, s: 'é\u{1F600}', b: false, none: null, at: new Date(7) },
    { _id: 1, deep: { a: [new Double(1), [new Int32(2), { c: new Date(0), o: id }]], e: {} }, empty: [] },
    { _id: 'longs', longs },
    { _id: 'proto', p: withProto },
    ...[
      new Binary(Buffer.from('abc'), 0), new Binary(Buffer.from('0123456789abcdef'), 4), Decimal128.fromString('1.5'), new BSONRegExp('a', 'x'), new BSONSymbol('s'),
      new Timestamp({ t: 1, i: 2 }), new MinKey(), new MaxKey(), new Code('x'), new DBRef('c', id), { $ref: 'c', $id: 1, extra: true },
    ].map((value, i) => ({ _id: i, top: value, nested: { list: [1, value] } })),
  ];

  void it("gives the transform what the driver's decoding gives, and the stored values with every type", () => {
    for (const doc of docs) {
      const bytes = BSON.serialize(doc);
      const decoded = decodeOnce(bytes);
      assert.deepEqual(decoded.view, transformView(bytes), JSON.stringify(doc));
      assert.deepEqual(decoded.stored, storedValues(bytes), JSON.stringify(doc));
    }
  });

  void it('shares nothing a transform could change in place with the stored values', () => {
    const bytes = BSON.serialize({ _id: id, at: new Date(7), sub: { list: [1, { x: 'y' }], when: new Date(8) }, n: new Int32(1) });
    const { view, stored: values } = decodeOnce(bytes);
    const sub = view.sub as { list: [number, Document]; when: Date };
    sub.list[1].x = 'changed';
    sub.list.push(2);
    sub.when.setTime(9);
    (view.at as Date).setTime(10);
    (view._id as { i0?: number }).i0 = 0;
    view.n = 2;
    assert.deepEqual(values, storedValues(bytes));
  });
});
