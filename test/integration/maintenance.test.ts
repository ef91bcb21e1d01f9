// Integration tests of the maintenance API (validate, repair, baseline), the integrity check of
// up(), dead `running` records, and transactions (where the server has them).
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { describe, it } from 'node:test';
import { exitCodeFor } from '../../src/cli/exit-codes.ts';
import { transactionSupportOf, type TransactionSupport } from '../../src/core/transactions.ts';
import { probeServer } from '../../src/server/capabilities.ts';
import { LOCK_ID } from '../../src/lock/mongo-lock-store.ts';
import { waysOut } from '../support/assertions.ts';
import { withTestDb } from '../support/database.ts';
import { failingMigration, markerMigration } from '../support/project.ts';
import {
  checksumOfFile,
  migrationPath,
  failsWithCode,
  stepSummary,
  SYNTAX_ERROR_SOURCE,
  withEnv,
  type Env,
} from '../support/migrator.ts';

const summary = (findings: { id: string; kind: string }[]): string[] => findings.map((f) => `${f.id}:${f.kind}`).sort();
const states = async (env: Env): Promise<string[]> => (await env.migrator.status()).migrations.map((m) => `${m.id}:${m.state}`);
const events = async (env: Env): Promise<string[]> => (await env.history()).map((h) => `${h.migrationId}:${h.event}`);
const lockDoc = (env: Env): Promise<unknown> => env.db.collection<{ _id: string }>('mongrate_lock').findOne({ _id: LOCK_ID });

void describe('migrator.validate()', () => {
  void it('is ok when applied files are unchanged and every file loads', () =>
    withEnv('val_clean', async (env) => {
      await env.project.write('001-a.ts', markerMigration('a'));
      await env.project.write('002-b.js', markerMigration('b'));
      await env.migrator.up();
      await env.project.write('003-c.ts', markerMigration('c'));
      assert.deepEqual(await env.migrator.validate(), { ok: true, findings: [] });
      assert.deepEqual(await env.marks(), ['a', 'b'], 'validate runs no migration');
    }));

  void it('reports applied migrations whose file changed or vanished', () =>
    withEnv('val_changed', async (env) => {
      await env.project.write('001-a.ts', markerMigration('a'));
      await env.project.write('002-b.ts', markerMigration('b'));
      await env.project.write('003-c.ts', markerMigration('c'));
      await env.migrator.up();
      await env.project.write('001-a.ts', markerMigration('a', { description: 'mark a, edited' }));
      await rm(migrationPath(env, '002-b.ts'));

      const result = await env.migrator.validate();
      assert.equal(result.ok, false);
      assert.deepEqual(summary(result.findings), ['001-a:changed', '002-b:missing']);
      for (const finding of result.findings) assert.ok(finding.message.includes(finding.id), finding.message);
    }));

  void it('reports a file without `up` and a file that does not parse', () =>
    withEnv('val_load', async (env) => {
      await env.project.write('001-a.ts', markerMigration('a'));
      await env.migrator.up();
      await env.project.write('002-noup.ts', "export const description = 'no up';\nexport async function down() {}\n");
      await env.project.write('003-broken.ts', SYNTAX_ERROR_SOURCE);
      await env.project.write('004-nothing.js', 'export const x = 1;\n');

      const result = await env.migrator.validate();
      assert.equal(result.ok, false);
      assert.deepEqual(summary(result.findings), ['002-noup:no-up', '003-broken:load-error', '004-nothing:no-up']);
      const broken = result.findings.find((f) => f.id === '003-broken');
      assert.match(broken?.message ?? '', /003-broken/);
      assert.deepEqual(await env.marks(), ['a']);
    }));

  void it('reports duplicate ids, without inventing "missing" findings or hiding the other files', () =>
    withEnv('val_dup', async (env) => {
      await env.project.write('002-b.ts', markerMigration('b'));
      await env.migrator.up();
      await env.project.write('001-a.ts', markerMigration('a'));
      await env.project.write('001-a.js', markerMigration('a'));
      await env.project.write('003-noup.ts', "export const description = 'no up';\n");

      const result = await env.migrator.validate();
      assert.equal(result.ok, false);
      const duplicate = result.findings.find((f) => f.kind === 'duplicate-id');
      assert.equal(duplicate?.id, '001-a');
      assert.match(duplicate.message, /001-a\.js/);
      assert.match(duplicate.message, /001-a\.ts/);
      assert.deepEqual(
        summary(result.findings),
        ['001-a:duplicate-id', '003-noup:no-up'],
        '002-b is applied and its file is unchanged; 003-noup is still checked',
      );
    }));
});

