/**
 * `copyAndRename`: builds the new shape of a collection beside it, then swaps it in.
 *
 * Documents are copied in batches into a temporary collection, the source's indexes are rebuilt
 * on it, and one `renameCollection` with `dropTarget` replaces the target: readers see the old or
 * the new collection, never none. Servers without `dropTarget` (FerretDB) need the caller's
 * `allowBriefGap` to move the target aside first. Afterwards the source is gone (renamed to
 * `keepOriginalAs` when given). A crash leaves only `_mongrate_tmp_*` collections behind,
 * which the next run drops before it starts.
 */
import { BSON, MongoServerError, type Collection, type Db, type Document, type IndexDescription } from 'mongodb';
import { MongrateError, usageError } from '../errors.ts';
import { FEATURE_NAMES } from '../server/capabilities.ts';
import { checkBatchSize, cursorBatches } from './batches.ts';
import { keepUntouchedTypes } from './diff.ts';
import { ProgressMeter, countBeside, resolveCollection, throwIfAborted, withSession } from './context.ts';
import { refuseInTransaction } from './transaction-limit.ts';
import { copyableIndexes, existingIndexes } from './indexes.ts';
import { checkResult } from './page-writes.ts';
import { applySpec, checkSpec, isReshapeSpec } from './spec.ts';
import type { CollectionRef, CopyAndRenameOptions, CopyAndRenameResult, DocumentTransform, HelperContext, ReshapeSpec } from './types.ts';

const TEMP_PREFIX = '_mongrate_tmp_';
const ASIDE_PREFIX = '_mongrate_old_';
const NAMESPACE_NOT_FOUND = 26;
const ILLEGAL_OPERATION = 20;

interface Names {
  source: string;
  to: string;
  keep: string | undefined;
  temp: string;
  /** Where the original is copied when the swap itself destroys it (to === source with dropTarget). */
  keepTemp: string | undefined;
  /** Where the target is moved during a brief-gap swap. */
  aside: string | undefined;
}

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
  const transform = transformOf(options.transform as DocumentTransform | ReshapeSpec | undefined, what);

  const sourceType = await collectionType(ctx, db, source.collectionName);
  if (sourceType === undefined) throw await missingSourceError(ctx, db, source.collectionName, keep, what);
  if (sourceType !== 'collection') throw usageError(`${what}: '${source.collectionName}' is a ${sourceType}, not a collection`);
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

  // The dry run's plan gets the exact count. A real run needs a total only for its progress, so it
  // asks for the collection's metadata count and does not wait for it.
  const { counting, settled } = await countBeside(ctx, () => (ctx.dryRun ? source.countDocuments({}, withSession(ctx)) : metadataCount(ctx, source)));
  if (ctx.dryRun) {
    const total = await counting;
    const kept = keep === undefined ? '' : `, original kept as '${keep}'`;
    const gap = atomic ? '' : '; a brief gap: no renameCollection dropTarget';
    ctx.onPlan?.({ helper: 'copyAndRename', collection: names.source, documents: total, note: `copy into '${to}'${kept}${gap}` });
    return { copied: 0 };
  }

  const temporary = [names.temp, names.keepTemp, atomic ? undefined : ASIDE_PREFIX + to].filter((n): n is string => n !== undefined);
  for (const name of temporary) await dropIfExists(ctx, db, name);
  try {
    for (const name of [names.temp, names.keepTemp]) if (name !== undefined) await db.createCollection(name, withSession(ctx));
    const copied = await copyDocuments(ctx, source, names, transform, batchSize, counting, what).finally(settled);
    if (options.copyIndexes !== false) await copyIndexes(ctx, source, names);
    await swap(ctx, db, names, atomic, what);
    ctx.log?.(`${what}: ${copied} documents copied${keep === undefined ? '' : `, original kept as '${keep}'`}`);
    return { copied };
  } catch (error) {
    // only our temporary names: after a successful rename they no longer exist
    for (const name of [names.temp, names.keepTemp]) if (name !== undefined) await dropIfExists(ctx, db, name).catch(() => undefined);
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

async function copyDocuments(
  ctx: HelperContext,
  source: Collection,
  names: Names,
  transform: DocumentTransform,
  batchSize: number,
  counting: Promise<number>,
  what: string,
): Promise<number> {
  const temp = source.db.collection(names.temp);
  const keepTemp = names.keepTemp === undefined ? undefined : source.db.collection(names.keepTemp);
  // progress starts at once; its total arrives when the count (running beside the copy) does
  const meter = new ProgressMeter(ctx, 'copyAndRename', names.source, counting);
  let copied = 0;
  // Batch k is inserted while batch k+1 is read and transformed; batch k+1 goes out only once
  // batch k's insert has succeeded. A failure is kept as a value, so it is never an unhandled
  // rejection while the loop waits for the cursor.
  let inFlight: { outcome: Promise<{ error: unknown } | undefined>; copies: number; read: number } | undefined;
  const settle = async (): Promise<void> => {
    if (inFlight === undefined) return;
    const { outcome, copies, read } = inFlight;
    inFlight = undefined;
    const failure = await outcome;
    if (failure !== undefined) throw failure.error;
    copied += copies;
    await meter.add(read);
    throwIfAborted(ctx, what, meter.done, meter.total);
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
        const read = BSON.deserialize(raw[index] ?? BSON.serialize(original));
        copies.push(keepUntouchedTypes({ _id: (id as unknown) ?? original._id, ...rest }, read, original));
      }
      await settle();
      const writes: Promise<unknown>[] = [];
      // the kept originals are written with their BSON types intact
      if (keepTemp !== undefined) writes.push(keepTemp.insertMany(originals, { ...withSession(ctx), ordered: true }));
      if (copies.length > 0) writes.push(temp.insertMany(copies, { ...withSession(ctx), ordered: true }));
      inFlight = {
        outcome: Promise.all(writes).then(
          () => undefined,
          (error: unknown) => ({ error }),
        ),
        copies: copies.length,
        read: batch.length,
      };
    }
    await settle();
  } finally {
    // on an error, the insert in flight finishes before the caller drops the temporary collection
    if (inFlight !== undefined) await inFlight.outcome;
  }
  return copied;
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

