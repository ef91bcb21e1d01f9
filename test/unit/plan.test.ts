// Unit tests of the pure planning core: states, `up` plans and `down` plans. No server, no files.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appliedInOrder, computeStatus, planDown, planRepair, planUp, PROBLEM_STATES } from '../../src/core/plan.ts';
import { NO_COUNTS } from '../support/counts.ts';
import { MongrateError, type ErrorCode } from '../../src/errors.ts';
import { waysOut } from '../support/assertions.ts';
import type { ListedMigration, MigrationState } from '../../src/types.ts';
import type { ChangelogRecord, ChangelogState } from '../../src/changelog/contract.ts';

const BASE = Date.UTC(2024, 0, 1, 0, 0, 0);

function file(id: string, checksum = `sha256:${id}`): ListedMigration {
  return { id, path: `/project/migrations/${id}.ts`, checksum, description: `file ${id}` };
}

interface RecordOptions {
  state?: ChangelogState;
  checksum?: string;
  /** Minutes after BASE the migration finished. */
  at?: number;
  runId?: string;
  error?: string;
  finished?: boolean;
}

function record(id: string, options: RecordOptions = {}): ChangelogRecord {
  const at = options.at ?? 0;
  const finished = options.finished ?? true;
  const startedAt = new Date(BASE + at * 60_000 - 1000);
  return {
    _id: id,
    state: options.state ?? 'applied',
    checksum: options.checksum ?? `sha256:${id}`,
    description: `record ${id}`,
    startedAt,
    finishedAt: finished ? new Date(BASE + at * 60_000) : undefined,
    durationMs: finished ? 1000 : undefined,
    runId: options.runId ?? 'run-1',
    host: 'build-host',
    pid: 4242,
    toolVersion: '0.1.0',
    ...(options.error === undefined ? {} : { error: { message: options.error } }),
  };
}

/** The error's hints are these ways out, and its message names no CLI flag. */
function hasWaysOut(error: unknown, expected: string[]): boolean {
  assert.ok(error instanceof MongrateError);
  assert.deepEqual(waysOut(error), expected);
  assert.doesNotMatch(error.message, /--|mongrate /, 'API errors give no CLI advice');
  return true;
}