void describe('up() integrity check', () => {
  void it('refuses with CHECK_FAILED when an applied file changed; validate: false proceeds', () =>
    withEnv('check_changed', async (env) => {
      await env.project.write('001-a.ts', markerMigration('a'));
      await env.project.write('002-b.ts', markerMigration('b'));
      await env.migrator.up();
      const recorded = await env.changelog();
      await env.project.write('001-a.ts', markerMigration('a', { description: 'mark a, edited' }));
      await env.project.write('003-c.ts', markerMigration('c'));

      const error = await failsWithCode(env.migrator.up(), 'CHECK_FAILED');
      assert.equal(exitCodeFor(error.code), 4);
      assert.match(error.message, /001-a/);
      assert.deepEqual(waysOut(error), ['repair()', 'again(validate)']);
      assert.deepEqual(await env.marks(), ['a', 'b'], 'nothing ran');
      assert.deepEqual(await env.changelog(), recorded);
      assert.equal(await lockDoc(env), null, 'the lock was released');

      const result = await env.migrator.up({ validate: false });
      assert.equal(result.error, undefined);
      assert.deepEqual(stepSummary(result), ['003-c:up:success']);
      assert.deepEqual(await env.marks(), ['a', 'b', 'c']);
      assert.equal((await env.changelog())[0]?.checksum, recorded[0]?.checksum, 'the changed checksum is not silently accepted');
      assert.deepEqual(await states(env), ['001-a:changed', '002-b:applied', '003-c:applied']);
    }));

  void it('refuses with CHECK_FAILED when an applied file vanished; validate: false proceeds', () =>
    withEnv('check_missing', async (env) => {
      await env.project.write('001-a.ts', markerMigration('a'));
      await env.project.write('002-b.ts', markerMigration('b'));
      await env.migrator.up();
      await rm(migrationPath(env, '001-a.ts'));
      await env.project.write('003-c.ts', markerMigration('c'));

      const error = await failsWithCode(env.migrator.up(), 'CHECK_FAILED');
      assert.match(error.message, /001-a/);
      assert.deepEqual(await env.marks(), ['a', 'b']);

      const result = await env.migrator.up({ validate: false });
      assert.deepEqual(stepSummary(result), ['003-c:up:success']);
      assert.deepEqual(await states(env), ['001-a:missing', '002-b:applied', '003-c:applied']);
    }));
});

