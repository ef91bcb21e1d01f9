/**
 * `ensureIndexes` / `dropIndexes`: idempotent index changes. An index that exists exactly as asked
 * is left alone; one with the asked name that differs only in what MongoDB changes in place (a
 * TTL's `expireAfterSeconds`, `hidden`) is changed with `collMod` (index-changes.ts); one that
 * differs in anything else is an error (never silently kept). An index kind or change the server
 * lacks fails with the feature's name before anything is built. `hideFirst` drops in two
 * migrations (hide-first.ts).
 */
import type { Collection, Document, IndexDescription } from 'mongodb';
import { hasServerCode, SERVER_CODES } from '../driver/errors.ts';
import { MongrateError, usageError } from '../errors.ts';
import type { Feature } from '../server/capabilities.ts';
import { bsonOf, resolveCollection, withSession } from './context.ts';
import { hideNow, hiddenBy, planHiding, reportHidingPlan, type HidingPlan } from './hide-first.ts';
import { describeChange, forgetHidden, modifyIndex, type IndexChange } from './index-changes.ts';
import { buildIndexesWatched } from './index-build.ts';
import { refuseInTransaction } from './transaction-limit.ts';
import { needing } from './unsupported.ts';
import { countOf } from '../util/words.ts';
import type { CollectionRef, DropIndexesOptions, DropIndexesResult, EnsureIndexesOptions, EnsureIndexesResult, HelperContext } from './types.ts';

const { NamespaceNotFound: NAMESPACE_NOT_FOUND, IndexNotFound: INDEX_NOT_FOUND } = SERVER_CODES;
/** listIndexes fields that describe an index build, not the index. */
const NOT_COPIED = new Set(['v', 'ns', 'background']);
/**
 * Options that make two indexes on one key different indexes, compared whether or not the spec
 * names them (a spec without one asks for its default). Any other option a spec names is compared
 * too; options only the server lists (its own bookkeeping) are not.
 */
const COMPARED_OPTIONS = [
  'unique',
  'sparse',
  'partialFilterExpression',
  'expireAfterSeconds',
  'hidden',
  'prepareUnique',
  'default_language',
  'language_override',
  'wildcardProjection',
  // 2d indexes
  'bits',
  'min',
  'max',
  'bucketSize',
];
const OPTION_DEFAULTS: Record<string, unknown> = {
  unique: false,
  sparse: false,
  hidden: false,
  prepareUnique: false,
  default_language: 'english',
  language_override: 'language',
  bits: 26,
  min: -180,
  max: 180,
};
/** Compared apart (key, weights, collation) or not part of what the index is. */
const NOT_COMPARED = new Set(['key', 'name', 'v', 'ns', 'background', 'weights', 'collation']);

/**
 * The specs to rebuild a collection's indexes elsewhere: all but `_id_` and a clustered
 * collection's clustered index (the copy gets that one from its collection options). On a
 * collection with a default collation, `listIndexes` leaves out the collation of an index built
 * with the simple one; rebuilt as listed on a copy with that default, it would take the default
 * (a unique index turning case-insensitive, a text or 2d index refusing to build), so the simple
 * collation is made explicit.
 */
export function copyableIndexes(indexes: Document[], defaultCollation?: Document): IndexDescription[] {
  return indexes
    .filter((index) => index.name !== '_id_' && index.clustered !== true)
    .map((index) => {
      const spec = Object.fromEntries(Object.entries(index).filter(([key]) => !NOT_COPIED.has(key))) as IndexDescription;
      return defaultCollation !== undefined && spec.collation === undefined ? { ...spec, collation: { locale: 'simple' } } : spec;
    });
}

/** MongoDB's default index name: `field_value` pairs joined by `_`. */
export function defaultIndexName(key: Document): string {
  return Object.entries(key)
    .map(([field, value]) => `${field}_${String(value)}`)
    .join('_');
}

export function keyOf(spec: IndexDescription, what: string): Document {
  const key: unknown = spec.key;
  if (key instanceof Map) return Object.fromEntries(key as Map<string, unknown>);
  if (typeof key !== 'object' || key === null || Array.isArray(key) || Object.keys(key).length === 0) {
    throw usageError(`${what}: every index needs a key document such as { email: 1 }`);
  }
  return key;
}

