// Integration tests of `migrator.down()` and `migrator.redo()` against the test server.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { markerMigration } from '../support/project.ts';
import { migrationPath, failsWithCode, rejectsWithCode, stepSummary, trackedMigration, withEnv, type Env } from '../support/migrator.ts';

/** Writes and applies 001-a .. 00n-<letter>, tracked. */
async function applyTracked(env: Env, marks: string[]): Promise<void> {
  for (const [index, mark] of marks.entries()) await env.project.write(`00${index + 1}-${mark}.ts`, trackedMigration(mark));
  const result = await env.migrator.up();
  assert.equal(result.error, undefined);
}

async function appliedIds(env: Env): Promise<string[]> {
  return (await env.changelog()).map((r) => `${r._id}:${r.state}`);
}

void describe('migrator.down()', () => {
  void it('by default reverts the newest by applied time, not by id', () =>
    withEnv('down_default', async (env) => {
      await env.project.write('020-b.ts', trackedMigration('b'));
      await env.migrator.up();
      // applied after 020-b although its id sorts first; the sleep keeps the two finish times apart
      await env.project.write(
        '010-a.ts',
        trackedMigration('a').replace('async up({ db }) {', 'async up({ db }) {\n    await new Promise((resolve) => setTimeout(resolve, 5));'),
      );
      await env.migrator.up({ allowOutOfOrder: true });

      const result = await env.migrator.down();
      assert.equal(result.error, undefined);
      assert.equal(result.direction, 'down');
      assert.deepEqual(stepSummary(result), ['010-a:down:success']);
      assert.deepEqual(await env.trail(), ['b:up', 'a:up', 'a:down']);
      assert.deepEqual(await appliedIds(env), ['020-b:applied']);
      const history = await env.history();
      assert.deepEqual(history.map((h) => `${h.migrationId}:${h.event}`), ['020-b:up', '010-a:up', '010-a:down']);
      const downEvent = history[2];
      assert.ok(downEvent !== undefined);
      assert.equal(downEvent.direction, 'down');
      assert.equal(downEvent.runId, result.runId);

      const second = await env.migrator.down();
      assert.deepEqual(stepSummary(second), ['020-b:down:success']);
      assert.deepEqual(await env.changelog(), []);
      const nothing = await env.migrator.down();
      assert.deepEqual(nothing.steps, []);
      assert.equal(nothing.error, undefined);
    }));

  void it('--step n reverts the newest n, newest first', () =>
    withEnv('down_step', async (env) => {
      await applyTracked(env, ['a', 'b', 'c', 'd']);
      const result = await env.migrator.down({ step: 2 });
      assert.deepEqual(stepSummary(result), ['004-d:down:success', '003-c:down:success']);
      assert.deepEqual((await env.trail()).slice(4), ['d:down', 'c:down']);
      assert.deepEqual(await appliedIds(env), ['001-a:applied', '002-b:applied']);
      assert.deepEqual((await env.history()).filter((h) => h.event === 'down').map((h) => h.migrationId), ['004-d', '003-c']);
    }));

  void it('--to reverts what was applied after the target and keeps the target', () =>
    withEnv('down_to', async (env) => {
      await applyTracked(env, ['a', 'b', 'c', 'd']);
      const result = await env.migrator.down({ to: '002-b' });
      assert.deepEqual(stepSummary(result), ['004-d:down:success', '003-c:down:success']);
      assert.deepEqual(await appliedIds(env), ['001-a:applied', '002-b:applied']);
      assert.deepEqual((await env.trail()).slice(4), ['d:down', 'c:down']);
      await failsWithCode(env.migrator.down({ to: '004-d' }), 'USAGE');
      await rejectsWithCode(env.migrator.down({ to: '002-b', step: 1 }), 'USAGE');
    }));

  void it('--last-run reverts exactly what the newest up run applied', () =>
    withEnv('down_last_run', async (env) => {
      await env.project.write('001-a.ts', trackedMigration('a'));
      await env.project.write('002-b.ts', trackedMigration('b'));
      await env.project.write('003-c.ts', trackedMigration('c'));
      await env.project.write('004-d.ts', trackedMigration('d'));
      const first = await env.migrator.up({ to: '002-b' });
      const second = await env.migrator.up();
      assert.deepEqual(stepSummary(second), ['003-c:up:success', '004-d:up:success']);

      // one migrator, two up() calls: two runs, so --last-run must leave the first run's migrations
      const result = await env.migrator.down({ lastRun: true });
      assert.deepEqual(stepSummary(result), ['004-d:down:success', '003-c:down:success']);
      assert.deepEqual(await appliedIds(env), ['001-a:applied', '002-b:applied']);
      assert.notEqual(first.runId, second.runId, 'each up() call is its own run with its own runId');
    }));

  void it('--last-run with a fresh migrator per run (as the CLI does)', () =>
    withEnv('down_last_run_cli', async (env) => {
      await env.project.write('001-a.ts', trackedMigration('a'));
      await env.project.write('002-b.ts', trackedMigration('b'));
      await env.project.write('003-c.ts', trackedMigration('c'));
      await env.newMigrator().up({ to: '001-a' });
      await env.newMigrator().up();
      const result = await env.newMigrator().down({ lastRun: true });
      assert.deepEqual(stepSummary(result), ['003-c:down:success', '002-b:down:success']);
      assert.deepEqual(await appliedIds(env), ['001-a:applied']);
    }));

  void it('--all reverts everything, newest first', () =>
    withEnv('down_all', async (env) => {
      await applyTracked(env, ['a', 'b', 'c']);
      const dry = await env.migrator.down({ all: true, dryRun: true });
      assert.deepEqual(stepSummary(dry), ['003-c:down:not-run', '002-b:down:not-run', '001-a:down:not-run']);
      assert.equal((await env.changelog()).length, 3, 'dry run reverted nothing');

      const result = await env.migrator.down({ all: true });
      assert.deepEqual(stepSummary(result), ['003-c:down:success', '002-b:down:success', '001-a:down:success']);
      assert.deepEqual(await env.trail(), ['a:up', 'b:up', 'c:up', 'c:down', 'b:down', 'a:down']);
      assert.deepEqual(await env.changelog(), []);
      assert.deepEqual(
        (await env.history()).map((h) => `${h.migrationId}:${h.event}`),
        ['001-a:up', '002-b:up', '003-c:up', '003-c:down', '002-b:down', '001-a:down'],
      );
    }));

  void it('refuses a plan with an irreversible migration and reverts nothing', () =>
    withEnv('down_irreversible', async (env) => {
      await env.project.write('001-a.ts', markerMigration('a'));
      await env.project.write('002-b.ts', markerMigration('b', { down: false }));
      await env.project.write('003-c.ts', markerMigration('c'));
      await env.migrator.up();
      const before = await env.changelog();

      const error = await failsWithCode(env.migrator.down({ all: true }), 'USAGE');
      assert.match(error.message, /002-b/);
      assert.deepEqual(await env.changelog(), before, 'changelog unchanged');
      assert.deepEqual(await env.marks(), ['a', 'b', 'c'], '003-c, before 002-b in the plan, was not reverted');
      assert.equal((await env.history()).filter((h) => h.event === 'down').length, 0);

      // a plan without the irreversible one still works
      const one = await env.migrator.down();
      assert.deepEqual(stepSummary(one), ['003-c:down:success']);
    }));

  void it('stops at a failing down and records the migration failed in direction down', () =>
    withEnv('down_fail', async (env) => {
      await env.project.write('001-a.ts', markerMigration('a'));
      // outside a transaction: a failed down is then `failed (down)` on every server
      await env.project.write('002-b.js', `export const transaction = false;
export async function up({ db }) { await db.collection('marks').insertOne({ mark: 'b' }); }
export async function down() { throw new Error('cannot undo b'); }
`);
      await env.migrator.up();
      const result = await env.migrator.down({ all: true });
      assert.deepEqual(stepSummary(result), ['002-b:down:failed', '001-a:down:not-run']);
      assert.equal(result.error?.code, 'MIGRATION_FAILED');
      assert.equal(result.error.id, '002-b');
      assert.match(result.error.message, /cannot undo b/);
      const records = await env.changelog();
      assert.deepEqual(records.map((r) => `${r._id}:${r.state}`), ['001-a:applied', '002-b:failed']);
      assert.deepEqual(records[1]?.error, { message: 'cannot undo b', direction: 'down' });
      const last = (await env.history()).at(-1);
      assert.deepEqual(
        { id: last?.migrationId, event: last?.event, direction: last?.direction, error: last?.error },
        { id: '002-b', event: 'failed', direction: 'down', error: { message: 'cannot undo b' } },
      );
      assert.deepEqual(await env.marks(), ['a', 'b']);
    }));

  void it('refuses a plan whose migration file is missing', () =>
    withEnv('down_missing', async (env) => {
      await env.project.write('001-a.ts', markerMigration('a'));
      await env.project.write('002-b.ts', markerMigration('b'));
      await env.migrator.up();
      await rm(migrationPath(env, '002-b.ts'));
      const before = await env.changelog();
      const error = await failsWithCode(env.migrator.down({ step: 2 }), 'USAGE');
      assert.match(error.message, /002-b/);
      assert.deepEqual(await env.changelog(), before);
      assert.deepEqual(await env.marks(), ['a', 'b']);
    }));
});