void describe('migrator.repair()', () => {
  void it('dry run lists the actions and changes nothing; repair forgets failed and missing records and re-records checksums', () =>
    withEnv('repair', async (env) => {
      await env.project.write('001-a.ts', markerMigration('a'));
      await env.project.write('002-gone.ts', markerMigration('gone'));
      await env.project.write('003-fail.js', failingMigration('boom'));
      const first = await env.migrator.up();
      assert.deepEqual(stepSummary(first), ['001-a:up:success', '002-gone:up:success', '003-fail:up:failed']);
      await env.project.write('001-a.ts', markerMigration('a', { description: 'mark a, edited' }));
      await rm(migrationPath(env, '002-gone.ts'));
      await env.project.write('003-fail.js', markerMigration('fixed'));

      const changelogBefore = await env.changelog();
      const historyBefore = await env.history();
      const dry = await env.migrator.repair({ dryRun: true });
      assert.equal(dry.dryRun, true);
      const actions = (result: typeof dry): string[] => result.actions.map((a) => `${a.id}:${a.action}`).sort();
      assert.deepEqual(actions(dry), ['001-a:rechecksum', '002-gone:forget-missing', '003-fail:forget-failed']);
      for (const action of dry.actions) assert.ok(action.detail.length > 0);
      assert.deepEqual(await env.changelog(), changelogBefore, 'a dry run changes no record');
      assert.deepEqual(await env.history(), historyBefore, 'a dry run appends no history');
      assert.equal(await lockDoc(env), null);

      const repaired = await env.migrator.repair();
      assert.equal(repaired.dryRun, false);
      assert.deepEqual(actions(repaired), actions(dry));
      const records = await env.changelog();
      assert.deepEqual(records.map((r) => `${r._id}:${r.state}`), ['001-a:applied']);
      assert.equal(records[0]?.checksum, await checksumOfFile(migrationPath(env, '001-a.ts')));
      assert.equal(records[0].description, 'mark a, edited');
      const history = await env.history();
      const repairs = history.slice(historyBefore.length);
      assert.deepEqual(repairs.map((h) => `${h.migrationId}:${h.event}`).sort(), ['001-a:repair', '002-gone:repair', '003-fail:repair']);
      assert.equal(await lockDoc(env), null, 'the lock was released');

      assert.deepEqual(await env.migrator.validate(), { ok: true, findings: [] });
      assert.deepEqual(await states(env), ['001-a:applied', '003-fail:pending']);
      assert.deepEqual((await env.migrator.repair()).actions, [], 'nothing left to repair');

      const result = await env.migrator.up();
      assert.equal(result.error, undefined);
      assert.deepEqual(stepSummary(result), ['003-fail:up:success']);
      assert.deepEqual(await env.marks(), ['a', 'fixed', 'gone', 'half-done']);
      assert.deepEqual(await states(env), ['001-a:applied', '003-fail:applied']);
    }));

  void it('a dead `running` record shows as failed and interrupted; up() refuses it unless retryFailed', () =>
    withEnv('dead_running', async (env) => {
      await env.project.write('001-a.ts', markerMigration('a'));
      await env.project.write('002-b.ts', markerMigration('b'));
      await env.project.write('003-c.ts', markerMigration('c'));
      await env.migrator.up({ to: '001-a' });
      // a runner that crashed while running 002-b: its record, no lock
      await env.db.collection<{ _id: string } & Record<string, unknown>>('mongrate_changelog').insertOne({
        _id: '002-b',
        state: 'running',
        checksum: await checksumOfFile(migrationPath(env, '002-b.ts')),
        description: 'mark b',
        startedAt: new Date(Date.now() - 60_000),
        runId: 'dead',
        host: 'crashed-host',
        pid: 999,
        toolVersion: '0.0.1',
      });
      assert.equal(await lockDoc(env), null);

      const status = await env.migrator.status();
      const dead = status.migrations.find((m) => m.id === '002-b');
      assert.ok(dead !== undefined);
      assert.equal(dead.state, 'failed');
      assert.equal(dead.interrupted, true);
      assert.match(dead.error ?? '', /crashed-host/);
      assert.deepEqual(await states(env), ['001-a:applied', '002-b:failed', '003-c:pending']);

      const refused = await failsWithCode(env.migrator.up(), 'MIGRATION_FAILED');
      assert.match(refused.message, /002-b/);
      assert.deepEqual(waysOut(refused), ['up(retryFailed)', 'repair()']);
      assert.deepEqual(await env.marks(), ['a']);

      const dry = await env.migrator.repair({ dryRun: true });
      assert.deepEqual(dry.actions.map((a) => `${a.id}:${a.action}`), ['002-b:forget-failed']);

      const result = await env.migrator.up({ retryFailed: true });
      assert.equal(result.error, undefined);
      assert.deepEqual(stepSummary(result), ['002-b:up:success', '003-c:up:success']);
      assert.deepEqual(await env.marks(), ['a', 'b', 'c']);
      const record = (await env.changelog()).find((r) => r._id === '002-b');
      assert.equal(record?.state, 'applied');
      assert.equal(record.runId, result.runId);
      assert.equal(record.host, hostname());
    }));
});

