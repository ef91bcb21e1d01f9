/**
 * Reading and writing in bounded batches.
 *
 * Reads use keyset pagination on `_id`: each batch is its own short query, read to the end before
 * anything is written, so no cursor stays open across writes (no cursor timeout on a long run, and
 * a rerun resumes from what is left) and memory holds at most one batch.
 */
import {
  BSON,
  Binary,
  Decimal128,
  Double,
  Int32,
  Long,
  MaxKey,
  MinKey,
  ObjectId,
  Timestamp,
  type AnyBulkWriteOperation,
  type Collection,
  type Document,
  type Filter,
  type WithId,
} from 'mongodb';
import { usageError } from '../errors.ts';
import type { HelperContext } from './types.ts';
import { withSession } from './context.ts';

export const DEFAULT_BATCH_SIZE = 1000;

/**
 * `$gt` compares only within one BSON type bracket, so a walk in `_id` order moves to the next
 * bracket with a `$type` query once a bracket is exhausted. Brackets in MongoDB's sort order.
 */
const TYPE_BRACKETS: readonly (readonly string[])[] = [
  ['minKey'],
  ['null'],
  ['double', 'int', 'long', 'decimal'],
  ['symbol', 'string'],
  ['object'],
  ['binData'],
  ['objectId'],
  ['bool'],
  ['date'],
  ['timestamp'],
  ['regex'],
  ['maxKey'],
];
/**
 * Type aliases FerretDB 1.x rejects in `$type` (it has none of these types); other compatible
 * servers get the same safe list, since an `_id` of these types is rare and a refused query
 * after all the writes would fail a finished run.
 */
const RARE_TYPES = new Set(['minKey', 'maxKey', 'decimal', 'symbol']);

function bracketOf(value: unknown): number {
  if (value instanceof MinKey) return 0;
  if (value === null || value === undefined) return 1;
  if (typeof value === 'number' || typeof value === 'bigint' || value instanceof Int32 || value instanceof Long || value instanceof Double || value instanceof Decimal128) {
    return 2;
  }
  if (typeof value === 'string' || value instanceof BSON.BSONSymbol) return 3;
  if (value instanceof Binary) return 5;
  if (value instanceof ObjectId) return 6;
  if (typeof value === 'boolean') return 7;
  if (value instanceof Date) return 8;
  if (value instanceof Timestamp) return 9;
  if (value instanceof RegExp || value instanceof BSON.BSONRegExp) return 10;
  if (value instanceof MaxKey) return 11;
  return 4;
}

function laterTypes(ctx: HelperContext, bracket: number): string[] {
  const types = TYPE_BRACKETS.slice(bracket + 1).flat();
  return ctx.server.flavour === 'mongodb' ? types : types.filter((t) => !RARE_TYPES.has(t));
}

/** filter AND an `_id` condition; spread when the filter has no `_id` of its own (simplest for every server's planner). */
function withIdCondition(filter: Filter<Document>, condition: Document): Filter<Document> {
  if (!('_id' in filter)) return { ...filter, _id: condition };
  return { $and: [filter, { _id: condition }] };
}

/**
 * One page of documents, decoded twice from the same bytes: `docs` the usual JavaScript values
 * (for transforms, which may change them), `originals` with every BSON type kept (a Double 2.0
 * stays a Double, a Long a Long) for writing back what a transform did not change.
 */
export interface Page {
  docs: WithId<Document>[];
  originals: WithId<Document>[];
  /** The bytes both were decoded from (decode again for a copy a transform cannot have touched). */
  raw: Uint8Array[];
}

const KEEP_TYPES = { promoteValues: false, promoteLongs: false, promoteBuffers: false } as const;

function page(raw: Uint8Array[]): Page {
  return {
    docs: raw.map((bytes) => BSON.deserialize(bytes) as WithId<Document>),
    originals: raw.map((bytes) => BSON.deserialize(bytes, KEEP_TYPES) as WithId<Document>),
    raw,
  };
}

