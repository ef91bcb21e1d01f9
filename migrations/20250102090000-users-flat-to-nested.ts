/**
 * Reference pattern 2, collection migration flat -> nested: every user is copied, in batches, into
 * a new collection in the nested shape, its indexes are rebuilt there, and the copy is renamed over
 * `users`. The original is kept as `users_flat_v1` for `down`.
 *
 * The reference drops `users` before renaming, leaving a moment with no `users` at all. Where the
 * server can rename with `dropTarget`, we swap in one step. FerretDB 1.24 cannot; there the swap
 * is two renames, back to back, and the migration says so in its output.
 */
import type { Db, Document } from 'mongodb';
import { MongoServerError } from 'mongodb';
import { defineMigration } from 'mongrate';

// FerretDB 1.24 (SQLite) holds one connection per statement of an `update` command and has 100:
// a bulkWrite of 100 or more updates there never returns. 50 keeps well clear of that.
const BATCH = 50;
const KEPT = 'users_flat_v1';
const TEMP = 'users_nested_tmp';
const NOT_IMPLEMENTED = 238;

interface FlatUser extends Document {
  email?: string;
  name?: string;
  bio?: string;
  avatar_url?: string;
  location?: string;
  notifications?: boolean;
  theme?: string;
  created_at?: Date;
  updated_at?: Date;
}

function nested(user: FlatUser): Document {
  return {
    _id: user._id as unknown,
    email: user.email,
    name: user.name,
    profile: { bio: user.bio ?? null, avatar_url: user.avatar_url ?? null, location: user.location ?? null },
    settings: { notifications: user.notifications ?? true, theme: user.theme ?? 'light' },
    created_at: user.created_at,
    updated_at: user.updated_at ?? new Date(),
  };
}

/** Copies `from` into `to` (which must not exist) in batches, transforming each document. */
async function copyInBatches(db: Db, from: string, to: string, transform: (doc: FlatUser) => Document): Promise<number> {
  const target = db.collection(to);
  let batch: Document[] = [];
  let copied = 0;
  for await (const doc of db.collection<FlatUser>(from).find().sort({ _id: 1 }).batchSize(BATCH)) {
    batch.push(transform(doc));
    if (batch.length >= BATCH) {
      await target.insertMany(batch, { ordered: false });
      copied += batch.length;
      batch = [];
    }
  }
  if (batch.length > 0) await target.insertMany(batch, { ordered: false });
  return copied + batch.length;
}

/** Renames `from` over `to`: atomically where the server can, else as two renames in a row. */
async function swapInto(db: Db, from: string, to: string, log: (line: string) => void): Promise<void> {
  try {
    await db.renameCollection(from, to, { dropTarget: true });
  } catch (error) {
    if (!(error instanceof MongoServerError && error.code === NOT_IMPLEMENTED)) throw error;
    log(`server lacks renameCollection dropTarget: ${to} is briefly absent between two renames`);
    const aside = `${to}_swap_old`;
    await db.renameCollection(to, aside);
    await db.renameCollection(from, to);
    await db.collection(aside).drop();
  }
}

export default defineMigration({
  description: 'Users flat -> nested profile/settings, copied and renamed over users',
  transaction: false,

  async up({ db, log }) {
    await db.collection(TEMP).drop().catch(() => false); // leftovers of an interrupted run
    await db.collection(KEPT).drop().catch(() => false);
    const copied = await copyInBatches(db, 'users', TEMP, nested);
    await copyInBatches(db, 'users', KEPT, (doc) => doc);
    await db.collection(TEMP).createIndexes([{ key: { email: 1 }, name: 'email_unique', unique: true }]);
    await swapInto(db, TEMP, 'users', log);
    log(`${copied} users now nested; the flat originals are kept in ${KEPT}`);
  },

  async down({ db, log }) {
    await swapInto(db, KEPT, 'users', log);
    log(`users restored from ${KEPT}`);
  },
});