void describe('migrator.redo()', () => {
  void it('reverts and re-applies the newest, or a given applied id', () =>
    withEnv('redo', async (env) => {
      await applyTracked(env, ['a', 'b']);
      const result = await env.migrator.redo();
      assert.equal(result.direction, 'redo');
      assert.equal(result.error, undefined);
      assert.deepEqual(stepSummary(result), ['002-b:down:success', '002-b:up:success']);
      assert.deepEqual(await env.trail(), ['a:up', 'b:up', 'b:down', 'b:up']);
      assert.deepEqual(await appliedIds(env), ['001-a:applied', '002-b:applied']);

      const byId = await env.migrator.redo('001-a');
      assert.deepEqual(stepSummary(byId), ['001-a:down:success', '001-a:up:success']);
      assert.deepEqual((await env.trail()).slice(4), ['a:down', 'a:up']);
      assert.deepEqual(
        (await env.history()).map((h) => `${h.migrationId}:${h.event}`),
        ['001-a:up', '002-b:up', '002-b:down', '002-b:up', '001-a:down', '001-a:up'],
      );

      await env.project.write('003-c.ts', trackedMigration('c'));
      const error = await failsWithCode(env.migrator.redo('003-c'), 'USAGE');
      assert.match(error.message, /003-c/);
      await failsWithCode(env.migrator.redo('999-unknown'), 'USAGE');
      assert.equal((await env.trail()).length, 6, 'refused redos ran nothing');
    }));

  void it('with nothing applied fails with USAGE', () =>
    withEnv('redo_empty', async (env) => {
      await env.project.write('001-a.ts', trackedMigration('a'));
      await failsWithCode(env.migrator.redo(), 'USAGE');
    }));
});
