// `transactionDocumentLimit` and DDL inside a transaction, through the API: a helper whose work
// does not fit a transaction writes nothing and throws TransactionLimitError; under `auto` the
// runner rolls the migration back and runs it again outside a transaction (and warns), under
// `always` the migration fails naming the limit. Each title says where it runs.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { venueIt } from '../support/transaction-venue.ts';
import { changelog, named, seedUsers, sent, shimOf, states, versions, withTransactionEnv, writesTo, type TransactionEnv } from '../support/transaction-env.ts';

const BUMP = `import { defineMigration } from 'mongrate';
export default defineMigration({
  description: 'users to schema version 2',
  async up({ helpers }) {
    await helpers.bumpSchemaVersion('users', { to: 2 });
  },
});
`;

const INDEX = `import { defineMigration } from 'mongrate';
export default defineMigration({
  description: 'an index on users.email',
  async up({ helpers }) {
    await helpers.ensureIndexes('users', [{ key: { email: 1 }, name: 'email_1' }]);
  },
});
`;

const LIMIT = { transactionDocumentLimit: 10 };

/** `[id, state, rolled back]` of every changelog record. */
const rolledBack = async (env: TransactionEnv): Promise<[string, string, boolean][]> =>
  (await changelog(env)).map((r) => [r._id, r.state, r.error?.rolledBack === true]);

const indexNames = async (env: { db: import('mongodb').Db }): Promise<string[]> =>
  (await env.db.collection('users').indexes()).map((index) => String(index.name)).sort();

void describe('transactionDocumentLimit', () => {
  venueIt("auto: a helper over the limit rolls the migration back and runs it again outside a transaction, saying so", { commands: true }, (gateway) =>
    withTransactionEnv(gateway, 'txn_limit_auto', { ...LIMIT, transactions: 'auto' }, async (env) => {
      const shim = shimOf(gateway);
      await seedUsers(env.db, 30);
      await env.project.write('001-bump.ts', BUMP);

      const result = await env.migrator.up();
      assert.equal(result.error, undefined, JSON.stringify(result.error));
      assert.deepEqual(result.steps.map((s) => [s.id, s.status, s.transaction === true]), [['001-bump', 'success', false]]);
      const warnings = env.events.filter((e) => e.startsWith('warning'));
      assert.equal(warnings.length, 1, env.events.join('\n'));
      assert.match(warnings[0] ?? '', /bumpSchemaVersion\(users\)/);
      assert.match(warnings[0] ?? '', /30 documents/);
      assert.match(warnings[0] ?? '', /transactionDocumentLimit \(10\)/);
      assert.match(warnings[0] ?? '', /again outside a transaction/);
      assert.deepEqual(result.warnings, [warnings[0]?.replace(/^warning 001-bump: /, '')]);
      assert.deepEqual(env.events.filter((e) => /^migrat/.test(e)), ['migrating 001-bump up', 'migrated 001-bump up'], 'one step, once');
      const logs = env.events.filter((e) => e.startsWith('log'));
      assert.ok(logs.length <= 1, `the refused attempt's log lines are dropped; the rerun's appear once: ${logs.join('; ')}`);
      assert.deepEqual(await versions(env.db), { 2: 30 });
      assert.deepEqual(await states(env), [['001-bump', 'applied']]);

      const commands = sent(shim);
      const userWrites = writesTo(commands, 'users');
      assert.ok(userWrites.length > 0 && userWrites.every((c) => !c.inTransaction), 'the helper wrote only outside a transaction');
      const counted = commands.find((c) => c.inTransaction && c.collection === 'users');
      assert.ok(counted !== undefined, 'inside the transaction the helper only counted');
      assert.equal(shim.transactionOf(counted).map(named).at(-1), 'abortTransaction');
      assert.ok(writesTo(commands, 'mongrate_changelog').every((c) => !c.inTransaction), 'recorded by the run outside: claimed, then applied');
    }),
  );

  venueIt(
    "auto: the rerun outside starts from nothing: the first attempt's own writes were rolled back",
    { realServer: "that the write made in the transaction before the helper refused was rolled back" },
    (gateway) =>
      withTransactionEnv(gateway, 'txn_limit_rollback', { ...LIMIT, transactions: 'auto' }, async (env) => {
        await seedUsers(env.db, 30);
        await env.project.write('001-bump.ts', `export async function up({ db, session, helpers }) {
  await db.collection('marks').insertOne({ mark: 'before the helper' }, { session });
  await helpers.bumpSchemaVersion('users', { to: 2 });
}
`);
        const result = await env.migrator.up();
        assert.equal(result.error, undefined, JSON.stringify(result.error));
        assert.equal(await env.db.collection('marks').countDocuments(), 1, 'written once: by the rerun');
        assert.deepEqual(await versions(env.db), { 2: 30 });
      }),
  );

  venueIt("always: a helper over the limit fails the migration naming the limit, and writes nothing", {}, (gateway) =>
    withTransactionEnv(gateway, 'txn_limit_always', { ...LIMIT, transactions: 'always' }, async (env) => {
      await seedUsers(env.db, 30);
      await env.project.write('001-bump.ts', BUMP);

      const result = await env.migrator.up();
      assert.equal(result.error?.code, 'TRANSACTION_LIMIT', JSON.stringify(result.error));
      assert.match(result.error.message, /bumpSchemaVersion\(users\)/);
      assert.match(result.error.message, /transactionDocumentLimit \(10\)/);
      assert.match(result.error.message, /Raise transactionDocumentLimit, set `transaction: false` on this migration, or use transactions: 'auto'$/);
      assert.deepEqual(result.steps.map((s) => s.status), ['failed']);
      assert.deepEqual(await versions(env.db), { 1: 30 }, 'nothing written by the helper');
      assert.deepEqual(await rolledBack(env), [['001-bump', 'failed', true]]);
      if (gateway.shim !== undefined) assert.deepEqual(writesTo(sent(gateway.shim), 'users'), [], 'not even inside the transaction');
    }),
  );

  venueIt('auto: within the limit the helper runs inside the transaction', { commands: true }, (gateway) =>
    withTransactionEnv(gateway, 'txn_limit_fits', { ...LIMIT, transactions: 'auto' }, async (env) => {
      const shim = shimOf(gateway);
      await seedUsers(env.db, 8);
      await env.project.write('001-bump.ts', BUMP);

      const result = await env.migrator.up();
      assert.equal(result.error, undefined, JSON.stringify(result.error));
      assert.equal(result.steps[0]?.transaction, true);
      assert.deepEqual(env.events.filter((e) => e.startsWith('warning')), []);
      assert.deepEqual(await versions(env.db), { 2: 8 });
      const userWrites = writesTo(sent(shim), 'users');
      assert.ok(userWrites.length > 0 && userWrites.every((c) => c.inTransaction));
    }),
  );
});

