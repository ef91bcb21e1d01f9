// Integration tests of `migrator.status()` and of what `up()` refuses based on it.
import { counts } from '../support/counts.ts';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { failingMigration, markerMigration } from '../support/project.ts';
import { migrationPath, failsWithCode, stepSummary, SYNTAX_ERROR_SOURCE, withEnv } from '../support/migrator.ts';

void describe('migrator.status()', () => {
  void it('reports applied, pending, failed, changed, missing and out-of-order without importing files', () =>
    withEnv('status_states', async (env) => {
      await env.project.write('010-edit.ts', markerMigration('edit'));
      await env.project.write('020-gone.ts', markerMigration('gone'));
      await env.project.write('030-kept.ts', markerMigration('kept', { description: 'kept as is' }));
      await env.project.write('040-fail.js', failingMigration('boom'));
      const run = await env.migrator.up();
      assert.equal(run.error?.code, 'MIGRATION_FAILED');

      await env.project.write('010-edit.ts', `${markerMigration('edit')}// edited after it was applied\n`);
      await rm(migrationPath(env, '020-gone.ts'));
      // a CRLF checkout of an applied file is not a change
      await env.project.write('030-kept.ts', markerMigration('kept', { description: 'kept as is' }).replace(/\n/g, '\r\n'));
      await env.project.write('005-early.ts', markerMigration('early'));
      await env.project.write('050-new.ts', markerMigration('new', { description: 'brand new' }));
      // importing this file would throw: status must not import it
      await env.project.write('060-broken.ts', `// description: 'broken file'\n${SYNTAX_ERROR_SOURCE}`);

      const status = await env.migrator.status();
      assert.equal(status.database, env.dbName);
      assert.deepEqual(
        status.migrations.map((m) => `${m.id}:${m.state}`),
        ['005-early:out-of-order', '010-edit:changed', '020-gone:missing', '030-kept:applied', '040-fail:failed', '050-new:pending', '060-broken:pending'],
      );
      const byId = new Map(status.migrations.map((m) => [m.id, m]));
      const kept = byId.get('030-kept');
      assert.ok(kept !== undefined);
      assert.equal(kept.description, 'kept as is');
      assert.ok(kept.appliedAt instanceof Date);
      assert.ok(typeof kept.durationMs === 'number');
      assert.equal(kept.file, migrationPath(env, '030-kept.ts'));
      assert.equal(kept.error, undefined);
      assert.equal(byId.get('040-fail')?.error, 'boom');
      assert.equal(byId.get('020-gone')?.file, undefined);
      assert.equal(byId.get('020-gone')?.description, 'mark gone', 'a missing file keeps the recorded description');
      assert.equal(byId.get('050-new')?.description, 'brand new', 'read statically from the source');
      assert.equal(byId.get('050-new')?.appliedAt, undefined);
      assert.deepEqual(status.counts, counts({ 'out-of-order': 1, changed: 1, missing: 1, applied: 1, failed: 1, pending: 2 }), 'every state, 0 included');
      assert.equal(status.problems, 6);
      assert.deepEqual(await env.marks(), ['edit', 'gone', 'half-done', 'kept'], 'status ran nothing');
    }));

  void it('reports a migration another runner is running as running, and up() refuses meanwhile', () =>
    withEnv('status_running', async (env) => {
      // waits (bounded) until the test inserts { _id: 'go' } into `control`; outside a
      // transaction, whose snapshot would never show it that document
      await env.project.write('001-slow.ts', `export const transaction = false;
export async function up({ db }) {
  for (const giveUp = Date.now() + 60000; Date.now() < giveUp; ) {
    if (await db.collection('control').findOne({ _id: 'go' })) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('never released');
}
`);
      const running = env.migrator.up();
      const observer = env.newMigrator();
      let state = '';
      for (const giveUp = performance.now() + 20_000; state !== 'running' && performance.now() < giveUp; ) {
        state = (await observer.status()).migrations[0]?.state ?? '';
        if (state !== 'running') await sleep(5);
      }
      try {
        assert.equal(state, 'running');
        await failsWithCode(observer.up(), 'LOCK_HELD');
      } finally {
        await env.db.collection<{ _id: string }>('control').insertOne({ _id: 'go' });
        await running;
      }
      assert.deepEqual((await observer.status()).migrations.map((m) => `${m.id}:${m.state}`), ['001-slow:applied']);
    }));

  void it('up() refuses out-of-order migrations unless allowOutOfOrder', () =>
    withEnv('status_ooo', async (env) => {
      await env.project.write('010-a.ts', markerMigration('a'));
      await env.project.write('020-b.ts', markerMigration('b'));
      await env.migrator.up();
      await env.project.write('015-late.ts', markerMigration('late'));
      await env.project.write('030-c.ts', markerMigration('c'));

      const error = await failsWithCode(env.migrator.up(), 'CHECK_FAILED');
      assert.match(error.message, /015-late/);
      assert.deepEqual(await env.marks(), ['a', 'b'], 'nothing ran, not even the in-order 030-c');

      const result = await env.migrator.up({ allowOutOfOrder: true });
      assert.equal(result.error, undefined);
      assert.deepEqual(stepSummary(result), ['015-late:up:success', '030-c:up:success']);
      assert.deepEqual(await env.marks(), ['a', 'b', 'c', 'late']);
      const status = await env.migrator.status();
      assert.deepEqual(status.migrations.map((m) => `${m.id}:${m.state}`), ['010-a:applied', '015-late:applied', '020-b:applied', '030-c:applied']);
      assert.equal(status.problems, 0);
    }));

  void it('refuses duplicate ids with DUPLICATE_ID', () =>
    withEnv('status_dup', async (env) => {
      await env.project.write('001-a.ts', markerMigration('a'));
      await env.project.write('001-a.js', markerMigration('a'));
      const error = await failsWithCode(env.migrator.status(), 'DUPLICATE_ID');
      assert.match(error.message, /001-a/);
      await failsWithCode(env.migrator.up(), 'DUPLICATE_ID');
      assert.deepEqual(await env.marks(), []);
    }));
});
