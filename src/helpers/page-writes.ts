/**
 * Writing one page of transformed documents back, safely beside an application that keeps writing.
 *
 * Every changed document goes out as a conditional `updateOne` (see diff.ts), every `'delete'` as a
 * conditional `deleteOne`. When the server's counts say every write found its document, that is
 * all (the common case: no extra round trip). Otherwise some document changed between our read and
 * our write: one `find` reads those documents again, the ones whose writes did not apply are
 * transformed again from what they hold now and written again, a bounded number of times.
 */
import type { AnyBulkWriteOperation, Collection, Document, Filter, WithId } from 'mongodb';
import { MongrateError, usageError } from '../errors.ts';
import { page, writeChunked, type Page } from './batches.ts';
import { bsonOf, withSession } from './context.ts';
import { resending } from './failover-retry.ts';
import { deleteFilter, diffWrite, holdsTarget, type DiffWrite } from './diff.ts';
import { withoutStaleLargeFields } from './large-values.ts';
import { idKey, sameBytes } from './typed.ts';
import type { DocumentTransform, HelperContext, TransformResult } from './types.ts';

/** Writes of one document before the helper gives up on it: the first and four more. */
export const MAX_WRITE_ATTEMPTS = 5;
const IDS_NAMED = 10;

export interface PlannedWrite {
  id: unknown;
  operation: AnyBulkWriteOperation;
  /** The update's target, to tell after a shortfall whether it applied; undefined for a delete. */
  diff: DiffWrite | undefined;
  /** The document as stored when read, every BSON type kept. */
  stored: WithId<Document>;
  /** Fields too large for the filter, compared by re-reading them before the write. */
  checked: string[];
}

/**
 * A transform as the page writer calls it: the document as decoded for it, and its stored values
 * (every BSON type kept; not to be changed: the diff compares with them), which a declarative spec
 * copies and rearranges so that a value it moves keeps its type.
 */
export type PageTransform = (doc: WithId<Document>, stored: () => WithId<Document>) => TransformResult | Promise<TransformResult>;

/** A user's transform, which sees only the document. */
export const userTransform =
  (transform: DocumentTransform): PageTransform =>
  (doc) =>
    transform(doc);

export interface PageCounts {
  modified: number;
  deleted: number;
  /** Writes that found their document deleted, or out of the helper's filter, by another writer. */
  vanished: number;
}

/** Refuses a result whose `_id` is not the original's (a result without one keeps it). */
export function checkSameId(result: Document, original: WithId<Document>, what: string): void {
  const id: unknown = result._id;
  if (id !== undefined && id !== original._id && !sameBytes(bsonOf().serialize({ id }), bsonOf().serialize({ id: original._id }))) {
    throw usageError(`${what}: the transform changed the _id of ${String(original._id)}; a document's _id cannot change (copy the collection instead)`);
  }
}

/** The transform's document with the original `_id` first; refuses a changed `_id`. */
export function replacementFor(result: Document, original: WithId<Document>, what: string): WithId<Document> {
  checkSameId(result, original, what);
  const rest = { ...result };
  delete rest._id;
  return { _id: original._id, ...rest };
}

/** Refuses results that are neither a document, null nor 'delete' (e.g. a forgotten `return`). */
export function checkResult(result: unknown, original: WithId<Document>, what: string): TransformResult {
  if (result === null || result === 'delete') return result;
  if (typeof result === 'object' && !Array.isArray(result)) return result;
  throw usageError(
    `${what}: the transform returned ${result === undefined ? 'undefined' : typeof result} for _id ${String(original._id)}; return the new document, null to leave it, or 'delete'`,
  );
}

/**
 * The write for one document and its transform's outcome, or undefined when there is nothing to
 * write. The transform may have changed `doc` in place, so what it returned is compared with
 * `stored`, the values of the bytes `raw` as read (decoded apart from `doc`, see Page). The diff
 * skips `_id`, so the outcome is compared as it is, once its `_id` is checked.
 */
export function plannedWrite(doc: WithId<Document>, stored: WithId<Document>, raw: Uint8Array, outcome: TransformResult, what: string, ctx?: HelperContext): PlannedWrite | undefined {
  if (outcome === null) return undefined;
  if (outcome === 'delete') {
    const { filter, checked } = deleteFilter(stored, ctx, raw.byteLength);
    return { id: stored._id, operation: { deleteOne: { filter } }, diff: undefined, stored, checked };
  }
  checkSameId(outcome, doc, what);
  // a result of another kind (a class instance, no prototype) is read as its own fields, as a copy would be
  const next = Object.getPrototypeOf(outcome) === Object.prototype ? outcome : { ...outcome };
  const diff = diffWrite(stored, next, what, ctx, raw.byteLength);
  if (diff === undefined) return undefined;
  return { id: stored._id, operation: { updateOne: { filter: diff.filter, update: diff.update } }, diff, stored, checked: diff.checked };
}

