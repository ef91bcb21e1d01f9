// A transactional up whose transaction fails and is run again, through the API: a write conflict
// inside it, a commit that fails with TransientTransactionError, a commit whose result is
// unknown. The migration may run more than once; its log lines and events appear once. Each
// title says where it runs.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { waysOut } from '../support/assertions.ts';
import { venueIt } from '../support/transaction-venue.ts';
import { MARK_IN_TRANSACTION, attempts, events, marks, named, sent, shimOf, states, withTransactionEnv } from './transaction-env.ts';

void describe('a transaction run again', () => {
  venueIt('retried after a write conflict inside it: the migration runs twice, its log line and events appear once', { commands: true }, (gateway) =>
    withTransactionEnv(gateway, 'txn_retry_conflict', {}, async (env) => {
      const shim = shimOf(gateway);
      await env.project.write('001-mark.ts', MARK_IN_TRANSACTION);
      shim.inject('transient', (c) => c.inTransaction && c.name === 'insert' && c.collection === 'marks');

      const result = await env.migrator.up();
      assert.equal(result.error, undefined, JSON.stringify(result.error));
      assert.equal(result.steps[0]?.transaction, true);
      assert.equal(await attempts(env), 2, 'the migration ran twice');
      assert.deepEqual(env.events, ['migrating 001-mark up', 'log 001-mark: marked a', 'migrated 001-mark up']);

      const markInserts = sent(shim).filter((c) => c.collection === 'marks');
      assert.deepEqual(markInserts.map((c) => c.answeredBy), ['injected failure', 'server']);
      const [failedAttempt, retried] = markInserts.map((c) => shim.transactionOf(c).map(named));
      assert.deepEqual(failedAttempt, ['update mongrate_lock', 'insert marks', 'abortTransaction']);
      assert.deepEqual(retried, ['update mongrate_lock', 'insert marks', 'insert mongrate_changelog', 'commitTransaction']);
      assert.deepEqual(await marks(env), ['a'], 'the conflicting insert never reached the server');
      assert.deepEqual((await states(env)), [['001-mark', 'applied']]);
    }),
  );

  venueIt(
    'retried after its commit failed with a TransientTransactionError: the first attempt left nothing, events once',
    { commands: true, realServer: "that the first attempt's writes (its changelog record among them) were rolled back" },
    (gateway) =>
      withTransactionEnv(gateway, 'txn_retry_commit', {}, async (env) => {
        const shim = shimOf(gateway);
        await env.project.write('001-mark.ts', MARK_IN_TRANSACTION);
        shim.inject('transient', (c) => c.name === 'commitTransaction' && shim.transactionOf(c).some((o) => o.collection === 'marks'));

        const result = await env.migrator.up();
        assert.equal(result.error, undefined, JSON.stringify(result.error));
        assert.equal(await attempts(env), 2);
        assert.deepEqual(env.events, ['migrating 001-mark up', 'log 001-mark: marked a', 'migrated 001-mark up']);
        assert.deepEqual(await marks(env), ['a'], 'the first attempt was rolled back');
        assert.deepEqual((await states(env)), [['001-mark', 'applied']]);
      }),
  );

  venueIt('a commit whose result is unknown is committed again, and the migration runs once', { commands: true }, (gateway) =>
    withTransactionEnv(gateway, 'txn_unknown_commit', {}, async (env) => {
      const shim = shimOf(gateway);
      await env.project.write('001-mark.ts', MARK_IN_TRANSACTION);
      shim.inject('unknown-commit-result', (c) => c.name === 'commitTransaction' && shim.transactionOf(c).some((o) => o.collection === 'marks'));

      const result = await env.migrator.up();
      assert.equal(result.error, undefined, JSON.stringify(result.error));
      assert.equal(await attempts(env), 1);
      const commits = sent(shim).filter((c) => c.name === 'commitTransaction' && shim.transactionOf(c).some((o) => o.collection === 'marks'));
      assert.deepEqual(commits.map((c) => c.answeredBy), ['injected failure', gateway.real ? 'server' : 'shim']);
      assert.equal(commits[0]?.transaction, commits[1]?.transaction, 'the same transaction, committed again');
      assert.deepEqual((await states(env)), [['001-mark', 'applied']]);
    }),
  );

  venueIt('a commit whose result stays unknown is reported as unknown, never as rolled back or failed', { commands: true }, (gateway) =>
    withTransactionEnv(gateway, 'txn_commit_unknown', {}, async (env) => {
      const shim = shimOf(gateway);
      await env.project.write('001-mark.ts', MARK_IN_TRANSACTION);
      shim.inject('unknown-commit-result', (c) => c.name === 'commitTransaction' && shim.transactionOf(c).some((o) => o.collection === 'marks'), Infinity);

      const result = await env.migrator.up();
      assert.equal(result.error?.code, 'MIGRATION_FAILED', JSON.stringify(result.error));
      assert.doesNotMatch(result.error.message, /rolled back/);
      assert.match(result.error.message, /001-mark/);
      assert.match(result.error.message, /may or may not have been applied/);
      assert.deepEqual(waysOut(result.error), ['status()'], 'status() shows which');
      assert.deepEqual(await events(env), [], 'no history entry claims an outcome nobody knows');
    }),
  );
});
