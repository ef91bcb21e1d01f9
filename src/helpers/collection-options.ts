/**
 * What copyAndRename creates its copies with: the source's options as `listCollections` reports
 * them, so the collection that ends up under the target's name is the same kind of collection
 * (same validator, default collation, capped size, clustered index...), only with new documents.
 */
import type { Db, Document } from 'mongodb';
import { usageError } from '../errors.ts';
import { withSession } from './context.ts';
import type { HelperContext } from './types.ts';

/** Options that define a collection, copied as they are. */
const COPIED = new Set([
  'capped',
  'size',
  'max',
  'validator',
  'validationLevel',
  'validationAction',
  'collation',
  'clusteredIndex',
  // a clustered collection's TTL
  'expireAfterSeconds',
  'changeStreamPreAndPostImages',
  'storageEngine',
  'indexOptionDefaults',
]);

/**
 * Options reported for some collections that the copy must not get: legacy flags today's
 * servers refuse or ignore on create (`autoIndexId`, `flags`), `recordPreImages` (removed in
 * MongoDB 6.0, superseded by changeStreamPreAndPostImages, which is copied), and `temp` (an
 * internal mark that makes the server drop the collection at restart).
 */
const NOT_COPIED = new Set(['autoIndexId', 'flags', 'recordPreImages', 'temp']);

export interface CopyOptions {
  /** For `createCollection`. */
  options: Document;
  capped: boolean;
  /** The default collation, when it has one. */
  collation: Document | undefined;
  /** The copy has a validator: its inserts bypass it (see copyAndRename). */
  validated: boolean;
}

/**
 * The source's full `listCollections` entry, or undefined when it does not exist. Decoded with
 * every BSON type kept, so a copied validator is the same bytes: a regex keeps its `x` and `s`
 * flags, a Double bound stays a Double.
 */
export async function collectionEntry(ctx: HelperContext, db: Db, name: string): Promise<Document | undefined> {
  const listed = await db.listCollections({ name }, { ...withSession(ctx), promoteValues: false, promoteLongs: false, promoteBuffers: false, bsonRegExp: true }).toArray();
  // matched by name: some compatible servers ignore the filter and list every collection
  return listed.find((entry) => entry.name === name);
}

/**
 * The options to create copies of the collection with; refuses what a copy of its documents
 * cannot rebuild. Unknown options are left out with a notice, never copied blindly.
 */
export function copyOptions(ctx: HelperContext, entry: Document, what: string): CopyOptions {
  const name = String(entry.name);
  const type = typeof entry.type === 'string' ? entry.type : 'collection';
  const listed = (entry.options ?? {}) as Document;
  if (type === 'view') {
    throw usageError(`${what}: '${name}' is a view (of '${String(listed.viewOn)}'), not a collection: it holds no documents to copy; redefine the view instead`);
  }
  if (type === 'timeseries' || listed.timeseries !== undefined) {
    throw usageError(`${what}: '${name}' is a time-series collection, which copyAndRename cannot rebuild (its documents are stored in buckets a copy would not recreate)`);
  }
  if (type !== 'collection') throw usageError(`${what}: '${name}' is a ${type}, not a collection`);
  if (listed.encryptedFields !== undefined) {
    throw usageError(`${what}: '${name}' uses Queryable Encryption (encryptedFields), whose encrypted metadata collections copyAndRename cannot carry over`);
  }
  const options: Document = {};
  const unknown: string[] = [];
  for (const [key, value] of Object.entries(listed) as [string, unknown][]) {
    if (COPIED.has(key)) options[key] = value;
    else if (!NOT_COPIED.has(key)) unknown.push(key);
  }
  if (unknown.length > 0) ctx.warn?.(`${what}: the copy does not get the option${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')} of '${name}' (not known to mongrate); set ${unknown.length === 1 ? 'it' : 'them'} again after the migration if needed`);
  // listCollections reports the clustered index with its format version, which create does not take
  const clustered: unknown = options.clusteredIndex;
  if (typeof clustered === 'object' && clustered !== null) {
    const { v: _version, ...spec } = clustered as Document;
    options.clusteredIndex = spec;
  }
  const collation: unknown = options.collation;
  return {
    options,
    capped: options.capped === true,
    collation: typeof collation === 'object' && collation !== null ? (collation) : undefined,
    validated: options.validator !== undefined && Object.keys(options.validator as Document).length > 0,
  };
}
