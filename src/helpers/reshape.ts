/**
 * `reshape` and `bumpSchemaVersion`: change documents in place, batch by batch in `_id` order,
 * or, for a declarative spec the server can apply directly, with a few `updateMany` commands.
 */
import type { Collection, Document, Filter } from 'mongodb';
import { usageError } from '../errors.ts';
import { checkBatchSize, keysetBatches } from './batches.ts';
import { ProgressMeter, countBeside, resolveCollection, throwIfAborted, withSession } from './context.ts';
import { idempotentStep, stepTimeLimit } from './failover-retry.ts';
import { Pacer, paces, pacingNote } from './pacing.ts';
import { checkResult, userTransform, writePage, type PageTransform } from './page-writes.ts';
import { applySpec, checkSpec, isReshapeSpec, serverPlan, setPath, type ServerPlan } from './spec.ts';
import { refuseOversizedTransaction } from './transaction-limit.ts';
import { countOf } from '../util/words.ts';
import type {
  BumpSchemaVersionOptions,
  CollectionRef,
  DocumentTransform,
  HelperContext,
  ReshapeOptions,
  ReshapeResult,
  ReshapeSpec,
} from './types.ts';

const NOTHING: ReshapeResult = { matched: 0, modified: 0, deleted: 0 };

/** How a dry run's plan words the change: `transform`, or what bumpSchemaVersion brings documents to. */
type PlanWording = (documents: string) => string;
const transformWording: PlanWording = (documents) => `transform ${documents}`;