void describe('migrator.baseline()', () => {
  const writeFour = async (env: Env): Promise<void> => {
    for (const [index, mark] of ['a', 'b', 'c', 'd'].entries()) await env.project.write(`00${index + 1}.ts`, markerMigration(mark));
  };

  void it('records migrations up to the id as baseline without running them; up() then applies the rest', () =>
    withEnv('baseline', async (env) => {
      // an existing database, adopted by mongrate
      await env.db.collection('users').insertMany([{ name: 'ann' }, { name: 'bob' }]);
      await writeFour(env);

      const result = await env.migrator.baseline('002');
      assert.deepEqual(result, { baselined: ['001', '002'], skipped: [] });
      assert.deepEqual(await env.marks(), [], 'no migration ran');
      assert.equal(await env.db.collection('users').countDocuments(), 2);
      assert.equal(await lockDoc(env), null, 'the lock was released');

      const records = await env.changelog();
      assert.deepEqual(records.map((r) => `${r._id}:${r.state}`), ['001:baseline', '002:baseline']);
      for (const record of records) {
        assert.equal(record.checksum, await checksumOfFile(migrationPath(env, `${record._id}.ts`)));
        assert.ok(record.finishedAt instanceof Date);
        assert.equal(record.host, hostname());
      }
      assert.deepEqual(await events(env), ['001:baseline', '002:baseline']);
      assert.deepEqual(await states(env), ['001:baseline', '002:baseline', '003:pending', '004:pending']);

      const up = await env.migrator.up();
      assert.equal(up.error, undefined);
      assert.deepEqual(stepSummary(up), ['003:up:success', '004:up:success']);
      assert.deepEqual(await env.marks(), ['c', 'd']);
      assert.deepEqual(await states(env), ['001:baseline', '002:baseline', '003:applied', '004:applied']);
    }));

  void it('refuses an unknown id with USAGE and records nothing', () =>
    withEnv('baseline_unknown', async (env) => {
      await writeFour(env);
      const error = await failsWithCode(env.migrator.baseline('005'), 'USAGE');
      assert.match(error.message, /005/);
      assert.deepEqual(await env.changelog(), []);
      assert.deepEqual(await env.history(), []);
      assert.equal(await lockDoc(env), null);
    }));

  void it('skips migrations that already have a record', () =>
    withEnv('baseline_skip', async (env) => {
      await writeFour(env);
      const applied = await env.migrator.up({ to: '001' });
      const result = await env.migrator.baseline('003');
      assert.deepEqual(result, { baselined: ['002', '003'], skipped: ['001'] });
      const records = await env.changelog();
      assert.deepEqual(records.map((r) => `${r._id}:${r.state}`), ['001:applied', '002:baseline', '003:baseline']);
      assert.equal(records[0]?.runId, applied.runId, '001 was left as it was');
      assert.deepEqual(await events(env), ['001:up', '002:baseline', '003:baseline']);
      assert.deepEqual(await env.migrator.baseline('003'), { baselined: [], skipped: ['001', '002', '003'] });
      assert.deepEqual(await env.marks(), ['a']);
    }));
});

let probed: Promise<TransactionSupport> | undefined;
/** Whether the test server runs transactions, probed the way the migrator does, once per file. */
function transactionSupport(): Promise<TransactionSupport> {
  probed ??= withTestDb('txn_probe', async ({ db }) => transactionSupportOf(await probeServer(db)));
  return probed;
}

/** Records whether it ran in a transaction, with the session. */
const IN_TRANSACTION = `export async function up({ db, session }) {
  await db.collection('marks').insertOne({ mark: session !== undefined && session.inTransaction() ? 'a-in-txn' : 'a-no-txn' }, { session });
}
export async function down() {}
`;

/** Writes in its transaction, then fails. */
const FAILING_IN_TRANSACTION = `export async function up({ db, session }) {
  await db.collection('marks').insertOne({ mark: 'rolled-back' }, { session });
  throw new Error('boom in a transaction');
}
export async function down() {}
`;

/** Opts out of transactions, writes, then fails. */
const FAILING_OPTED_OUT = `import { defineMigration } from 'mongrate';
export default defineMigration({
  transaction: false,
  async up({ db, session }) {
    await db.collection('marks').insertOne({ mark: session === undefined ? 'partial' : 'partial-with-session' });
    throw new Error('boom without a transaction');
  },
  async down() {},
});
`;

