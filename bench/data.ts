// The bench's data: flat v1 users generated from their position `seq` (so any slice can be
// re-created exactly), the nested shape of reference pattern 2 and the schema bump of pattern 1,
// each written three ways: a per-document function, a declarative spec, raw update commands.
import { ObjectId, type Collection, type Document, type Filter, type WithId } from 'mongodb';
import type { ReshapeSpec } from '../src/helpers/index.ts';

export interface FlatUser extends Document {
  _id: ObjectId;
  /** Position in the collection: 0..N-1, indexed; samples are `seq` ranges. */
  seq: number;
  email: string;
  name: string;
  bio: string;
  avatar_url: string;
  location: string;
  notifications?: boolean;
  theme?: string;
  created_at?: Date;
  updated_at?: Date;
  preferences?: Record<string, unknown>;
  schema_version: number;
  old_field?: string;
}

const CITIES = ['Lisbon', 'Nairobi', 'Osaka', 'Quito', 'Tallinn', 'Winnipeg', 'Hobart'];
const EPOCH = Date.UTC(2021, 0, 1);
const INSERT_CHUNK = 5000;

/** `_id`s ascend with `seq`, so `_id` order (the helpers' order) is `seq` order. */
export function userId(seq: number): ObjectId {
  return new ObjectId(`65000000${seq.toString(16).padStart(16, '0')}`);
}

/** The v1 user at position seq; optional fields are missing on a fixed share of users. */
export function flatUser(seq: number): FlatUser {
  return {
    _id: userId(seq),
    seq,
    email: `user${seq}@example.com`,
    name: `User Number ${seq}`,
    bio: `Writes about databases, migrations and the occasional schema change (#${seq}).`,
    avatar_url: `https://cdn.example.com/avatars/${seq}.png`,
    location: CITIES[seq % CITIES.length] ?? 'Lisbon',
    ...(seq % 2 === 0 ? { notifications: seq % 4 === 0 } : {}),
    ...(seq % 3 === 0 ? { theme: 'dark' } : {}),
    ...(seq % 10 === 0 ? {} : { created_at: new Date(EPOCH + seq * 60_000) }),
    schema_version: 1,
    old_field: `legacy-${seq}`,
  };
}

/** Inserts the users with seq in [from, to), a chunk at a time (never all of them in memory). */
export async function insertUsers(collection: Collection<FlatUser>, from: number, to: number): Promise<void> {
  for (let start = from; start < to; start += INSERT_CHUNK) {
    const docs: FlatUser[] = [];
    for (let seq = start; seq < Math.min(to, start + INSERT_CHUNK); seq++) docs.push(flatUser(seq));
    await collection.insertMany(docs, { ordered: false });
  }
}

/** A fresh collection of users 0..count-1 with the `seq` index. */
export async function createUsers(collection: Collection<FlatUser>, count: number): Promise<void> {
  await collection.drop().catch(() => false);
  await collection.db.createCollection(collection.collectionName);
  await insertUsers(collection, 0, count);
  await collection.createIndex({ seq: 1 }, { name: 'seq_1' }, undefined);
}

export interface Slice {
  from: number;
  /** Exclusive. */
  to: number;
  filter: Filter<FlatUser>;
  /** The same filter, for untyped collections and filter builders. */
  rawFilter: Filter<Document>;
}

export function slice(from: number, count: number): Slice {
  const filter = { seq: { $gte: from, $lt: from + count } };
  return { from, to: from + count, filter, rawFilter: filter };
}

/** Puts the original v1 documents of the slice back: delete, then re-insert (inserts are cheap everywhere). */
export async function restoreSlice(collection: Collection<FlatUser>, range: Slice): Promise<void> {
  await collection.deleteMany(range.filter);
  await insertUsers(collection, range.from, range.to);
}

// ---- reference pattern 2: flat -> nested --------------------------------------------------------

