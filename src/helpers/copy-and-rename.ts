/**
 * `copyAndRename`: builds the new shape of a collection beside it, then swaps it in.
 *
 * Documents are copied in batches into a temporary collection created with the source's options,
 * the source's indexes (changed by the `indexes` option) are rebuilt on it, the copy is counted
 * against the source, and one `renameCollection` with `dropTarget` replaces the target: readers
 * see the old or the new collection, never none. Servers without `dropTarget` (FerretDB) need the
 * caller's `allowBriefGap` to move the target aside first. Afterwards the source is gone (renamed
 * to `keepOriginalAs` when given). A crash, or a copy refused by the count, leaves only
 * `_mongrate_tmp_*` collections behind, which the next run drops before it starts.
 */
import type { Collection, Db, Document } from 'mongodb';
import { MongrateError, usageError } from '../errors.ts';
import { FEATURE_NAMES } from '../server/capabilities.ts';
import { checkBatchSize, cursorBatches } from './batches.ts';
import { collectionEntry, copyOptions, type CopyOptions } from './collection-options.ts';
import { ProgressMeter, bsonOf, countBeside, resolveCollection, throwIfAborted, withSession } from './context.ts';
import { buildIndexes, copyIndexSpecs } from './copy-indexes.ts';
import { keepUntouchedTypes } from './diff.ts';
import { copyableIndexes, existingIndexes } from './indexes.ts';
import { ASIDE_PREFIX, TEMP_PREFIX } from './leftovers.ts';
import { checkResult } from './page-writes.ts';
import { Pacer, paces, pacingNote } from './pacing.ts';
import { applySpec, checkSpec, isReshapeSpec } from './spec.ts';
import { collectionType, dropIfExists, isSharded, shardedError, swap, type Names } from './swap.ts';
import { refuseInTransaction } from './transaction-limit.ts';
import { countOf } from '../util/words.ts';
import type { CollectionRef, CopyAndRenameOptions, CopyAndRenameResult, DocumentTransform, HelperContext, ReshapeSpec } from './types.ts';

export async function copyAndRenameWith<T extends Document>(
  ctx: HelperContext,
  ref: CollectionRef<T>,
  options: CopyAndRenameOptions<T> = {},
): Promise<CopyAndRenameResult> {
  const source = resolveCollection(ctx, ref);
  const db = source.db;
  const to = options.to ?? source.collectionName;
  const keep = options.keepOriginalAs;
  const what = `copyAndRename(${source.collectionName}${to === source.collectionName ? '' : ` -> ${to}`})`;
  checkNames(source.collectionName, to, keep, what);
  refuseInTransaction(ctx, what);
  const batchSize = checkBatchSize(options.batchSize, what);
  const throttled = paces(ctx, options, what);
  const transform = transformOf(options.transform as DocumentTransform | ReshapeSpec | undefined, what);

  const entry = await collectionEntry(ctx, db, source.collectionName);
  if (entry === undefined) throw await missingSourceError(ctx, db, source.collectionName, keep, what);
  const created = copyOptions(ctx, entry, what);
  const targetExists = to === source.collectionName || (await collectionType(ctx, db, to)) !== undefined;
  if (ctx.server.topology === 'sharded') {
    for (const name of targetExists ? [source.collectionName, to] : [source.collectionName]) {
      if (await isSharded(ctx, db, name)) throw shardedError(what, name);
    }
  }
  if (keep !== undefined && (await collectionType(ctx, db, keep)) !== undefined) {
    throw new MongrateError(
      'MIGRATION_FAILED',
      `${what}: '${keep}' (keepOriginalAs) already exists; if an earlier run stopped half-way, check which collection holds the original before dropping '${keep}'`,
    );
  }
  const atomic = !targetExists || ctx.server.supports('renameDropTarget');
  if (!atomic && options.allowBriefGap !== true) {
    throw new MongrateError(
      'MIGRATION_FAILED',
      `${what} needs ${FEATURE_NAMES.renameDropTarget} [renameDropTarget] to replace '${to}' in one step, which ${ctx.server.describe()} does not support; pass allowBriefGap: true to accept a brief moment in which '${to}' is missing`,
    );
  }
  const names: Names = {
    source: source.collectionName,
    to,
    keep,
    temp: TEMP_PREFIX + to,
    keepTemp: keep !== undefined && to === source.collectionName && atomic ? TEMP_PREFIX + keep : undefined,
    aside: atomic ? undefined : keep !== undefined && to === source.collectionName ? keep : ASIDE_PREFIX + to,
  };
  // read and checked before anything is copied: a mistake in the indexes option costs no copy
  const sourceIndexes = copyableIndexes(await existingIndexes(ctx, source));
  const copySpecs = copyIndexSpecs(ctx, options.copyIndexes === false ? [] : sourceIndexes, options.indexes, what);

  // The dry run's plan gets the exact count. A real run needs a total only for its progress, so it
  // asks for the collection's metadata count and does not wait for it.
  const { counting, settled } = await countBeside(ctx, () => (ctx.dryRun ? source.countDocuments({}, withSession(ctx)) : metadataCount(ctx, source)));
  if (ctx.dryRun) {
    const total = await counting;
    const into = to === names.source ? `and rename the copy over '${to}'` : `into '${to}'`;
    const kept = keep === undefined ? '' : `, keep the original as '${keep}'`;
    const gap = atomic ? {} : { note: `'${to}' is missing for a moment: no renameCollection dropTarget` };
    ctx.onPlan?.({ helper: 'copyAndRename', collection: names.source, action: `copy ${countOf(total, 'document')} ${into}${kept}`, ...gap, documents: total });
    return { matched: total, copied: 0, dryRun: true };
  }

  const temporary = [names.temp, names.keepTemp, atomic ? undefined : ASIDE_PREFIX + to].filter((n): n is string => n !== undefined);
  for (const name of temporary) await dropIfExists(ctx, db, name);
  // a copy the count refused stays for inspection, beside the untouched source
  let keepCopies = false;
  try {
    for (const name of [names.temp, names.keepTemp]) {
      if (name === undefined) continue;
      ctx.fence?.();
      await db.createCollection(name, { ...created.options, ...withSession(ctx) });
    }
    const pacer = throttled ? new Pacer(ctx, options) : undefined;
    const { copied, leftOut } = await copyDocuments(ctx, source, names, transform, { batchSize, created, counting, what, pacer }).finally(settled);
    await buildIndexes(ctx, db.collection(names.temp), copySpecs, what);
    // the kept original is the original: it keeps the source's indexes whatever the copy gets
    if (names.keepTemp !== undefined) await buildIndexes(ctx, db.collection(names.keepTemp), sourceIndexes, what);
    const mismatch = await verifyCopy(ctx, source, names, leftOut, created.capped, what);
    if (mismatch !== undefined) {
      keepCopies = true;
      throw mismatch;
    }
    await swap(ctx, db, names, atomic, what);
    ctx.log?.(`${what}: ${copied} documents copied${keep === undefined ? '' : `, original kept as '${keep}'`}${pacingNote(pacer)}`);
    return { matched: copied + leftOut, copied };
  } catch (error) {
    // only our temporary names: after a successful rename they no longer exist
    if (!keepCopies) for (const name of [names.temp, names.keepTemp]) if (name !== undefined) await dropIfExists(ctx, db, name).catch(() => undefined);
    throw error;
  }
}