/**
 * For a collection that is only read (copyAndRename's source): one cursor in `_id` order, handed
 * out batchSize documents at a time. One pass over the collection, where keyset pages cost a pass
 * each on servers without an index range scan (FerretDB 1.24).
 */
export async function* cursorBatches(
  ctx: HelperContext,
  collection: Collection,
  filter: Filter<Document>,
  batchSize: number,
): AsyncGenerator<Page> {
  const cursor = collection.find(filter, { ...withSession(ctx), sort: { _id: 1 }, batchSize, raw: true });
  try {
    let raw: Uint8Array[] = [];
    for await (const bytes of cursor) {
      raw.push(bytes as unknown as Uint8Array);
      if (raw.length >= batchSize) {
        yield page(raw);
        raw = [];
      }
    }
    if (raw.length > 0) yield page(raw);
  } finally {
    await cursor.close();
  }
}

/** Yields the documents matching filter in `_id` order, batchSize at a time. */
export async function* keysetBatches(
  ctx: HelperContext,
  collection: Collection,
  filter: Filter<Document>,
  batchSize: number,
): AsyncGenerator<Page> {
  // undefined: from the start; { $gt }: the rest of one type bracket; { $type }: later brackets
  let condition: Document | undefined;
  for (;;) {
    const query = condition === undefined ? filter : withIdCondition(filter, condition);
    // raw: the driver's decoding would turn a Double 2.0 into 2 (an Int32 when written back)
    const raw = (await collection.find(query, { ...withSession(ctx), sort: { _id: 1 }, limit: batchSize, batchSize, raw: true }).toArray()) as unknown as Uint8Array[];
    const batch = page(raw);
    const last = batch.docs.at(-1);
    if (last !== undefined) yield batch;
    if (last !== undefined && batch.docs.length === batchSize) {
      condition = { $gt: last._id };
      continue;
    }
    if (condition === undefined || !('$gt' in condition)) return;
    // the bracket of the last key is exhausted; documents with _ids of later types may remain
    const types = laterTypes(ctx, bracketOf(condition.$gt));
    if (types.length === 0) return;
    condition = { $type: types };
  }
}

/**
 * Sends the operations with `bulkWrite` (unordered), at most `server.maxUpdatesPerCommand` per
 * call, one call after another: never one round trip per document, and never more statements in
 * one command than the server survives (FerretDB 1.x hangs from 100 on).
 */
export async function writeChunked(
  ctx: HelperContext,
  collection: Collection,
  operations: AnyBulkWriteOperation[],
): Promise<{ modified: number; deleted: number }> {
  let modified = 0;
  let deleted = 0;
  const size = Math.max(1, ctx.server.maxUpdatesPerCommand);
  for (let start = 0; start < operations.length; start += size) {
    // the lease fence, right before the write (a stalled runner may have lost its lease meanwhile)
    ctx.fence?.();
    const result = await collection.bulkWrite(operations.slice(start, start + size), { ...withSession(ctx), ordered: false });
    modified += result.modifiedCount;
    deleted += result.deletedCount;
  }
  return { modified, deleted };
}

export function checkBatchSize(batchSize: number | undefined, what: string): number {
  const size = batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(size) || size < 1) throw usageError(`${what}: batchSize must be a positive integer, got ${String(batchSize)}`);
  return size;
}

const fieldBytes = (value: unknown): Uint8Array => BSON.serialize({ v: value });

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
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

const SCALAR = new Set(['string', 'number', 'boolean']);

/**
 * Whether two values serialise to the same BSON. Strings, numbers and booleans (most fields) are
 * compared directly: for them Object.is is exactly byte equality (-0 is a double, 0 an int32).
 * Everything else is compared by its bytes.
 */
function sameValue(a: unknown, b: unknown): boolean {
  const scalarA = SCALAR.has(typeof a);
  const scalarB = SCALAR.has(typeof b);
  if (scalarA && scalarB) return Object.is(a, b);
  if (scalarA !== scalarB) return false;
  return sameBytes(fieldBytes(a), fieldBytes(b));
}
