// The lease while a migration's transaction is open (core/lease.ts): the lock document is not
// part of the transaction, so the heartbeat goes on renewing it outside, and a lease shorter than
// the transaction never ends the run; a process that stalls past its deadline inside the
// transaction finds the lease lost at the fence before the outcome, and its transaction commits
// nothing. Each title says where it runs.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { venueIt } from '../support/transaction-venue.ts';
import { MARK_IN_TRANSACTION, marks, named, sent, shimOf, states, withTransactionEnv } from '../support/transaction-env.ts';

/** A migration that writes (its transaction's first command), then stays in its transaction for `ms` (and is quick outside one). */
const LINGERS = (ms: number): string => `export async function up({ db, session }) {
  await db.collection('marks').insertOne({ mark: 'lingered' });
  if (session !== undefined) await new Promise((resolve) => setTimeout(resolve, ${ms}));
}
`;

/** A migration that writes in its transaction, then blocks its thread for `ms` (no timer, no heartbeat runs meanwhile). */
const STALLS = (ms: number): string => `export async function up({ db }) {
  await db.collection('marks').insertOne({ mark: 'before the stall' });
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ${ms});
}
`;

void describe('the lease during a transaction', () => {
  venueIt('a 3 s lease and a migration whose transaction lasts 4.5 s: the heartbeat renews the lease outside the transaction meanwhile; applied, never reported lost', { commands: true }, (gateway) =>
    withTransactionEnv(gateway, 'txn_lease_short', { lock: { ttlSeconds: 3 } }, async (env) => {
      const shim = shimOf(gateway);
      await env.project.write('001-lingers.ts', LINGERS(4500));
      await env.project.write('002-mark.ts', MARK_IN_TRANSACTION);
      const result = await env.migrator.up();
      assert.equal(result.error, undefined, JSON.stringify(result.error));
      assert.deepEqual(result.steps.map((s) => [s.id, s.status, s.transaction]), [['001-lingers', 'success', true], ['002-mark', 'success', true]]);
      assert.deepEqual(result.warnings, []);
      assert.deepEqual(await states(env), [['001-lingers', 'applied'], ['002-mark', 'applied']]);
      assert.deepEqual(await marks(env), ['a', 'lingered']);
      // the transaction: the migration, its outcome (with the next claim), the commit; no lock document
      const insert = sent(shim).find((c) => c.collection === 'marks' && c.inTransaction);
      assert.ok(insert !== undefined);
      const transaction = shim.transactionOf(insert);
      assert.deepEqual(transaction.map(named), ['insert marks', 'update mongrate_changelog', 'commitTransaction']);
      assert.equal(transaction[0]?.startTransaction, true, "the migration's first command starts it");
      // the heartbeat renewed the lease (outside any transaction) while the transaction was open
      const commands = shim.commands;
      const commit = transaction.at(-1) ?? insert;
      const renewals = commands.slice(commands.indexOf(insert), commands.indexOf(commit)).filter((c) => named(c) === 'update mongrate_lock');
      assert.ok(renewals.length >= 1, 'renewed at least once while the transaction was open');
      assert.ok(renewals.every((c) => !c.inTransaction), 'outside the transaction');
    }),
  );

  venueIt(
    'a process stalled inside its transaction past the lease: LOCK_LOST at the fence before the outcome, the transaction aborted, nothing committed',
    { commands: true },
    (gateway) =>
      withTransactionEnv(gateway, 'txn_lease_stall', { lock: { ttlSeconds: 2 } }, async (env) => {
        const shim = shimOf(gateway);
        await env.project.write('001-stalls.ts', STALLS(3000));
        const result = await env.migrator.up();
        assert.equal(result.error?.code, 'LOCK_LOST', JSON.stringify(result.error));
        assert.match(result.error.message, /^stopped 001-stalls: lost the lock \(its lease \(until .*\) ran out before it was renewed .*\); its transaction was rolled back$/);
        const insert = sent(shim).find((c) => c.collection === 'marks' && c.inTransaction);
        assert.ok(insert !== undefined);
        assert.deepEqual(shim.transactionOf(insert).map(named), ['insert marks', 'abortTransaction'], 'no outcome written, no commit');
        if (gateway.real) assert.deepEqual(await marks(env), [], 'the write of the stalled attempt never landed');
        // its claim stays for whoever holds the lock next: a transaction left it, so nothing of it ran
        assert.deepEqual(await states(env), [['001-stalls', 'running']]);
      }),
  );
});
