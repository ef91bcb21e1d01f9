/**
 * Reference pattern 1, schema evolution: every user whose `schema_version` is not 2 gets version 2,
 * `created_at` kept (or set), `updated_at` set, `preferences` defaulting to {}, `old_field` removed.
 * The tutorial does one `replace_one` per document; `bumpSchemaVersion` reads in `_id` order and
 * writes in batches, and only touches users not at version 2 yet, so a rerun after a crash resumes.
 *
 * Making `down` exact: `up` stashes, on each user it changes, what `down` needs under `_v1`:
 * the original values of the fields it changes (a field absent from `_v1.values` was absent) and the
 * original key order. `down` puts those values back in that order, removes what `up` added and
 * drops `_v1`; every other field keeps its current value, so edits made meanwhile survive. Users
 * already at version 2 before `up` get no stash and `down` leaves them alone. A stash on the
 * document itself (rather than a backup collection) is written by the same statement as the
 * change, so the two can never disagree, and `down` is one more batched pass with the same helper.
 */
import type { Document } from 'mongodb';
import { defineMigration } from 'mongrate';

const VERSION = 2;
/** Every field `up` may change, add or remove: exactly what `down` restores. */
const CHANGED = ['schema_version', 'created_at', 'updated_at', 'preferences', 'old_field'];
const STASH = '_v1';

interface Stash {
  /** Original values of the CHANGED fields the document had. */
  values: Document;
  /** The document's original field names, in order. */
  order: string[];
}

function isStash(value: unknown): value is Stash {
  if (typeof value !== 'object' || value === null) return false;
  const { values, order } = value as Partial<Record<keyof Stash, unknown>>;
  return typeof values === 'object' && values !== null && Array.isArray(order) && order.every((key) => typeof key === 'string');
}

/** The version-2 shape of a user, with the stash `down` needs. */
function toVersion2(user: Document, now: Date): Document {
  const values: Document = {};
  for (const field of CHANGED) if (field in user) values[field] = user[field] as unknown;
  const next: Document = { ...user };
  delete next.old_field;
  next.schema_version = VERSION;
  next.created_at ??= now;
  next.updated_at = now;
  next.preferences ??= {};
  next[STASH] = { values, order: Object.keys(user) } satisfies Stash;
  return next;
}

/** The user as it was before `up`: stashed values in the original order, later edits of other fields kept. */
function toVersion1(user: Document): Document | null {
  const stash: unknown = user[STASH];
  if (!isStash(stash)) return null;
  const current: Document = { ...user };
  delete current[STASH];
  const restored: Document = {};
  for (const field of stash.order) {
    if (CHANGED.includes(field)) restored[field] = stash.values[field] as unknown;
    else if (field in current) restored[field] = current[field] as unknown;
  }
  // fields added since `up` (not by it) stay
  for (const [field, value] of Object.entries(current) as [string, unknown][]) {
    if (!(field in restored) && !CHANGED.includes(field)) restored[field] = value;
  }
  return restored;
}

export default defineMigration({
  description: 'Users to schema_version 2: timestamps, preferences default, old_field removed',

  // the helpers log what they did (matched, modified) and report progress after each batch
  async up({ helpers }) {
    const now = new Date();
    await helpers.bumpSchemaVersion('users', { to: VERSION, transform: (user) => toVersion2(user, now) });
  },

  async down({ helpers }) {
    await helpers.reshape('users', { filter: { [STASH]: { $exists: true } }, transform: toVersion1 });
  },
});
