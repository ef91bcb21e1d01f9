// The transactional path of `up` and `down`, through the API: which commands the runner sends and
// in which order (the claim outside the transaction, the outcome inside it), what it records when
// a transaction fails, and what needs a real server (rollback, write locks). Each title says where
// it runs: through the transaction shim over FerretDB (commands only), or on a real replica set
// when MONGRATE_TEST_URI points at one.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import type { ChangelogRecord } from '../../src/changelog/contract.ts';
import { exitCodeFor } from '../../src/cli/exit-codes.ts';
import { createMigrator } from '../../src/index.ts';
import { testUri } from '../support/database.ts';
import type { SeenCommand, TransactionShim } from '../support/transaction-shim.ts';
import { venueIt } from '../support/transaction-venue.ts';
import {
  MARK_IN_TRANSACTION,
  attempts,
  changelog,
  events,
  first,
  history,
  marks,
  named,
  sent,
  shimOf,
  states,
  withTransactionEnv,
  writesTo,
  type TransactionEnv,
} from '../support/transaction-env.ts';

/** The claim and outcome of a record as the shim saw them: `[command, in a transaction]`. */
const changelogWrites = (commands: SeenCommand[]): [string, boolean][] => writesTo(commands, 'mongrate_changelog').map((c) => [named(c), c.inTransaction]);

