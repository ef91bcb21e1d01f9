/**
 * `dropIndexes(collection, names, { hideFirst: true })`: hide now, drop in a later migration, so a
 * regression in between is undone by unhiding the index (a hidden index is kept up to date, so
 * unhiding is instant where a rebuild is not).
 *
 * Why the drop is safe:
 * - an index is dropped only while it is hidden: no query has used it since it was hidden;
 * - and only when mongrate's record (index-changes.ts) says it hid it, with the same key, in
 *   another migration than the one running: a retry of the hiding migration (after a crash,
 *   `repair`, `redo`) hides again and never drops, and an index built later under the same name
 *   on another key is not taken for it;
 * - an index found hidden without such a record (hidden by hand, or built hidden) is taken over:
 *   recorded as hidden by this migration, for a later one to drop.
 * Every database ends the same once all migrations are applied (on a new one the hiding and the
 * dropping migration run in one `up`); deploying the hiding migration alone leaves time to watch.
 */
import type { Collection, Document } from 'mongodb';
import { hiddenRecords, modifyIndex, recordHidden, type HiddenIndexRecord } from './index-changes.ts';
import type { HelperContext } from './types.ts';

/** What hideFirst does with each named index that exists, in the order asked. */
export interface HidingPlan {
  /** Visible now: hidden with collMod and recorded. */
  hide: Document[];
  /** Hidden already, without a record of mongrate's from another migration: recorded. */
  takeOver: Document[];
  /** Hidden by an earlier migration: dropped now. */
  drop: { index: Document; by: string | null }[];
  /** The names hidden now or taken over (the result's `hidden`), in the order asked. */
  hidden: string[];
}

const sameKey = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** A record of another migration (outside any migration, every earlier call counts as earlier). */
const hiddenEarlier = (ctx: HelperContext, record: HiddenIndexRecord): boolean => ctx.migration === undefined || record.migration !== ctx.migration;

export async function planHiding(ctx: HelperContext, collection: Collection, indexes: Document[]): Promise<HidingPlan> {
  const records = await hiddenRecords(ctx, collection, indexes.filter((index) => index.hidden === true).map((index) => String(index.name)));
  const plan: HidingPlan = { hide: [], takeOver: [], drop: [], hidden: [] };
  for (const index of indexes) {
    const name = String(index.name);
    const record = records.get(name);
    if (record !== undefined && index.hidden === true && sameKey(record.key, index.key) && hiddenEarlier(ctx, record)) {
      plan.drop.push({ index, by: record.migration });
      continue;
    }
    (index.hidden === true ? plan.takeOver : plan.hide).push(index);
    plan.hidden.push(name);
  }
  return plan;
}

const indexWord = (names: string[]): string => `${names.length === 1 ? 'index' : 'indexes'} ${names.join(', ')}`;
const namesOf = (indexes: Document[]): string[] => indexes.map((index) => String(index.name));

/** Who hid the indexes about to be dropped, for the dry run's note and the log. */
export function hiddenBy(plan: HidingPlan): string {
  const by = [...new Set(plan.drop.map((d) => (d.by === null ? 'a call outside any migration' : d.by)))];
  return `hidden by ${by.join(', ')}`;
}

/** A dry run's words for the hiding (the drops are planned with the other drops). */
export function reportHidingPlan(ctx: HelperContext, collection: Collection, plan: HidingPlan): void {
  const base = { helper: 'dropIndexes', collection: collection.collectionName };
  if (plan.hide.length > 0) ctx.onPlan?.({ ...base, action: `hide ${indexWord(namesOf(plan.hide))}`, note: 'collMod; a later migration drops it' });
  if (plan.takeOver.length > 0) ctx.onPlan?.({ ...base, action: `keep ${indexWord(namesOf(plan.takeOver))} hidden`, note: 'hidden already; a later migration drops it' });
}

/** Hides and records; returns the names hidden now or taken over. */
export async function hideNow(ctx: HelperContext, collection: Collection, plan: HidingPlan, what: string): Promise<string[]> {
  for (const index of plan.hide) {
    await modifyIndex(ctx, collection, String(index.name), { hidden: { from: false, to: true } }, what);
    await recordHidden(ctx, collection, index);
    ctx.log?.(`${what}: hid ${String(index.name)}; a later migration's dropIndexes drops it (unhide it to undo)`);
  }
  for (const index of plan.takeOver) {
    await recordHidden(ctx, collection, index);
    ctx.log?.(`${what}: ${String(index.name)} was hidden already; recorded, a later migration's dropIndexes drops it`);
  }
  return plan.hidden;
}
