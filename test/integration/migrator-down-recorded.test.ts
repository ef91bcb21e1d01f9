// A `down` leaves a trace in either direction: it marks the record `running` (direction down)
// before reverting, a failed or interrupted down is `failed (down)`, plain up and down refuse
// to pass it, and `down --retry-failed` finishes it. Against the test server, through the API.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChangelogRecord } from '../../src/changelog/contract.ts';
import { waysOut } from '../support/assertions.ts';
import { markerMigration } from '../support/project.ts';
import { failsWithCode, stepSummary, withEnv, type Env } from '../support/migrator.ts';

/**
 * A migration whose down fails while `flags` holds `{ _id: 'fail-down' }` (after removing its
 * mark). Outside a transaction on every server: what is under test is a down left half done.
 */
function flakyDown(mark: string): string {
  return `import { defineMigration } from 'mongrate';
export default defineMigration({
  description: 'flaky ${mark}',
  transaction: false,
  async up({ db }) { await db.collection('marks').insertOne({ mark: '${mark}' }); },
  async down({ db }) {
    await db.collection('marks').deleteOne({ mark: '${mark}' });
    if (await db.collection('flags').findOne({ _id: 'fail-down' })) throw new Error('down of ${mark} broke half-way');
  },
});
`;
}

async function record(env: Env, id: string): Promise<ChangelogRecord | undefined> {
  return (await env.changelog()).find((r) => r._id === id);
}

async function setup(env: Env): Promise<void> {
  await env.project.write('001-a.ts', markerMigration('a'));
  await env.project.write('002-b.ts', flakyDown('b'));
  const applied = await env.migrator.up();
  assert.equal(applied.error, undefined);
  await env.db.collection<{ _id: string }>('flags').insertOne({ _id: 'fail-down' });
}