function isText(key: Document): boolean {
  return Object.values(key).some((value) => value === 'text') || '_fts' in key;
}

/** Requirements in the order a reader expects: what kind of index, and which feature that needs. */
export function featuresNeeded(spec: IndexDescription, key: Document): Feature[] {
  const needed: Feature[] = [];
  if (spec.partialFilterExpression !== undefined) needed.push('partialIndexes');
  if (spec.expireAfterSeconds !== undefined) needed.push('ttlIndexes');
  if (isText(key)) needed.push('textIndexes');
  if (spec.hidden === true) needed.push('hiddenIndexes');
  return needed;
}

/**
 * A key as comparable text. Text indexes are listed as `{ _fts: 'text', _ftsx: 1 }` with the
 * fields in `weights`, so both forms become the sorted list of text fields.
 */
function canonicalKey(key: Document, weights: unknown): string {
  const parts: string[] = [];
  let textDone = false;
  for (const [field, value] of Object.entries(key)) {
    if (field === '_ftsx') continue;
    if (value === 'text' || field === '_fts') {
      if (textDone) continue;
      textDone = true;
      const fields = field === '_fts' && typeof weights === 'object' && weights !== null ? Object.keys(weights) : Object.entries(key).filter(([, v]) => v === 'text').map(([f]) => f);
      parts.push(`text(${fields.sort().join(',')})`);
      continue;
    }
    parts.push(`${field}:${String(value)}`);
  }
  return parts.join(' ');
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    return Buffer.compare(bsonOf().serialize({ v: a }), bsonOf().serialize({ v: b })) === 0;
  }
  return false;
}

function show(value: unknown): string {
  return value === undefined ? 'unset' : JSON.stringify(value);
}

function option(document: Document, name: string): unknown {
  const value: unknown = document[name] ?? OPTION_DEFAULTS[name];
  return name === 'wildcardProjection' ? canonicalProjection(value) : value;
}

/**
 * A wildcard projection as comparable data: servers list `{ a: 1 }` back as given or as
 * `{ a: true, _id: false }` (DocumentDB); inclusion and exclusion are what counts, in no order.
 */
function canonicalProjection(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value as Document)
    .map(([field, included]): [string, number] => [field, included === true || Number(included) === 1 ? 1 : 0])
    .filter(([field, included]) => !(field === '_id' && included === 0))
    .sort(([a], [b]) => a.localeCompare(b));
  return Object.fromEntries(entries);
}

/** Where an existing index differs from the spec, or [] when it is the same index. */
function differences(existing: Document, spec: IndexDescription, key: Document): string[] {
  const found: string[] = [];
  const existingKey = existing.key as Document;
  if (canonicalKey(existingKey, existing.weights) !== canonicalKey(key, spec.weights)) {
    found.push(`key ${JSON.stringify(existingKey)} instead of ${JSON.stringify(key)}`);
  }
  const named = Object.keys(spec).filter((name) => !NOT_COMPARED.has(name) && !COMPARED_OPTIONS.includes(name));
  for (const name of [...COMPARED_OPTIONS, ...named]) {
    const have = option(existing, name);
    const want = option(spec, name);
    if (!sameValue(have, want)) found.push(`${name} ${show(have)} instead of ${show(want)}`);
  }
  if (spec.collation !== undefined) {
    const have = (existing.collation ?? {}) as Document;
    for (const [field, value] of Object.entries(spec.collation)) {
      if (!sameValue(have[field], value)) found.push(`collation.${field} ${show(have[field])} instead of ${show(value)}`);
    }
  }
  if (spec.weights !== undefined && !sameValue(existing.weights, spec.weights)) found.push('other text weights');
  return found;
}

/**
 * The collMod that turns `existing` into the spec, or undefined when anything else differs: a TTL
 * index's `expireAfterSeconds` (adding or removing a TTL is another index) and `hidden`.
 */
