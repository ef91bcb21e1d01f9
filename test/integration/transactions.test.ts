// The transactional path of `up`, through the API: which commands the runner sends and in which
// order, what it writes when a transaction fails or is retried, and what needs a real server
// (rollback, write locks). Each title says where it runs: through the transaction shim over
// FerretDB (commands only), or on a real replica set when MONGRATE_TEST_URI points at one.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { exitCodeFor } from '../../src/cli/exit-codes.ts';
import type { SeenCommand, TransactionShim } from '../support/transaction-shim.ts';
import { venueIt } from '../support/transaction-venue.ts';
import {
  MARK_IN_TRANSACTION,
  attempts,
  changelog,
  events,
  first,
  marks,
  named,
  sent,
  shimOf,
  states,
  withTransactionEnv,
  writesTo,
  type TransactionEnv,
} from './transaction-env.ts';

void describe('a transactional up', () => {
  venueIt('touches the lock, runs the migration, inserts its record and commits, in that order; history after; collections first', { commands: true }, (gateway) =>
    withTransactionEnv(gateway, 'txn_order', {}, async (env) => {
      const shim = shimOf(gateway);
      await env.project.write('001-mark.ts', MARK_IN_TRANSACTION);

      const result = await env.migrator.up();
      assert.equal(result.error, undefined, JSON.stringify(result.error));
      assert.deepEqual(result.steps.map((s) => [s.id, s.status, s.transaction]), [['001-mark', 'success', true]]);

      const commands = sent(shim);
      const mark = first(commands, 'insert of the mark', (c) => c.name === 'insert' && c.collection === 'marks');
      const transaction = shim.transactionOf(mark);
      assert.deepEqual(
        transaction.map(named),
        ['update mongrate_lock', 'insert marks', 'insert mongrate_changelog', 'commitTransaction'],
        'the lock document first, then the migration, then its record, then the commit',
      );
      assert.deepEqual(transaction.map((c) => c.startTransaction), [true, false, false, false], 'the first command starts it');
      const [touchUpdate] = (transaction[0]?.command.updates ?? []) as { q: unknown; upsert?: boolean }[];
      assert.deepEqual(touchUpdate?.q, { _id: 'mongrate', owner: result.runId }, "the touch matches this run's own lease only");
      assert.ok(transaction.every((c) => c.inTransaction && c.lsid && c.txnNumber), 'every command carries the transaction');
      const attemptCounter = first(commands, 'insert of the attempt counter', (c) => c.collection === 'attempts');
      assert.equal(attemptCounter.inTransaction, false, 'a write without the session stays outside the transaction');

      // the record is inserted, applied, and nothing else ever writes the changelog
      const recordInsert = transaction[2];
      assert.ok(recordInsert !== undefined);
      assert.deepEqual(writesTo(commands, 'mongrate_changelog'), [recordInsert], 'no upsert, no replaceOne, no claim outside the transaction');
      const inserted = (recordInsert.command.documents as { _id: string; state: string }[]).map((d) => [d._id, d.state]);
      assert.deepEqual(inserted, [['001-mark', 'applied']]);

      // the history entry follows the commit, outside the transaction
      const commit = transaction[3];
      assert.ok(commit !== undefined);
      const historyWrites = writesTo(commands, 'mongrate_history');
      assert.deepEqual(historyWrites.map((c) => [named(c), c.inTransaction]), [['insert mongrate_history', false]]);
      const historyWrite = historyWrites[0];
      assert.ok(historyWrite !== undefined && commands.indexOf(historyWrite) > commands.indexOf(commit), 'history after the commit');

      // collections, indexes and the lock before anything carries a transaction
      const firstInTransaction = commands.findIndex((c) => c.inTransaction);
      for (const what of ['create mongrate_changelog', 'create mongrate_history', 'createIndexes mongrate_history', 'insert mongrate_lock']) {
        const at = commands.findIndex((c) => named(c) === what);
        assert.ok(at >= 0 && at < firstInTransaction, `${what} (at ${at}) before the first command in a transaction (at ${firstInTransaction})`);
      }
      const release = first(commands, 'lock release', (c) => named(c) === 'delete mongrate_lock');
      assert.ok(commands.indexOf(release) > commands.indexOf(historyWrite), 'the lock is released last');

      assert.deepEqual(await marks(env), ['a']);
      assert.deepEqual((await states(env)), [['001-mark', 'applied']]);
      assert.deepEqual((await events(env)), [['001-mark', 'up']]);
    }),
  );

  venueIt('never overwrites an applied record: a record written outside the transaction first makes the run fail, and stays as it was', {}, (gateway) =>
    withTransactionEnv(gateway, 'txn_no_overwrite', {}, async (env) => {
      await env.project.write('001-self.ts', `import { defineMigration } from 'mongrate';
export default defineMigration({
  async up({ db, id, session }) {
    await db.collection('marks').insertOne({ mark: 'self' }, { session });
    try {
      // no session: outside the transaction, as another runner would write it
      await db.collection('mongrate_changelog').insertOne({ _id: id, state: 'applied', checksum: 'sha256:written-outside', marker: 'outside' });
    } catch (error) {
      if (error.code !== 11000) throw error; // a retried attempt finds it there already
    }
  },
});
`);
      const result = await env.migrator.up();
      assert.equal(result.error?.code, 'MIGRATION_FAILED', JSON.stringify(result.error));
      assert.equal(
        result.error.message,
        "migration 001-self failed: 001-self already has a changelog record, written outside this run's transaction (by another runner, or by the migration itself); it was left as it was (rolled back)",
      );
      assert.deepEqual(result.steps.map((s) => s.status), ['failed']);
      assert.deepEqual(await changelog(env), [{ _id: '001-self', state: 'applied', checksum: 'sha256:written-outside', marker: 'outside' }], 'untouched');
      assert.deepEqual((await events(env)), [['001-self', 'failed']]);
      if (gateway.shim !== undefined) {
        const writes = writesTo(sent(gateway.shim), 'mongrate_changelog');
        assert.deepEqual(writes.map((c) => [named(c), c.inTransaction]), [['insert mongrate_changelog', false], ['insert mongrate_changelog', true]], 'one insert each, no update');
      }
    }),
  );

});