async function planWrites(ctx: HelperContext, documents: Page, transform: PageTransform, what: string): Promise<PlannedWrite[]> {
  const planned: PlannedWrite[] = [];
  for (const [index, doc] of documents.docs.entries()) {
    const raw = documents.raw[index];
    const stored = documents.stored[index];
    if (raw === undefined || stored === undefined) continue;
    const outcome = checkResult(await transform(doc, () => stored), doc, what);
    const write = plannedWrite(doc, stored, raw, outcome, what, ctx);
    if (write !== undefined) planned.push(write);
  }
  return planned;
}

/**
 * The planned documents as they are now, still within the helper's filter (a document another
 * writer moved out of it, e.g. bumped to the target version, is no longer ours to transform).
 */
async function readAgain(ctx: HelperContext, collection: Collection, filter: Filter<Document>, ids: unknown[], what: string): Promise<Page> {
  const byIds: Document = { _id: { $in: ids } };
  const query = Object.keys(filter).length === 0 ? byIds : { $and: [filter, byIds] };
  const read = (): Promise<Uint8Array[]> => collection.find(query, { ...withSession(ctx), sort: { _id: 1 }, raw: true }).toArray() as unknown as Promise<Uint8Array[]>;
  const raw = await resending(ctx, what, 'page read', read);
  return page(raw, ctx);
}


/**
 * The documents whose writes did not apply, as read again. A document not read again is gone or
 * out of the filter; one holding the update's values was written (by us, or by another writer
 * doing the same); a delete whose document is still there did not apply. Anything else is
 * written again. (One of our updates that applied and was then overwritten in the same fields,
 * within this round trip, looks unapplied and is transformed again from what it holds now.)
 */
function unapplied(ctx: HelperContext, planned: PlannedWrite[], current: Page): Page {
  const writes = new Map(planned.map((p) => [idKey(p.id), p]));
  const again: Page = { docs: [], stored: [], raw: [] };
  for (const [index, raw] of current.raw.entries()) {
    const now = current.stored[index];
    const doc = current.docs[index];
    if (now === undefined || doc === undefined) continue;
    const write = writes.get(idKey(now._id));
    if (write === undefined || (write.diff !== undefined && holdsTarget(now, write.diff, ctx))) continue;
    again.docs.push(doc);
    again.stored.push(now);
    again.raw.push(raw);
  }
  return again;
}

function retriesExhausted(what: string, ids: unknown[]): MongrateError {
  const named = ids.slice(0, IDS_NAMED).map(String).join(', ');
  const more = ids.length > IDS_NAMED ? ` and ${ids.length - IDS_NAMED} more` : '';
  return new MongrateError(
    'MIGRATION_FAILED',
    `${what}: ${ids.length === 1 ? 'the document' : `${ids.length} documents`} with _id ${named}${more} changed by another writer on every attempt (${MAX_WRITE_ATTEMPTS} reads and writes); the other documents of the batch are written. Run the migration again when that writer is quieter`,
  );
}

/**
 * Transforms and writes one page, reading and transforming again what changed meanwhile.
 * `onProgress` hears which part of the page's first writes went out, where they take several commands.
 */
export async function writePage(
  ctx: HelperContext,
  collection: Collection,
  filter: Filter<Document>,
  documents: Page,
  transform: PageTransform,
  what: string,
  onProgress?: (fraction: number) => Promise<void>,
): Promise<PageCounts> {
  const counts: PageCounts = { modified: 0, deleted: 0, vanished: 0 };
  let pending = documents;
  for (let attempt = 1; ; attempt++) {
    const planned = await planWrites(ctx, pending, transform, what);
    if (planned.length === 0) return counts;
    // a large field another writer changed since it was read: not written now, read again below
    const ready = await withoutStaleLargeFields(ctx, collection, planned);
    const chunk = attempt === 1 && onProgress !== undefined ? (sent: number, total: number) => onProgress(sent / total) : undefined;
    const written = await writeChunked(ctx, collection, ready.map((p) => p.operation), what, chunk);
    counts.modified += written.modified;
    counts.deleted += written.deleted;
    const missed = planned.length - written.matched - written.deleted;
    if (missed <= 0) return counts;
    const current = await readAgain(ctx, collection, filter, planned.map((p) => p.id), what);
    pending = unapplied(ctx, planned, current);
    counts.vanished += Math.max(0, missed - pending.docs.length);
    if (pending.docs.length === 0) return counts;
    if (attempt === MAX_WRITE_ATTEMPTS) throw retriesExhausted(what, pending.docs.map((doc) => doc._id as unknown));
  }
}
