/**
 * Keeping BSON types through a transform, at any depth.
 *
 * A document is read as bytes and decoded once, with every BSON type kept (the stored values); the
 * transform gets its own copy of them the way the driver decodes (Int32, Double and Longs that fit
 * become JavaScript numbers), sharing nothing it could change in place (decodeOnce). What is
 * written back is built from the transform's result and the stored values. Rules:
 * - a value the transform gave back as it was read is written as stored, however deep: an Int32,
 *   a Long, a Double (2.0 too), a Decimal128, a Binary of any subtype, a Timestamp stays what it was;
 * - sub-documents and arrays are compared member by member (array elements by position), so the
 *   members a transform left alone keep their types inside a sub-document it changed;
 * - a value it changed, added or moved is written as it gave it: a JavaScript number as an Int32
 *   (or a Double when not an integer or beyond 32 bits); the driver's `Long`, `Double` and `Int32`
 *   classes write a type on purpose;
 * - a field whose value is `undefined` is no field: removed, at any depth, never written as null
 *   (writes go out with `ignoreUndefined`);
 * - regular expressions reach the transform as the driver's `BSONRegExp` (pattern and flags as
 *   stored): JavaScript's RegExp would drop the `x` flag and read `s` as `g`.
 */
import type { Document, WithId } from 'mongodb';
import { bsonOf } from './context.ts';
import type { HelperContext } from './types.ts';

/** How the transform sees a document: the driver's decoding, but regexes as stored. */
const TRANSFORM_VIEW = { bsonRegExp: true } as const;
/** The stored values: every BSON type kept. */
const STORED = { promoteValues: false, promoteLongs: false, promoteBuffers: false, bsonRegExp: true } as const;

/** Options for every write of a document a transform built: an `undefined` field is no field. */
export const WRITE_OPTIONS = { ignoreUndefined: true } as const;

export function transformView(bytes: Uint8Array, ctx?: HelperContext): WithId<Document> {
  return bsonOf(ctx).deserialize(bytes, TRANSFORM_VIEW) as WithId<Document>;
}

export function storedValues(bytes: Uint8Array, ctx?: HelperContext): WithId<Document> {
  return bsonOf(ctx).deserialize(bytes, STORED) as WithId<Document>;
}

/** A document decoded once: its stored values, and the transform's own copy of them. */
export interface Decoded {
  /** As transformView decodes it, sharing nothing a transform could change in place with `stored`. */
  view: WithId<Document>;
  stored: WithId<Document>;
}

/**
 * The bytes decoded once, with every BSON type kept, and the transform's view built from that
 * decoding (numbers promoted as the driver promotes them, everything mutable copied), where it
 * holds only the common types; a document holding any other is decoded a second time for the view.
 */
export function decodeOnce(bytes: Uint8Array, ctx?: HelperContext): Decoded {
  const stored = storedValues(bytes, ctx);
  const view = promotedDocument(stored);
  return { stored, view: view === OTHER ? transformView(bytes, ctx) : (view as WithId<Document>) };
}

/** A value promotedValue leaves to the driver's own decoding. */
const OTHER: unique symbol = Symbol('other BSON type');
/** A Long within ±2^53 is read as a number (its `high` word bounds it; 2^53 itself has `low` 0). */
const SAFE_HIGH = 0x200000;
const TWO_32 = 2 ** 32;

/**
 * What the transform view holds for a stored value, as the driver's decoding gives it: Int32 and
 * Double as numbers, a Long within ±2^53 as a number, a new Date, a new ObjectId, sub-documents
 * and arrays copied member by member; OTHER for any other type (a Long beyond 2^53, a Binary, a
 * Decimal128, a DBRef, ...).
 */
function promotedValue(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const out: unknown[] = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) {
      const member = promotedValue(value[i]);
      if (member === OTHER) return OTHER;
      out[i] = member;
    }
    return out;
  }
  if (value instanceof Date) return new Date(value.getTime());
  switch ((value as { _bsontype?: unknown })._bsontype) {
    case 'Int32':
    case 'Double':
      return (value as { value: number }).value;
    case 'Long': {
      const { high, low, unsigned } = value as { high: number; low: number; unsigned: boolean };
      if (unsigned || high < -SAFE_HIGH || high > SAFE_HIGH || (high === SAFE_HIGH && low !== 0)) return OTHER;
      return high * TWO_32 + (low >>> 0);
    }
    case 'ObjectId':
      return new (value.constructor as new (id: unknown) => unknown)(value);
    case undefined:
      return Object.getPrototypeOf(value) === Object.prototype ? promotedDocument(value as Record<string, unknown>) : OTHER;
    default:
      return OTHER;
  }
}

function promotedDocument(stored: Record<string, unknown>): Record<string, unknown> | typeof OTHER {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(stored)) {
    const value = promotedValue(stored[key]);
    if (value === OTHER) return OTHER;
    // as the driver's decoding assigns it: an own field, never the prototype
    if (key === '__proto__') Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
    else out[key] = value;
  }
  return out;
}

/** Bytes of an element's value, by BSON type, where fixed; see idOf. */
const FIXED_SIZE: Readonly<Record<number, number>> = { 0x01: 8, 0x07: 12, 0x08: 1, 0x09: 8, 0x0a: 0, 0x10: 4, 0x11: 8, 0x12: 8, 0x13: 16, 0xff: 0, 0x7f: 0 };
/** Types whose value starts with its length (int32): string, document, array, binary (plus its subtype byte), symbol, code. */
const LENGTH_PREFIXED: Readonly<Record<number, number>> = { 0x02: 4, 0x03: 0, 0x04: 0, 0x05: 5, 0x0d: 4, 0x0e: 4 };

