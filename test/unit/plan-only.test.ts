// Unit tests of running exactly one migration (`only`): which one, whether alone it keeps the
// order (the first pending; the newest applied) or needs `allowOutOfOrder`, and the refusals the
// plain commands make still made. No server, no files.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkRunOptions } from '../../src/core/plan.ts';
import { planDownOnly, planUpOnly } from '../../src/core/plan-only.ts';
import { MongrateError, type ErrorCode } from '../../src/errors.ts';
import type { ListedMigration } from '../../src/types.ts';
import type { ChangelogRecord, ChangelogState } from '../../src/changelog/contract.ts';
import { appliedRecord } from '../support/records.ts';

const BASE = Date.UTC(2024, 0, 1);

const file = (id: string): ListedMigration => ({ id, path: `/p/migrations/${id}.ts`, checksum: `sha256:${id}`, description: undefined });

/** A record of `id` finished `at` minutes after BASE. */
function record(id: string, at: number, state: ChangelogState = 'applied', extra: Partial<ChangelogRecord> = {}): ChangelogRecord {
  return appliedRecord(id, BASE + at * 60_000, { state, ...extra });
}

function fails(code: ErrorCode, message: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof MongrateError, String(error));
    assert.equal(error.code, code);
    assert.match(error.message, message);
    return true;
  };
}

const FILES = ['001-a', '002-b', '003-c', '004-d'].map(file);

void describe('planUpOnly', () => {
  void it('the first pending is in order; a later one leaves those before it behind and needs allowOutOfOrder', () => {
    const records = [record('001-a', 1)];
    assert.deepEqual(planUpOnly(FILES, records, { only: '002-b' }).only, { outOfOrder: false, detail: 'the next pending migration' });
    assert.throws(() => planUpOnly(FILES, records, { only: '004-d' }), fails('CHECK_FAILED', /applying 004-d alone is out of order: pending before it, and left pending \(then out-of-order\): 002-b, 003-c/));
    const planned = planUpOnly(FILES, records, { only: '004-d', allowOutOfOrder: true });
    assert.equal(planned.migration.id, '004-d');
    assert.equal(planned.only.outOfOrder, true);
  });

  void it('a pending migration older than an applied one is out of order; those already out of order are not "left behind"', () => {
    const records = [record('003-c', 1)];
    assert.throws(() => planUpOnly(FILES, records, { only: '001-a' }), fails('CHECK_FAILED', /sorts before a migration already applied/));
    assert.equal(planUpOnly(FILES, records, { only: '001-a', allowOutOfOrder: true }).only.outOfOrder, true);
    // 001-a and 002-b are out-of-order already: 004-d is the next pending in order
    assert.deepEqual(planUpOnly(FILES, records, { only: '004-d' }).only, { outOfOrder: false, detail: 'the next pending migration' });
  });

  void it('an applied or unknown migration is a usage error naming its state; an earlier failure refuses as plain up does', () => {
    const records = [record('001-a', 1)];
    assert.throws(() => planUpOnly(FILES, records, { only: '001-a' }), fails('USAGE', /cannot apply 001-a alone \(given as `only`\): it is applied, not pending/));
    assert.throws(() => planUpOnly(FILES, records, { only: '009-z' }), fails('USAGE', /unknown migration id '009-z'/));
    const failed = [record('001-a', 1), record('002-b', 2, 'failed', { error: { message: 'boom', direction: 'up' } })];
    assert.throws(() => planUpOnly(FILES, failed, { only: '003-c' }), fails('MIGRATION_FAILED', /002-b failed earlier/));
    assert.throws(() => planUpOnly(FILES, failed, { only: '002-b' }), fails('MIGRATION_FAILED', /002-b failed earlier/));
    assert.deepEqual(planUpOnly(FILES, failed, { only: '002-b', retryFailed: true }).only, { outOfOrder: false, detail: 'the next pending migration' });
  });
});

void describe('planDownOnly', () => {
  const applied = [record('001-a', 1), record('002-b', 2), record('003-c', 3)];

  void it('the newest applied is in order; an older one needs allowOutOfOrder and names what stays applied after it', () => {
    assert.deepEqual(planDownOnly(applied, { only: '003-c' }).only, { outOfOrder: false, detail: 'the newest applied migration' });
    assert.throws(() => planDownOnly(applied, { only: '001-a' }), fails('CHECK_FAILED', /reverting 001-a alone is out of order: applied after it, and staying applied: 002-b, 003-c/));
    const planned = planDownOnly(applied, { only: '001-a', allowOutOfOrder: true });
    assert.equal(planned.record._id, '001-a');
    assert.equal(planned.only.outOfOrder, true);
  });

  void it('order is by application, not by id', () => {
    const reordered = [record('001-a', 1), record('003-c', 2), record('002-b', 3)];
    assert.equal(planDownOnly(reordered, { only: '002-b' }).only.outOfOrder, false);
    assert.throws(() => planDownOnly(reordered, { only: '003-c' }), fails('CHECK_FAILED', /staying applied: 002-b/));
  });

  void it('a migration not applied is a usage error; a half-reverted down refuses unless it is the one retried', () => {
    assert.throws(() => planDownOnly(applied, { only: '004-d' }), fails('USAGE', /cannot revert 004-d alone .*not applied; it has no changelog record/));
    const broken = [...applied.slice(0, 2), record('003-c', 3, 'failed', { error: { message: 'x', direction: 'down' }, claim: { direction: 'down', runId: 'r', host: 'h', pid: 1, startedAt: new Date(BASE) } })];
    assert.throws(() => planDownOnly(broken, { only: '002-b' }), fails('MIGRATION_FAILED', /the down of 003-c failed/));
    assert.throws(() => planDownOnly(broken, { only: '003-c' }), fails('MIGRATION_FAILED', /the down of 003-c failed/));
    assert.deepEqual(planDownOnly(broken, { only: '003-c', retryFailed: true }).only, { outOfOrder: false, detail: 'finishing its failed down' });
  });
});

void describe('checkRunOptions with only', () => {
  void it('only runs alone: not with to or step (up), nor with any other range (down); allowOutOfOrder on a down needs only', () => {
    assert.throws(() => checkRunOptions({ only: 'x', step: 1 }, 'up'), fails('USAGE', /`only` runs exactly one migration: it takes no `step`/));
    assert.throws(() => checkRunOptions({ only: 'x', to: 'y' }, 'up'), fails('USAGE', /takes no `to`/));
    assert.throws(() => checkRunOptions({ only: 'x', all: true }, 'down'), fails('USAGE', /use only one of .*`only` \(got `all` and `only`\)/));
    assert.throws(() => checkRunOptions({ allowOutOfOrder: true }, 'down'), fails('USAGE', /`allowOutOfOrder` on a down goes with `only`/));
    assert.throws(() => checkRunOptions({ only: '' }, 'up'), fails('USAGE', /`only` must be a migration id/));
    checkRunOptions({ to: 'a', step: 2 }, 'up');
    checkRunOptions({ only: 'x', allowOutOfOrder: true }, 'down');
  });
});