void describe('a transactional up', () => {
  venueIt('claims its record outside the transaction, then runs the migration (its first command starts the transaction), marks it applied and commits, in that order; history after', { commands: true }, (gateway) =>
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
        ['insert marks', 'update mongrate_changelog', 'commitTransaction'],
        'the migration, then its outcome, then the commit: two commands of its own (the lock document is not part of it)',
      );
      assert.deepEqual(transaction.map((c) => c.startTransaction), [true, false, false], "the migration's first command starts it");
      assert.ok(transaction.every((c) => c.inTransaction && c.lsid && c.txnNumber), 'every command carries the transaction');
      const [outcomeFilter] = (transaction[1]?.command.updates ?? []) as { q: unknown }[];
      assert.deepEqual(outcomeFilter?.q, { _id: '001-mark', state: 'running', 'claim.runId': result.runId }, "the outcome matches this run's own claim only: the fence");
      assert.equal((transaction[2]?.command.writeConcern as { w?: unknown } | undefined)?.w, 'majority', 'committed by a majority');

      // claimed `running` outside the transaction (everyone sees it), applied inside it with its
      // history entry kept on the record; once the entry is in the history, it is cleared from the record
      assert.deepEqual(changelogWrites(commands), [['insert mongrate_changelog', false], ['update mongrate_changelog', true], ['update mongrate_changelog', false]]);
      const [outcome, cleared] = writesTo(commands, 'mongrate_changelog').slice(1);
      const [outcomeUpdate] = (outcome?.command.updates ?? []) as { u: { $set?: { pendingHistory?: { event?: string } } } }[];
      assert.equal(outcomeUpdate?.u.$set?.pendingHistory?.event, 'up', 'the outcome carries the history entry');
      const [clearUpdate] = (cleared?.command.updates ?? []) as { u: unknown }[];
      assert.deepEqual(clearUpdate?.u, { $unset: { pendingHistory: '' } }, 'the last changelog write only clears the kept entry');
      const claim = writesTo(commands, 'mongrate_changelog')[0];
      const [claimed] = (claim?.command.documents ?? []) as { _id: string; state: string; claim: { transaction?: boolean; runId: string } }[];
      assert.deepEqual([claimed?._id, claimed?.state, claimed?.claim.transaction, claimed?.claim.runId], ['001-mark', 'running', true, result.runId]);
      assert.ok(commands.indexOf(claim ?? mark) < commands.indexOf(transaction[0] ?? mark), 'claimed before the transaction starts');

      // the history entry follows the commit, outside the transaction
      const commit = transaction[2];
      assert.ok(commit !== undefined);
      const historyWrites = writesTo(commands, 'mongrate_history');
      assert.deepEqual(historyWrites.map((c) => [named(c), c.inTransaction]), [['insert mongrate_history', false]]);
      const historyWrite = historyWrites[0];
      assert.ok(historyWrite !== undefined && commands.indexOf(historyWrite) > commands.indexOf(commit), 'history after the commit');
      assert.ok(commands.indexOf(cleared ?? historyWrite) > commands.indexOf(historyWrite), 'cleared from the record only once it is in the history');

      // collections, indexes and the lock before anything carries a transaction (createIndexes
      // creates the history collection with its index)
      const firstInTransaction = commands.findIndex((c) => c.inTransaction);
      for (const what of ['create mongrate_changelog', 'createIndexes mongrate_history', 'insert mongrate_lock']) {
        const at = commands.findIndex((c) => named(c) === what);
        assert.ok(at >= 0 && at < firstInTransaction, `${what} (at ${at}) before the first command in a transaction (at ${firstInTransaction})`);
      }
      const release = first(commands, 'lock release', (c) => named(c) === 'delete mongrate_lock');
      assert.ok(commands.indexOf(release) > commands.indexOf(historyWrite), 'the lock is released last');

      assert.deepEqual(await marks(env), ['a']);
      const [record] = await changelog(env);
      assert.deepEqual([record?.state, record?.claim, record?.error], ['applied', undefined, undefined]);
      assert.deepEqual(await events(env), [['001-mark', 'up']]);
    }),
  );

  venueIt("is `running` (holder, since) to status and in another runner's view of the changelog while its transaction is open", {}, (gateway) =>
    withTransactionEnv(gateway, 'txn_running_visible', {}, async (env) => {
      const hook = Symbol.for(`mongrate-test:${env.db.databaseName}`);
      const store = globalThis as typeof globalThis & Record<symbol, () => Promise<string>>;
      // what another client sees while the migration's transaction is open
      const observer = createMigrator({ uri: testUri(), database: env.db.databaseName, migrationsDir: env.project.migrationsDir });
      // reads only (the scripted replica set shows another runner's up refused by the lock,
      // transactional-migrations.test.ts)
      store[hook] = async () => {
        const status = await observer.status();
        const record = await env.db.collection<ChangelogRecord>('mongrate_changelog').findOne({});
        const [m] = status.migrations;
        return JSON.stringify([m?.state, m?.direction, status.problems, record?.state, record?.claim?.transaction]);
      };
      await env.project.write('001-watched.ts', `export async function up({ db, log }) {
  await db.collection('marks').insertOne({ mark: 'in the transaction' });
  log(await globalThis[Symbol.for('mongrate-test:' + db.databaseName)]());
}
`);
      try {
        const result = await env.migrator.up();
        assert.equal(result.error, undefined, JSON.stringify(result.error));
        assert.deepEqual(env.events.filter((e) => e.startsWith('log')), [`log 001-watched: ${JSON.stringify(['running', 'up', 1, 'running', true])}`]);
        assert.deepEqual(await states(env), [['001-watched', 'applied']]);
      } finally {
        Reflect.deleteProperty(store, hook);
        await observer.close();
      }
    }),
  );

  venueIt('binds what the migration sends without a session to the transaction: every handle, cursor and bulk operation carries it', { commands: true }, (gateway) =>
    withTransactionEnv(gateway, 'txn_bound', {}, async (env) => {
      const shim = shimOf(gateway);
      await env.db.createCollection('audit');
      await env.project.write('001-no-session.ts', `import { defineMigration } from 'mongrate';
export default defineMigration({
  async up({ db, client, session }) {
    await db.collection('audit').insertOne({ step: 'no session' });
    await client.db(db.databaseName).collection('audit').updateOne({ step: 'no session' }, { $set: { through: 'client.db()' } });
    const bulk = db.collection('audit').initializeUnorderedBulkOp();
    bulk.insert({ step: 'bulk' });
    await bulk.execute();
    for await (const doc of db.collection('audit').find({}).batchSize(1)) void doc;
    await db.collection('audit').aggregate([{ $match: {} }]).toArray();
    await db.command({ find: 'audit', filter: {} });
    await db.collection('audit').insertOne({ step: 'own session option' }, { session });
  },
});
`);
      const result = await env.migrator.up();
      assert.equal(result.error, undefined, JSON.stringify(result.error));
      const commands = sent(shim).filter((c) => (c.collection === 'audit' || c.command.collection === 'audit') && c.name !== 'create');
      assert.deepEqual([...new Set(commands.map((c) => c.name))].sort(), ['aggregate', 'find', 'getMore', 'insert', 'update']);
      const opened = first(commands, "the transaction's first command", (c) => c.startTransaction);
      assert.equal(opened, commands[0], "the migration's first command starts its transaction");
      assert.ok(
        commands.every((c) => c.transaction !== undefined && c.transaction === opened.transaction),
        `every command in the migration's transaction:\n${commands.map((c) => `${c.name} ${String(c.transaction)}`).join('\n')}`,
      );
      assert.deepEqual((await env.db.collection('audit').find({}, { projection: { _id: 0 } }).toArray()).map((d) => d.step as string).sort(), ['bulk', 'no session', 'own session option']);
    }),
  );

  venueIt("refuses a session of the migration's own, naming `transaction: false`: nothing is written, and the failure shows as rolled back", {}, (gateway) =>
    withTransactionEnv(gateway, 'txn_own_session', {}, async (env) => {
      await env.project.write('001-own-session.ts', `export async function up({ client, db }) {
  const session = client.startSession();
  try {
    await db.collection('marks').insertOne({ mark: 'own' }, { session });
  } finally {
    await session.endSession();
  }
}
`);
      const result = await env.migrator.up();
      assert.equal(result.error?.code, 'MIGRATION_FAILED', JSON.stringify(result.error));
      assert.match(result.error.message, /client\.startSession\(\) inside a migration that runs in a transaction/);
      assert.match(result.error.message, /set `transaction: false` on this migration/);
      assert.deepEqual(await marks(env), []);
      const [record] = await changelog(env);
      assert.deepEqual([record?._id, record?.state, record?.error?.rolledBack, record?.claim?.transaction], ['001-own-session', 'failed', true, true]);
    }),
  );

  venueIt('a failure is recorded outside the transaction as `failed (rolled back)`: status shows it (a problem), and a plain up runs it again', {}, (gateway) =>
    withTransactionEnv(gateway, 'txn_failed_rolled_back', {}, async (env) => {
      await env.project.write('001-fails.ts', `export async function up({ db }) {
  await db.collection('marks').insertOne({ mark: 'first try' });
  throw new Error('boom after a write');
}
`);
      const result = await env.migrator.up();
      assert.equal(result.error?.code, 'MIGRATION_FAILED', JSON.stringify(result.error));
      assert.equal(result.error.message, 'migration 001-fails failed: boom after a write (rolled back: nothing of it was written)');
      assert.deepEqual(result.error.hints, [{ command: 'up', purpose: 'run it again once it is fixed' }]);
      const [record] = await changelog(env);
      assert.deepEqual([record?.state, record?.error], ['failed', { message: 'boom after a write', direction: 'up', rolledBack: true }]);
      assert.deepEqual((await history(env)).map((h) => [h.migrationId, h.event, h.direction, h.rolledBack, h.error?.message]), [['001-fails', 'failed', 'up', true, 'boom after a write']]);

      const status = await env.migrator.status();
      const [shown] = status.migrations;
      assert.deepEqual([shown?.state, shown?.rolledBack, shown?.interrupted, shown?.error], ['failed', true, false, 'boom after a write']);
      assert.ok(shown?.durationMs !== undefined);
      assert.equal(status.problems, 1, 'status --check fails until it has run');

      await env.project.write('001-fails.ts', `export async function up({ db }) {
  await db.collection('marks').insertOne({ mark: 'fixed' });
}
`);
      const again = await env.migrator.up();
      assert.equal(again.error, undefined, `no retryFailed needed: ${JSON.stringify(again.error)}`);
      assert.deepEqual(await states(env), [['001-fails', 'applied']]);
      if (gateway.real) assert.deepEqual(await marks(env), ['fixed'], 'the first attempt left nothing');
      assert.equal((await env.migrator.status()).problems, 0);
    }),
  );
});