void describe('a transactional down', () => {
  venueIt('touches the lock, reverts, deletes the record and commits, in that order; no running claim; history after', { commands: true }, (gateway) =>
    withTransactionEnv(gateway, 'txn_down', {}, async (env) => {
      const shim = shimOf(gateway);
      await env.project.write('001-mark.ts', MARK_IN_TRANSACTION);
      assert.equal((await env.migrator.up()).error, undefined);
      const downStarts = shim.commands.length;

      const result = await env.migrator.down();
      assert.equal(result.error, undefined, JSON.stringify(result.error));
      assert.deepEqual(result.steps.map((s) => [s.id, s.direction, s.status, s.transaction]), [['001-mark', 'down', 'success', true]]);
      const commands = sent(shim, downStarts);
      const unmark = first(commands, 'delete of the mark', (c) => c.name === 'delete' && c.collection === 'marks');
      const transaction = shim.transactionOf(unmark);
      assert.deepEqual(transaction.map(named), ['update mongrate_lock', 'delete marks', 'delete mongrate_changelog', 'commitTransaction']);
      assert.deepEqual(writesTo(commands, 'mongrate_changelog').map((c) => [named(c), c.inTransaction]), [['delete mongrate_changelog', true]], 'no running claim outside the transaction');
      const historyWrites = writesTo(commands, 'mongrate_history');
      assert.deepEqual(historyWrites.map((c) => [named(c), c.inTransaction]), [['insert mongrate_history', false]]);
      const commit = transaction.at(-1);
      assert.ok(commit !== undefined && commands.indexOf(historyWrites[0] ?? commit) > commands.indexOf(commit), 'history after the commit');

      assert.deepEqual(await marks(env), []);
      assert.deepEqual(await states(env), []);
      assert.deepEqual(await events(env), [['001-mark', 'up'], ['001-mark', 'down']]);
      assert.deepEqual(env.events.filter((e) => e.includes('unmarked')), ['log 001-mark: unmarked a']);
    }),
  );
});