/**
 * A document's `_id` from its bytes without decoding the rest (servers store `_id` first): as the
 * transform would see it. Falls back to decoding the whole document where `_id` is not first or
 * its type is a rare one. For a pass that only needs to know which document it has.
 */
export function idOf(raw: Uint8Array, ctx?: HelperContext): unknown {
  const view = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const type = view[4] ?? 0;
  if (view[5] === 0x5f && view[6] === 0x69 && view[7] === 0x64 && view[8] === 0) {
    const start = 9;
    const fixed = FIXED_SIZE[type];
    const prefixed = LENGTH_PREFIXED[type];
    const size = fixed ?? (prefixed === undefined || start + 4 > view.length ? undefined : view.readInt32LE(start) + prefixed);
    if (size !== undefined && start + size <= view.length - 1) {
      // a document of just that element: length, the element, the terminating 0
      const element = view.subarray(4, start + size);
      const single = Buffer.alloc(element.length + 5);
      single.writeInt32LE(single.length, 0);
      element.copy(single, 4);
      return (bsonOf(ctx).deserialize(single, TRANSFORM_VIEW))._id;
    }
  }
  return transformView(raw, ctx)._id;
}

/** The BSON bytes of one value, as written (undefined fields left out). */
export function valueBytes(value: unknown, ctx?: HelperContext): Uint8Array {
  return bsonOf(ctx).serialize({ v: value }, WRITE_OPTIONS);
}

/** Key of an `_id` for lookups: its BSON bytes, so ids of every type compare exactly. */
export function idKey(id: unknown, ctx?: HelperContext): string {
  return Buffer.from(bsonOf(ctx).serialize({ id })).toString('hex');
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

/** A plain object: a sub-document as a transform builds one (not a BSON value, Date, array or class instance). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const bsonTypeOf = (value: unknown): string | undefined => {
  const type: unknown = typeof value === 'object' && value !== null ? (value as { _bsontype?: unknown })._bsontype : undefined;
  return typeof type === 'string' ? type : undefined;
};

const SAFE = 2n ** 53n;

/**
 * Whether `js` is what the driver's decoding makes of the stored value `stored`: an Int32 or a
 * Double is its number, a Long within ±2^53 its number (beyond, a Long), a symbol its string;
 * anything else decodes to itself and is compared by its bytes.
 */
export function readAs(stored: unknown, js: unknown, ctx?: HelperContext): boolean {
  if (stored === js) return true;
  const type = bsonTypeOf(stored);
  if (type === 'Int32' || type === 'Double') return typeof js === 'number' && Object.is(js, (stored as { value: number }).value);
  if (type === 'Long' && typeof js === 'number') {
    const exact = BigInt(String(stored));
    return exact <= SAFE && exact >= -SAFE && Object.is(js, Number(exact));
  }
  if (type === 'BSONSymbol') return typeof js === 'string' && js === String(stored);
  // the commonest values compared without encoding them (both decodings give them alike)
  if (stored instanceof Date) return js instanceof Date && Object.is(stored.getTime(), js.getTime());
  if (type === 'ObjectId') return bsonTypeOf(js) === 'ObjectId' && (stored as { toHexString(): string }).toHexString() === (js as { toHexString(): string }).toHexString();
  if (typeof stored !== 'object' || stored === null || typeof js !== 'object' || js === null) return false;
  return sameBytes(valueBytes(stored, ctx), valueBytes(js, ctx));
}

/** What to write for a value, and whether it is the stored value itself (nothing to write). */
export interface Kept {
  value: unknown;
  same: boolean;
}

/** The value to write for the transform's `next` where `stored` was: see the rules above. */
export function keepTypes(next: unknown, stored: unknown, ctx?: HelperContext): Kept {
  if (isPlainObject(next) && isPlainObject(stored)) return keepDocumentTypes(next, stored, ctx);
  if (Array.isArray(next) && Array.isArray(stored)) return keepArrayTypes(next as unknown[], stored as unknown[], ctx);
  if (readAs(stored, next, ctx)) return { value: stored, same: true };
  return { value: next, same: false };
}

function keepDocumentTypes(next: Record<string, unknown>, stored: Record<string, unknown>, ctx?: HelperContext): Kept {
  const out: Record<string, unknown> = {};
  let same = true;
  for (const [key, value] of Object.entries(next)) {
    if (value === undefined) continue;
    if (!Object.hasOwn(stored, key)) {
      out[key] = value;
      same = false;
      continue;
    }
    const kept = keepTypes(value, stored[key], ctx);
    out[key] = kept.value;
    same &&= kept.same;
  }
  // a removed or reordered member changes the sub-document's bytes: it is written
  if (same) {
    const written = Object.keys(out);
    const had = Object.keys(stored);
    same = written.length === had.length && written.every((key, i) => key === had[i]);
  }
  return same ? { value: stored, same } : { value: out, same };
}

function keepArrayTypes(next: unknown[], stored: unknown[], ctx?: HelperContext): Kept {
  let same = next.length === stored.length;
  const out = next.map((value, i) => {
    if (i >= stored.length) return value;
    const kept = keepTypes(value, stored[i], ctx);
    same &&= kept.same;
    return kept.value;
  });
  return same ? { value: stored, same } : { value: out, same };
}
