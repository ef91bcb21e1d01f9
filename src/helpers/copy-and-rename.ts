/**
 * `copyAndRename`: builds the new shape of a collection beside it, then swaps it in.
 *
 * Documents are copied in batches into a temporary collection created with the source's options,
 * the source's indexes (changed by the `indexes` option) are rebuilt on it, the writes the source
 * took meanwhile are carried over (copy-consistency.ts: catch-up passes against a digest per
 * document kept on the server, then the source frozen for the last pass where the server allows
 * it), and one `renameCollection` with `dropTarget` replaces the target: readers see the old or the new collection, never none. Servers without
 * `dropTarget` (FerretDB) need the caller's `allowBriefGap` to move the target aside first.
 * Afterwards the source is gone (renamed to `keepOriginalAs` when given). A crash, or a copy
 * refused, leaves only `_mongrate_tmp_*` / `_mongrate_sums_*` collections behind, which the next
 * run drops before it starts (and a source it left frozen gets its validator back).
 */
import { performance } from 'node:perf_hooks';
import type { Collection, Db, Document } from 'mongodb';
import { MongrateError, messageOf, usageError } from '../errors.ts';
import { FEATURE_NAMES } from '../server/capabilities.ts';
import { checkBatchSize } from './batches.ts';
import { collectionEntry, copyOptions } from './collection-options.ts';
import { countBeside, resolveCollection, withSession } from './context.ts';
import { changesOf } from './copy-catch-up.ts';
import { makeConsistent, type Consistency } from './copy-consistency.ts';
import { copyDocuments } from './copy-documents.ts';
import { frozenOriginal, restoreValidation, type Frozen } from './copy-freeze.ts';
import { buildIndexes, copyIndexSpecs } from './copy-indexes.ts';
import { CopyJob, type CopyCounts } from './copy-job.ts';
import { refuseClientEncryption, refuseOutsideStableApi, refuseSearchIndexes } from './copy-refusals.ts';
import { refuseMissingPrivileges } from './privileges.ts';
import { copyableIndexes, existingIndexes } from './indexes.ts';
import { ASIDE_PREFIX, SUMS_PREFIX, TEMP_PREFIX } from './leftovers.ts';
import { userTransform, type PageTransform } from './page-writes.ts';
import { Pacer, paces, pacingNote } from './pacing.ts';
import { applySpec, checkSpec, isReshapeSpec } from './spec.ts';
import { collectionType, dropIfExists, isSharded, shardedError, swap, type Names } from './swap.ts';
import { refuseInTransaction } from './transaction-limit.ts';
import { countOf } from '../util/words.ts';
import type { CollectionRef, CopyAndRenameOptions, CopyAndRenameResult, DocumentTransform, HelperContext, ReshapeSpec } from './types.ts';

