/**
 * A catch-up pass of copyAndRename: the source read again, each document's digest compared with
 * its digest record (copy-job.ts), and what changed carried into the copy. A document whose digest
 * differs, or that has no record, is transformed again and replaces its copy (or leaves the copy,
 * when the transform now leaves it out); a record whose document is gone takes its copy with it.
 * Deletes are found by counting: every record that existed before the pass should be met once;
 * when fewer were, the records are walked to find the ones without a document.
 *
 * Memory holds one batch; the digests stay on the server. A pass costs a read of the source, one
 * `find` of records per batch, and writes only for what changed.
 */
import { performance } from 'node:perf_hooks';
import type { AnyBulkWriteOperation, Document, WithId } from 'mongodb';
import { cursorBatches, writeChunked } from './batches.ts';
import { throwIfAborted, withSession } from './context.ts';
import { digestOf, type CopyJob, type SumRecord } from './copy-job.ts';
import { idKey, isPlainObject, storedValues, transformView } from './typed.ts';
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
function exactId(doc: WithId<Document>, raw: Uint8Array, ctx: HelperContext): unknown {
  const id: unknown = doc._id;
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
    await writeChunked(ctx, job.temp, [...this.tempDeletes, ...this.tempReplaces], undefined, options);
    if (job.keepTemp !== undefined && this.kept.length > 0) await writeChunked(ctx, job.keepTemp, this.kept, undefined, options);
    await writeChunked(ctx, job.sums, this.sums);
  }
}

/** Carries one changed or new source document into the copies. */
async function carry(ctx: HelperContext, job: CopyJob, writes: CatchUpWrites, doc: WithId<Document>, raw: Uint8Array, previous: SumRecord | undefined): Promise<void> {
  const taken = await job.take(doc, raw);
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

/** One pass over the source; see the file header. */
export async function catchUpPass(ctx: HelperContext, job: CopyJob, batchSize: number, sort: Document): Promise<PassOutcome> {
  const started = performance.now();
  // every source document read so far has exactly one record
  const recordsBefore = job.counts.copied + job.counts.leftOut;
  let met = 0;
  let changed = 0;
  let added = 0;
  for await (const { docs, raw } of cursorBatches(ctx, job.source, {}, batchSize, sort)) {
    const ids = docs.map((doc, i) => exactId(doc, raw[i] ?? new Uint8Array(), ctx));
    const records = await recordsOf(ctx, job, ids);
    const writes = new CatchUpWrites();
    for (const [index, doc] of docs.entries()) {
      const bytes = raw[index];
      if (bytes === undefined) continue;
      const previous = records.get(idKey(doc._id, ctx));
      if (previous !== undefined) met += 1;
      if (previous?.d === digestOf(bytes)) continue;
      await carry(ctx, job, writes, doc, bytes, previous);
      if (previous === undefined) added += 1;
      else changed += 1;
    }
    await writes.send(ctx, job);
    throwIfAborted(ctx, job.what, 0, undefined, 'nothing was swapped');
  }
  const deleted = met < recordsBefore ? await carryDeletes(ctx, job, batchSize) : 0;
  return { changed, added, deleted, ms: performance.now() - started };
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
    for (const { key, record } of records) {
      if (there.has(key)) continue;
      if (record.c) writes.tempDeletes.push({ deleteOne: { filter: byId(copyIdOf(record)) } });
      writes.kept.push({ deleteOne: { filter: byId(record._id) } });
      writes.sums.push({ deleteOne: { filter: byId(record._id) } });
      if (record.c) job.counts.copied -= 1;
      else job.counts.leftOut -= 1;
      job.counts.carriedOver += 1;
      deleted += 1;
    }
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
