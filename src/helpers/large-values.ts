/**
 * Fields too large to carry in a write's filter (diff.ts: a 9 MB field beside its new value, or a
 * document near 16 MB in a delete's condition, would take the statement past the server's size
 * limit) are compared by re-reading them right before the write: one `find` for the page's writes
 * that have such fields, projected to them. A write whose large field changed since it was read
 * is not sent; the caller then reads its document again and transforms it again, as for any write
 * that found its document changed. What remains: a write to such a field landing in the one round
 * trip between this check and the write is overwritten (the filter still checks every other field).
 * On MongoDB a `$expr` over a server-side digest could close that too; FerretDB has no `$expr`.
 */
import type { Collection, Document } from 'mongodb';
import { withSession } from './context.ts';
import type { PlannedWrite } from './page-writes.ts';
import { idKey, sameBytes, storedValues, valueBytes } from './typed.ts';
import type { HelperContext } from './types.ts';

/** The planned writes to send now: all but those whose checked fields no longer hold what was read. */
export async function withoutStaleLargeFields(ctx: HelperContext, collection: Collection, planned: PlannedWrite[]): Promise<PlannedWrite[]> {
  const checking = planned.filter((write) => write.checked.length > 0);
  if (checking.length === 0) return planned;
  const fields = [...new Set(checking.flatMap((write) => write.checked))];
  const projection = Object.fromEntries(fields.map((field) => [field, 1]));
  const raw = (await collection
    .find({ _id: { $in: checking.map((write) => write.id) } } as Document, { ...withSession(ctx), projection, raw: true })
    .toArray()) as unknown as Uint8Array[];
  const now = new Map<string, Document>();
  for (const bytes of raw) {
    const doc = storedValues(bytes, ctx);
    now.set(idKey(doc._id), doc);
  }
  const stale = new Set<PlannedWrite>();
  for (const write of checking) {
    const current = now.get(idKey(write.id));
    const unchanged =
      current !== undefined &&
      write.checked.every((field) => Object.hasOwn(current, field) && sameBytes(valueBytes(current[field], ctx), valueBytes(write.stored[field], ctx)));
    if (!unchanged) stale.add(write);
  }
  return stale.size === 0 ? planned : planned.filter((write) => !stale.has(write));
}
