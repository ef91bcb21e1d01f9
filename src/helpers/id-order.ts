/**
 * MongoDB's `_id` order for the kinds of `_id` a collection almost always has, so that two cursors
 * sorted by `_id` on the server can be walked side by side (copy-catch-up.ts): null, numbers,
 * strings, ObjectIds, booleans and dates, each in its type bracket in MongoDB's bracket order,
 * strings by their UTF-8 bytes (the simple collation). Anything else (a sub-document, a Binary, a
 * Long beyond 2^53, a Decimal128...) is "cannot tell", and the caller looks records up instead.
 * Values are as decoded for the transform (typed.ts): numbers as JavaScript numbers.
 */

type Kind = { bracket: number; compare: (a: unknown, b: unknown) => number };

const ascending = (a: number, b: number): number => (a < b ? -1 : a > b ? 1 : 0);

const NULL: Kind = { bracket: 1, compare: () => 0 };
const NUMBER: Kind = {
  bracket: 2,
  // MongoDB puts NaN below every other number
  compare: (a, b) => (Number.isNaN(a) ? (Number.isNaN(b) ? 0 : -1) : Number.isNaN(b) ? 1 : ascending(a as number, b as number)),
};
const STRING: Kind = { bracket: 3, compare: (a, b) => Buffer.compare(Buffer.from(a as string, 'utf8'), Buffer.from(b as string, 'utf8')) };
const OBJECT_ID: Kind = {
  bracket: 6,
  compare: (a, b) => Buffer.compare(Buffer.from((a as { toHexString(): string }).toHexString(), 'hex'), Buffer.from((b as { toHexString(): string }).toHexString(), 'hex')),
};
const BOOLEAN: Kind = { bracket: 7, compare: (a, b) => Number(a) - Number(b) };
const DATE: Kind = { bracket: 8, compare: (a, b) => ascending((a as Date).getTime(), (b as Date).getTime()) };

function kindOf(value: unknown): Kind | undefined {
  if (value === null) return NULL;
  if (typeof value === 'number') return NUMBER;
  if (typeof value === 'string') return STRING;
  if (typeof value === 'boolean') return BOOLEAN;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : DATE;
  const type: unknown = typeof value === 'object' ? (value as { _bsontype?: unknown })._bsontype : undefined;
  return type === 'ObjectId' ? OBJECT_ID : undefined;
}

/** Negative when `a` sorts before `b`, 0 when equal, positive after; undefined when it cannot tell. */
export function compareIds(a: unknown, b: unknown): number | undefined {
  const kindA = kindOf(a);
  const kindB = kindOf(b);
  if (kindA === undefined || kindB === undefined) return undefined;
  if (kindA !== kindB) return kindA.bracket - kindB.bracket;
  return kindA.compare(a, b);
}
