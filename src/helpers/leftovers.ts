/**
 * The collections copyAndRename works with besides the source and the target, and a way to find
 * the ones a stopped run left behind (for `validate` to report).
 */
import type { ClientSession, Db } from 'mongodb';
import type { LeftoverCollection } from './types.ts';

/** A copy being built: `_mongrate_tmp_<the collection it becomes>`. */
export const TEMP_PREFIX = '_mongrate_tmp_';
/** The digest per source document a copy is checked against: `_mongrate_sums_<the collection the copy becomes>`. */
export const SUMS_PREFIX = '_mongrate_sums_';
/** A target moved aside during a brief-gap swap: `_mongrate_old_<target>`. */
export const ASIDE_PREFIX = '_mongrate_old_';

const LEFTOVER = /^_mongrate_(tmp|sums|old)_(.+)$/;

/** Every `_mongrate_tmp_*`, `_mongrate_sums_*` and `_mongrate_old_*` collection of the database, by name. */
export async function leftoverCollections(db: Db, options: { session?: ClientSession } = {}): Promise<LeftoverCollection[]> {
  const listed = await db.listCollections({ name: { $regex: LEFTOVER.source } }, { ...options, nameOnly: true }).toArray();
  const found: LeftoverCollection[] = [];
  for (const { name } of listed) {
    const match = LEFTOVER.exec(name);
    const collection = match?.[2];
    if (match === null || collection === undefined) continue;
    found.push({ name, kind: match[1] === 'old' ? 'original' : 'copy', collection });
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}