/** The nested shape, by hand: what a migration author writes as a transform function. */
export function nestedUser(doc: WithId<FlatUser>, now: Date): Document {
  return {
    _id: doc._id,
    seq: doc.seq,
    email: doc.email,
    name: doc.name,
    profile: { bio: doc.bio, avatar_url: doc.avatar_url, location: doc.location },
    settings: { notifications: doc.notifications ?? true, theme: doc.theme ?? 'light' },
    created_at: doc.created_at ?? now,
    updated_at: now,
  };
}

const NEST_RENAMES: Readonly<Record<string, string>> = {
  bio: 'profile.bio',
  avatar_url: 'profile.avatar_url',
  location: 'profile.location',
  notifications: 'settings.notifications',
  theme: 'settings.theme',
};
const NEST_UNSET = ['schema_version', 'old_field'];

/** The same change as one declarative spec, as a user would write it. */
export function nestSpec(now: Date): ReshapeSpec {
  return {
    rename: { ...NEST_RENAMES },
    setDefaults: { 'settings.notifications': true, 'settings.theme': 'light', created_at: now },
    set: { updated_at: now },
    unset: [...NEST_UNSET],
  };
}

/** The same change as two specs whose paths do not overlap: defaults on the flat names first, then the move. */
export function nestSpecsSplit(now: Date): [ReshapeSpec, ReshapeSpec] {
  return [
    { setDefaults: { notifications: true, theme: 'light', created_at: now } },
    { rename: { ...NEST_RENAMES }, set: { updated_at: now }, unset: [...NEST_UNSET] },
  ];
}

/** The limit: the change as hand-written server-side updates (one per default, then one for the rest). */
export async function nestWithUpdateMany(collection: Collection, filter: Filter<Document>, now: Date): Promise<void> {
  const defaults: [string, unknown][] = [
    ['notifications', true],
    ['theme', 'light'],
    ['created_at', now],
  ];
  for (const [field, value] of defaults) {
    await collection.updateMany({ $and: [filter, { [field]: { $exists: false } }] }, { $set: { [field]: value } });
  }
  await collection.updateMany(filter, {
    $rename: { ...NEST_RENAMES },
    $unset: Object.fromEntries(NEST_UNSET.map((field) => [field, ''])),
    $set: { updated_at: now },
  });
}

/** Documents of the range in the nested shape. */
export function nestedShapeFilter(filter: Filter<Document>, now: Date): Filter<Document> {
  return {
    $and: [
      filter,
      {
        'profile.bio': { $exists: true },
        'profile.location': { $exists: true },
        'settings.notifications': { $exists: true },
        'settings.theme': { $exists: true },
        created_at: { $exists: true },
        updated_at: now,
        bio: { $exists: false },
        notifications: { $exists: false },
        schema_version: { $exists: false },
        old_field: { $exists: false },
      },
    ],
  };
}

// ---- reference pattern 1: schema_version 1 -> 2 ------------------------------------------------

/** Version 2 by hand: timestamps, preferences default, old_field removed (the helper sets the version). */
export function bumpedUser(doc: WithId<FlatUser>, now: Date): Document {
  const { old_field: _dropped, ...rest } = doc;
  return { ...rest, schema_version: 2, created_at: doc.created_at ?? now, updated_at: now, preferences: doc.preferences ?? {} };
}

export function bumpSpec(now: Date): ReshapeSpec {
  return { setDefaults: { created_at: now, preferences: {} }, set: { updated_at: now }, unset: ['old_field'] };
}

export async function bumpWithUpdateMany(collection: Collection, filter: Filter<Document>, now: Date): Promise<void> {
  const pending: Filter<Document> = { $and: [filter, { schema_version: { $ne: 2 } }] };
  for (const [field, value] of [['created_at', now], ['preferences', {}]] as const) {
    await collection.updateMany({ $and: [pending, { [field]: { $exists: false } }] }, { $set: { [field]: value } });
  }
  await collection.updateMany(pending, { $set: { schema_version: 2, updated_at: now }, $unset: { old_field: '' } });
}

export function bumpedShapeFilter(filter: Filter<Document>, now: Date): Filter<Document> {
  return {
    $and: [filter, { schema_version: 2, updated_at: now, created_at: { $exists: true }, preferences: { $exists: true }, old_field: { $exists: false }, bio: { $exists: true } }],
  };
}