void describe('collection and index changes inside a transaction', () => {
  venueIt('auto: ensureIndexes in a transaction makes the runner roll back and run the migration outside one', { commands: true }, (gateway) =>
    withTransactionEnv(gateway, 'txn_ddl_auto', { transactions: 'auto' }, async (env) => {
      const shim = shimOf(gateway);
      await seedUsers(env.db, 3);
      await env.project.write('001-index.ts', INDEX);

      const result = await env.migrator.up();
      assert.equal(result.error, undefined, JSON.stringify(result.error));
      assert.equal(result.steps[0]?.transaction === true, false);
      const warnings = env.events.filter((e) => e.startsWith('warning'));
      assert.equal(warnings.length, 1, env.events.join('\n'));
      assert.match(warnings[0] ?? '', /ensureIndexes\(users\)/);
      assert.match(warnings[0] ?? '', /again outside a transaction/);
      assert.deepEqual(await indexNames(env), ['_id_', 'email_1']);
      const builds = sent(shim).filter((c) => c.name === 'createIndexes' && c.collection === 'users');
      assert.deepEqual(builds.map((c) => c.inTransaction), [false], 'built once, outside a transaction');
      assert.deepEqual(await states(env), [['001-index', 'applied']]);
    }),
  );

  venueIt('always: ensureIndexes in a transaction fails the migration, naming why', {}, (gateway) =>
    withTransactionEnv(gateway, 'txn_ddl_always', { transactions: 'always' }, async (env) => {
      await seedUsers(env.db, 3);
      await env.project.write('001-index.ts', INDEX);

      const result = await env.migrator.up();
      assert.equal(result.error?.code, 'TRANSACTION_LIMIT', JSON.stringify(result.error));
      assert.match(result.error.message, /ensureIndexes\(users\) cannot run inside a transaction/);
      assert.match(result.error.message, /Set `transaction: false` on this migration, or use transactions: 'auto'$/);
      assert.doesNotMatch(result.error.message, /Raise transactionDocumentLimit/, 'a larger limit would not help');
      assert.deepEqual(await indexNames(env), ['_id_']);
      assert.deepEqual(await rolledBack(env), [['001-index', 'failed', true]]);
    }),
  );
});

const SWALLOWS_THE_LIMIT = `import { defineMigration } from 'mongrate';
export default defineMigration({
  async up({ helpers, log }) {
    try {
      await helpers.bumpSchemaVersion('users', { to: 2 });
    } catch (error) {
      log('swallowed ' + error.name);
    }
  },
});
`;

