/**
 * Running exactly one migration (`up --only <id>`, `down --only <id>`): pure planning, like
 * plan.ts, whose rules still hold (a live runner's `running` record, an earlier failure and a
 * half-reverted `down` refuse the run as they refuse the plain command). Alone, a migration is in
 * order only where the plain command would run it next: the first pending for `up`, the newest
 * applied for `down`. Anywhere else it needs `allowOutOfOrder`, because it leaves the database in
 * an order no plain run makes: an `up` leaves the pending migrations before it behind (they become
 * out-of-order), a `down` takes away one that migrations applied after it may build on. The
 * placement is returned with the plan, so the dry run and the result say which it is.
 */
import type { ChangelogRecord } from '../changelog/contract.ts';
import { MongrateError, usageError } from '../errors.ts';
import { compareIds, type IdOrder } from '../providers/contract.ts';
import type { DownOptions, ListedMigration, MigrationState, OnlyPlacement, UpOptions } from '../types.ts';
import { appliedInOrder, computeStatus, halfRevertedError, isBrokenDown, planUp } from './plan.ts';

/** The migration `up --only` applies, and how that stands to the order. */
export function planUpOnly<M extends ListedMigration>(
  files: M[],
  records: ChangelogRecord[],
  options: UpOptions & { only: string },
  liveOwner?: string,
  order: IdOrder = compareIds,
): { migration: M; only: OnlyPlacement } {
  const id = options.only;
  const states = new Map(computeStatus('', files, records, liveOwner, undefined, order).migrations.map((m) => [m.id, m.state]));
  const state = states.get(id);
  if (state === undefined) throw usageError(`unknown migration id '${id}' (given as \`only\`)`);
  // every migration a plain `up` could run, with its refusals (running, failed, half reverted);
  // whether this one may run out of order is decided below, for it alone
  const runnable = planUp(files, records, { retryFailed: options.retryFailed === true, allowOutOfOrder: true }, liveOwner, order);
  const index = runnable.findIndex((m) => m.id === id);
  const migration = runnable[index];
  if (migration === undefined) throw usageError(`cannot apply ${id} alone (given as \`only\`): it is ${stateWords(state)}, not pending`);
  // out-of-order ones before it are behind already; pending (or rolled-back) ones would be left behind by this run
  const leftBehind = runnable.slice(0, index).filter((m) => states.get(m.id) !== 'out-of-order').map((m) => m.id);
  const only: OnlyPlacement =
    state === 'out-of-order' ? { outOfOrder: true, detail: 'it sorts before a migration already applied' }
    : leftBehind.length > 0 ? { outOfOrder: true, detail: `pending before it, and left pending (then out-of-order): ${leftBehind.join(', ')}` }
    : { outOfOrder: false, detail: 'the next pending migration' };
  if (only.outOfOrder && options.allowOutOfOrder !== true) {
    throw new MongrateError('CHECK_FAILED', `applying ${id} alone is out of order: ${only.detail}`, {
      hints: [{ options: { allowOutOfOrder: true }, purpose: 'apply it alone anyway' }],
    });
  }
  return { migration, only };
}

/** The applied record `down --only` reverts, and how that stands to the order. */
export function planDownOnly(
  records: ChangelogRecord[],
  options: DownOptions & { only: string },
  liveOwner?: string,
  order: IdOrder = compareIds,
): { record: ChangelogRecord; only: OnlyPlacement } {
  const id = options.only;
  const broken = records.filter((r) => isBrokenDown(r, liveOwner));
  if (broken.length > 0) {
    const [retried] = broken;
    // finishing this one's own failed down is the one way through a half-reverted migration
    if (options.retryFailed === true && broken.length === 1 && retried?._id === id) return { record: retried, only: { outOfOrder: false, detail: 'finishing its failed down' } };
    throw halfRevertedError(broken.map((r) => r._id));
  }
  const applied = appliedInOrder(records, liveOwner, order);
  const index = applied.findIndex((r) => r._id === id);
  const record = applied[index];
  if (record === undefined) {
    const recorded = records.find((r) => r._id === id);
    const why = recorded === undefined ? 'it has no changelog record (pending, or no such migration)' : `its record is ${recorded.state}`;
    throw usageError(`cannot revert ${id} alone (given as \`only\`): it is not applied; ${why}`);
  }
  const after = applied.slice(index + 1).map((r) => r._id);
  if (after.length === 0) return { record, only: { outOfOrder: false, detail: 'the newest applied migration' } };
  const only: OnlyPlacement = { outOfOrder: true, detail: `applied after it, and staying applied: ${after.join(', ')}` };
  if (options.allowOutOfOrder !== true) {
    throw new MongrateError('CHECK_FAILED', `reverting ${id} alone is out of order: ${only.detail}`, {
      hints: [{ options: { allowOutOfOrder: true }, purpose: 'revert it alone anyway' }],
    });
  }
  return { record, only };
}

function stateWords(state: MigrationState): string {
  return state === 'failed' ? 'failed (its writes may be half done: `retryFailed` runs it again)' : state;
}