/** A brief-gap swap that crashed between its two renames leaves the original aside: say where. */
async function missingSourceError(ctx: HelperContext, db: Db, source: string, keep: string | undefined, what: string): Promise<MongrateError> {
  for (const aside of [ASIDE_PREFIX + source, keep]) {
    if (aside !== undefined && (await collectionType(ctx, db, aside)) !== undefined) {
      return new MongrateError(
        'MIGRATION_FAILED',
        `${what}: collection '${source}' does not exist, but '${aside}' does: an earlier run may have stopped between its two renames; check '${aside}' and rename it back to '${source}'`,
      );
    }
  }
  return new MongrateError('MIGRATION_FAILED', `${what}: collection '${source}' does not exist`);
}

function checkNames(source: string, to: string, keep: string | undefined, what: string): void {
  if (to === '') throw usageError(`${what}: 'to' must not be empty`);
  if (keep === undefined) return;
  if (keep === '' || keep === source || keep === to) throw usageError(`${what}: keepOriginalAs must name a new collection, not '${keep}'`);
}

function transformOf(given: DocumentTransform | ReshapeSpec | undefined, what: string): DocumentTransform {
  if (given === undefined) return (doc) => doc;
  if (isReshapeSpec(given)) {
    checkSpec(given, what);
    return (doc) => applySpec(given, doc);
  }
  if (typeof given !== 'function') throw usageError(`${what}: transform must be a function or a spec`);
  return given;
}

/**
 * The swap's precondition: the copy holds every document of the source now, less those the
 * transform left out. A writer that inserted or deleted during the copy breaks it (one that
 * inserted one and deleted another does not: this is a count, not a comparison).
 */
async function verifyCopy(ctx: HelperContext, source: Collection, names: Names, leftOut: number, capped: boolean, what: string): Promise<MongrateError | undefined> {
  const count = (name: string): Promise<number> => source.db.collection(name).countDocuments({}, withSession(ctx));
  const [now, inCopy, inKept] = await Promise.all([count(names.source), count(names.temp), names.keepTemp === undefined ? undefined : count(names.keepTemp)]);
  const expected = now - leftOut;
  if (inCopy === expected && (inKept === undefined || inKept === now)) return undefined;
  const kept = inKept === undefined ? '' : ` (the copy of the original, '${names.keepTemp ?? ''}', ${inKept})`;
  const cap = capped ? ', or the capped copy outgrew its size and lost its oldest documents' : '';
  return new MongrateError(
    'MIGRATION_FAILED',
    `${what}: the copy '${names.temp}' has ${inCopy} documents${kept}, but '${names.source}' now has ${now} and the transform left out ${leftOut}, so ${expected} were expected: writers were not stopped during the copy${cap}. Nothing was swapped: '${names.source}' is unchanged and the copy is kept to inspect (the next run drops it); stop the writes to '${names.source}' and run the migration again`,
  );
}

