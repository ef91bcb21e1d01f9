/**
 * Reading and writing in bounded batches.
 *
 * Reads use keyset pagination on `_id`: each batch is its own short query, read to the end before
 * anything is written, so no cursor stays open across writes (no cursor timeout on a long run, and
 * a rerun resumes from what is left) and memory holds at most one batch.
 */
import type { AnyBulkWriteOperation, Collection, Document, Filter, WithId } from 'mongodb';
import { SERVER_CODES } from '../driver/errors.ts';
import { usageError } from '../errors.ts';
import type { HelperContext } from './types.ts';
import { withSession } from './context.ts';
import type { Pacer } from './pacing.ts';
import { Resend, resending } from './failover-retry.ts';
import { decodeOnce, idOf, WRITE_OPTIONS } from './typed.ts';

export const DEFAULT_BATCH_SIZE = 1000;
/** Documents a read-only cursor asks for per round trip, at least (FerretDB's own default is 101). */
export const READ_BATCH = 10_000;

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
 * Type aliases FerretDB 1.x rejects in `$type` (it cannot store these types at all: an insert of
 * one closes the connection); other compatible servers get the same safe list, since an `_id` of
 * these types is rare and a refused query after all the writes would fail a finished run.
 */
const RARE_TYPES = new Set(['minKey', 'maxKey', 'decimal', 'symbol']);
const RARE_TYPE_NAMES = 'decimal, minKey, maxKey or symbol';

/**
 * Brackets of BSON values by the type each names in `_bsontype`: the same in every copy of the
 * bson library, where `instanceof` holds only for values of the copy the check was written with.
 */
const BRACKET_OF_BSON_TYPE: Readonly<Record<string, number>> = {
  MinKey: 0,
  Int32: 2,
  Long: 2,
  Double: 2,
  Decimal128: 2,
  BSONSymbol: 3,
  Binary: 5,
  ObjectId: 6,
  Timestamp: 9,
  BSONRegExp: 10,
  MaxKey: 11,
};

function bracketOf(value: unknown): number {
  if (value === null || value === undefined) return 1;
  if (typeof value === 'number' || typeof value === 'bigint') return 2;
  if (typeof value === 'string') return 3;
  if (typeof value === 'boolean') return 7;
  if (value instanceof Date) return 8;
  if (value instanceof RegExp) return 10;
  const type: unknown = typeof value === 'object' ? (value as { _bsontype?: unknown })._bsontype : undefined;
  return (typeof type === 'string' ? BRACKET_OF_BSON_TYPE[type] : undefined) ?? 4;
}

/** The `$type`s of the brackets after `bracket`, and whether some the walk needs were left out. */
function laterTypes(ctx: HelperContext, bracket: number): { types: string[]; leftOut: boolean } {
  const types = TYPE_BRACKETS.slice(bracket + 1).flat();
  // the open-source DocumentDB queries and orders them as MongoDB does (measured)
  if (ctx.server.flavour === 'mongodb' || ctx.server.flavour === 'documentdb-gateway') return { types, leftOut: false };
  const queried = types.filter((t) => !RARE_TYPES.has(t));
  return { types: queried, leftOut: queried.length < types.length };
}

/**
 * The walk's one notice per helper call: documents whose `_id` has a type the server cannot query
 * are not visited. Not on FerretDB 1.x, which cannot store such an `_id` in the first place.
 */
function warnUnvisitedTypes(ctx: HelperContext, what: string): void {
  if (ctx.server.flavour === 'ferretdb') return;
  ctx.warn?.(`${what}: documents whose _id is a ${RARE_TYPE_NAMES} are not visited (${ctx.server.describe()} cannot query those types in order)`);
}

/** filter AND an `_id` condition; spread when the filter has no `_id` of its own (simplest for every server's planner). */
function withIdCondition(filter: Filter<Document>, condition: Document): Filter<Document> {
  if (!('_id' in filter)) return { ...filter, _id: condition };
  return { $and: [filter, { _id: condition }] };
}

/**
 * One page of documents: the bytes as read, decoded once into the stored values (every BSON type
 * kept) and the transform's own copy of them, which it may change in place (typed.ts).
 */
export interface Page {
  docs: WithId<Document>[];
  stored: WithId<Document>[];
  raw: Uint8Array[];
}

export function page(raw: Uint8Array[], ctx?: HelperContext): Page {
  const docs: WithId<Document>[] = [];
  const stored: WithId<Document>[] = [];
  for (const bytes of raw) {
    const decoded = decodeOnce(bytes, ctx);
    docs.push(decoded.view);
    stored.push(decoded.stored);
  }
  return { docs, stored, raw };
}

/**
 * For a collection that is only read (copyAndRename's source): one cursor in `sort` order (`_id`,
 * or a capped collection's natural order), handed out batchSize documents at a time. One pass over
 * the collection, where keyset pages cost a pass each on servers without an index range scan
 * (FerretDB 1.24). Each round trip asks for READ_BATCH documents or batchSize, whichever is more
 * (a reply stays within 16 MB): a read-only pass needs few round trips, and holds one reply.
 */