void describe('what a migration cannot hide from the runner', () => {
  venueIt('auto: a TransactionLimitError the migration swallowed still ends the attempt: run again outside a transaction, everything bumped', { commands: true }, (gateway) =>
    withTransactionEnv(gateway, 'txn_swallow_auto', { ...LIMIT, transactions: 'auto' }, async (env) => {
      const shim = shimOf(gateway);
      await seedUsers(env.db, 30);
      await env.project.write('001-swallow.ts', SWALLOWS_THE_LIMIT);

      const result = await env.migrator.up();
      assert.equal(result.error, undefined, JSON.stringify(result.error));
      assert.equal(result.steps[0]?.transaction === true, false, 'not committed in the transaction');
      assert.match(env.events.find((e) => e.startsWith('warning')) ?? '', /bumpSchemaVersion\(users\) cannot run inside a transaction: .*; rolled back, running it again outside a transaction/);
      assert.deepEqual(await versions(env.db), { 2: 30 }, 'the rerun bumped every document');
      assert.deepEqual(await states(env), [['001-swallow', 'applied']]);
      const commits = sent(shim).filter((c) => c.name === 'commitTransaction' && shim.transactionOf(c).some((o) => o.collection === 'users'));
      assert.deepEqual(commits, [], 'the poisoned attempt never committed');
    }),
  );

  venueIt('always: a TransactionLimitError the migration swallowed fails the migration: it never records applied with nothing bumped', {}, (gateway) =>
    withTransactionEnv(gateway, 'txn_swallow_always', { ...LIMIT, transactions: 'always' }, async (env) => {
      await seedUsers(env.db, 30);
      await env.project.write('001-swallow.ts', SWALLOWS_THE_LIMIT);

      const result = await env.migrator.up();
      assert.equal(result.error?.code, 'TRANSACTION_LIMIT', JSON.stringify(result.error));
      assert.match(result.error.message, /transactionDocumentLimit \(10\)/);
      assert.deepEqual(await versions(env.db), { 1: 30 });
      assert.deepEqual(await rolledBack(env), [['001-swallow', 'failed', true]]);
    }),
  );

  for (const mode of ['auto', 'always'] as const) {
    venueIt(
      `${mode}: OperationNotSupportedInTransaction (createIndex on an existing collection), even caught, ${mode === 'auto' ? 'runs the migration again outside a transaction, saying why' : 'fails naming `transaction: false`'}`,
      { commands: true },
      (gateway) =>
        withTransactionEnv(gateway, `txn_263_${mode}`, { transactions: mode }, async (env) => {
          const shim = shimOf(gateway);
          await seedUsers(env.db, 3);
          await env.project.write('001-index.ts', `export async function up({ db, log }) {
  try {
    await db.collection('users').createIndex({ email: 1 });
  } catch (error) {
    log('caught ' + error.name);
  }
  await db.collection('users').updateMany({}, { $set: { indexed: true } });
}
`);
          // what MongoDB answers (the shim's server builds the index happily)
          shim.inject('not-in-transaction', (c) => c.inTransaction && c.name === 'createIndexes' && c.collection === 'users', Infinity);
          const result = await env.migrator.up();
          const inTransaction = sent(shim).filter((c) => c.inTransaction && c.collection === 'users');
          assert.deepEqual(inTransaction.map(named), ['createIndexes users'], 'after the refusal nothing more of the attempt was sent');
          if (mode === 'auto') {
            assert.equal(result.error, undefined, JSON.stringify(result.error));
            const warning = env.events.find((e) => e.startsWith('warning')) ?? '';
            assert.match(warning, /users\.createIndex cannot run inside a transaction: the server refused it \(OperationNotSupportedInTransaction: .*\); rolled back, running it again outside a transaction/);
            assert.deepEqual(await indexNames(env), ['_id_', 'email_1']);
            assert.equal(await env.db.collection('users').countDocuments({ indexed: true }), 3);
            assert.deepEqual(await states(env), [['001-index', 'applied']]);
          } else {
            assert.equal(result.error?.code, 'TRANSACTION_LIMIT', JSON.stringify(result.error));
            assert.match(result.error.message, /users\.createIndex cannot run inside a transaction/);
            assert.match(result.error.message, /Set `transaction: false` on this migration, or use transactions: 'auto'$/);
            assert.deepEqual(await rolledBack(env), [['001-index', 'failed', true]]);
          }
        }),
    );
  }

  venueIt('a change stream inside a transaction is refused like an index change: auto runs the migration outside one', {}, (gateway) =>
    withTransactionEnv(gateway, 'txn_watch', { transactions: 'auto' }, async (env) => {
      await env.project.write('001-watch.ts', `export async function up({ db, session, log }) {
  const stream = db.collection('users').watch();
  await stream.close();
  log(session === undefined ? 'outside' : 'inside');
}
`);
      const result = await env.migrator.up();
      assert.equal(result.error, undefined, JSON.stringify(result.error));
      assert.match(env.events.find((e) => e.startsWith('warning')) ?? '', /users\.watch cannot run inside a transaction: it cannot be part of a transaction/);
      assert.deepEqual(env.events.filter((e) => e.startsWith('log')), ['log 001-watch: outside']);
    }),
  );
});
