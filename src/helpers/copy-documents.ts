/**
 * copyAndRename's first pass: every source document, in batches, into the copy (and the copy of
 * the original, and the digest records). The source is only read, with one cursor (one pass over
 * it), in `_id` order, or in natural order for a capped collection, whose copy must keep it.
 *
 * Batch k is inserted while batch k+1 is read and transformed; batch k+1 goes out only once batch
 * k's inserts have succeeded. A failure is kept as a value, so it is never an unhandled rejection
 * while the loop waits for the cursor.
 */
import type { Document } from 'mongodb';
import { cursorBatches } from './batches.ts';
import { ProgressMeter, throwIfAborted } from './context.ts';
import type { CopyJob } from './copy-job.ts';
import type { Pacer } from './pacing.ts';
import type { HelperContext } from './types.ts';

export interface CopySettings {
  batchSize: number;
  /** The source's read order: `{ _id: 1 }`, or `{ $natural: 1 }` for a capped collection. */
  sort: Document;
  counting: Promise<number>;
  pacer: Pacer | undefined;
}

/** Copies the documents in batches; the job's counts say how many the copy got and how many the transform left out. */
export async function copyDocuments(ctx: HelperContext, job: CopyJob, { batchSize, sort, counting, pacer }: CopySettings): Promise<void> {
  const { what } = job;
  // progress starts at once; its total arrives when the count (running beside the copy) does
  const meter = new ProgressMeter(ctx, 'copyAndRename', job.source.collectionName, counting);
  const options = job.insertOptions();
  let inFlight: { outcome: Promise<{ error: unknown } | undefined>; copies: number; read: number } | undefined;
  /** Waits for the batch in flight; false when there was none. */
  const settle = async (): Promise<boolean> => {
    if (inFlight === undefined) return false;
    const { outcome, copies, read } = inFlight;
    inFlight = undefined;
    const failure = await outcome;
    if (failure !== undefined) throw failure.error;
    job.counts.copied += copies;
    job.counts.leftOut += read - copies;
    await meter.add(read);
    throwIfAborted(ctx, what, meter.done, meter.total);
    return true;
  };
  try {
    for await (const { docs, stored, raw } of cursorBatches(ctx, job.source, {}, batchSize, sort, what)) {
      const copies: Document[] = [];
      const originals: Document[] = [];
      const sums: Document[] = [];
      for (const [index, doc] of docs.entries()) {
        const bytes = raw[index];
        if (bytes === undefined) continue;
        const taken = await job.take(doc, bytes, stored[index]);
        if (taken.copy !== undefined) copies.push(taken.copy);
        originals.push(taken.original);
        sums.push(taken.sum);
      }
      // between two batches: the one before is written, this one is not sent yet
      if ((await settle()) && pacer !== undefined) {
        await pacer.beforeNextBatch(meter.done);
        throwIfAborted(ctx, what, meter.done, meter.total);
      }
      const writes: Promise<unknown>[] = [];
      const insert = (target: { insertMany(documents: Document[], options: Document): Promise<unknown> }, documents: Document[]): void => {
        if (documents.length === 0) return;
        ctx.fence?.();
        writes.push(target.insertMany(documents, options));
      };
      try {
        // the kept originals are written with their BSON types intact
        if (job.keepTemp !== undefined) insert(job.keepTemp, originals);
        insert(job.temp, copies);
        insert(job.sums, sums);
      } finally {
        // also when the fence stopped a later insert: the earlier ones are awaited, never left unhandled
        inFlight = {
          // allSettled, not all: when one insert fails the others still finish before the caller
          // drops the temporary collections (a late insert would create one of them again)
          outcome: Promise.allSettled(writes).then((results) => {
            const failed = results.find((result) => result.status === 'rejected');
            return failed === undefined ? undefined : { error: failed.reason as unknown };
          }),
          copies: copies.length,
          read: docs.length,
        };
      }
    }
    await settle();
    await pacer?.afterLastBatch(meter.done);
  } finally {
    // on an error, the inserts in flight finish before the caller drops the temporary collections
    if (inFlight !== undefined) await inFlight.outcome;
  }
}