void describe('the transaction probe', () => {
  const probeCommit = (shim: TransactionShim) => (c: SeenCommand): boolean =>
    c.name === 'commitTransaction' && shim.transactionOf(c).some((o) => o.collection === 'mongrate_transaction_probe');

  /** `up` fails with one of `codes` naming the probe, before the migration ran or anything was recorded. */
  async function refusesToRun(env: TransactionEnv, codes: string[]): Promise<void> {
    const { error } = await env.migrator.up();
    assert.ok(error !== undefined, 'up was refused');
    assert.ok(codes.includes(error.code), `${error.code}: ${error.message}`);
    assert.equal(exitCodeFor(error.code), 5);
    assert.match(error.message, /transactions/);
    assert.equal(await attempts(env), 0, 'the migration never ran');
    assert.deepEqual(await changelog(env), []);
  }

  venueIt('a probe whose commit loses the connection stops the command: it never runs without transactions instead', { commands: true }, (gateway) =>
    withTransactionEnv(gateway, 'txn_probe_network', {}, async (env) => {
      const shim = shimOf(gateway);
      await env.project.write('001-mark.ts', MARK_IN_TRANSACTION);
      shim.inject('network', probeCommit(shim), Infinity);
      await refusesToRun(env, ['UNREACHABLE', 'SERVER_PROBE_FAILED']);
    }),
  );

  venueIt('a probe whose commit fails with a server error that is not "no transactions here" stops the command (SERVER_PROBE_FAILED)', { commands: true }, (gateway) =>
    withTransactionEnv(gateway, 'txn_probe_error', {}, async (env) => {
      const shim = shimOf(gateway);
      await env.project.write('001-mark.ts', MARK_IN_TRANSACTION);
      shim.inject('unknown-commit-result', probeCommit(shim), Infinity);
      await refusesToRun(env, ['SERVER_PROBE_FAILED']);
    }),
  );
});

void describe('what only a real server shows', () => {
  venueIt('a failed transactional migration leaves nothing behind but its history entry', { realServer: 'that the migration\'s writes were rolled back' }, (gateway) =>
    withTransactionEnv(gateway, 'txn_rollback', {}, async (env) => {
      await env.project.write('001-fails.ts', `export async function up({ db, session }) {
  await db.collection('marks').insertOne({ mark: 'half-done' }, { session });
  throw new Error('boom after a write');
}
`);
      const result = await env.migrator.up();
      assert.equal(result.error?.code, 'MIGRATION_FAILED');
      assert.match(result.error.message, /boom after a write.*rolled back/);
      assert.deepEqual(await marks(env), []);
      assert.deepEqual(await changelog(env), []);
      assert.deepEqual((await events(env)), [['001-fails', 'failed']]);
    }),
  );

  venueIt(
    'a takeover attempted during a transaction waits for it (the lock document is part of it): it cannot slip in before the commit',
    { realServer: 'that a write outside a transaction to a document the transaction wrote waits for it (MongoDB documents this)' },
    (gateway) =>
      withTransactionEnv(gateway, 'txn_takeover_waits', {}, async (env) => {
        await env.project.write('001-steal.ts', `export async function up({ db, session, log }) {
  await db.collection('marks').insertOne({ mark: 'before the takeover' }, { session });
  try {
    await db.collection('mongrate_lock').updateOne({ _id: 'mongrate' }, { $set: { owner: 'another-runner' } }, { maxTimeMS: 1000 });
    log('takeover: went through');
  } catch (error) {
    log('takeover: ' + (error.codeName ?? error.message));
  }
}
`);
        const result = await env.migrator.up();
        assert.equal(result.error, undefined, JSON.stringify(result.error));
        assert.ok(env.events.includes('log 001-steal: takeover: MaxTimeMSExpired'), env.events.join('\n'));
        assert.deepEqual(await marks(env), ['before the takeover']);
        assert.deepEqual((await states(env)), [['001-steal', 'applied']]);
      }),
  );
});

void describe('a lost lease', () => {
  venueIt('a lock taken over before the transaction touches it: LOCK_LOST, and nothing of the migration is written', { commands: true }, (gateway) =>
    withTransactionEnv(gateway, 'txn_taken_over', {}, async (env) => {
      await env.project.write('001-takeover.ts', `export const transaction = false;
export async function up({ db }) {
  // what another runner's takeover leaves: the lock document names someone else
  await db.collection('mongrate_lock').updateOne({ _id: 'mongrate' }, { $set: { owner: 'another-runner', host: 'elsewhere', expiresAt: new Date(Date.now() + 600000) } });
}
`);
      await env.project.write('002-after.ts', MARK_IN_TRANSACTION);
      const result = await env.migrator.up();
      assert.equal(result.error?.code, 'LOCK_LOST', JSON.stringify(result.error));
      assert.match(result.error.message, /002-after/);
      assert.deepEqual(result.steps.map((s) => s.status), ['success', 'failed']);
      assert.equal(await attempts(env), 0, '002-after never ran');
      assert.deepEqual((await states(env)), [['001-takeover', 'applied']]);
      const shim = shimOf(gateway);
      const touch = first(sent(shim), "002-after's touch of the lock", (c) => c.inTransaction && c.collection === 'mongrate_lock');
      assert.deepEqual(shim.transactionOf(touch).map(named), ['update mongrate_lock', 'find mongrate_lock', 'abortTransaction'], 'the touch found the lock taken, and read by whom');
      assert.match(result.error.message, /taken over by elsewhere/);
    }),
  );
});