/** Servers whose change streams a rename ends (FerretDB 1.x has none). */
const HAS_CHANGE_STREAMS = new Set(['mongodb', 'documentdb', 'documentdb-gateway', 'cosmosdb', 'unknown']);

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
  refuseOutsideStableApi(ctx, what);
  const batchSize = checkBatchSize(options.batchSize, what);
  const throttled = paces(ctx, options, what);
  const transform = transformOf(options.transform as DocumentTransform | ReshapeSpec | undefined, what);

  const entry = await collectionEntry(ctx, db, source.collectionName);
  if (entry === undefined) throw await missingSourceError(ctx, db, source.collectionName, keep, what);
  const thawed = ctx.dryRun ? undefined : await thawLeftFrozen(ctx, db, source.collectionName, entry.options as Document | undefined, what);
  const created = copyOptions(ctx, thawed ?? entry, what);
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
  const sums = SUMS_PREFIX + to;
  refuseClientEncryption(db, [names.source, to, keep], created.options.validator as Document | undefined, names.temp, what);
  await refuseSearchIndexes(ctx, source, to, what);
  await refuseMissingPrivileges(
    db,
    {
      createCollection: 'the copy',
      insert: 'the copy',
      ...(created.validated ? { bypassDocumentValidation: "the copy's inserts, which its validator would refuse" } : {}),
      createIndex: "the copy's indexes",
      renameCollectionSameDB: 'the swap',
      dropCollection: 'the temporary collections',
    },
    what,
  );
  // read and checked before anything is copied: a mistake in the indexes option costs no copy
  const sourceIndexes = copyableIndexes(await existingIndexes(ctx, source), created.collation);
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
    return { matched: total, copied: 0, carriedOver: 0, dryRun: true };
  }

  const temporary = [names.temp, names.keepTemp, sums, atomic ? undefined : ASIDE_PREFIX + to].filter((n): n is string => n !== undefined);
  for (const name of temporary) await dropIfExists(ctx, db, name);
  // a copy refused before the swap stays for inspection, beside the untouched source
  let keepCopies = false;
  let frozen: Frozen | undefined;
  let swapped = false;
  try {
    for (const name of [names.temp, names.keepTemp]) {
      if (name === undefined) continue;
      ctx.fence?.();
      await db.createCollection(name, { ...created.options, ...withSession(ctx) });
    }
    ctx.fence?.();
    await db.createCollection(sums, withSession(ctx));
    const keepTemp = names.keepTemp === undefined ? undefined : db.collection(names.keepTemp);
    // Azure Cosmos DB RU builds a unique index only on an empty collection: those go first there
    const uniqueFirst = ctx.server.flavour === 'cosmosdb';
    const [early, late] = uniqueFirst ? [copySpecs.filter((spec) => spec.unique === true), copySpecs.filter((spec) => spec.unique !== true)] : [[], copySpecs];
    const [keptEarly, keptLate] = uniqueFirst ? [sourceIndexes.filter((spec) => spec.unique === true), sourceIndexes.filter((spec) => spec.unique !== true)] : [[], sourceIndexes];
    await buildIndexes(ctx, db.collection(names.temp), early, what);
    if (keepTemp !== undefined) await buildIndexes(ctx, keepTemp, keptEarly, what);
    const job = new CopyJob(ctx, source, db.collection(names.temp), keepTemp, db.collection(sums), transform, created.validated, what);
    const pacer = throttled ? new Pacer(ctx, options) : undefined;
    // a capped collection's copy keeps its natural order, which need not be the _id order
    const sort = created.capped ? { $natural: 1 } : { _id: 1 };
    await copyDocuments(ctx, job, { batchSize, sort, counting, pacer }).finally(settled);
    await buildIndexes(ctx, db.collection(names.temp), late, what);
    // the kept original is the original: it keeps the source's indexes whatever the copy gets
    if (keepTemp !== undefined) await buildIndexes(ctx, keepTemp, keptLate, what);
    // the records are in the source's order only where both sort by _id with the simple collation
    const consistency = await makeConsistent(ctx, job, db, batchSize, sort, !created.capped && created.collation === undefined);
    frozen = consistency.frozen;
    const refusal = !consistency.clean ? notConsistentError(names, consistency, what) : created.capped ? await verifyCappedCopy(ctx, source, names, job.counts, what) : undefined;
    if (refusal !== undefined) {
      keepCopies = true;
      throw refusal;
    }
    await swap(ctx, db, names, atomic, what);
    swapped = true;
    const unguardedMs = performance.now() - consistency.lastLook;
    // the frozen original survives the swap where it is kept (the kept copy of an in-place swap was never frozen)
    const survivor = names.to !== names.source || !atomic ? names.keep : undefined;
    if (frozen !== undefined && survivor !== undefined) await restoreOrWarn(ctx, frozen, survivor, what);
    const frozenMs = frozen === undefined ? 0 : performance.now() - frozen.since;
    // the copy is in place: a digest collection left behind is only a leftover (validate lists it)
    await dropIfExists(ctx, db, sums).catch((error: unknown) => {
      // a lost lease (the fence's error) still stops the run
      if (error instanceof MongrateError) throw error;
      ctx.warn?.(`${what}: could not drop '${sums}' (${messageOf(error)}); drop it, or the next copyAndRename to '${to}' does`);
    });
    report(ctx, { what, names, counts: job.counts, consistency, unguardedMs, frozenMs, pacer });
    return { matched: job.counts.copied + job.counts.leftOut, copied: job.counts.copied, carriedOver: job.counts.carriedOver };
  } catch (error) {
    if (frozen !== undefined && !swapped) await restoreOrWarn(ctx, frozen, names.source, what);
    // only our temporary names: after a successful rename they no longer exist
    if (!keepCopies) for (const name of [names.temp, names.keepTemp, sums]) if (name !== undefined) await dropIfExists(ctx, db, name).catch(() => undefined);
    throw error;
  }
}

interface Report {
  what: string;
  names: Names;
  counts: CopyCounts;
  consistency: Consistency;
  unguardedMs: number;
  frozenMs: number;
  pacer: Pacer | undefined;
}

const secondsOf = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const passesOf = (count: number): string => `${count} catch-up pass${count === 1 ? '' : 'es'}`;

