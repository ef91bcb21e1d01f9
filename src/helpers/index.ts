/**
 * The migration helpers, two ways: `createHelpers(ctx)` binds them to a migration's context
 * (`ctx.helpers`), and the standalone functions find the running migration's context on their
 * own (`import { reshape } from 'mongrate'`), or work with defaults on a driver Collection.
 */
import type { Document, IndexDescription } from 'mongodb';
import { ambientContext } from './context.ts';
import { copyAndRenameWith } from './copy-and-rename.ts';
import { dropIndexesWith, ensureIndexesWith } from './indexes.ts';
import { bumpSchemaVersionWith, reshapeWith } from './reshape.ts';
import type {
  BumpSchemaVersionOptions,
  CollectionRef,
  CopyAndRenameOptions,
  CopyAndRenameResult,
  CreateViewOptions,
  CreateViewResult,
  DropIndexesOptions,
  DropIndexesResult,
  DropViewResult,
  EnsureIndexesOptions,
  EnsureIndexesResult,
  HelperContext,
  MigrationHelpers,
  ReshapeOptions,
  ReshapeResult,
  SetValidatorOptions,
  SetValidatorResult,
} from './types.ts';
import { setValidatorWith } from './validator.ts';
import { createViewWith, dropViewWith } from './views.ts';

export { runWithHelperContext, currentHelperContext } from './context.ts';
export { DEFAULT_BATCH_SIZE } from './batches.ts';
export { leftoverCollections } from './leftovers.ts';
export type * from './types.ts';

export function createHelpers(ctx: HelperContext): MigrationHelpers {
  return {
    reshape: (collection, options) => reshapeWith(ctx, collection, options),
    bumpSchemaVersion: (collection, options) => bumpSchemaVersionWith(ctx, collection, options),
    copyAndRename: (source, options) => copyAndRenameWith(ctx, source, options),
    ensureIndexes: (collection, specs, options) => ensureIndexesWith(ctx, collection, specs, options),
    dropIndexes: (collection, names, options) => dropIndexesWith(ctx, collection, names, options),
    setValidator: (collection, schema, options) => setValidatorWith(ctx, collection, schema, options),
    createView: (name, source, pipeline, options) => createViewWith(ctx, name, source, pipeline, options),
    dropView: (name) => dropViewWith(ctx, name),
  };
}

const asRef = <T extends Document>(collection: CollectionRef<T>): CollectionRef => collection as unknown as CollectionRef;

/** Rewrites documents in `_id` order, in batches; see `ReshapeOptions`. */
export async function reshape<T extends Document = Document>(collection: CollectionRef<T>, options: ReshapeOptions<T>): Promise<ReshapeResult> {
  return reshapeWith(await ambientContext(asRef(collection), 'reshape'), collection, options);
}

/** Brings every document to schema version `to`; a rerun touches only documents not there yet. */
export async function bumpSchemaVersion<T extends Document = Document>(
  collection: CollectionRef<T>,
  options: BumpSchemaVersionOptions<T>,
): Promise<ReshapeResult> {
  return bumpSchemaVersionWith(await ambientContext(asRef(collection), 'bumpSchemaVersion'), collection, options);
}

/** Copies (transformed) documents beside the collection and renames the copy over the target. */
export async function copyAndRename<T extends Document = Document>(
  source: CollectionRef<T>,
  options?: CopyAndRenameOptions<T>,
): Promise<CopyAndRenameResult> {
  return copyAndRenameWith(await ambientContext(asRef(source), 'copyAndRename'), source, options);
}

/** Builds the indexes that do not exist yet, changes a TTL or `hidden` in place; identical existing ones are left alone. */
export async function ensureIndexes<T extends Document = Document>(
  collection: CollectionRef<T>,
  specs: IndexDescription[],
  options?: EnsureIndexesOptions,
): Promise<EnsureIndexesResult> {
  return ensureIndexesWith(await ambientContext(asRef(collection), 'ensureIndexes'), collection, specs, options);
}

/** Drops the named indexes that exist (missing ones are fine); with `hideFirst`, hides them for a later migration to drop. */
export async function dropIndexes<T extends Document = Document>(collection: CollectionRef<T>, names: string[], options?: DropIndexesOptions): Promise<DropIndexesResult> {
  return dropIndexesWith(await ambientContext(asRef(collection), 'dropIndexes'), collection, names, options);
}

/** Creates the view, or redefines it (collMod) where its source or pipeline differ; an identical one is left alone. */
export async function createView(name: CollectionRef, source: CollectionRef, pipeline: Document[], options?: CreateViewOptions): Promise<CreateViewResult> {
  return createViewWith(await ambientContext(name, 'createView'), name, source, pipeline, options);
}

/** Drops the view if it exists; a collection of that name is an error, never dropped. */
export async function dropView(name: CollectionRef): Promise<DropViewResult> {
  return dropViewWith(await ambientContext(name, 'dropView'), name);
}

/** Sets (or, with `null`, removes) a `$jsonSchema` validator; creates the collection when missing. */
export async function setValidator<T extends Document = Document>(
  collection: CollectionRef<T>,
  schema: Document | null,
  options?: SetValidatorOptions,
): Promise<SetValidatorResult> {
  return setValidatorWith(await ambientContext(asRef(collection), 'setValidator'), collection, schema, options);
}
