/**
 * `createView` / `dropView`: a view defined as asked, idempotently. A missing view is created; one
 * on another source or with another pipeline is redefined in place with `collMod`, so readers never
 * find it missing; its collation cannot change in place, so another one is an error naming the way
 * out. A name that holds a collection is never touched: no collection is dropped or shadowed to
 * make room for a view, or dropped by dropView.
 */
import type { Collection, Document } from 'mongodb';
import { hasServerCode, SERVER_CODES } from '../driver/errors.ts';
import { MongrateError, usageError } from '../errors.ts';
import { collectionEntry } from './collection-options.ts';
import { bsonOf, resolveCollection, withSession } from './context.ts';
import { refuseInTransaction } from './transaction-limit.ts';
import type { CollectionRef, CreateViewOptions, CreateViewResult, DropViewResult, HelperContext } from './types.ts';
import { needing } from './unsupported.ts';

/** Compared as the server stores them: BSON bytes (so 1 and 1.5, Int32 and Long, keep apart). */
function sameBson(ctx: HelperContext, a: unknown, b: unknown): boolean {
  const bson = bsonOf(ctx);
  return Buffer.compare(bson.serialize({ v: a }), bson.serialize({ v: b })) === 0;
}

const isSimple = (collation: unknown): boolean => collation === undefined || collation === null || (collation as Document).locale === 'simple';

/** MongoDB lists a view's collation with every field filled in: only the fields asked for are compared. */
function sameCollation(ctx: HelperContext, listed: unknown, wanted: Document | undefined): boolean {
  if (isSimple(listed) || isSimple(wanted)) return isSimple(listed) && isSimple(wanted);
  return Object.entries(wanted ?? {}).every(([field, value]) => sameBson(ctx, (listed as Document)[field], value));
}

const stagesOf = (pipeline: Document[]): string => `${pipeline.length} ${pipeline.length === 1 ? 'stage' : 'stages'}`;

/** The listing of `name` when it is a view (undefined when missing); a collection there is an error. */
async function viewEntry(ctx: HelperContext, view: Collection, what: string, refusal: string): Promise<Document | undefined> {
  const entry = await collectionEntry(ctx, view.db, view.collectionName);
  if (entry === undefined) return undefined;
  const type = typeof entry.type === 'string' ? entry.type : 'collection';
  if (type !== 'view') throw new MongrateError('MIGRATION_FAILED', `${what}: '${view.collectionName}' is a ${type}, not a view; ${refusal}`);
  return entry;
}

export async function createViewWith(
  ctx: HelperContext,
  name: CollectionRef,
  sourceRef: CollectionRef,
  pipeline: Document[],
  options: CreateViewOptions = {},
): Promise<CreateViewResult> {
  const view = resolveCollection(ctx, name);
  const what = `createView(${view.collectionName})`;
  if (sourceRef === '') throw usageError(`${what}: the source collection's name must not be empty`);
  const source = typeof sourceRef === 'string' ? view.db.collection(sourceRef) : resolveCollection(ctx, sourceRef);
  if (source.db.databaseName !== view.db.databaseName) throw usageError(`${what}: a view is defined on a collection of its own database, not of '${source.db.databaseName}'`);
  if (source.collectionName === view.collectionName) throw usageError(`${what}: the source must name another collection or view`);
  const stages: unknown = pipeline;
  if (!Array.isArray(stages) || stages.some((stage: unknown) => typeof stage !== 'object' || stage === null || Array.isArray(stage))) {
    throw usageError(`${what}: the pipeline must be an array of stage documents, e.g. [{ $match: { active: true } }]`);
  }
  refuseInTransaction(ctx, what);
  ctx.server.require('views', what);
  const on = `on ${source.collectionName} (${stagesOf(pipeline)})`;
  const plan = (action: string, note?: string): void => ctx.onPlan?.({ helper: 'createView', collection: view.collectionName, action, ...(note === undefined ? {} : { note }) });

  const entry = await viewEntry(ctx, view, what, 'createView never replaces a collection (drop or rename it first, or choose another name)');
  if (entry === undefined) {
    if (ctx.dryRun) {
      plan(`create the view ${on}`);
      return { created: true, redefined: false, dryRun: true };
    }
    await createView(ctx, view, source.collectionName, pipeline, options.collation, what);
    ctx.log?.(`${what}: created ${on}`);
    return { created: true, redefined: false };
  }

  const listed = (entry.options ?? {}) as Document;
  if (!sameCollation(ctx, listed.collation, options.collation)) {
    throw new MongrateError(
      'MIGRATION_FAILED',
      `${what}: the view exists with another collation (${JSON.stringify(listed.collation ?? { locale: 'simple' })}); a view's collation cannot be changed in place: dropView('${view.collectionName}'), then createView`,
    );
  }
  const dry = ctx.dryRun ? { dryRun: true as const } : {};
  if (listed.viewOn === source.collectionName && sameBson(ctx, listed.pipeline ?? [], pipeline)) return { created: false, redefined: false, ...dry };
  if (ctx.dryRun) {
    plan(`redefine the view ${on}`, 'collMod');
    return { created: false, redefined: true, dryRun: true };
  }
  ctx.fence?.();
  await needing(ctx, 'collMod', what, () => view.db.command({ collMod: view.collectionName, viewOn: source.collectionName, pipeline }, withSession(ctx)));
  ctx.log?.(`${what}: redefined ${on}`);
  return { created: false, redefined: true };
}

/**
 * `create` with viewOn. A server that takes a collation and does not keep it (DocumentDB) would
 * give a view that sorts and matches otherwise than asked: it is dropped again, and the error says so.
 */
async function createView(ctx: HelperContext, view: Collection, source: string, pipeline: Document[], collation: Document | undefined, what: string): Promise<void> {
  ctx.fence?.();
  await needing(ctx, 'views', what, () =>
    view.db.command({ create: view.collectionName, viewOn: source, pipeline, ...(collation === undefined ? {} : { collation }) }, withSession(ctx)),
  );
  if (isSimple(collation)) return;
  const created = await collectionEntry(ctx, view.db, view.collectionName);
  if (sameCollation(ctx, (created?.options as Document | undefined)?.collation, collation)) return;
  ctx.fence?.();
  await view.db.command({ drop: view.collectionName }, withSession(ctx));
  throw new MongrateError('MIGRATION_FAILED', `${what}: ${ctx.server.describe()} created the view without its collation (it does not keep collations); the view was dropped again`);
}

export async function dropViewWith(ctx: HelperContext, name: CollectionRef): Promise<DropViewResult> {
  const view = resolveCollection(ctx, name);
  const what = `dropView(${view.collectionName})`;
  refuseInTransaction(ctx, what);
  const entry = await viewEntry(ctx, view, what, `dropView never drops a collection (its documents would be lost); drop it with the driver if that is what you mean`);
  const dry = ctx.dryRun ? { dryRun: true as const } : {};
  if (entry === undefined) return { dropped: false, ...dry };
  if (ctx.dryRun) {
    ctx.onPlan?.({ helper: 'dropView', collection: view.collectionName, action: 'drop the view' });
    return { dropped: true, dryRun: true };
  }
  try {
    ctx.fence?.();
    await view.db.command({ drop: view.collectionName }, withSession(ctx));
  } catch (error) {
    // dropped meanwhile: the outcome asked for holds
    if (!hasServerCode(error, SERVER_CODES.NamespaceNotFound)) throw error;
  }
  ctx.log?.(`${what}: dropped`);
  return { dropped: true };
}
