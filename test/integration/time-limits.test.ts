// Time limits (`timeoutSeconds`, a migration's own or the config's): past it the run stops at the
// next safe point exactly as on Ctrl-C — `ctx.signal` aborted, the migration recorded failed and
// interrupted (rolled back where it ran in a transaction), later ones not run — with a message
// naming the limit and the migration. The migrations wait for the signal itself, so nothing here
// depends on the server's speed: the limit (1 s) is the only clock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { markerMigration } from '../support/project.ts';
import { venueIt } from '../support/transaction-venue.ts';
import { failsWithCode, stepSummary, withEnv } from '../support/migrator.ts';
import { changelog, history, withTransactionEnv } from '../support/transaction-env.ts';

/** Waits for ctx.signal (never for the server), then throws what it was aborted with. */
const waitsForSignal = (options: { timeoutSeconds?: number; transaction?: boolean; then?: 'throw' | 'finish' }): string => `import { defineMigration } from 'mongrate';
export default defineMigration({
  ${options.timeoutSeconds === undefined ? '' : `timeoutSeconds: ${options.timeoutSeconds},`}
  ${options.transaction === undefined ? '' : `transaction: ${String(options.transaction)},`}
  async up({ db, session, signal }) {
    await db.collection('marks').insertOne({ mark: 'started' }, { session });
    if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    ${options.then === 'finish' ? "await db.collection('marks').insertOne({ mark: 'finished' }, { session });" : 'throw signal.reason;'}
  },
  async down() {},
});
`;

void describe('timeoutSeconds', { concurrency: 2 }, () => {
  void it("a migration's own limit stops the run like Ctrl-C: interrupted, recorded failed with the limit named, later ones not run", () =>
    withEnv('limit_own', async (env) => {
      await env.project.write('001-waits.ts', waitsForSignal({ timeoutSeconds: 1, transaction: false }));
      await env.project.write('002-b.ts', markerMigration('b'));
      // the config's limit is long: the migration's own wins
      const migrator = env.newMigrator({ timeoutSeconds: 3600 });
      const result = await migrator.up();
      assert.equal(result.error?.code, 'INTERRUPTED', JSON.stringify(result.error));
      assert.equal(result.error.id, '001-waits');
      assert.match(result.error.message, /^migration 001-waits was interrupted: 001-waits ran past its time limit of 1 s \(timeoutSeconds\)$/);
      assert.deepEqual(stepSummary(result), ['001-waits:up:failed', '002-b:up:not-run']);
      const [record] = await env.changelog();
      assert.deepEqual([record?.state, record?.error], ['failed', { message: '001-waits ran past its time limit of 1 s (timeoutSeconds)', direction: 'up', interrupted: true }]);
      const shown = (await migrator.status()).migrations[0];
      assert.deepEqual([shown?.state, shown?.interrupted], ['failed', true]);
      const events = (await migrator.history()).entries.map((e) => `${e.event}: ${e.outcome ?? ''}`);
      assert.deepEqual(events, ['interrupted: 001-waits ran past its time limit of 1 s (timeoutSeconds)']);
      assert.deepEqual(await env.marks(), ['started'], 'outside a transaction, what it wrote before the limit stays (as on Ctrl-C)');
    }));

  void it("the config's limit applies to every migration; one that finishes after the signal is applied, and the run stops after it", () =>
    withEnv('limit_config', async (env) => {
      await env.project.write('001-finishes.ts', waitsForSignal({ transaction: false, then: 'finish' }));
      await env.project.write('002-b.ts', markerMigration('b'));
      const result = await env.newMigrator({ timeoutSeconds: 1 }).up();
      assert.equal(result.error?.code, 'INTERRUPTED');
      assert.equal(result.error.message, 'interrupted after 001-finishes: 001-finishes ran past its time limit of 1 s (timeoutSeconds)');
      assert.deepEqual(stepSummary(result), ['001-finishes:up:success', '002-b:up:not-run']);
      assert.deepEqual((await env.changelog()).map((r) => `${r._id}:${r.state}`), ['001-finishes:applied']);
      assert.deepEqual(await env.marks(), ['finished', 'started']);
    }));

  void it('a bad limit: a migration with one is refused before it runs (USAGE); a config with one is a CONFIG error naming the key', () =>
    withEnv('limit_bad', async (env) => {
      await env.project.write('001-bad.ts', `export const timeoutSeconds = 0;\nexport async function up() {}\n`);
      const refused = await failsWithCode(env.migrator.up(), 'USAGE');
      assert.match(refused.message, /migration .*001-bad.*: `timeoutSeconds` must be a number of seconds > 0/);
      assert.deepEqual(await env.changelog(), []);
      assert.throws(() => env.newMigrator({ timeoutSeconds: -1 }), /config key 'timeoutSeconds' must be a number > 0/);
    }));
});

void describe('timeoutSeconds in a transaction', () => {
  venueIt('past the limit the transaction is rolled back: failed (interrupted, rolled back), the limit named', {}, (gateway) =>
    withTransactionEnv(gateway, 'limit_txn', { timeoutSeconds: 1 }, async (env) => {
      await env.project.write('001-waits.ts', waitsForSignal({}));
      const result = await env.migrator.up();
      assert.equal(result.error?.code, 'INTERRUPTED', JSON.stringify(result.error));
      assert.equal(result.error.message, 'migration 001-waits was interrupted: 001-waits ran past its time limit of 1 s (timeoutSeconds) (rolled back: nothing of it was written)');
      const [record] = await changelog(env);
      assert.deepEqual([record?.state, record?.error], ['failed', { message: '001-waits ran past its time limit of 1 s (timeoutSeconds)', direction: 'up', interrupted: true, rolledBack: true }]);
      assert.deepEqual((await history(env)).map((h) => [h.event, h.rolledBack, h.error?.message]), [['failed', true, '001-waits ran past its time limit of 1 s (timeoutSeconds)']]);
      if (gateway.real) assert.deepEqual(await env.db.collection('marks').countDocuments(), 0, 'its write was rolled back');
    }),
  );
});
