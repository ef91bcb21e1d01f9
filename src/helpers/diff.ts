/**
 * A changed document written as the difference between what was stored and what the transform
 * returned: `$set` of the top-level fields it added or changed (each with the stored BSON types of
 * what it left alone inside, see typed.ts), `$unset` of those it removed or set to `undefined`, and
 * a filter that holds only while those fields still have the values read. A concurrent application
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
 *
 * Size: a filter carries at most CONDITION_BUDGET bytes of values read, smallest first; a larger
 * value (a 9 MB field) would take the statement past the server's 16 MB limit beside the new value,
 * so it is `checked` instead: compared by re-reading it right before the write (large-values.ts).
 * So is a value holding a regular expression on FerretDB 1.x, which closes the connection on a
 * `$eq` of one.
 */
import type { Document } from 'mongodb';
import { bsonOf } from './context.ts';
import { usageError } from '../errors.ts';
import { keepTypes, sameBytes, valueBytes } from './typed.ts';
import type { HelperContext } from './types.ts';

/** Bytes of values read that one write's filter carries at most. */
export const CONDITION_BUDGET = 1024 * 1024;

/** One document's conditional update, and what it sets, to tell afterwards whether it applied. */
export interface DiffWrite {
  filter: Document;
  update: { $set?: Document; $unset?: Document };
  set: Document;
  unset: string[];
  /** Fields too large for the filter: compared by re-reading them before the write. */
  checked: string[];
}

/** `$set`/`$unset` read such a name as a path or an operator, and a filter cannot name it either. */
function writableName(key: string): boolean {
  return key !== '' && !key.includes('.') && !key.startsWith('$');
}

/** The condition "this field still holds the value read" (see the edges above). */
function stillHolds(stored: Document, key: string): Document {
  if (!Object.hasOwn(stored, key)) return { $exists: false };
  const value: unknown = stored[key];
  return value === null ? { $eq: null, $exists: true } : { $eq: value };
}

function holdsRegex(value: unknown): boolean {
  if (value instanceof RegExp) return true;
  if (Array.isArray(value)) return value.some(holdsRegex);
  if (typeof value !== 'object' || value === null) return false;
  if ((value as { _bsontype?: unknown })._bsontype !== undefined) return (value as { _bsontype?: unknown })._bsontype === 'BSONRegExp';
  return Object.values(value).some(holdsRegex);
}

/**
 * Whether the conditions on `keys` surely fit CONDITION_BUDGET, from the size of the stored
 * document alone: each condition's value is sized as `{ v: value }`, its value plus 8 bytes, and a
 * value re-encoded is never more than twice its stored bytes (a DBPointer comes back as a DBRef).
 */
function surelyWithinBudget(storedBytes: number | undefined, keys: number): boolean {
  return storedBytes !== undefined && 2 * storedBytes + 8 * keys <= CONDITION_BUDGET;
}

/**
 * The filter on `_id` and the given fields as stored: each field's value while the values stay
 * within CONDITION_BUDGET (smallest first); the larger ones are left out and returned as `checked`.
 * `storedBytes`, the stored document's size where known, spares sizing the values of a document
 * too small for any to be left out.
 */
export function conditions(stored: Document, keys: string[], ctx?: HelperContext, storedBytes?: number): { filter: Document; checked: string[] } {
  const large = new Set<string>();
  if (ctx?.server.flavour === 'ferretdb') for (const key of keys) if (holdsRegex(stored[key])) large.add(key);
  if (!surelyWithinBudget(storedBytes, keys.length)) {
    const bson = bsonOf(ctx);
    const sized = keys.filter((key) => !large.has(key)).map((key) => ({ key, size: Object.hasOwn(stored, key) ? bson.calculateObjectSize({ v: stored[key] as unknown }) : 0 }));
    let carried = 0;
    for (const { key, size } of sized.sort((a, b) => a.size - b.size)) {
      if (carried + size <= CONDITION_BUDGET) carried += size;
      else large.add(key);
    }
  }
  const filter: Document = { _id: stored._id as unknown };
  for (const key of keys) if (!large.has(key)) filter[key] = stillHolds(stored, key);
  return { filter, checked: large.size === 0 ? [] : keys.filter((key) => large.has(key)) };
}

/**
 * The update that turns the stored document into `next`, or undefined when nothing changed (field
 * order alone is no change). `stored` is the bytes read decoded with every BSON type kept (the
 * transform had its own copy, which it may have changed in place); `storedBytes`, their size.
 */
export function diffWrite(stored: Document, next: Document, what: string, ctx?: HelperContext, storedBytes?: number): DiffWrite | undefined {
  const set: Document = {};
  const unset: string[] = [];
  const changed: string[] = [];
  for (const key of Object.keys(next)) {
    const value: unknown = next[key];
    if (key === '_id' || value === undefined) continue;
    if (!Object.hasOwn(stored, key)) {
      set[key] = value;
      changed.push(key);
      continue;
    }
    const kept = keepTypes(value, stored[key], ctx);
    if (!kept.same) {
      set[key] = kept.value;
      changed.push(key);
    }
  }
  const setCount = changed.length;
  for (const key of Object.keys(stored)) {
    if (key !== '_id' && next[key] === undefined) {
      unset.push(key);
      changed.push(key);
    }
  }
  if (changed.length === 0) return undefined;
  for (const bad of changed) {
    if (writableName(bad)) continue;
    throw usageError(
      `${what}: the transform changes the field '${bad}' of ${String(stored._id)}, whose name ${bad === '' ? 'is empty' : bad.startsWith('$') ? "starts with '$'" : "contains '.'"}; such a top-level field cannot be written with $set/$unset (copy the collection with copyAndRename instead)`,
    );
  }
  const { filter, checked } = conditions(stored, changed, ctx, storedBytes);
  const update: DiffWrite['update'] = {};
  if (setCount > 0) update.$set = set;
  if (unset.length > 0) {
    const fields: Document = {};
    for (const key of unset) fields[key] = '';
    update.$unset = fields;
  }
  return { filter, update, set, unset, checked };
}

/**
 * A delete conditional on every top-level field as read: the transform judged the whole document,
 * so a change to any field it saw sends the document back to be judged again. (A field another
 * writer added is not seen: a filter can only name the fields it knows. Fields whose names a
 * filter cannot express are left out of the condition.) Large fields are `checked`, as above.
 */
export function deleteFilter(stored: Document, ctx?: HelperContext, storedBytes?: number): { filter: Document; checked: string[] } {
  return conditions(
    stored,
    Object.keys(stored).filter((key) => key !== '_id' && writableName(key)),
    ctx,
    storedBytes,
  );
}

/**
 * Whether a document read again (`current`, decoded with its BSON types kept) holds what the
 * write sets and lacks what it unsets: then the write applied (or another writer did the same).
 */
export function holdsTarget(current: Document, write: DiffWrite, ctx?: HelperContext): boolean {
  for (const [key, value] of Object.entries(write.set) as [string, unknown][]) {
    if (!Object.hasOwn(current, key) || !sameBytes(valueBytes(current[key], ctx), valueBytes(value, ctx))) return false;
  }
  return write.unset.every((key) => !Object.hasOwn(current, key));
}
