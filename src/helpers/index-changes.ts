/**
 * What mongrate changes on an existing index in place (`collMod`): a TTL's `expireAfterSeconds`
 * and `hidden`. Nothing else about an index can change without rebuilding it, so anything else is
 * a mismatch the caller reports.
 *
 * And the record of the indexes mongrate hid (`dropIndexes(..., { hideFirst: true })`), kept in
 * `_mongrate_hidden_indexes` in the index's database, one document per index: MongoDB keeps no
 * note of ours on an index (it refuses unknown index options). The record is trusted only while
 * its index is hidden and has the recorded key; unhiding through mongrate forgets it.
 */
import type { Collection, Document } from 'mongodb';
import { withSession } from './context.ts';
import type { HelperContext } from './types.ts';
import { needing } from './unsupported.ts';

/** The in-place changes of one index: each option from what it is to what the spec asks. */
export interface IndexChange {
  expireAfterSeconds?: { from: number; to: number };
  hidden?: { from: boolean; to: boolean };
}

/** `expireAfterSeconds 2592000 → 604800, hidden false → true`. */
export function describeChange(change: IndexChange): string {
  const parts: string[] = [];
  if (change.expireAfterSeconds !== undefined) parts.push(`expireAfterSeconds ${change.expireAfterSeconds.from} → ${change.expireAfterSeconds.to}`);
  if (change.hidden !== undefined) parts.push(`hidden ${String(change.hidden.from)} → ${String(change.hidden.to)}`);
  return parts.join(', ');
}

/**
 * Applies the change with `collMod`, naming the index (DocumentDB finds an index by name only).
 * A server without the feature fails naming it; an index made visible again loses its record.
 */
export async function modifyIndex(ctx: HelperContext, collection: Collection, name: string, change: IndexChange, what: string): Promise<void> {
  const index: Document = { name };
  if (change.expireAfterSeconds !== undefined) index.expireAfterSeconds = change.expireAfterSeconds.to;
  if (change.hidden !== undefined) index.hidden = change.hidden.to;
  const feature = change.hidden === undefined ? 'collMod' : 'hiddenIndexes';
  ctx.fence?.();
  await needing(ctx, feature, `${what}: index '${name}'`, () => collection.db.command({ collMod: collection.collectionName, index }, withSession(ctx)));
  if (change.hidden?.to === false) await forgetHidden(ctx, collection, name);
}

export const HIDDEN_INDEXES = '_mongrate_hidden_indexes';

/** Which migration hid an index (null: a helper called outside any migration). */
export interface HiddenIndexRecord {
  _id: { collection: string; index: string };
  key: Document;
  migration: string | null;
  hiddenAt: Date;
}

const recordId = (collection: Collection, index: string): HiddenIndexRecord['_id'] => ({ collection: collection.collectionName, index });

/** The records of the named indexes of the collection, by index name. */
export async function hiddenRecords(ctx: HelperContext, collection: Collection, names: string[]): Promise<Map<string, HiddenIndexRecord>> {
  if (names.length === 0) return new Map();
  const records = collection.db.collection<HiddenIndexRecord>(HIDDEN_INDEXES);
  const found = await records.find({ _id: { $in: names.map((name) => recordId(collection, name)) } }, withSession(ctx)).toArray();
  return new Map(found.map((record) => [record._id.index, record]));
}

export async function recordHidden(ctx: HelperContext, collection: Collection, index: Document): Promise<void> {
  const name = String(index.name);
  const record: HiddenIndexRecord = { _id: recordId(collection, name), key: index.key as Document, migration: ctx.migration ?? null, hiddenAt: new Date() };
  ctx.fence?.();
  await collection.db.collection<HiddenIndexRecord>(HIDDEN_INDEXES).replaceOne({ _id: record._id }, record, { ...withSession(ctx), upsert: true });
}

export async function forgetHidden(ctx: HelperContext, collection: Collection, name: string): Promise<void> {
  ctx.fence?.();
  await collection.db.collection<HiddenIndexRecord>(HIDDEN_INDEXES).deleteOne({ _id: recordId(collection, name) }, withSession(ctx));
}