void describe('a transactional down', () => {
  venueIt('marks the record running (down) outside, then reverts (its first command starts the transaction), deletes the record and commits; history after', { commands: true }, (gateway) =>
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
      assert.deepEqual(transaction.map(named), ['delete marks', 'delete mongrate_changelog', 'commitTransaction']);
      assert.deepEqual(changelogWrites(commands), [['update mongrate_changelog', false], ['delete mongrate_changelog', true]], 'marked running outside, deleted inside');
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

  venueIt('a down that fails inside its transaction leaves the migration applied (nothing reverted); history records the rolled-back attempt', {}, (gateway) =>
    withTransactionEnv(gateway, 'txn_down_fails', {}, async (env) => {
      await env.project.write('001-mark.ts', `export async function up({ db }) {
  await db.collection('marks').insertOne({ mark: 'a' });
}
export async function down({ db }) {
  await db.collection('marks').deleteOne({ mark: 'a' });
  throw new Error('cannot revert');
}
`);
      assert.equal((await env.migrator.up()).error, undefined);
      const [applied] = await changelog(env);

      const result = await env.migrator.down();
      assert.equal(result.error?.code, 'MIGRATION_FAILED', JSON.stringify(result.error));
      assert.equal(result.error.message, 'reverting 001-mark failed: cannot revert (rolled back: it is still applied)');
      assert.deepEqual(result.error.hints, [{ command: 'down', purpose: 'revert it again once it is fixed' }]);
      assert.deepEqual(await changelog(env), [applied], 'the record as it was before the down');
      if (gateway.real) assert.deepEqual(await marks(env), ['a'], 'nothing was reverted');
      assert.deepEqual((await history(env)).map((h) => [h.event, h.rolledBack]), [['up', undefined], ['failed', true]]);
      assert.equal((await history(env))[1]?.direction, 'down');
      const [shown] = (await env.migrator.status()).migrations;
      assert.deepEqual([shown?.state, shown?.rolledBack], ['applied', false]);
    }),
  );
});

void describe('the transaction probe', () => {
  const probeCommit = (shim: TransactionShim) => (c: SeenCommand): boolean =>
    c.name === 'commitTransaction' && shim.transactionOf(c).some((o) => o.collection === 'mongrate_transaction_probe');

  /** `up` fails with one of `codes` naming the probe, before the migration ran or anything was recorded. */
  async function refusesToRun(env: TransactionEnv, shim: TransactionShim, codes: string[]): Promise<void> {
    const { error } = await env.migrator.up();
    assert.ok(error !== undefined, 'up was refused');
    assert.ok(codes.includes(error.code), `${error.code}: ${error.message}`);
    assert.equal(exitCodeFor(error.code), 5);
    assert.match(error.message, /transactions/);
    assert.equal(attempts(shim), 0, 'the migration never ran');
    assert.deepEqual(await changelog(env), []);
  }

  venueIt('a probe whose commit loses the connection stops the command: it never runs without transactions instead', { commands: true }, (gateway) =>
    withTransactionEnv(gateway, 'txn_probe_network', {}, async (env) => {
      const shim = shimOf(gateway);
      await env.project.write('001-mark.ts', MARK_IN_TRANSACTION);
      shim.inject('network', probeCommit(shim), Infinity);
      await refusesToRun(env, shim, ['UNREACHABLE', 'SERVER_PROBE_FAILED']);
    }),
  );

  venueIt('a probe whose commit fails with a server error that is not "no transactions here" stops the command (SERVER_PROBE_FAILED)', { commands: true }, (gateway) =>
    withTransactionEnv(gateway, 'txn_probe_error', {}, async (env) => {
      const shim = shimOf(gateway);
      await env.project.write('001-mark.ts', MARK_IN_TRANSACTION);
      shim.inject('unknown-commit-result', probeCommit(shim), Infinity);
      await refusesToRun(env, shim, ['SERVER_PROBE_FAILED']);
    }),
  );
});

void describe('what only a real server shows', () => {
  venueIt('a failed transactional migration leaves nothing behind but its rolled-back record and history entry', { realServer: "that the migration's writes were rolled back" }, (gateway) =>
    withTransactionEnv(gateway, 'txn_rollback', {}, async (env) => {
      await env.project.write('001-fails.ts', `export async function up({ db, session }) {
  await db.collection('marks').insertOne({ mark: 'half-done' }, { session });
  await db.collection('marks').insertOne({ mark: 'no session' });
  throw new Error('boom after a write');
}
`);
      const result = await env.migrator.up();
      assert.equal(result.error?.code, 'MIGRATION_FAILED');
      assert.match(result.error.message, /boom after a write.*rolled back/);
      assert.deepEqual(await marks(env), [], 'both writes rolled back, the one without a session too');
      assert.deepEqual(await states(env), [['001-fails', 'failed']]);
      assert.deepEqual(await events(env), [['001-fails', 'failed']]);
    }),
  );

  venueIt(
    'a swallowed duplicate key aborts the transaction on the server: the run fails naming it, once, instead of retrying blindly',
    { abortsOnError: 'that the next command gets NoSuchTransaction' },
    (gateway) =>
      withTransactionEnv(gateway, 'txn_swallowed_dup', {}, async (env) => {
        await env.db.collection('marks').insertOne({ _id: 1 as never, mark: 'there before' });
        await env.project.write('001-dup.ts', `export async function up({ db, log }) {
  log('attempt');
  try {
    await db.collection('marks').insertOne({ _id: 1, mark: 'again' });
  } catch (error) {
    log('swallowed ' + error.code);
  }
  await db.collection('marks').insertOne({ mark: 'after' });
}
`);
        const result = await env.migrator.up();
        assert.equal(result.error?.code, 'MIGRATION_FAILED', JSON.stringify(result.error));
        assert.match(result.error.message, /^migration 001-dup failed: an error inside the transaction aborted it: E11000 duplicate key/);
        assert.deepEqual(env.events.filter((e) => e === 'log 001-dup: attempt'), ['log 001-dup: attempt'], 'run once');
        assert.deepEqual(await marks(env), ['there before']);
        assert.deepEqual(await states(env), [['001-dup', 'failed']]);
      }),
  );
});

/** Installs `fn` where a migration of this test's database calls it (the migrator runs in this process); returns its removal. */
function hookFor(env: TransactionEnv, fn: () => Promise<void>): () => void {
  const hook = Symbol.for(`mongrate-test:${env.db.databaseName}`);
  const store = globalThis as typeof globalThis & Record<symbol, () => Promise<void>>;
  store[hook] = fn;
  return () => Reflect.deleteProperty(store, hook);
}

/** What another runner's takeover leaves on the lock document: its own live lease. */
const takeLockOver = (env: TransactionEnv): Promise<unknown> =>
  env.db.collection('mongrate_lock').updateOne({ _id: 'mongrate' as never }, { $set: { owner: 'another-runner', host: 'elsewhere', expiresAt: new Date(Date.now() + 600_000) } });

/** 002-after: a mark in its transaction, then the test's hook (another runner, from another client), then `lingerMs` in the transaction. */
const AFTER_HOOK = (lingerMs: number): string => `export async function up({ db }) {
  await db.collection('marks').insertOne({ mark: 'b' });
  await globalThis[Symbol.for('mongrate-test:' + db.databaseName)]();
  await new Promise((resolve) => setTimeout(resolve, ${lingerMs}));
}
`;

/** The last mark a migration inserted in a transaction. */
const lastMark = (shim: TransactionShim): SeenCommand => {
  const mark = sent(shim).filter((c) => c.inTransaction && c.collection === 'marks').at(-1);
  assert.ok(mark !== undefined, 'a mark was inserted in a transaction');
  return mark;
};

void describe('a lost lease', () => {
  venueIt('a lock taken over while the transaction is open: the heartbeat, which goes on meanwhile, finds it; LOCK_LOST at the fence, nothing of the migration committed, its claim shows as rolled back', { commands: true }, (gateway) =>
    withTransactionEnv(gateway, 'txn_taken_over', { lock: { ttlSeconds: 3 } }, async (env) => {
      await env.project.write('001-mark.ts', MARK_IN_TRANSACTION);
      // past two heartbeats (every 1 s): the first one after the takeover finds the lock taken
      await env.project.write('002-after.ts', AFTER_HOOK(2500));
      const unhook = hookFor(env, async () => {
        await takeLockOver(env);
      });
      const result = await env.migrator.up().finally(unhook);
      assert.equal(result.error?.code, 'LOCK_LOST', JSON.stringify(result.error));
      assert.match(result.error.message, /002-after/);
      assert.match(result.error.message, /taken over by elsewhere/);
      assert.deepEqual(result.steps.map((s) => s.status), ['success', 'failed']);
      const shim = shimOf(gateway);
      const mark = lastMark(shim);
      assert.deepEqual(shim.transactionOf(mark).map(named), ['insert marks', 'abortTransaction'], 'no outcome written, no commit');
      if (gateway.real) assert.deepEqual(await marks(env), ['a'], 'nothing of 002-after landed');
      // the claim stays for whoever holds the lock next: a transaction left it, so nothing of it ran
      assert.deepEqual(await states(env), [['001-mark', 'applied'], ['002-after', 'running']]);
      await env.db.collection('mongrate_lock').deleteMany({});
      const [, after] = (await env.migrator.status()).migrations;
      assert.deepEqual([after?.state, after?.interrupted, after?.rolledBack], ['failed', true, true]);
      assert.match(after?.error ?? '', /^interrupted: its runner \(.+\) is gone; its transaction was rolled back, nothing was applied$/);
    }),
  );

  venueIt(
    "another runner took the lock over and re-claimed the record while the transaction was open (this run does not know yet): its outcome, conditional on this run's claim, matches nothing or conflicts; LOCK_LOST, nothing committed",
    { commands: true },
    (gateway) =>
      withTransactionEnv(gateway, 'txn_reclaimed', {}, async (env) => {
        await env.project.write('001-mark.ts', MARK_IN_TRANSACTION);
        await env.project.write('002-after.ts', AFTER_HOOK(0));
        // the new holder's re-claim, as its claimUp writes it: conditional on the record still being the dead run's claim
        const unhook = hookFor(env, async () => {
          await takeLockOver(env);
          const reclaimed = await env.db
            .collection<ChangelogRecord>('mongrate_changelog')
            .updateOne({ _id: '002-after', state: 'running' }, { $set: { 'claim.runId': 'another-runner', runId: 'another-runner' } });
          assert.equal(reclaimed.modifiedCount, 1, 're-claimed');
        });
        const result = await env.migrator.up().finally(unhook);
        assert.equal(result.error?.code, 'LOCK_LOST', JSON.stringify(result.error));
        assert.equal(
          result.error.message,
          "stopped 002-after: lost the lock (002-after ran to the end in its transaction, but the changelog record of 002-after no longer carries this run's claim (another runner took the lock and the record over); nothing more was recorded); its transaction was rolled back",
        );
        assert.deepEqual(result.steps.map((s) => s.status), ['success', 'failed']);
        const shim = shimOf(gateway);
        const transaction = shim.transactionOf(lastMark(shim)).map(named);
        assert.deepEqual(transaction.slice(0, 2), ['insert marks', 'update mongrate_changelog'], 'the outcome was sent in the transaction');
        assert.ok(!transaction.includes('commitTransaction'), `never committed: ${transaction.join(', ')}`);
        if (gateway.real) assert.deepEqual(await marks(env), ['a'], 'nothing of 002-after landed');
        const records = await changelog(env);
        assert.deepEqual(records.map((r) => [r._id, r.state, r.claim?.runId]), [['001-mark', 'applied', undefined], ['002-after', 'running', 'another-runner']], "the new holder's claim stands");
      }),
  );
});