function inPlaceChange(existing: Document, spec: IndexDescription, key: Document): IndexChange | undefined {
  const change: IndexChange = {};
  const haveTtl: unknown = existing.expireAfterSeconds;
  const wantTtl: unknown = spec.expireAfterSeconds;
  if (typeof haveTtl === 'number' && typeof wantTtl === 'number' && haveTtl !== wantTtl) change.expireAfterSeconds = { from: haveTtl, to: wantTtl };
  const [haveHidden, wantHidden] = [existing.hidden === true, spec.hidden === true];
  if (haveHidden !== wantHidden) change.hidden = { from: haveHidden, to: wantHidden };
  const changed = { ...existing, hidden: wantHidden, ...(change.expireAfterSeconds === undefined ? {} : { expireAfterSeconds: wantTtl }) };
  return Object.keys(change).length > 0 && differences(changed, spec, key).length === 0 ? change : undefined;
}

/** The collection's indexes as listIndexes reports them; none when the collection is missing. */
export async function existingIndexes(ctx: HelperContext, collection: Collection): Promise<Document[]> {
  try {
    return (await collection.listIndexes(withSession(ctx)).toArray()) as Document[];
  } catch (error) {
    if (hasServerCode(error, NAMESPACE_NOT_FOUND)) return [];
    throw error;
  }
}

export async function ensureIndexesWith<T extends Document>(
  ctx: HelperContext,
  ref: CollectionRef<T>,
  specs: IndexDescription[],
  options: EnsureIndexesOptions = {},
): Promise<EnsureIndexesResult> {
  const collection = resolveCollection(ctx, ref);
  const what = `ensureIndexes(${collection.collectionName})`;
  refuseInTransaction(ctx, what);
  const wanted = specs.map((spec) => {
    const key = keyOf(spec, what);
    const name = spec.name ?? defaultIndexName(key);
    for (const feature of featuresNeeded(spec, key)) ctx.server.require(feature, `${what}: index '${name}'`);
    return { spec: { ...spec, key, name }, key, name };
  });
  const duplicate = wanted.find((w, i) => wanted.findIndex((other) => other.name === w.name) !== i);
  if (duplicate !== undefined) throw usageError(`${what}: two specs are named '${duplicate.name}'`);

  const existing = await existingIndexes(ctx, collection);
  const unchanged: string[] = [];
  const toModify: { name: string; change: IndexChange }[] = [];
  const toBuild: typeof wanted = [];
  for (const w of wanted) {
    const sameName = existing.find((index) => index.name === w.name);
    if (sameName === undefined) {
      const sameKey = existing.find((index) => differences(index, w.spec, w.key).length === 0);
      if (sameKey !== undefined) {
        throw new MongrateError('MIGRATION_FAILED', `${what}: the index '${w.name}' already exists as '${String(sameKey.name)}'; use that name or drop it first`);
      }
      toBuild.push(w);
      continue;
    }
    const diff = differences(sameName, w.spec, w.key);
    const change = diff.length > 0 ? inPlaceChange(sameName, w.spec, w.key) : undefined;
    if (change !== undefined) {
      if (change.expireAfterSeconds !== undefined) ctx.server.require('collMod', `${what}: index '${w.name}'`);
      if (change.hidden !== undefined) ctx.server.require('hiddenIndexes', `${what}: index '${w.name}'`);
      toModify.push({ name: w.name, change });
      continue;
    }
    if (diff.length > 0) {
      throw new MongrateError(
        'MIGRATION_FAILED',
        `${what}: an index named '${w.name}' exists with another definition (${diff.join('; ')}); drop it first (dropIndexes) or choose another name`,
      );
    }
    unchanged.push(w.name);
  }
  const names = toBuild.map((w) => w.name);
  const modified = toModify.map((m) => m.name);
  const undeclared = options.reportUndeclared === true ? reportUndeclared(ctx, what, existing, wanted) : undefined;
  const report = undeclared === undefined ? {} : { undeclared };
  if (ctx.dryRun) {
    for (const m of toModify) ctx.onPlan?.({ helper: 'ensureIndexes', collection: collection.collectionName, action: `~ modify ${describeChange(m.change)} on index ${m.name}`, note: 'collMod' });
    if (names.length > 0) {
      const documents = await collection.countDocuments({}, withSession(ctx));
      const action = `build ${names.length === 1 ? 'index' : 'indexes'} ${names.join(', ')}`;
      ctx.onPlan?.({ helper: 'ensureIndexes', collection: collection.collectionName, action, note: `over ${countOf(documents, 'document')}`, documents });
    }
    return { created: names, modified, unchanged, ...report, dryRun: true };
  }
  for (const m of toModify) {
    await modifyIndex(ctx, collection, m.name, m.change, what);
    ctx.log?.(`${what}: modified ${m.name} (${describeChange(m.change)})`);
  }
  if (toBuild.length > 0) {
    ctx.fence?.();
    const build = (): Promise<void> => buildIndexesWatched(ctx, collection, toBuild.map((w) => w.spec), what);
    await (toBuild.some((w) => w.spec.hidden === true) ? needing(ctx, 'hiddenIndexes', what, build) : build());
    ctx.log?.(`${what}: built ${names.join(', ')}`);
  }
  return { created: names, modified, unchanged, ...report };
}