export async function reshapeWith<T extends Document>(
  ctx: HelperContext,
  ref: CollectionRef<T>,
  options: ReshapeOptions<T>,
  helper = 'reshape',
  wording: PlanWording = transformWording,
): Promise<ReshapeResult> {
  const collection = resolveCollection(ctx, ref);
  const what = `${helper}(${collection.collectionName})`;
  const batchSize = checkBatchSize(options.batchSize, what);
  const filter = (options.filter ?? {}) as Filter<Document>;
  const transform = options.transform as DocumentTransform | ReshapeSpec;
  const throttled = paces(ctx, options, what);
  let plan: ServerPlan | undefined;
  if (isReshapeSpec(transform)) {
    checkSpec(transform, what);
    // one server-side updateMany could not be paced: a throttled spec runs in batches
    plan = throttled ? undefined : serverPlan(transform, filter);
  } else if (typeof transform !== 'function') {
    throw usageError(`${what}: transform must be a function or a spec ({ set, setDefaults, rename, unset })`);
  }

  // Batches need the count only for progress: they start without waiting for it (on a server
  // without an index for the filter it is a pass over the collection). The rest wait.
  const { counting, settled } = await countBeside(ctx, () => collection.countDocuments(filter, withSession(ctx)));
  if (ctx.dryRun) {
    const documents = await counting;
    const how = plan !== undefined ? 'server-side updateMany' : `in batches of ${batchSize}${throttled ? ', throttled' : ''}`;
    ctx.onPlan?.({ helper, collection: collection.collectionName, action: wording(countOf(documents, 'document')), note: how, documents });
    return { ...NOTHING, matched: documents, dryRun: true };
  }
  await refuseOversizedTransaction(ctx, what, counting);
  if (ctx.signal?.aborted === true) throwIfAborted(ctx, what, 0, await counting);
  const started = performance.now();
  const pacer = throttled && plan === undefined ? new Pacer(ctx, options) : undefined;
  let result: ReshapeResult;
  try {
    result =
      plan !== undefined ? await runServerPlan(ctx, collection, filter, plan, await counting, helper)
      : await runBatches(ctx, collection, filter, batchSize, pageTransform(transform), counting, helper, pacer);
  } finally {
    await settled();
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const vanished = result.vanished === undefined ? '' : ` (${result.vanished} deleted or changed out of the filter by another writer before their write)`;
  ctx.log?.(`${what}: ${result.matched} matched, ${result.modified} modified, ${result.deleted} deleted${vanished} in ${seconds} s${pacingNote(pacer)}`);
  return result;
}

/** A spec rearranges the stored values, so a value it moves keeps its BSON type; a function sees the document. */
function pageTransform(transform: DocumentTransform | ReshapeSpec): PageTransform {
  return isReshapeSpec(transform) ? (_doc, stored) => applySpec(transform, stored()) : userTransform(transform);
}

async function runBatches(
  ctx: HelperContext,
  collection: Collection,
  filter: Filter<Document>,
  batchSize: number,
  transform: PageTransform,
  counting: Promise<number>,
  helper: string,
  pacer: Pacer | undefined,
): Promise<ReshapeResult> {
  const what = `${helper}(${collection.collectionName})`;
  const meter = new ProgressMeter(ctx, helper, collection.collectionName, counting);
  const result: ReshapeResult = { ...NOTHING };
  let vanished = 0;
  for await (const batch of keysetBatches(ctx, collection, filter, batchSize, what, pacer)) {
    // a page may take minutes where the server takes few updates per command: progress within it too
    const written = await writePage(ctx, collection, filter, batch, transform, what, (fraction) => meter.within(batch.docs.length, fraction));
    result.matched += batch.docs.length;
    result.modified += written.modified;
    result.deleted += written.deleted;
    vanished += written.vanished;
    await meter.add(batch.docs.length);
    throwIfAborted(ctx, what, meter.done, meter.total);
  }
  // the walk also ends early when interrupted during a pause
  throwIfAborted(ctx, what, meter.done, meter.total);
  await pacer?.afterLastBatch(meter.done);
  return vanished === 0 ? result : { ...result, vanished };
}

/**
 * Defaults first (each only where missing), then renames into sub-documents, then the rest as one
 * update, so a filter on fields the update changes (bumpSchemaVersion's version) is read before
 * they change.
 * `modified` is the most documents one command changed: exact when the main update changes
 * every matched document (as bumpSchemaVersion's does), a lower bound otherwise.
 */
async function runServerPlan(
  ctx: HelperContext,
  collection: Collection,
  filter: Filter<Document>,
  plan: ServerPlan,
  total: number,
  helper: string,
): Promise<ReshapeResult> {
  const what = `${helper}(${collection.collectionName})`;
  const meter = new ProgressMeter(ctx, helper, collection.collectionName, total);
  let modified = 0;
  for (const step of [...plan.defaults, ...plan.moves]) {
    ctx.fence?.();
    const result = await idempotentStep(ctx, what, () => collection.updateMany(step.filter, step.update, { ...withSession(ctx), ...stepTimeLimit(ctx) }));
    modified = Math.max(modified, result.modifiedCount);
    throwIfAborted(ctx, what, 0, total, 'the spec ran part-way, and running it again completes it (each step is idempotent)');
  }
  if (plan.main !== undefined) {
    ctx.fence?.();
    const main = plan.main;
    const result = await idempotentStep(ctx, what, () => collection.updateMany(filter, main, { ...withSession(ctx), ...stepTimeLimit(ctx) }));
    modified = Math.max(modified, result.modifiedCount);
  }
  await meter.add(total);
  return { matched: total, modified, deleted: 0 };
}

export async function bumpSchemaVersionWith<T extends Document>(
  ctx: HelperContext,
  ref: CollectionRef<T>,
  options: BumpSchemaVersionOptions<T>,
): Promise<ReshapeResult> {
  const field = options.field ?? 'schema_version';
  const to = options.to;
  const what = `bumpSchemaVersion(${typeof ref === 'string' ? ref : ref.collectionName})`;
  if (typeof to !== 'string' && typeof to !== 'number') throw usageError(`${what}: 'to' must be a string or a number`);
  checkSpec({ set: { [field]: to } }, what);
  const base = (options.filter ?? {}) as Filter<Document>;
  const filter: Filter<Document> = field in base ? { $and: [base, { [field]: { $ne: to } }] } : { ...base, [field]: { $ne: to } };
  const given = options.transform as DocumentTransform | ReshapeSpec | undefined;
  let transform: DocumentTransform | ReshapeSpec;
  if (given === undefined) {
    transform = { set: { [field]: to } };
  } else if (isReshapeSpec(given)) {
    transform = { ...given, set: { ...given.set, [field]: to } };
  } else {
    transform = async (doc) => {
      const result = checkResult(await given(doc), doc, what);
      if (result === null || result === 'delete') return result;
      setPath(result, field, to);
      return result;
    };
  }
  const wording: PlanWording = (documents) => `bring ${documents} to ${field} ${JSON.stringify(to)}`;
  const { batchSize, maxDocsPerSecond, pauseMs } = options;
  const passed = { ...(batchSize === undefined ? {} : { batchSize }), ...(maxDocsPerSecond === undefined ? {} : { maxDocsPerSecond }), ...(pauseMs === undefined ? {} : { pauseMs }) };
  return reshapeWith(ctx, ref as CollectionRef, { filter, transform, ...passed }, 'bumpSchemaVersion', wording);
}
