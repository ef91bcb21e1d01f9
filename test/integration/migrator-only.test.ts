// Running exactly one migration through the API: `up({ only })` applies that pending migration and
// nothing else, `down({ only })` reverts that applied one; alone out of order only with
// `allowOutOfOrder`, and the result (and the dry run) says which it was.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { snapshotDb } from '../support/snapshot.ts';
import { failsWithCode, rejectsWithCode, stepSummary, trackedMigration, withEnv } from '../support/migrator.ts';

void describe('up({ only }) and down({ only })', { concurrency: 2 }, () => {
  void it('up applies exactly the one pending migration; one with pending ones before it needs allowOutOfOrder', () =>
    withEnv('only_up', async (env) => {
      for (const mark of ['a', 'b', 'c']) await env.project.write(`00${'abc'.indexOf(mark) + 1}-${mark}.ts`, trackedMigration(mark));
      const first = await env.migrator.up({ only: '001-a' });
      assert.equal(first.error, undefined);
      assert.deepEqual(stepSummary(first), ['001-a:up:success']);
      assert.deepEqual(first.steps[0]?.only, { outOfOrder: false, detail: 'the next pending migration' });

      const before = await snapshotDb(env.db);
      const refused = await failsWithCode(env.migrator.up({ only: '003-c' }), 'CHECK_FAILED');
      assert.match(refused.message, /applying 003-c alone is out of order: pending before it, and left pending \(then out-of-order\): 002-b/);
      assert.deepEqual(await snapshotDb(env.db), before, 'a refused --only wrote nothing');

      const dry = await env.migrator.up({ only: '003-c', allowOutOfOrder: true, dryRun: true });
      assert.deepEqual(dry.steps.map((s) => [s.id, s.only?.outOfOrder]), [['003-c', true]]);

      const alone = await env.migrator.up({ only: '003-c', allowOutOfOrder: true });
      assert.equal(alone.error, undefined);
      assert.deepEqual(await env.trail(), ['a:up', 'c:up']);
      assert.equal((await env.migrator.status()).migrations.find((m) => m.id === '002-b')?.state, 'out-of-order');

      const applied = await failsWithCode(env.migrator.up({ only: '001-a' }), 'USAGE');
      assert.match(applied.message, /cannot apply 001-a alone \(given as `only`\): it is applied, not pending/);
      await failsWithCode(env.migrator.up({ only: '009-nothing' }), 'USAGE');
      await rejectsWithCode(Promise.resolve().then(() => env.migrator.up({ only: '002-b', step: 1 })), 'USAGE');
    }));

  void it('down reverts exactly the one applied migration: the newest in order, an older one only with allowOutOfOrder', () =>
    withEnv('only_down', async (env) => {
      for (const mark of ['a', 'b', 'c']) await env.project.write(`00${'abc'.indexOf(mark) + 1}-${mark}.ts`, trackedMigration(mark));
      await env.migrator.up();

      const before = await snapshotDb(env.db);
      const refused = await failsWithCode(env.migrator.down({ only: '002-b' }), 'CHECK_FAILED');
      assert.match(refused.message, /reverting 002-b alone is out of order: applied after it, and staying applied: 003-c/);
      assert.deepEqual(await snapshotDb(env.db), before, 'a refused --only wrote nothing');

      const dry = await env.migrator.down({ only: '002-b', allowOutOfOrder: true, dryRun: true });
      assert.deepEqual(dry.steps[0]?.only, { outOfOrder: true, detail: 'applied after it, and staying applied: 003-c' });

      const alone = await env.migrator.down({ only: '002-b', allowOutOfOrder: true });
      assert.equal(alone.error, undefined);
      assert.deepEqual(stepSummary(alone), ['002-b:down:success']);
      assert.deepEqual(await env.trail(), ['a:up', 'b:up', 'c:up', 'b:down']);

      const newest = await env.migrator.down({ only: '003-c' });
      assert.deepEqual(newest.steps[0]?.only, { outOfOrder: false, detail: 'the newest applied migration' });
      assert.deepEqual((await env.changelog()).map((r) => r._id), ['001-a']);

      const notApplied = await failsWithCode(env.migrator.down({ only: '002-b' }), 'USAGE');
      assert.match(notApplied.message, /cannot revert 002-b alone .*it is not applied/);
      await rejectsWithCode(Promise.resolve().then(() => env.migrator.down({ allowOutOfOrder: true })), 'USAGE');
    }));
});