void describe('a failed down', () => {
  void it('is recorded failed (down) with the applied-at time kept; plain up and down refuse it naming both ways out', () =>
    withEnv('down_failed', async (env) => {
      await setup(env);
      const before = await record(env, '002-b');
      const result = await env.migrator.down();
      assert.equal(result.error?.code, 'MIGRATION_FAILED');
      assert.deepEqual(stepSummary(result), ['002-b:down:failed']);
      assert.deepEqual(await env.marks(), ['a'], 'half reverted: the mark is gone');

      const failed = await record(env, '002-b');
      assert.ok(failed !== undefined && before !== undefined);
      assert.equal(failed.state, 'failed');
      assert.deepEqual(failed.error, { message: 'down of b broke half-way', direction: 'down' });
      assert.equal(failed.claim?.direction, 'down');
      assert.equal(failed.claim.runId, result.runId);
      assert.equal(failed.claim.previousState, 'applied');
      assert.deepEqual(failed.finishedAt, before.finishedAt, 'the application time stays');
      assert.equal(failed.runId, before.runId, 'the record still names the run that applied it');

      const status = await env.migrator.status();
      const row = status.migrations.find((m) => m.id === '002-b');
      assert.equal(row?.state, 'failed');
      assert.equal(row.direction, 'down');
      assert.deepEqual(row.appliedAt, before.finishedAt);
      assert.ok(status.problems >= 1);

      for (const refused of [await failsWithCode(env.migrator.down(), 'MIGRATION_FAILED'), await failsWithCode(env.migrator.up(), 'MIGRATION_FAILED')]) {
        assert.match(refused.message, /002-b/);
        assert.match(refused.message, /half reverted/);
        assert.deepEqual(waysOut(refused), ['down(retryFailed)', 'up(retryFailed)'], 'both ways out, in API terms');
      }
      // --all or --step do not pass it either, and 001-a was never touched
      await failsWithCode(env.migrator.down({ all: true }), 'MIGRATION_FAILED');
      assert.deepEqual(await env.marks(), ['a']);
      assert.equal((await record(env, '001-a'))?.state, 'applied');
    }));

  void it('down --retry-failed finishes reverting it, and counts as the first step', () =>
    withEnv('down_retry', async (env) => {
      await setup(env);
      await env.migrator.down();
      await env.db.collection<{ _id: string }>('flags').deleteOne({ _id: 'fail-down' });

      const retried = await env.migrator.down({ retryFailed: true });
      assert.equal(retried.error, undefined);
      assert.deepEqual(stepSummary(retried), ['002-b:down:success'], 'default step 1: only the failed one');
      assert.equal(await record(env, '002-b'), undefined);
      assert.equal((await record(env, '001-a'))?.state, 'applied');
      const events = (await env.history()).filter((h) => h.migrationId === '002-b').map((h) => `${h.event}:${h.direction ?? ''}`);
      assert.deepEqual(events, ['up:', 'failed:down', 'down:down']);
    }));

  void it('down --retry-failed --all reverts it and then everything below it', () =>
    withEnv('down_retry_all', async (env) => {
      await setup(env);
      await env.migrator.down();
      await env.db.collection<{ _id: string }>('flags').deleteOne({ _id: 'fail-down' });
      const retried = await env.migrator.down({ retryFailed: true, all: true });
      assert.deepEqual(stepSummary(retried), ['002-b:down:success', '001-a:down:success']);
      assert.deepEqual(await env.changelog(), []);
    }));

  void it('up --retry-failed applies it again instead', () =>
    withEnv('down_reapply', async (env) => {
      await setup(env);
      await env.migrator.down();
      const reapplied = await env.migrator.up({ retryFailed: true });
      assert.equal(reapplied.error, undefined);
      assert.deepEqual(stepSummary(reapplied), ['002-b:up:success']);
      const again = await record(env, '002-b');
      assert.equal(again?.state, 'applied');
      assert.equal(again.runId, reapplied.runId);
      assert.equal(again.claim, undefined);
      assert.equal(again.error, undefined);
      assert.deepEqual(await env.marks(), ['a', 'b']);
    }));

  void it('repair gives it its applied record back, so plain down reverts it again', () =>
    withEnv('down_repair', async (env) => {
      await setup(env);
      await env.migrator.down();
      const plan = await env.migrator.repair({ dryRun: true });
      assert.deepEqual(plan.actions.map((a) => `${a.id}:${a.action}`), ['002-b:restore-applied']);
      await env.migrator.repair();
      const restored = await record(env, '002-b');
      assert.equal(restored?.state, 'applied');
      assert.equal(restored.claim, undefined);
      await env.db.collection<{ _id: string }>('flags').deleteOne({ _id: 'fail-down' });
      const down = await env.migrator.down();
      assert.deepEqual(stepSummary(down), ['002-b:down:success']);
    }));

  void it('an interrupted down is failed (down, interrupted)', () =>
    withEnv('down_interrupted', async (env) => {
      await env.project.write(
        '001-slow.ts',
        `import { defineMigration } from 'mongrate';
export default defineMigration({
  transaction: false,
  async up() {},
  async down({ signal }) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    if (signal.aborted) throw new Error('stopped: signal aborted');
  },
});
`,
      );
      await env.migrator.up();
      env.migrator.on('reverting', () => setTimeout(() => env.migrator.interrupt(), 50));
      const result = await env.migrator.down();
      assert.equal(result.error?.code, 'INTERRUPTED');
      const interrupted = await record(env, '001-slow');
      assert.deepEqual(interrupted?.error, { message: 'stopped: signal aborted', direction: 'down', interrupted: true });
      const row = (await env.migrator.status()).migrations[0];
      assert.equal(row?.state, 'failed');
      assert.equal(row.direction, 'down');
      assert.equal(row.interrupted, true);
    }));
});

void describe('a down whose runner died', () => {
  void it('is running (down) while its runner holds the lock, failed (down, interrupted) once it is gone', () =>
    withEnv('down_dead', async (env) => {
      await env.project.write('001-a.ts', markerMigration('a'));
      await env.migrator.up();
      const applied = await record(env, '001-a');
      assert.ok(applied !== undefined);
      // what a runner SIGKILLed in the middle of the down leaves: the claim, no lock
      await env.db.collection<ChangelogRecord>('mongrate_changelog').updateOne(
        { _id: '001-a' },
        { $set: { state: 'running', claim: { direction: 'down', runId: 'dead-run', host: 'crashed-host', pid: 999, startedAt: new Date(), previousState: 'applied' } } },
      );
      const row = (await env.migrator.status()).migrations[0];
      assert.equal(row?.state, 'failed');
      assert.equal(row.direction, 'down');
      assert.equal(row.interrupted, true);
      assert.match(row.error ?? '', /crashed-host pid 999/);
      assert.deepEqual(row.appliedAt, applied.finishedAt);

      await failsWithCode(env.migrator.down(), 'MIGRATION_FAILED');
      await failsWithCode(env.migrator.up(), 'MIGRATION_FAILED');
      const retried = await env.migrator.down({ retryFailed: true });
      assert.deepEqual(stepSummary(retried), ['001-a:down:success']);
      assert.deepEqual(await env.changelog(), []);
      assert.deepEqual(await env.marks(), []);
    }));
});