export async function* cursorBatches(
  ctx: HelperContext,
  collection: Collection,
  filter: Filter<Document>,
  batchSize: number,
  sort: Document = { _id: 1 },
  what?: string,
): AsyncGenerator<Page> {
  for await (const raw of rawCursorBatches(ctx, collection, filter, batchSize, sort, what)) yield page(raw, ctx);
}

/**
 * cursorBatches, the bytes only: for a pass that decodes just the documents it needs. A cursor in
 * `_id` order that fails by a failover or throttling (its `getMore` cannot be repeated: the cursor
 * died with the old primary) goes on with a new `find` from after the last `_id` read, then the
 * later type brackets as keysetBatches walks them. One in natural order cannot resume: its error
 * stands.
 */
export async function* rawCursorBatches(
  ctx: HelperContext,
  collection: Collection,
  filter: Filter<Document>,
  batchSize: number,
  sort: Document = { _id: 1 },
  what = `reading ${collection.collectionName}`,
): AsyncGenerator<Uint8Array[]> {
  const resumable = Object.keys(sort).length === 1 && sort._id === 1;
  const resend = new Resend(ctx, what, 'page read');
  // undefined: the whole filter; { $gt }: the rest of one type bracket; { $type }: later brackets
  let condition: Document | undefined;
  // the last document read (its _id decoded only to resume)
  let last: Uint8Array | undefined;
  let warned = false;
  let raw: Uint8Array[] = [];
  for (;;) {
    const query = condition === undefined ? filter : withIdCondition(filter, condition);
    const cursor = collection.find(query, { ...withSession(ctx), sort, batchSize: Math.max(batchSize, READ_BATCH), raw: true });
    let failure: { error: unknown } | undefined;
    try {
      for await (const bytes of cursor) {
        const doc = bytes as unknown as Uint8Array;
        raw.push(doc);
        last = doc;
        if (raw.length >= batchSize) {
          yield raw;
          raw = [];
        }
      }
    } catch (error) {
      failure = { error };
    } finally {
      // a cursor on a server that went away cannot be closed there: nothing to do about it
      await cursor.close().catch(() => undefined);
    }
    if (failure !== undefined) {
      if (!resumable || !(await resend.again(failure.error))) throw failure.error;
      if (last !== undefined) condition = { $gt: idOf(last, ctx) };
      continue;
    }
    const next = condition !== undefined && '$gt' in condition ? laterTypes(ctx, bracketOf(condition.$gt)) : undefined;
    if (next?.leftOut === true && !warned) {
      warned = true;
      warnUnvisitedTypes(ctx, what);
    }
    if (next === undefined || next.types.length === 0) break;
    condition = { $type: next.types };
  }
  if (raw.length > 0) yield raw;
}

/**
 * Yields the documents matching filter in `_id` order, batchSize at a time; `what` names the
 * helper in its notice. A pacer waits before every page but the first (so a pause never holds
 * documents already read while others may change them).
 */
export async function* keysetBatches(
  ctx: HelperContext,
  collection: Collection,
  filter: Filter<Document>,
  batchSize: number,
  what: string,
  pacer?: Pacer,
): AsyncGenerator<Page> {
  // undefined: from the start; { $gt }: the rest of one type bracket; { $type }: later brackets
  let condition: Document | undefined;
  let warned = false;
  let yielded = 0;
  for (;;) {
    if (yielded > 0 && pacer !== undefined) {
      await pacer.beforeNextBatch(yielded);
      // interrupted during the pause: read nothing more (the caller reports the interrupt)
      if (ctx.signal?.aborted === true) return;
    }
    const query = condition === undefined ? filter : withIdCondition(filter, condition);
    // raw: the driver's decoding would turn a Double 2.0 into 2 (an Int32 when written back).
    // Sent again after a failover or throttling: a new find from after the last _id read.
    const read = (): Promise<Uint8Array[]> =>
      collection.find(query, { ...withSession(ctx), sort: { _id: 1 }, limit: batchSize, batchSize, raw: true }).toArray() as unknown as Promise<Uint8Array[]>;
    const raw = await resending(ctx, what, 'page read', read);
    const batch = page(raw, ctx);
    const last = batch.docs.at(-1);
    yielded += batch.docs.length;
    if (last !== undefined) yield batch;
    if (last !== undefined && batch.docs.length === batchSize) {
      condition = { $gt: last._id };
      continue;
    }
    if (condition === undefined || !('$gt' in condition)) return;
    // the bracket of the last key is exhausted; documents with _ids of later types may remain
    const { types, leftOut } = laterTypes(ctx, bracketOf(condition.$gt));
    if (leftOut && !warned) {
      warned = true;
      warnUnvisitedTypes(ctx, what);
    }
    if (types.length === 0) return;
    condition = { $type: types };
  }
}