/** The summary line, and the notices a user must act on: an unguarded moment, ended change streams. */
function report(ctx: HelperContext, { what, names, counts, consistency, unguardedMs, frozenMs, pacer }: Report): void {
  const { passes, frozen, unfrozenBecause } = consistency;
  const passMs = passes.reduce((sum, pass) => sum + pass.ms, 0);
  const carried = `${counts.carriedOver} written during the copy and carried over (${passesOf(passes.length)}, ${secondsOf(passMs)})`;
  const late =
    frozen !== undefined ? `; inserts and updates to '${names.source}' refused for ${secondsOf(frozenMs)} around the swap (a delete then, which no validator refuses, would be undone)` : '';
  const kept = names.keep === undefined ? '' : `, original kept as '${names.keep}'`;
  ctx.log?.(`${what}: ${counts.copied} documents copied, ${carried}${late}${kept}${pacingNote(pacer)}`);
  if (frozen === undefined) {
    ctx.warn?.(
      `${what}: writes to '${names.source}' in the last ${secondsOf(unguardedMs)} before the swap (the last check and the rename) could not be refused, since ${unfrozenBecause ?? 'it could not be frozen'}: a write in that moment is lost. Stop the writes to '${names.source}' while it is copied to be sure`,
    );
  }
  if (HAS_CHANGE_STREAMS.has(ctx.server.flavour)) {
    ctx.warn?.(`${what}: the rename ended the change streams on '${names.to}' (an Atlas Trigger on it stops): resume them on the new collection`);
  }
}

async function restoreOrWarn(ctx: HelperContext, frozen: Frozen, name: string, what: string): Promise<void> {
  try {
    await frozen.restore(name);
  } catch (error) {
    ctx.warn?.(`${what}: '${name}' still refuses inserts and updates (its validator could not be put back: ${messageOf(error)}); running the migration again restores it`);
  }
}

/** A source a stopped run left frozen gets its own validation back first; returns its entry as it is then. */
async function thawLeftFrozen(ctx: HelperContext, db: Db, name: string, options: Document | undefined, what: string): Promise<Document | undefined> {
  const original = frozenOriginal(options);
  if (original === undefined) return undefined;
  await restoreValidation(ctx, db, name, original);
  ctx.warn?.(`${what}: '${name}' was left refusing writes by a copy that stopped; its validator is restored`);
  return collectionEntry(ctx, db, name);
}

function notConsistentError(names: Names, { passes }: Consistency, what: string): MongrateError {
  return new MongrateError(
    'MIGRATION_FAILED',
    `${what}: writers kept changing '${names.source}' while it was copied: each of ${passesOf(passes.length)} found documents to carry over (${passes.map(changesOf).join(', ')}). Nothing was swapped: '${names.source}' is unchanged and the copy is kept to inspect (the next run drops it); run the migration again when the writes are quieter, or stop them`,
  );
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

/** A spec rearranges the stored values (a value it moves keeps its type); no transform copies them as stored. */
function transformOf(given: DocumentTransform | ReshapeSpec | undefined, what: string): PageTransform {
  if (given === undefined) return (_doc, stored) => stored();
  if (isReshapeSpec(given)) {
    checkSpec(given, what);
    return (_doc, stored) => applySpec(given, stored());
  }
  if (typeof given !== 'function') throw usageError(`${what}: transform must be a function or a spec`);
  return userTransform(given);
}

/**
 * A capped copy can lose documents on its own (it outgrew its size, or its max, before the source
 * did: the catch-up passes compare the source with the digest records, not with the copy), so its
 * documents are counted against what the passes say it holds.
 */
async function verifyCappedCopy(ctx: HelperContext, source: Collection, names: Names, counts: CopyCounts, what: string): Promise<MongrateError | undefined> {
  const count = (name: string): Promise<number> => source.db.collection(name).countDocuments({}, withSession(ctx));
  const [inCopy, inKept] = await Promise.all([count(names.temp), names.keepTemp === undefined ? undefined : count(names.keepTemp)]);
  if (inCopy === counts.copied && (inKept === undefined || inKept === counts.copied + counts.leftOut)) return undefined;
  return new MongrateError(
    'MIGRATION_FAILED',
    `${what}: the capped copy '${names.temp}' has ${inCopy} documents where ${counts.copied} were copied${inKept === undefined ? '' : ` (the copy of the original: ${inKept} of ${counts.copied + counts.leftOut})`}: it outgrew its size or max and dropped its oldest documents. Nothing was swapped: '${names.source}' is unchanged and the copy is kept to inspect (the next run drops it)`,
  );
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
