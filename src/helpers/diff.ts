/**
 * A changed document written as the difference between what was read and what the transform
 * returned: `$set` of the top-level fields it added or changed, `$unset` of those it removed, and a
 * filter that holds only while those fields still have the values read. A concurrent application
 * write to another field is then never overwritten, and one to the same field makes the write
 * match nothing (the caller reads the document again).
 *
 * The filter uses plain equality (`$eq`, or `$exists: false` for a field that was absent), since
 * FerretDB has no `$expr`. MongoDB's equality has edges, all of them on the safe side except the
 * last few, which are rare:
 * - an embedded document matches only exactly (same fields, same order, same values);
 * - `$eq` of a value read as null also matches a missing field, so null conditions add `$exists: true`;
 * - `$eq` of a regular expression matches the stored regex itself (explicit `$eq`, never a pattern
 *   match), and a value that is a document with `$`-prefixed keys is not read as operators;
 * - numbers compare by value across types: an application that rewrote 2 (int) as 2.0 (double)
 *   or as a Long in between is not noticed, and our value replaces its equal one;
 * - an array condition `{ a: [1, 2] }` also matches an array that contains the element [1, 2];
 * - strings compare under the collection's default collation, if it has one: a change the
 *   collation calls equal ('bob' -> 'Bob' case-insensitively) is not noticed.
 */
import type { Document } from 'mongodb';
import { bsonOf } from './context.ts';
import { usageError } from '../errors.ts';

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

const fieldBytes = (value: unknown): Uint8Array => bsonOf().serialize({ v: value });

const SCALAR = new Set(['string', 'number', 'boolean']);

/**
 * Whether two values serialise to the same BSON. Strings, numbers and booleans (most fields) are
 * compared directly: for them Object.is is exactly byte equality (-0 is a double, 0 an int32).
 * Everything else is compared by its bytes.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  const scalarA = SCALAR.has(typeof a);
  const scalarB = SCALAR.has(typeof b);
  if (scalarA && scalarB) return Object.is(a, b);
  if (scalarA !== scalarB) return false;
  return sameBytes(fieldBytes(a), fieldBytes(b));
}

/**
 * The document to write: `next` in its own field order, but every top-level field whose value a
 * transform left as it was read is taken from `original`, with its BSON type intact.
 */
export function keepUntouchedTypes(next: Document, read: Document, original: Document): Document {
  const out: Document = {};
  for (const [key, value] of Object.entries(next) as [string, unknown][]) {
    const untouched = key in read && key in original && sameValue(value, read[key]);
    out[key] = untouched ? (original[key] as unknown) : value;
  }
  return out;
}

/** One document's conditional update, and what it sets, to tell afterwards whether it applied. */
export interface DiffWrite {
  filter: Document;
  update: { $set?: Document; $unset?: Document };
  set: Document;
  unset: string[];
}

/** `$set`/`$unset` read such a name as a path or an operator, and a filter cannot name it either. */
function writableName(key: string): boolean {
  return key !== '' && !key.includes('.') && !key.startsWith('$');
}

/** The condition "this field still holds the value read" (see the edges above). */
function stillHolds(original: Document, key: string): Document {
  if (!(key in original)) return { $exists: false };
  const value: unknown = original[key];
  return value === null ? { $eq: null, $exists: true } : { $eq: value };
}

/**
 * The update that turns the document read into `next`, or undefined when nothing changed (field
 * order alone is no change). `read` is a fresh decoding of the bytes read (the transform may have
 * changed its own copy in place), `original` the same bytes with every BSON type kept: the filter's
 * values, so they match the stored bytes exactly.
 */
export function diffWrite(read: Document, original: Document, next: Document, what: string): DiffWrite | undefined {
  const set: Document = {};
  const unset: string[] = [];
  for (const [key, value] of Object.entries(next) as [string, unknown][]) {
    if (key === '_id') continue;
    if (!(key in read) || !sameValue(value, read[key])) set[key] = value;
  }
  for (const key of Object.keys(read)) {
    if (key !== '_id' && !(key in next)) unset.push(key);
  }
  const changed = [...Object.keys(set), ...unset];
  if (changed.length === 0) return undefined;
  const bad = changed.find((key) => !writableName(key));
  if (bad !== undefined) {
    throw usageError(
      `${what}: the transform changes the field '${bad}' of ${String(original._id)}, whose name ${bad === '' ? 'is empty' : bad.startsWith('$') ? "starts with '$'" : "contains '.'"}; such a top-level field cannot be written with $set/$unset (copy the collection with copyAndRename instead)`,
    );
  }
  const filter: Document = { _id: original._id as unknown };
  for (const key of changed) filter[key] = stillHolds(original, key);
  const update: DiffWrite['update'] = {};
  if (Object.keys(set).length > 0) update.$set = set;
  if (unset.length > 0) update.$unset = Object.fromEntries(unset.map((key) => [key, '']));
  return { filter, update, set, unset };
}

/**
 * A delete conditional on every top-level field as read: the transform judged the whole document,
 * so a change to any field it saw sends the document back to be judged again. (A field another
 * writer added is not seen: a filter can only name the fields it knows. Fields whose names a
 * filter cannot express are left out of the condition.)
 */
export function deleteFilter(original: Document): Document {
  const filter: Document = { _id: original._id as unknown };
  for (const key of Object.keys(original)) {
    if (key !== '_id' && writableName(key)) filter[key] = stillHolds(original, key);
  }
  return filter;
}

/**
 * Whether a document read again (`current`, decoded with its BSON types kept) holds what the
 * write sets and lacks what it unsets: then the write applied (or another writer did the same).
 */
export function holdsTarget(current: Document, write: DiffWrite): boolean {
  for (const [key, value] of Object.entries(write.set) as [string, unknown][]) {
    if (!(key in current) || !sameBytes(fieldBytes(current[key]), fieldBytes(value))) return false;
  }
  return write.unset.every((key) => !(key in current));
}