async function copyIndexes(ctx: HelperContext, source: Collection, names: Names): Promise<void> {
  const specs: IndexDescription[] = copyableIndexes(await existingIndexes(ctx, source));
  if (specs.length === 0) return;
  for (const name of [names.temp, names.keepTemp]) {
    if (name !== undefined) await source.db.collection(name).createIndexes(specs, withSession(ctx));
  }
}

async function swap(ctx: HelperContext, db: Db, names: Names, atomic: boolean, what: string): Promise<void> {
  const rename = async (from: string, to: string, dropTarget: boolean): Promise<void> => {
    try {
      await db.renameCollection(from, to, { ...withSession(ctx), ...(dropTarget ? { dropTarget: true } : {}) });
    } catch (error) {
      if (error instanceof MongoServerError && (error.code === ILLEGAL_OPERATION || error.codeName === 'IllegalOperation')) {
        throw shardedError(what, from, error);
      }
      throw error;
    }
  };
  if (atomic) {
    // the copy of the original gets its name first: a crash after the swap must not lose it
    const keptCopy = names.keepTemp !== undefined && names.keep !== undefined ? names.keep : undefined;
    if (keptCopy !== undefined && names.keepTemp !== undefined) await rename(names.keepTemp, keptCopy, false);
    try {
      // FerretDB refuses dropTarget even when there is nothing to drop; atomic there means no target
      await rename(names.temp, names.to, ctx.server.supports('renameDropTarget'));
    } catch (error) {
      // the original is still in place, so this run's copy of it can go
      if (keptCopy !== undefined) await dropIfExists(ctx, db, keptCopy).catch(() => undefined);
      throw error;
    }
  } else if (names.aside !== undefined) {
    await rename(names.to, names.aside, false);
    try {
      await rename(names.temp, names.to, false);
    } catch (error) {
      await rename(names.aside, names.to, false).catch(() => undefined);
      throw error;
    }
    if (names.aside !== names.keep) await dropIfExists(ctx, db, names.aside);
  }
  // a copy under another name replaces the source: kept under keepOriginalAs, or gone
  if (names.to !== names.source) {
    if (names.keep !== undefined) await rename(names.source, names.keep, false);
    else await dropIfExists(ctx, db, names.source);
  }
}

async function collectionType(ctx: HelperContext, db: Db, name: string): Promise<string | undefined> {
  const [info] = await db.listCollections({ name }, { ...withSession(ctx), nameOnly: true }).toArray();
  return info === undefined ? undefined : (info.type ?? 'collection');
}

async function dropIfExists(ctx: HelperContext, db: Db, name: string): Promise<void> {
  try {
    await db.dropCollection(name, withSession(ctx));
  } catch (error) {
    if (!(error instanceof MongoServerError && error.code === NAMESPACE_NOT_FOUND)) throw error;
  }
}

async function isSharded(ctx: HelperContext, db: Db, name: string): Promise<boolean> {
  try {
    const stats = await db.command({ collStats: name }, withSession(ctx));
    return stats.sharded === true;
  } catch {
    // collStats is deprecated; the config database knows too (8.0 lists unsharded ones as unsplittable)
    const entry = await db.client
      .db('config')
      .collection('collections')
      .findOne({ _id: `${db.databaseName}.${name}` } as Document, withSession(ctx))
      .catch(() => null);
    return entry !== null && entry.dropped !== true && entry.unsplittable !== true;
  }
}

function shardedError(what: string, name: string, cause?: unknown): MongrateError {
  return new MongrateError(
    'MIGRATION_FAILED',
    `${what}: '${name}' is sharded, and a sharded collection cannot be replaced by renameCollection; reshape it in place (reshape/bumpSchemaVersion) instead`,
    cause === undefined ? undefined : { cause },
  );
}