void describe('transactions', () => {
  void it("transactions: 'always' on a server without them rejects CONFIG before anything runs", async (t) => {
    const support = await transactionSupport();
    if (support.supported) {
      t.skip("server supports transactions, so 'always' is satisfiable (covered by the tests below)");
      return;
    }
    await withEnv('txn_always', async (env) => {
      await env.project.write('001-a.ts', markerMigration('a'));
      await env.project.write('002-b.ts', markerMigration('b'));
      const migrator = env.newMigrator({ transactions: 'always' });
      const error = await failsWithCode(migrator.up(), 'CONFIG');
      assert.equal(exitCodeFor(error.code), 2);
      assert.match(error.message, /transactions/);
      assert.match(error.message, /always/);
      assert.ok(error.message.includes(support.reason), `names the reason: ${error.message}`);
      assert.deepEqual(await env.changelog(), []);
      assert.deepEqual(await env.history(), []);
      assert.deepEqual(await env.marks(), [], 'no side effects');
      assert.equal(await lockDoc(env), null, 'the lock was released');
      assert.deepEqual(await states(env), ['001-a:pending', '002-b:pending']);
    });
  });

  void it("transactions: 'always' on a server with them runs each migration in one", async (t) => {
    const support = await transactionSupport();
    if (!support.supported) {
      t.skip(`server lacks transactions: ${support.reason}`);
      return;
    }
    await withEnv('txn_always_ok', async (env) => {
      await env.db.createCollection('marks');
      await env.project.write('001-a.js', IN_TRANSACTION);
      const result = await env.newMigrator({ transactions: 'always' }).up();
      assert.equal(result.error, undefined);
      assert.deepEqual(await env.marks(), ['a-in-txn']);
      assert.deepEqual((await env.changelog()).map((r) => `${r._id}:${r.state}`), ['001-a:applied']);
    });
  });

  void it('a failing migration in a transaction leaves no writes, is failed (rolled back), and a plain up runs it again', async (t) => {
    const support = await transactionSupport();
    if (!support.supported) {
      t.skip(`server lacks transactions: ${support.reason}`);
      return;
    }
    await withEnv('txn_rollback', async (env) => {
      await env.db.createCollection('marks'); // older servers cannot create collections inside a transaction
      await env.project.write('001-a.js', IN_TRANSACTION);
      await env.project.write('002-fail.js', FAILING_IN_TRANSACTION);
      await env.project.write('003-c.ts', markerMigration('c'));

      const result = await env.migrator.up();
      assert.deepEqual(stepSummary(result), ['001-a:up:success', '002-fail:up:failed', '003-c:up:not-run']);
      assert.ok(result.error !== undefined);
      assert.equal(result.error.code, 'MIGRATION_FAILED');
      assert.match(result.error.message, /rolled back/);
      assert.deepEqual(await env.marks(), ['a-in-txn'], "002-fail's write was rolled back");
      const records = await env.changelog();
      assert.deepEqual(records.map((r) => `${r._id}:${r.state}`), ['001-a:applied', '002-fail:failed'], 'recorded outside the transaction');
      assert.equal(records[1]?.error?.rolledBack, true);
      assert.deepEqual(await events(env), ['001-a:up', '002-fail:failed']);
      assert.deepEqual(await states(env), ['001-a:applied', '002-fail:failed', '003-c:pending']);
      const again = await env.migrator.up();
      assert.deepEqual(stepSummary(again), ['002-fail:up:failed', '003-c:up:not-run'], 'a plain up runs it again: nothing of it was written');
    });
  });

  void it('a migration with transaction: false keeps its partial writes and is recorded failed', async (t) => {
    const support = await transactionSupport();
    if (!support.supported) {
      t.skip(`server lacks transactions: ${support.reason}`);
      return;
    }
    await withEnv('txn_optout', async (env) => {
      await env.project.write('001-fail.ts', FAILING_OPTED_OUT);
      const result = await env.migrator.up();
      assert.ok(result.error !== undefined);
      assert.equal(result.error.code, 'MIGRATION_FAILED');
      assert.doesNotMatch(result.error.message, /rolled back/);
      assert.deepEqual(await env.marks(), ['partial'], 'no session, and the write stayed');
      assert.deepEqual((await env.changelog()).map((r) => `${r._id}:${r.state}`), ['001-fail:failed']);
      assert.deepEqual(await states(env), ['001-fail:failed']);
    });
  });
});
