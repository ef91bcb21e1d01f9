/**
 * A catch-up pass of copyAndRename: the source read again, each document's digest compared with
 * its digest record (copy-job.ts), and what changed carried into the copy. A document whose digest
 * differs, or that has no record, is transformed again and replaces its copy (or leaves the copy,
 * when the transform now leaves it out); a record whose document is gone takes its copy with it.
 *
 * Where both are in `_id` order by the same comparison (no default collation, not capped) and the
 * `_id`s are of kinds id-order.ts can compare, the records are read with one cursor beside the
 * source's: a pass is then two reads, in few round trips, on every server (FerretDB 1.24 answers a
 * lookup of 1000 `_id`s with a pass over the collection). Otherwise each batch looks its records
 * up by `_id`, and deletes are found by counting: every record that existed before the pass should
 * be met once; when fewer were, the records are walked to find the ones without a document.
 *
 * Memory holds one batch (and a cursor reply); the digests stay on the server. Writes only for what
 * changed.
 */
import { performance } from 'node:perf_hooks';
import type { AnyBulkWriteOperation, Document } from 'mongodb';
import { rawCursorBatches, READ_BATCH, writeChunked } from './batches.ts';
import { throwIfAborted, withSession } from './context.ts';
import { digestOf, type CopyJob, type SumRecord } from './copy-job.ts';
import { compareIds } from './id-order.ts';
import { decodeOnce, idKey, idOf, isPlainObject, storedValues, transformView } from './typed.ts';
import type { HelperContext } from './types.ts';

export interface PassOutcome {
  /** Documents whose copy was replaced (changed since they were copied). */
  changed: number;
  /** Documents the source gained. */
  added: number;
  /** Documents the source lost. */
  deleted: number;
  ms: number;
}

/** Changes a pass found: none means the copy held the source as the pass read it. */
export const changesOf = (pass: PassOutcome): number => pass.changed + pass.added + pass.deleted;

/**
 * The `_id` to look a document up by: as decoded for the transform, except where that decoding
 * changed its bytes in a way equality would notice (a sub-document with a Double 2.0 in it).
 */
function exactId(id: unknown, raw: Uint8Array, ctx: HelperContext): unknown {
  return isPlainObject(id) || Array.isArray(id) ? storedValues(raw, ctx)._id : id;
}

/** The digest records of these `_id`s, by key. */
async function recordsOf(ctx: HelperContext, job: CopyJob, ids: unknown[]): Promise<Map<string, SumRecord>> {
  const raw = (await job.sums.find({ _id: { $in: ids } } as Document, { ...withSession(ctx), raw: true }).toArray()) as unknown as Uint8Array[];
  const records = new Map<string, SumRecord>();
  for (const bytes of raw) {
    const key = idKey(transformView(bytes, ctx)._id, ctx);
    records.set(key, storedValues(bytes, ctx) as unknown as SumRecord);
  }
  return records;
}

const copyIdOf = (record: SumRecord): unknown => (Object.hasOwn(record, 't') ? record.t : record._id);
/** A filter on one `_id` of any BSON type. */
const byId = (id: unknown): Document => ({ _id: id });

/** Writes of one catch-up batch, by collection, deletes before replacements. */
class CatchUpWrites {
  readonly tempDeletes: AnyBulkWriteOperation[] = [];
  readonly tempReplaces: AnyBulkWriteOperation[] = [];
  readonly kept: AnyBulkWriteOperation[] = [];
  readonly sums: AnyBulkWriteOperation[] = [];

  async send(ctx: HelperContext, job: CopyJob): Promise<void> {
    const options = job.writeOptions.bypassDocumentValidation === true ? { bypassDocumentValidation: true } : {};
    await writeChunked(ctx, job.temp, [...this.tempDeletes, ...this.tempReplaces], job.what, undefined, options);
    if (job.keepTemp !== undefined && this.kept.length > 0) await writeChunked(ctx, job.keepTemp, this.kept, job.what, undefined, options);
    await writeChunked(ctx, job.sums, this.sums, job.what);
  }
}

/** Carries one changed or new source document (its bytes, decoded here once) into the copies. */
async function carry(ctx: HelperContext, job: CopyJob, writes: CatchUpWrites, raw: Uint8Array, previous: SumRecord | undefined): Promise<void> {
  const { view: doc, stored } = decodeOnce(raw, ctx);
  const taken = await job.take(doc, raw, stored);
  const { sum, copy, original } = taken;
  if (previous?.c === true && (copy === undefined || idKey(copyIdOf(previous), ctx) !== idKey(copy._id, ctx))) {
    writes.tempDeletes.push({ deleteOne: { filter: byId(copyIdOf(previous)) } });
  }
  if (copy !== undefined) writes.tempReplaces.push({ replaceOne: { filter: byId(copy._id), replacement: copy, upsert: true } });
  writes.kept.push({ replaceOne: { filter: byId(original._id), replacement: original, upsert: true } });
  writes.sums.push({ replaceOne: { filter: byId(sum._id), replacement: sum, upsert: true } });
  const counts = job.counts;
  counts.copied += (sum.c ? 1 : 0) - (previous?.c === true ? 1 : 0);
  counts.leftOut += (sum.c ? 0 : 1) - (previous !== undefined && !previous.c ? 1 : 0);
  counts.carriedOver += 1;
}

/** The digest records in `_id` order, read beside the source; see the file header. */
class RecordWalk {
  private readonly cursor;
  private next: { id: unknown; record: SumRecord } | undefined;
  private done = false;