function isError(code: ErrorCode, message: RegExp): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof MongrateError, `expected a MongrateError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, message);
    return true;
  };
}

function stateMap(files: ListedMigration[], records: ChangelogRecord[], liveOwner?: string): Record<string, MigrationState> {
  return Object.fromEntries(computeStatus('db', files, records, liveOwner).migrations.map((m) => [m.id, m.state]));
}

const ids = (list: readonly { id: string }[]): string[] => list.map((m) => m.id);
const recordIds = (list: readonly ChangelogRecord[]): string[] => list.map((r) => r._id);

const NONE = NO_COUNTS;

void describe('computeStatus', () => {
  void it('marks a file with an applied record and the same checksum as applied', () => {
    assert.deepEqual(stateMap([file('001')], [record('001')]), { '001': 'applied' });
  });

  void it('marks a file without a record as pending', () => {
    assert.deepEqual(stateMap([file('001'), file('002')], [record('001')]), { '001': 'applied', '002': 'pending' });
  });

  void it('marks every file pending when nothing is applied', () => {
    assert.deepEqual(stateMap([file('001'), file('002')], []), { '001': 'pending', '002': 'pending' });
  });

  void it('marks a failed record as failed and carries its error message', () => {
    const status = computeStatus('db', [file('001')], [record('001', { state: 'failed', error: 'boom', finished: false })]);
    const [m] = status.migrations;
    assert.equal(m?.state, 'failed');
    assert.equal(m.error, 'boom');
  });

  void it('marks a running record as running while its runner holds the lock', () => {
    assert.deepEqual(stateMap([file('001')], [record('001', { state: 'running', finished: false })], 'run-1'), { '001': 'running' });
  });

  void it('marks a running record whose runner no longer holds the lock as failed (interrupted)', () => {
    const status = computeStatus('db', [file('001')], [record('001', { state: 'running', finished: false })], 'other-run');
    assert.equal(status.migrations[0]?.state, 'failed');
    assert.equal(status.migrations[0].interrupted, true);
    assert.match(status.migrations[0].error ?? '', /interrupted.*gone/);
    assert.equal(computeStatus('db', [file('001')], [record('001', { state: 'running', finished: false })]).migrations[0]?.state, 'failed');
  });

  void it('marks an applied record whose file checksum differs as changed', () => {
    assert.deepEqual(stateMap([file('001', 'sha256:new')], [record('001', { checksum: 'sha256:old' })]), { '001': 'changed' });
  });

  void it('marks an applied record without a file as missing', () => {
    assert.deepEqual(stateMap([file('002')], [record('001'), record('002', { at: 1 })]), { '001': 'missing', '002': 'applied' });
  });

  void it('marks a baseline record as baseline', () => {
    assert.deepEqual(stateMap([file('001'), file('002')], [record('001', { state: 'baseline' }), record('002', { state: 'baseline' })]), {
      '001': 'baseline',
      '002': 'baseline',
    });
  });

  void it('marks a pending id that sorts before the newest applied id as out-of-order', () => {
    const states = stateMap([file('001'), file('002'), file('003'), file('004')], [record('001'), record('003', { at: 1 })]);
    assert.deepEqual(states, { '001': 'applied', '002': 'out-of-order', '003': 'applied', '004': 'pending' });
  });

  void it('uses baseline records to find the newest applied id for out-of-order', () => {
    const states = stateMap([file('001'), file('002'), file('003')], [record('002', { state: 'baseline' })]);
    assert.deepEqual(states, { '001': 'out-of-order', '002': 'baseline', '003': 'pending' });
  });

  void it('does not count failed or running records as applied for out-of-order', () => {
    const states = stateMap(
      [file('001'), file('002'), file('003')],
      [record('002', { state: 'failed', finished: false }), record('003', { state: 'running', finished: false })],
      'run-1',
    );
    assert.deepEqual(states, { '001': 'pending', '002': 'failed', '003': 'running' });
  });

  void it('finds the newest applied id by id, not by applied time', () => {
    // 003 was applied first (out of order earlier), 001 after it: 002 still sorts before 003
    const states = stateMap([file('001'), file('002'), file('003')], [record('003', { at: 1 }), record('001', { at: 2 })]);
    assert.equal(states['002'], 'out-of-order');
  });

  void it('lists migrations from files and records in code-unit id order', () => {
    const status = computeStatus('db', [file('b'), file('B'), file('10')], [record('9'), record('a', { at: 1 })]);
    assert.deepEqual(ids(status.migrations), ['10', '9', 'B', 'a', 'b']);
  });

  void it('reports the database, description, applied time, duration and file path', () => {
    const r = record('001', { at: 5 });
    const status = computeStatus('shop', [file('001')], [r]);
    assert.equal(status.database, 'shop');
    assert.deepEqual(status.migrations[0], {
      id: '001',
      state: 'applied',
      description: 'file 001',
      appliedAt: r.finishedAt,
      durationMs: 1000,
      file: '/project/migrations/001.ts',
      error: undefined,
      interrupted: false,
      rolledBack: false,
      direction: undefined,
    });
  });

  void it('takes the description from the record when the file is gone', () => {
    const [m] = computeStatus('db', [], [record('001')]).migrations;
    assert.ok(m);
    assert.equal(m.description, 'record 001');
    assert.equal(m.file, undefined);
  });

  void it('has no applied time for a pending migration', () => {
    const status = computeStatus('db', [file('001')], []);
    assert.equal(status.migrations[0]?.appliedAt, undefined);
    assert.equal(status.migrations[0]?.durationMs, undefined);
  });

  void it('counts every state and the problems', () => {
    const files = [file('001'), file('002'), file('003', 'sha256:edited'), file('004'), file('005'), file('006'), file('007'), file('008')];
    const records = [
      record('000', { state: 'baseline' }), // missing (no file)
      record('001', { state: 'baseline' }),
      record('003', { at: 1 }), // changed
      record('004', { at: 2 }),
      record('005', { state: 'failed', at: 3, error: 'x' }),
      record('006', { state: 'running', at: 4, finished: false }),
    ];
    // 002 sorts before the newest applied (004): out-of-order; 007, 008 pending
    const status = computeStatus('db', files, records, 'run-1');
    assert.deepEqual(status.counts, { ...NONE, missing: 1, baseline: 1, 'out-of-order': 1, changed: 1, applied: 1, failed: 1, running: 1, pending: 2 });
    // pending 2 + out-of-order 1 + failed 1 + running 1 + changed 1 + missing 1
    assert.equal(status.problems, 7);
  });

  void it('has no problems when everything is applied or baselined', () => {
    const status = computeStatus('db', [file('001'), file('002')], [record('001', { state: 'baseline' }), record('002', { at: 1 })]);
    assert.equal(status.problems, 0);
    assert.deepEqual(status.counts, { ...NONE, baseline: 1, applied: 1 });
  });

  void it('counts every state, 0 where there is none, and no problems with nothing at all', () => {
    assert.deepEqual(computeStatus('db', [], []), { database: 'db', migrations: [], counts: NONE, problems: 0 });
    assert.equal(computeStatus('db', [], []).counts.pending, 0, 'counts.pending is a number, not undefined');
  });

  void it('treats exactly pending, out-of-order, failed, running, changed and missing as problems', () => {
    assert.deepEqual([...PROBLEM_STATES].sort(), ['changed', 'failed', 'missing', 'out-of-order', 'pending', 'running']);
  });
});

void describe('planUp', () => {
  const files = [file('001'), file('002'), file('003'), file('004')];

  void it('plans every pending migration in id order', () => {
    assert.deepEqual(ids(planUp(files, [], {})), ['001', '002', '003', '004']);
  });

  void it('plans in id order even when the files are given in another order', () => {
    const shuffled = [file('003'), file('B'), file('001'), file('a'), file('002')];
    assert.deepEqual(ids(planUp(shuffled, [], {})), ['001', '002', '003', 'B', 'a']);
    assert.deepEqual(ids(planUp(shuffled, [], { step: 2 })), ['001', '002']);
    assert.deepEqual(ids(planUp(shuffled, [], { to: '002' })), ['001', '002']);
  });

  void it('skips applied and baseline migrations', () => {
    const plan = planUp(files, [record('001', { state: 'baseline' }), record('002', { at: 1 })], {});
    assert.deepEqual(ids(plan), ['003', '004']);
  });

  void it('plans nothing when everything is applied', () => {
    const records = ['001', '002', '003', '004'].map((id, i) => record(id, { at: i }));
    assert.deepEqual(planUp(files, records, {}), []);
  });

  void it('stops at --to, inclusive', () => {
    assert.deepEqual(ids(planUp(files, [], { to: '002' })), ['001', '002']);
    assert.deepEqual(ids(planUp(files, [record('001')], { to: '003' })), ['002', '003']);
  });

  void it('plans nothing for --to an id already applied', () => {
    assert.deepEqual(planUp(files, [record('001'), record('002', { at: 1 })], { to: '002' }), []);
  });

  void it('refuses --to an unknown id with USAGE', () => {
    assert.throws(() => planUp(files, [], { to: '999' }), isError('USAGE', /999/));
    assert.throws(() => planUp(files, [], { to: '002' + 'x' }), isError('USAGE', /`to`/));
  });

  void it('applies at most --step migrations', () => {
    assert.deepEqual(ids(planUp(files, [], { step: 2 })), ['001', '002']);
    assert.deepEqual(ids(planUp(files, [record('001')], { step: 1 })), ['002']);
    assert.deepEqual(ids(planUp(files, [], { step: 10 })), ['001', '002', '003', '004']);
  });

  void it('combines --to and --step', () => {
    assert.deepEqual(ids(planUp(files, [], { to: '003', step: 2 })), ['001', '002']);
    assert.deepEqual(ids(planUp(files, [], { to: '002', step: 5 })), ['001', '002']);
  });

  void it('plans nothing for --step 0', () => {
    assert.deepEqual(planUp(files, [], { step: 0 }), []);
  });

  void it('refuses an out-of-order pending migration with CHECK_FAILED, naming it', () => {
    const records = [record('001'), record('003', { at: 1 })];
    assert.throws(() => planUp(files, records, {}), (error: unknown) => isError('CHECK_FAILED', /002/)(error) && hasWaysOut(error, ['up(allowOutOfOrder)']));
  });

  void it('names every out-of-order migration', () => {
    const records = [record('004')];
    assert.throws(() => planUp(files, records, {}), isError('CHECK_FAILED', /001, 002, 003/));
  });

  void it('applies out-of-order migrations in id order with allowOutOfOrder', () => {
    const records = [record('001'), record('003', { at: 1 })];
    assert.deepEqual(ids(planUp(files, records, { allowOutOfOrder: true })), ['002', '004']);
  });

  void it('refuses when a migration failed earlier, with MIGRATION_FAILED and its message', () => {
    const records = [record('001'), record('002', { state: 'failed', at: 1, error: 'duplicate key', finished: false })];
    assert.throws(() => planUp(files, records, {}), (error: unknown) => isError('MIGRATION_FAILED', /002.*duplicate key/s)(error) && hasWaysOut(error, ['up(retryFailed)', 'repair()']));
  });

  void it('includes the failed migration again with retryFailed', () => {
    const records = [record('001'), record('002', { state: 'failed', at: 1, error: 'duplicate key', finished: false })];
    assert.deepEqual(ids(planUp(files, records, { retryFailed: true })), ['002', '003', '004']);
  });

  void it('refuses while a migration is marked running by the live lock holder, with LOCK_HELD naming the runner', () => {
    const records = [record('001'), record('002', { state: 'running', at: 1, finished: false })];
    assert.throws(() => planUp(files, records, {}, 'run-1'), isError('LOCK_HELD', /002.*build-host.*4242/s));
    assert.throws(() => planUp(files, records, { retryFailed: true, allowOutOfOrder: true }, 'run-1'), isError('LOCK_HELD', /running/));
  });

  void it('treats a running record of a dead runner as failed: refused, then retried with retryFailed', () => {
    const records = [record('001'), record('002', { state: 'running', at: 1, finished: false })];
    assert.throws(() => planUp(files, records, {}, 'new-run'), (error: unknown) => isError('MIGRATION_FAILED', /002.*interrupted/s)(error) && hasWaysOut(error, ['up(retryFailed)', 'repair()']));
    assert.deepEqual(ids(planUp(files, records, { retryFailed: true }, 'new-run')), ['002', '003', '004']);
  });

  void it('does not plan a changed or missing migration', () => {
    const records = [record('001', { checksum: 'sha256:old' }), record('000')];
    assert.deepEqual(ids(planUp(files, records, {})), ['002', '003', '004']);
  });
});

void describe('appliedInOrder', () => {
  void it('orders applied and baseline records by applied time, not by id', () => {
    const records = [
      record('001', { at: 3 }),
      record('002', { at: 1 }),
      record('003', { state: 'baseline', at: 0 }),
      record('004', { at: 2 }),
    ];
    assert.deepEqual(recordIds(appliedInOrder(records)), ['003', '002', '004', '001']);
  });

  void it('leaves out failed and running records', () => {
    const records = [record('001'), record('002', { state: 'failed', at: 1 }), record('003', { state: 'running', at: 2, finished: false })];
    assert.deepEqual(recordIds(appliedInOrder(records)), ['001']);
  });

  void it('breaks ties of equal times by id', () => {
    const records = [record('b', { at: 1 }), record('a', { at: 1 }), record('c', { at: 0 })];
    assert.deepEqual(recordIds(appliedInOrder(records)), ['c', 'a', 'b']);
  });

  void it('does not reorder the array it was given', () => {
    const records = [record('002', { at: 2 }), record('001', { at: 1 })];
    appliedInOrder(records);
    assert.deepEqual(recordIds(records), ['002', '001']);
  });
});

void describe('planDown', () => {
  // Applied order (by finishedAt): 003 (run-a), 001 (run-a), 004 (run-b), 002 (run-b); id order differs.
  const records = [
    record('001', { at: 2, runId: 'run-a' }),
    record('002', { at: 4, runId: 'run-b' }),
    record('003', { at: 1, runId: 'run-a' }),
    record('004', { at: 3, runId: 'run-b' }),
  ];

  void it('reverts the newest applied migration by default, by applied time not id', () => {
    assert.deepEqual(recordIds(planDown(records, {})), ['002']);
    const reordered = [record('001', { at: 5 }), record('002', { at: 1 })];
    assert.deepEqual(recordIds(planDown(reordered, {})), ['001']);
  });

  void it('reverts the newest n with --step, newest first', () => {
    assert.deepEqual(recordIds(planDown(records, { step: 1 })), ['002']);
    assert.deepEqual(recordIds(planDown(records, { step: 3 })), ['002', '004', '001']);
  });

  void it('reverts everything with a --step larger than what is applied', () => {
    assert.deepEqual(recordIds(planDown(records, { step: 10 })), ['002', '004', '001', '003']);
  });

  void it('reverts nothing with --step 0', () => {
    assert.deepEqual(planDown(records, { step: 0 }), []);
  });

  void it('keeps the --to target and reverts those applied after it', () => {
    assert.deepEqual(recordIds(planDown(records, { to: '001' })), ['002', '004']);
    // 003 has the smallest applied time; 001, although its id sorts first, was applied after 003
    assert.deepEqual(recordIds(planDown(records, { to: '003' })), ['002', '004', '001']);
  });

  void it('reverts nothing for --to the newest applied migration', () => {
    assert.deepEqual(planDown(records, { to: '002' }), []);
  });

  void it('refuses --to a migration that is not applied, with USAGE', () => {
    assert.throws(() => planDown(records, { to: '999' }), isError('USAGE', /999.*not applied/));
    const withFailed = [...records, record('005', { state: 'failed', at: 5 })];
    assert.throws(() => planDown(withFailed, { to: '005' }), isError('USAGE', /005/));
  });

  void it('reverts what the newest run applied with --last-run', () => {
    assert.deepEqual(recordIds(planDown(records, { lastRun: true })), ['002', '004']);
  });

  void it('uses the run of the newest applied record for --last-run, not the newest id', () => {
    const list = [record('009', { at: 1, runId: 'old' }), record('001', { at: 5, runId: 'new' }), record('002', { at: 6, runId: 'new' })];
    assert.deepEqual(recordIds(planDown(list, { lastRun: true })), ['002', '001']);
  });

  void it('reverts everything applied with --all, newest first', () => {
    assert.deepEqual(recordIds(planDown(records, { all: true })), ['002', '004', '001', '003']);
  });

  void it('refuses two selectors at once with USAGE', () => {
    const message = /only one of/;
    assert.throws(() => planDown(records, { to: '001', step: 1 }), isError('USAGE', message));
    assert.throws(() => planDown(records, { lastRun: true, all: true }), isError('USAGE', message));
    assert.throws(() => planDown(records, { step: 0, all: true }), isError('USAGE', message));
    assert.throws(() => planDown(records, { to: '001', lastRun: true }), isError('USAGE', message));
  });

  void it('accepts selectors explicitly set to false alongside another', () => {
    assert.deepEqual(recordIds(planDown(records, { all: false, lastRun: false, step: 1 })), ['002']);
  });

  void it('counts baseline records as applied', () => {
    const list = [record('001', { state: 'baseline', at: 0 }), record('002', { state: 'baseline', at: 0 }), record('003', { at: 1 })];
    assert.deepEqual(recordIds(planDown(list, { all: true })), ['003', '002', '001']);
    assert.deepEqual(recordIds(planDown(list, { to: '001' })), ['003', '002']);
    assert.deepEqual(recordIds(planDown([record('001', { state: 'baseline' })], {})), ['001']);
  });

  void it('never plans failed or running records', () => {
    const list = [record('001', { at: 1 }), record('002', { state: 'failed', at: 2 }), record('003', { state: 'running', at: 3, finished: false })];
    assert.deepEqual(recordIds(planDown(list, {})), ['001']);
    assert.deepEqual(recordIds(planDown(list, { all: true })), ['001']);
  });

  void it('plans nothing when nothing is applied', () => {
    assert.deepEqual(planDown([], {}), []);
    assert.deepEqual(planDown([], { all: true }), []);
    assert.deepEqual(planDown([], { lastRun: true }), []);
  });
});

void describe('attempts rolled back with their transaction', () => {
  const claim = (direction: 'up' | 'down', runId: string, extra: Partial<NonNullable<ChangelogRecord['claim']>> = {}): NonNullable<ChangelogRecord['claim']> => ({
    direction,
    runId,
    host: 'deploy-7',
    pid: 77,
    startedAt: new Date(BASE + 60 * 60_000),
    transaction: true,
    ...extra,
  });
  /** An up that failed inside its transaction, recorded so. */
  const rolledBackUp = (id: string): ChangelogRecord => ({
    ...record(id, { state: 'failed', at: 5 }),
    claim: claim('up', 'run-9', { finishedAt: new Date(BASE + 61 * 60_000), durationMs: 300 }),
    error: { message: 'boom', direction: 'up', rolledBack: true },
  });
  /** A runner that died while `direction` ran in a transaction: its record stays running. */
  const deadInTransaction = (id: string, direction: 'up' | 'down'): ChangelogRecord => ({
    ...record(id, { state: 'running', at: 3, finished: direction === 'down' }),
    claim: claim(direction, 'run-dead', direction === 'down' ? { previousState: 'applied' } : {}),
  });

  void it('failed (rolled back): a problem for status --check, and a plain up runs it again', () => {
    const records = [record('001', { at: 1 }), rolledBackUp('002')];
    const status = computeStatus('db', [file('001'), file('002')], records);
    const shown = status.migrations[1];
    assert.deepEqual([shown?.state, shown?.rolledBack, shown?.interrupted, shown?.direction, shown?.error, shown?.durationMs], ['failed', true, false, 'up', 'boom', 300]);
    assert.equal(status.problems, 1);
    assert.deepEqual(planUp([file('001'), file('002'), file('003')], records, {}).map((f) => f.id), ['002', '003']);
  });

  void it('a failure outside a transaction still blocks a plain up, even beside a rolled-back one', () => {
    const records = [rolledBackUp('001'), record('002', { state: 'failed', at: 2, error: 'half done' })];
    assert.throws(() => planUp([file('001'), file('002')], records, {}), isError('MIGRATION_FAILED', /002 failed earlier/));
  });

  void it('an up whose runner died in its transaction: failed (interrupted, rolled back), run again by a plain up', () => {
    const records = [deadInTransaction('001', 'up')];
    const [shown] = computeStatus('db', [file('001')], records).migrations;
    assert.deepEqual([shown?.state, shown?.interrupted, shown?.rolledBack, shown?.direction], ['failed', true, true, 'up']);
    assert.equal(shown?.error, 'interrupted: its runner (deploy-7 pid 77) is gone; its transaction was rolled back, nothing was applied');
    assert.deepEqual(planUp([file('001')], records, {}).map((f) => f.id), ['001']);
  });

  void it('while its runner holds the lock, a transactional claim is running, and blocks like any other', () => {
    const records = [deadInTransaction('001', 'up')];
    const [shown] = computeStatus('db', [file('001')], records, 'run-dead').migrations;
    assert.deepEqual([shown?.state, shown?.rolledBack], ['running', false]);
    assert.throws(() => planUp([file('001')], records, {}, 'run-dead'), isError('LOCK_HELD', /marked running/));
  });

  void it('a down whose runner died in its transaction: still applied (noted), reverted by a plain down, not a problem', () => {
    const records = [record('001', { at: 1 }), deadInTransaction('002', 'down')];
    const status = computeStatus('db', [file('001'), file('002')], records);
    const shown = status.migrations[1];
    assert.deepEqual([shown?.state, shown?.interrupted, shown?.rolledBack, shown?.direction], ['applied', true, true, 'down']);
    assert.equal(shown?.error, 'a down was interrupted: its runner (deploy-7 pid 77) is gone; its transaction was rolled back, nothing was reverted');
    assert.equal(status.problems, 0);
    assert.deepEqual(planUp([file('001'), file('002')], records, {}), [], 'up has nothing to do');
    assert.deepEqual(planDown(records, {}).map((r) => [r._id, r.state]), [['002', 'running']], 'the record as it is, for the conditional claim');
    assert.deepEqual(appliedInOrder(records).map((r) => r._id), ['001', '002']);
  });

  void it('repair forgets a rolled-back up and gives a rolled-back down its applied record back', () => {
    const records = [rolledBackUp('001'), deadInTransaction('002', 'down')];
    assert.deepEqual(
      planRepair([file('001'), file('002')], records, undefined).map((a) => [a.id, a.action, a.detail]),
      [
        ['001', 'forget-failed', 'remove the failed record so it runs again'],
        ['002', 'restore-applied', 'mark it applied again, so `down` reverts it again (its interrupted down was rolled back)'],
      ],
    );
  });
});
