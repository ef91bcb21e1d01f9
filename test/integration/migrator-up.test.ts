// Integration tests of `migrator.up()` against the test server.
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { failingMigration, markerMigration } from '../support/project.ts';
import {
  checksumOfFile,
  migrationPath,
  failsWithCode,
  rejectsWithCode,
  stepSummary,
  SYNTAX_ERROR_SOURCE,
  trackedMigration,
  withEnv,
} from '../support/migrator.ts';

const TOOL_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const CHANGELOG_KEYS = ['_id', 'checksum', 'description', 'durationMs', 'finishedAt', 'host', 'pid', 'runId', 'startedAt', 'state', 'toolVersion'];

void describe('migrator.up()', () => {
  void it('applies pending migrations in id order and records each with exactly the contract fields', () =>
    withEnv('up_order', async (env) => {
      // written out of order, in the three supported module styles
      await env.project.write('003-c.cjs', `module.exports = {
  description: 'mark c',
  async up({ db }) { const t = db.collection('trail'); await t.insertOne({ n: await t.countDocuments(), mark: 'c', ev: 'up' }); },
};
`);
      await env.project.write('002-b.js', `export const description = 'mark b';
export async function up({ db }) { const t = db.collection('trail'); await t.insertOne({ n: await t.countDocuments(), mark: 'b', ev: 'up' }); }
export async function down() {}
`);
      await env.project.write('001-a.ts', trackedMigration('a', { description: 'mark a' }));
      await env.project.write('_helper.ts', 'throw new Error("not a migration");\n');
      await env.project.write('types.d.ts', 'export type X = 1;\n');

      const before = Date.now();
      const result = await env.migrator.up();
      const after = Date.now();

      assert.equal(result.error, undefined);
      assert.equal(result.direction, 'up');
      assert.equal(result.dryRun, false);
      assert.deepEqual(stepSummary(result), ['001-a:up:success', '002-b:up:success', '003-c:up:success']);
      for (const step of result.steps) assert.ok(typeof step.durationMs === 'number' && step.durationMs >= 0);
      assert.deepEqual(await env.trail(), ['a:up', 'b:up', 'c:up'], 'each ran once, in id order');

      const records = await env.changelog();
      assert.deepEqual(records.map((r) => r._id), ['001-a', '002-b', '003-c']);
      for (const [index, record] of records.entries()) {
        const name = ['001-a.ts', '002-b.js', '003-c.cjs'][index] ?? '';
        assert.deepEqual(Object.keys(record).sort(), CHANGELOG_KEYS, `fields of ${record._id}`);
        assert.equal(record.state, 'applied');
        assert.match(record.checksum ?? '', /^sha256:[0-9a-f]{64}$/);
        assert.equal(record.checksum, await checksumOfFile(migrationPath(env, name)));
        assert.equal(record.description, `mark ${'abc'[index] ?? ''}`);
        assert.ok(record.startedAt instanceof Date);
        assert.ok(record.finishedAt instanceof Date);
        assert.ok(record.startedAt.getTime() >= before - 1000 && record.startedAt.getTime() <= record.finishedAt.getTime());
        assert.ok(record.finishedAt.getTime() <= after + 1000);
        assert.ok(typeof record.durationMs === 'number' && record.durationMs >= 0);
        assert.equal(record.runId, result.runId);
        assert.equal(record.host, hostname());
        assert.equal(record.pid, process.pid);
        assert.equal(record.toolVersion, TOOL_VERSION);
      }

      const history = await env.history();
      assert.deepEqual(history.map((h) => `${h.migrationId}:${h.event}`), ['001-a:up', '002-b:up', '003-c:up']);
      for (const h of history) {
        assert.equal(h.runId, result.runId);
        assert.ok(h.at instanceof Date);
      }
    }));

  void it('--to applies up to and including the target; --step applies at most n', () =>
    withEnv('up_to_step', async (env) => {
      for (const mark of ['a', 'b', 'c', 'd', 'e']) await env.project.write(`00${'abcde'.indexOf(mark) + 1}-${mark}.ts`, markerMigration(mark));

      const first = await env.migrator.up({ to: '002-b' });
      assert.deepEqual(stepSummary(first), ['001-a:up:success', '002-b:up:success']);
      assert.deepEqual(await env.marks(), ['a', 'b']);

      const second = await env.migrator.up({ step: 2 });
      assert.deepEqual(stepSummary(second), ['003-c:up:success', '004-d:up:success']);
      assert.deepEqual(await env.marks(), ['a', 'b', 'c', 'd']);
      assert.deepEqual((await env.changelog()).map((r) => `${r._id}:${r.state}`), [
        '001-a:applied',
        '002-b:applied',
        '003-c:applied',
        '004-d:applied',
      ]);

      await failsWithCode(env.migrator.up({ to: '999-nope' }), 'USAGE');
      await rejectsWithCode(env.migrator.up({ step: -1 }), 'USAGE');
      assert.deepEqual(await env.marks(), ['a', 'b', 'c', 'd'], 'refused runs changed nothing');
    }));

  void it('--dry-run returns the plan and changes nothing', () =>
    withEnv('up_dry', async (env) => {
      await env.project.write('001-a.ts', markerMigration('a'));
      await env.project.write('002-b.ts', markerMigration('b'));

      const result = await env.migrator.up({ dryRun: true });
      assert.equal(result.dryRun, true);
      assert.equal(result.error, undefined);
      assert.deepEqual(stepSummary(result), ['001-a:up:not-run', '002-b:up:not-run']);
      assert.deepEqual(await env.changelog(), []);
      assert.deepEqual(await env.history(), []);
      assert.deepEqual(await env.marks(), []);

      const limited = await env.migrator.up({ dryRun: true, to: '001-a' });
      assert.deepEqual(stepSummary(limited), ['001-a:up:not-run']);
      assert.deepEqual(await env.changelog(), []);
    }));

  void it('returns empty steps when there is nothing to do', () =>
    withEnv('up_nothing', async (env) => {
      const empty = await env.migrator.up();
      assert.deepEqual(empty.steps, []);
      assert.equal(empty.error, undefined);

      await env.project.write('001-a.ts', markerMigration('a'));
      await env.migrator.up();
      const again = await env.migrator.up();
      assert.deepEqual(again.steps, []);
      assert.equal(again.error, undefined);
      assert.deepEqual(await env.marks(), ['a'], 'not applied twice');
      assert.equal((await env.history()).length, 1);
    }));

  void it('stops at a failing migration, records it failed, refuses to continue, and retries it once fixed', () =>
    withEnv('up_fail', async (env) => {
      await env.project.write('001-a.ts', markerMigration('a'));
      await env.project.write('002-bad.js', failingMigration('boom at 002'));
      await env.project.write('003-c.ts', markerMigration('c'));

      const result = await env.migrator.up();
      assert.deepEqual(stepSummary(result), ['001-a:up:success', '002-bad:up:failed', '003-c:up:not-run']);
      assert.equal(result.steps[1]?.error, 'boom at 002');
      assert.ok(result.error !== undefined);
      assert.equal(result.error.code, 'MIGRATION_FAILED');
      assert.equal(result.error.id, '002-bad');
      assert.match(result.error.message, /002-bad/);
      assert.match(result.error.message, /boom at 002/);
      assert.deepEqual(await env.marks(), ['a', 'half-done']);

      const records = await env.changelog();
      assert.deepEqual(records.map((r) => `${r._id}:${r.state}`), ['001-a:applied', '002-bad:failed']);
      const failed = records[1];
      assert.ok(failed !== undefined);
      assert.deepEqual(failed.error, { message: 'boom at 002', direction: 'up' });
      assert.match(failed.checksum ?? '', /^sha256:[0-9a-f]{64}$/);
      assert.ok(failed.finishedAt instanceof Date);
      const history = await env.history();
      assert.deepEqual(history.map((h) => `${h.migrationId}:${h.event}`), ['001-a:up', '002-bad:failed']);
      assert.equal(history[1]?.error?.message, 'boom at 002');

      const refused = await failsWithCode(env.migrator.up(), 'MIGRATION_FAILED');
      assert.match(refused.message, /002-bad/);
      assert.deepEqual(await env.marks(), ['a', 'half-done'], 'the refused run ran nothing');

      await env.project.write('002-bad.js', markerMigration('b-fixed'));
      const retried = await env.migrator.up({ retryFailed: true });
      assert.equal(retried.error, undefined);
      assert.deepEqual(stepSummary(retried), ['002-bad:up:success', '003-c:up:success']);
      assert.deepEqual(await env.marks(), ['a', 'b-fixed', 'c', 'half-done']);
      const after = await env.changelog();
      assert.deepEqual(after.map((r) => `${r._id}:${r.state}`), ['001-a:applied', '002-bad:applied', '003-c:applied']);
      const fixed = after[1];
      assert.ok(fixed !== undefined);
      assert.equal(fixed.error, undefined, 'the old error is gone');
      assert.equal(fixed.checksum, await checksumOfFile(migrationPath(env, '002-bad.js')));
      assert.equal(fixed.description, 'mark b-fixed');
      assert.deepEqual((await env.history()).map((h) => `${h.migrationId}:${h.event}`), [
        '001-a:up',
        '002-bad:failed',
        '002-bad:up',
        '003-c:up',
      ]);
    }));

  void it('loads every planned file before running any: a syntax error refuses the whole run', () =>
    withEnv('up_syntax', async (env) => {
      await env.project.write('001-a.ts', markerMigration('a'));
      await env.project.write('002-b.ts', markerMigration('b'));
      await env.migrator.up({ to: '001-a' });
      const changelogBefore = await env.changelog();

      await env.project.write('003-broken.ts', SYNTAX_ERROR_SOURCE);
      const error = await failsWithCode(env.migrator.up(), 'USAGE');
      assert.match(error.message, /003-broken/);
      assert.deepEqual(await env.changelog(), changelogBefore, 'changelog unchanged');
      assert.deepEqual(await env.marks(), ['a'], '002-b, planned before the broken file, did not run');
      assert.equal((await env.history()).length, 1);

      // a file without `up` is refused the same way
      await env.project.write('003-broken.ts', 'export const description = "no up";\n');
      await failsWithCode(env.migrator.up(), 'USAGE');
      assert.deepEqual(await env.marks(), ['a']);
    }));
});