  constructor(
    private readonly ctx: HelperContext,
    job: CopyJob,
  ) {
    this.cursor = job.sums.find({}, { ...withSession(ctx), sort: { _id: 1 }, batchSize: READ_BATCH, raw: true });
  }

  private async peek(): Promise<{ id: unknown; record: SumRecord } | undefined> {
    if (this.next === undefined && !this.done) {
      const bytes = (await this.cursor.next()) as unknown as Uint8Array | null;
      if (bytes === null) this.done = true;
      else this.next = { id: transformView(bytes, this.ctx)._id, record: storedValues(bytes, this.ctx) as unknown as SumRecord };
    }
    return this.next;
  }

  /** The records up to `last` (all the rest with undefined); undefined when an `_id` cannot be compared. */
  async upTo(last: unknown): Promise<{ id: unknown; record: SumRecord }[] | undefined> {
    const taken: { id: unknown; record: SumRecord }[] = [];
    for (let head = await this.peek(); head !== undefined; head = await this.peek()) {
      if (last !== undefined) {
        const order = compareIds(head.id, last);
        if (order === undefined) return undefined;
        if (order > 0) break;
      }
      taken.push(head);
      this.next = undefined;
    }
    return taken;
  }

  close(): Promise<void> {
    return this.cursor.close();
  }
}

/** One pass over the source; see the file header. `walk`: read the records beside it where they can be. */
export async function catchUpPass(ctx: HelperContext, job: CopyJob, batchSize: number, sort: Document, walk: boolean): Promise<PassOutcome> {
  const started = performance.now();
  // every source document read so far has exactly one record
  const recordsBefore = job.counts.copied + job.counts.leftOut;
  let met = 0;
  let changed = 0;
  let added = 0;
  let deleted = 0;
  let records = walk ? new RecordWalk(ctx, job) : undefined;
  try {
    for await (const raw of rawCursorBatches(ctx, job.source, {}, batchSize, sort, job.what)) {
      // only the _ids: a document is decoded whole only when it changed
      const ids = raw.map((bytes) => idOf(bytes, ctx));
      const keys = ids.map((id) => idKey(id, ctx));
      const writes = new CatchUpWrites();
      let found: Map<string, SumRecord> | undefined;
      if (records !== undefined) {
        const taken = await records.upTo(ids.at(-1));
        if (taken === undefined) {
          // an _id it cannot order: look the records up from here on
          await records.close();
          records = undefined;
        } else {
          found = new Map(taken.map(({ id, record }) => [idKey(id, ctx), record]));
          const here = new Set(keys);
          for (const [key, record] of found) if (!here.has(key)) deleted += carryDelete(job, writes, record);
        }
      }
      found ??= await recordsOf(
        ctx,
        job,
        ids.map((id, i) => exactId(id, raw[i] ?? new Uint8Array(), ctx)),
      );
      for (const [index, bytes] of raw.entries()) {
        const previous = found.get(keys[index] ?? '');
        if (previous !== undefined) met += 1;
        if (previous?.d === digestOf(bytes)) continue;
        await carry(ctx, job, writes, bytes, previous);
        if (previous === undefined) added += 1;
        else changed += 1;
      }
      await writes.send(ctx, job);
      throwIfAborted(ctx, job.what, 0, undefined, 'nothing was swapped');
    }
    if (records !== undefined) {
      // records after the source's last document: their documents are gone
      const writes = new CatchUpWrites();
      for (const { record } of (await records.upTo(undefined)) ?? []) deleted += carryDelete(job, writes, record);
      await writes.send(ctx, job);
    }
  } finally {
    await records?.close();
  }
  if (met + deleted < recordsBefore) deleted += await carryDeletes(ctx, job, batchSize);
  return { changed, added, deleted, ms: performance.now() - started };
}

/** The copy and the record of a source document that is gone; counts it (returns 1). */
function carryDelete(job: CopyJob, writes: CatchUpWrites, record: SumRecord): number {
  if (record.c) writes.tempDeletes.push({ deleteOne: { filter: byId(copyIdOf(record)) } });
  writes.kept.push({ deleteOne: { filter: byId(record._id) } });
  writes.sums.push({ deleteOne: { filter: byId(record._id) } });
  if (record.c) job.counts.copied -= 1;
  else job.counts.leftOut -= 1;
  job.counts.carriedOver += 1;
  return 1;
}

/** Walks the digest records and removes, with their copies, those whose source document is gone. */
async function carryDeletes(ctx: HelperContext, job: CopyJob, batchSize: number): Promise<number> {
  let deleted = 0;
  let batch: Uint8Array[] = [];
  const flush = async (): Promise<void> => {
    const records = batch.map((bytes) => ({ key: idKey(transformView(bytes, ctx)._id, ctx), record: storedValues(bytes, ctx) as unknown as SumRecord }));
    batch = [];
    const present = (await job.source
      .find({ _id: { $in: records.map((r) => r.record._id) } } as Document, { ...withSession(ctx), projection: { _id: 1 }, raw: true })
      .toArray()) as unknown as Uint8Array[];
    const there = new Set(present.map((bytes) => idKey(transformView(bytes, ctx)._id, ctx)));
    const writes = new CatchUpWrites();
    for (const { key, record } of records) if (!there.has(key)) deleted += carryDelete(job, writes, record);
    await writes.send(ctx, job);
  };
  const cursor = job.sums.find({}, { ...withSession(ctx), sort: { _id: 1 }, batchSize, raw: true });
  try {
    for await (const bytes of cursor) {
      batch.push(bytes as unknown as Uint8Array);
      if (batch.length >= batchSize) await flush();
    }
    if (batch.length > 0) await flush();
  } finally {
    await cursor.close();
  }
  return deleted;
}