export interface WriteCounts {
  /** Updates whose filter matched a document. */
  matched: number;
  modified: number;
  deleted: number;
}

/**
 * Sends the operations with `bulkWrite` (unordered), at most `server.maxUpdatesPerCommand` per
 * call, one call after another: never one round trip per document, and never more statements in
 * one command than the server survives (FerretDB 1.x hangs from 100 on). Each call holds one kind
 * of operation, so it is one command (the driver would send a mixed one as an update command and
 * a delete command), and the fence is checked right before each: a lost lease stops the next one.
 * (Only a call over the server's message size, 48 MB on MongoDB, is still split by the driver.)
 *
 * Every operation here is idempotent: an update conditional on the values it replaces, a delete
 * or upsert by `_id`. So a call that met a failover (applied in part or not at all, unknown) is
 * sent again as it is (see failover-retry.ts); what it had applied then matches nothing, and the
 * page writer reads those documents again and finds them written. A call throttled statement by
 * statement (Cosmos DB RU's write errors 16500: those did nothing) sends again only the throttled
 * statements, counting what the others did; one throttled as a whole is sent again as it is.
 */
export async function writeChunked(
  ctx: HelperContext,
  collection: Collection,
  operations: AnyBulkWriteOperation[],
  /** Names the helper in the lines saying a call is sent again. */
  what: string,
  /** After each call but the last: how many of the operations went out, for progress within a batch. */
  onChunk?: (sent: number, total: number) => Promise<void>,
  /** e.g. bypassDocumentValidation, for a copy whose validator describes the old shape. */
  options: { bypassDocumentValidation?: boolean } = {},
): Promise<WriteCounts> {
  const counts: WriteCounts = { matched: 0, modified: 0, deleted: 0 };
  let sent = 0;
  const size = Math.max(1, ctx.server.maxUpdatesPerCommand);
  const kinds = new Map<string, AnyBulkWriteOperation[]>();
  for (const operation of operations) {
    const kind = Object.keys(operation)[0] ?? '';
    const same = kinds.get(kind);
    if (same === undefined) kinds.set(kind, [operation]);
    else same.push(operation);
  }
  for (const group of kinds.values()) {
    for (let start = 0; start < group.length; start += size) {
      ctx.fence?.();
      await sendChunk(ctx, collection, group.slice(start, start + size), what, options, counts);
      sent += Math.min(size, group.length - start);
      if (sent < operations.length) await onChunk?.(sent, operations.length);
    }
  }
  return counts;
}

/** What a bulk write error says of one statement, from whichever copy of the driver. */
interface StatementError {
  index?: unknown;
  code?: unknown;
}

/**
 * The statements a bulk write error says were throttled, when every statement it refused was
 * throttled (and so did nothing); undefined when it refused one for another reason, or none.
 */
function throttledStatements(error: unknown, sent: AnyBulkWriteOperation[]): AnyBulkWriteOperation[] | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const listed: unknown = (error as { writeErrors?: unknown }).writeErrors;
  const errors = (Array.isArray(listed) ? listed : listed === undefined || listed === null ? [] : [listed]) as StatementError[];
  if (errors.length === 0 || errors.some((e) => e.code !== SERVER_CODES.TooManyRequests || typeof e.index !== 'number')) return undefined;
  return errors.map((e) => sent[e.index as number]).filter((operation) => operation !== undefined);
}

function addCounts(counts: WriteCounts, result: unknown): void {
  const { matchedCount, modifiedCount, deletedCount } = (result ?? {}) as { matchedCount?: unknown; modifiedCount?: unknown; deletedCount?: unknown };
  counts.matched += typeof matchedCount === 'number' ? matchedCount : 0;
  counts.modified += typeof modifiedCount === 'number' ? modifiedCount : 0;
  counts.deleted += typeof deletedCount === 'number' ? deletedCount : 0;
}

/** One bulkWrite call, sent again after a failover or throttling (see writeChunked). */
async function sendChunk(
  ctx: HelperContext,
  collection: Collection,
  chunk: AnyBulkWriteOperation[],
  what: string,
  options: { bypassDocumentValidation?: boolean },
  counts: WriteCounts,
): Promise<void> {
  const resend = new Resend(ctx, what, 'batch');
  let pending = chunk;
  for (;;) {
    try {
      addCounts(counts, await collection.bulkWrite(pending, { ...options, ...withSession(ctx), ...WRITE_OPTIONS, ordered: false }));
      return;
    } catch (error) {
      const throttled = throttledStatements(error, pending);
      if (throttled === undefined) {
        if (!(await resend.again(error))) throw error;
        continue;
      }
      if (!(await resend.again(error, 'throttled'))) throw error;
      addCounts(counts, (error as { result?: unknown }).result);
      pending = throttled;
    }
  }
}

export function checkBatchSize(batchSize: number | undefined, what: string): number {
  const size = batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(size) || size < 1) throw usageError(`${what}: batchSize must be a positive integer, got ${String(batchSize)}`);
  return size;
}
