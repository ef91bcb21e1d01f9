// A transactional up whose transaction fails and is run again, through the API: a write conflict
// inside it, a commit that fails with TransientTransactionError, a commit whose result is
// unknown. The migration may run more than once; its log lines and events appear once. Each
// title says where it runs.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { waysOut } from '../support/assertions.ts';
import { venueIt } from '../support/transaction-venue.ts';
import type { SeenCommand, TransactionShim } from '../support/transaction-shim.ts';
import { MARK_IN_TRANSACTION, attempts, events, marks, named, sent, shimOf, states, withTransactionEnv, writesTo } from '../support/transaction-env.ts';

void describe('a transaction run again', () => {
  venueIt('retried after a write conflict inside it: the migration runs twice, its log line and events appear once', { commands: true }, (gateway) =>
    withTransactionEnv(gateway, 'txn_retry_conflict', {}, async (env) => {
      const shim = shimOf(gateway);
      await env.project.write('001-mark.ts', MARK_IN_TRANSACTION);
      shim.inject('transient', (c) => c.inTransaction && c.name === 'insert' && c.collection === 'marks');

      const result = await env.migrator.up();
      assert.equal(result.error, undefined, JSON.stringify(result.error));
      assert.equal(result.steps[0]?.transaction, true);
      assert.equal(attempts(shim), 2, 'the migration ran twice');
      assert.deepEqual(env.events, ['migrating 001-mark up', 'log 001-mark: marked a', 'migrated 001-mark up']);

      const markInserts = sent(shim).filter((c) => c.collection === 'marks');
      assert.deepEqual(markInserts.map((c) => c.answeredBy), ['injected failure', 'server']);
      const [failedAttempt, retried] = markInserts.map((c) => shim.transactionOf(c).map(named));
      assert.deepEqual(failedAttempt, ['insert marks', 'abortTransaction']);
      assert.deepEqual(retried, ['insert marks', 'update mongrate_changelog', 'commitTransaction']);
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
        assert.equal(attempts(shim), 2);
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
      assert.equal(attempts(shim), 1);
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

/** The transactions the shim saw that inserted marks, each as the names of its commands. */
const markTransactions = (shim: TransactionShim): string[][] => {
  const seen = new Set<string>();
  const transactions: string[][] = [];
  for (const insert of sent(shim).filter((c) => c.name === 'insert' && c.collection === 'marks' && c.transaction !== undefined)) {
    if (seen.has(insert.transaction ?? '')) continue;
    seen.add(insert.transaction ?? '');
    transactions.push(shim.transactionOf(insert).map(named));
  }
  return transactions;
};

void describe('a transaction the server aborted, or may have', () => {
  venueIt("a write conflict without the TransientTransactionError label (DocumentDB's gateway) is run again like a labelled one", { commands: true }, (gateway) =>
    withTransactionEnv(gateway, 'txn_conflict_112', {}, async (env) => {
      const shim = shimOf(gateway);
      await env.project.write('001-mark.ts', MARK_IN_TRANSACTION);
      shim.inject('write-conflict-unlabelled', (c) => c.inTransaction && c.name === 'insert' && c.collection === 'marks');

      const result = await env.migrator.up();
      assert.equal(result.error, undefined, JSON.stringify(result.error));
      assert.equal(attempts(shim), 2);
      assert.deepEqual(await states(env), [['001-mark', 'applied']]);
    }),
  );

  venueIt('NoSuchTransaction after an error the migration swallowed: fails once, naming that error, instead of running it three times', { commands: true }, (gateway) =>
    withTransactionEnv(gateway, 'txn_251_swallowed', {}, async (env) => {
      const shim = shimOf(gateway);
      await env.project.write('001-dup.ts', `export async function up({ db, log }) {
  try {
    await db.collection('marks').insertOne({ _id: 1, mark: 'duplicate' });
  } catch (error) {
    log('swallowed ' + error.code);
  }
  await db.collection('marks').insertOne({ mark: 'after' });
}
`);
      // as MongoDB answers: the duplicate key aborts the transaction, every later command of it gets 251
      shim.inject('duplicate-key', (c) => c.inTransaction && c.name === 'insert' && c.collection === 'marks');
      const aborted = (c: SeenCommand): boolean => {
        const dup = shim.commands.find((o) => o.answeredBy === 'injected failure' && o.collection === 'marks');
        return dup !== undefined && c !== dup && c.transaction === dup.transaction;
      };
      shim.inject('no-such-transaction', aborted, Infinity);

      const result = await env.migrator.up();
      assert.equal(result.error?.code, 'MIGRATION_FAILED', JSON.stringify(result.error));
      assert.match(result.error.message, /^migration 001-dup failed: an error inside the transaction aborted it: E11000 duplicate key/);
      assert.match(result.error.message, /\(rolled back: nothing of it was written\)$/);
      assert.equal(markTransactions(shim).length, 1, 'one attempt, not three');
      assert.deepEqual(await states(env), [['001-dup', 'failed']]);
    }),
  );

  venueIt('NoSuchTransaction with nothing of the attempt to explain it (an election) is run again like any transient error', { commands: true }, (gateway) =>
    withTransactionEnv(gateway, 'txn_251_retry', {}, async (env) => {
      const shim = shimOf(gateway);
      await env.project.write('001-mark.ts', MARK_IN_TRANSACTION);
      shim.inject('no-such-transaction', (c) => c.inTransaction && c.name === 'insert' && c.collection === 'marks');

      const result = await env.migrator.up();
      assert.equal(result.error, undefined, JSON.stringify(result.error));
      assert.equal(markTransactions(shim).length, 2);
      assert.deepEqual(await states(env), [['001-mark', 'applied']]);
    }),
  );

  for (const mode of ['auto', 'always'] as const) {
    venueIt(`${mode}: a transaction about to outlive the server's lifetime limit sends nothing more and ${mode === 'auto' ? 'runs the migration again outside a transaction, saying so' : 'fails naming the limit and `transaction: false`'}`, { commands: true }, (gateway) =>
      withTransactionEnv(gateway, `txn_lifetime_${mode}`, { transactions: mode }, async (env) => {
        const shim = shimOf(gateway);
        // a server whose transactions live 1 s: the migration outlives it
        shim.answer({ transactionLifetimeLimitSeconds: 1, ok: 1 }, (c) => c.name === 'getParameter', Infinity);
        await env.project.write('001-slow.ts', `export async function up({ db, session }) {
  if (session !== undefined) await new Promise((resolve) => setTimeout(resolve, 1100));
  await db.collection('marks').insertOne({ mark: 'slow' });
}
`);
        const result = await env.migrator.up();
        assert.equal(markTransactions(shim).length, 0, 'nothing sent in the transaction after its time');
        if (mode === 'auto') {
          assert.equal(result.error, undefined, JSON.stringify(result.error));
          const warnings = env.events.filter((e) => e.startsWith('warning'));
          assert.equal(warnings.length, 1, env.events.join('\n'));
          assert.match(warnings[0] ?? '', /^warning 001-slow: 001-slow: the migration cannot run inside a transaction: it ran [1-9]\d*\.\d s, too close to the server's transaction lifetime limit \(1 s\) to send more; rolled back, running it again outside a transaction/);
          assert.equal(writesTo(sent(shim), 'marks').filter((c) => !c.inTransaction).length, 1);
          assert.deepEqual(await states(env), [['001-slow', 'applied']]);
        } else {
          assert.equal(result.error?.code, 'TRANSACTION_LIMIT', JSON.stringify(result.error));
          assert.match(result.error.message, /too close to the server's transaction lifetime limit \(1 s\)/);
          assert.match(result.error.message, /Set `transaction: false` on this migration, or use transactions: 'auto'$/);
        }
      }),
    );
  }
});