interface CopySettings {
  batchSize: number;
  created: CopyOptions;
  counting: Promise<number>;
  what: string;
  pacer: Pacer | undefined;
}

/** Copies the documents in batches; returns how many the copy got and how many the transform left out. */
async function copyDocuments(
  ctx: HelperContext,
  source: Collection,
  names: Names,
  transform: DocumentTransform,
  { batchSize, created, counting, what, pacer }: CopySettings,
): Promise<{ copied: number; leftOut: number }> {
  const temp = source.db.collection(names.temp);
  const keepTemp = names.keepTemp === undefined ? undefined : source.db.collection(names.keepTemp);
  // progress starts at once; its total arrives when the count (running beside the copy) does
  const meter = new ProgressMeter(ctx, 'copyAndRename', names.source, counting);
  let copied = 0;
  let leftOut = 0;
  // The copies are faithful, or in the new shape, while a validator copied from the source
  // describes the old one (and may be newer than documents it let stay): they bypass it.
  const insertOptions = { ...withSession(ctx), ordered: true, ...(created.validated ? { bypassDocumentValidation: true } : {}) };
  // Batch k is inserted while batch k+1 is read and transformed; batch k+1 goes out only once
  // batch k's insert has succeeded. A failure is kept as a value, so it is never an unhandled
  // rejection while the loop waits for the cursor.
  let inFlight: { outcome: Promise<{ error: unknown } | undefined>; copies: number; read: number } | undefined;
  /** Waits for the batch in flight; false when there was none. */
  const settle = async (): Promise<boolean> => {
    if (inFlight === undefined) return false;
    const { outcome, copies, read } = inFlight;
    inFlight = undefined;
    const failure = await outcome;
    if (failure !== undefined) throw failure.error;
    copied += copies;
    await meter.add(read);
    throwIfAborted(ctx, what, meter.done, meter.total);
    return true;
  };
  try {
    // the source is only read here, so one cursor: a single pass over it
    for await (const { docs: batch, originals, raw } of cursorBatches(ctx, source, {}, batchSize)) {
      const copies: Document[] = [];
      for (const [index, doc] of batch.entries()) {
        const original = originals[index] ?? doc;
        const outcome = checkResult(await transform(doc), doc, what);
        if (outcome === null || outcome === 'delete') continue;
        const { _id: id, ...rest } = outcome;
        // compared with a fresh decoding of the bytes as read: the transform may have changed doc in place
        const read = bsonOf(ctx).deserialize(raw[index] ?? bsonOf(ctx).serialize(original));
        copies.push(keepUntouchedTypes({ _id: (id as unknown) ?? original._id, ...rest }, read, original));
      }
      // between two batches: the one before is written, this one is not sent yet
      if ((await settle()) && pacer !== undefined) {
        await pacer.beforeNextBatch(meter.done);
        throwIfAborted(ctx, what, meter.done, meter.total);
      }
      leftOut += batch.length - copies.length;
      const writes: Promise<unknown>[] = [];
      const insert = (target: Collection, documents: Document[]): void => {
        ctx.fence?.();
        writes.push(target.insertMany(documents, insertOptions));
      };
      try {
        // the kept originals are written with their BSON types intact
        if (keepTemp !== undefined) insert(keepTemp, originals);
        if (copies.length > 0) insert(temp, copies);
      } finally {
        // also when the fence stopped the second insert: the first one is awaited, never left unhandled
        inFlight = {
          outcome: Promise.all(writes).then(
            () => undefined,
            (error: unknown) => ({ error }),
          ),
          copies: copies.length,
          read: batch.length,
        };
      }
    }
    await settle();
    await pacer?.afterLastBatch(meter.done);
  } finally {
    // on an error, the insert in flight finishes before the caller drops the temporary collection
    if (inFlight !== undefined) await inFlight.outcome;
  }
  return { copied, leftOut };
}

/**
 * The document count the server keeps for the collection: `$collStats` (summed over shards), else
 * `estimatedDocumentCount`. Both are metadata on MongoDB, but FerretDB 1.24 answers the `count`
 * command behind estimatedDocumentCount with a pass over the collection (5.3 s at 100,000
 * documents, against 0.12 s for $collStats).
 */
async function metadataCount(ctx: HelperContext, collection: Collection): Promise<number> {
  try {
    const stats = await collection.aggregate<{ count?: unknown }>([{ $collStats: { count: {} } }], withSession(ctx)).toArray();
    const counts = stats.map((s) => s.count);
    if (counts.length > 0 && counts.every((c): c is number => typeof c === 'number')) return counts.reduce((a, b) => a + b, 0);
  } catch {
    // refused (an old server, a restricted user): the driver's estimate below
  }
  return collection.estimatedDocumentCount(withSession(ctx));
}