/** The collection's indexes no spec names (all but `_id_` and a clustered index), said in a log line. */
function reportUndeclared(ctx: HelperContext, what: string, existing: Document[], wanted: { name: string }[]): string[] {
  const undeclared = existing
    .filter((index) => index.name !== '_id_' && index.clustered !== true && !wanted.some((w) => w.name === index.name))
    .map((index) => String(index.name));
  ctx.log?.(undeclared.length === 0 ? `${what}: no undeclared indexes` : `${what}: undeclared (no spec names them): ${undeclared.join(', ')}`);
  return undeclared;
}

export async function dropIndexesWith<T extends Document>(
  ctx: HelperContext,
  ref: CollectionRef<T>,
  names: string[],
  options: DropIndexesOptions = {},
): Promise<DropIndexesResult> {
  const collection = resolveCollection(ctx, ref);
  const what = `dropIndexes(${collection.collectionName})`;
  refuseInTransaction(ctx, what);
  if (names.includes('_id_')) throw usageError(`${what}: the _id index cannot be dropped`);
  if (options.hideFirst === true) ctx.server.require('hiddenIndexes', `${what} with hideFirst`);
  const listed = await existingIndexes(ctx, collection);
  const present = [...new Set(names)].flatMap((name) => listed.filter((index) => index.name === name));
  const hiding: HidingPlan | undefined = options.hideFirst === true ? await planHiding(ctx, collection, present) : undefined;
  const toDrop = hiding === undefined ? present : hiding.drop.map((d) => d.index);
  const dropNames = toDrop.map((index) => String(index.name));
  const hidden = hiding === undefined ? {} : { hidden: hiding.hidden };
  if (ctx.dryRun) {
    if (hiding !== undefined) reportHidingPlan(ctx, collection, hiding);
    const note = hiding === undefined || dropNames.length === 0 ? {} : { note: hiddenBy(hiding) };
    if (dropNames.length > 0) ctx.onPlan?.({ helper: 'dropIndexes', collection: collection.collectionName, action: `drop ${dropNames.length === 1 ? 'index' : 'indexes'} ${dropNames.join(', ')}`, ...note });
    return { dropped: dropNames, ...hidden, dryRun: true };
  }
  const dropped: string[] = [];
  for (const index of toDrop) {
    const name = String(index.name);
    try {
      ctx.fence?.();
      await collection.dropIndex(name, withSession(ctx));
      dropped.push(name);
    } catch (error) {
      // dropped meanwhile: the outcome asked for holds
      if (!hasServerCode(error, INDEX_NOT_FOUND, NAMESPACE_NOT_FOUND)) throw error;
    }
    // a hidden index may have a record of hideFirst's: gone with it
    if (index.hidden === true) await forgetHidden(ctx, collection, name);
  }
  if (dropped.length > 0) ctx.log?.(`${what}: dropped ${dropped.join(', ')}${hiding === undefined ? '' : ` (${hiddenBy(hiding)})`}`);
  if (hiding !== undefined) await hideNow(ctx, collection, hiding, what);
  return { dropped, ...hidden };
}
