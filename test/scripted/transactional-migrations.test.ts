// Migrations in transactions on a replica set, as the scripted replica set shows them (MongoDB's
// semantics: an error inside a transaction aborts it, a transaction outliving its lifetime is
// aborted, a write outside waits for the transaction holding its document): how each scripted
// failure ends, what is sent inside and outside the transaction, what `status` and another runner
// see, and what a runner killed mid-transaction leaves behind.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Document, MongoClient } from 'mongodb';
import { createMigrator, type InlineMigration, type Migrator, type MongrateConfig, type RunResult } from '../../src/index.ts';
import { startCli, waitFor } from '../support/cli.ts';
import { createProject } from '../support/project.ts';
import type { RecordedCommand, ScriptedReplicaSet } from '../support/scripted-replica-set/index.ts';
import { scriptedSet } from './fixtures.ts';

interface Run {
  result: RunResult;
  /** `<event> <id>: <detail>` of the warnings and logs the migrator emitted. */
  events: string[];
}

/** A migrator on the set's `app` database, closed when the test ends. */
function migratorOn(t: TestContext, rs: ScriptedReplicaSet, migrations: InlineMigration[], config: Partial<MongrateConfig> = {}): Migrator {
  const migrator = createMigrator({ uri: rs.uri, database: 'app', migrations, ...config });
  t.after(() => migrator.close());
  return migrator;
}

async function up(migrator: Migrator): Promise<Run> {
  const events: string[] = [];
  const onWarning = ({ id, message }: { id: string | undefined; message: string }): void => void events.push(`warning ${id ?? '-'}: ${message}`);
  const onLog = ({ id, message }: { id: string; message: string }): void => void events.push(`log ${id}: ${message}`);
  migrator.on('warning', onWarning);
  migrator.on('log', onLog);
  try {
    return { result: await migrator.up(), events };
  } finally {
    migrator.off('warning', onWarning);
    migrator.off('log', onLog);
  }
}

const app = (client: MongoClient): ReturnType<MongoClient['db']> => client.db('app');
const states = async (client: MongoClient): Promise<string[][]> =>
  (await app(client).collection<{ _id: string; state: string }>('mongrate_changelog').find({}).sort({ _id: 1 }).toArray()).map((r) => [r._id, r.state]);
const marks = async (client: MongoClient): Promise<string[]> => (await app(client).collection<{ mark: string }>('marks').find({}).toArray()).map((m) => m.mark).sort();

/** The transactions (ids) in which the migration inserted marks, in order. */
const markTransactions = (rs: ScriptedReplicaSet): string[] => [...new Set(rs.recorded({ name: 'insert', collection: 'marks', inTransaction: true }).map((c) => c.transaction ?? ''))];
const ended = (rs: ScriptedReplicaSet, transaction: string, name: 'commitTransaction' | 'abortTransaction'): RecordedCommand[] => rs.recorded({ name, when: (c) => c.transaction === transaction });

const MARK: InlineMigration = {
  id: '001-mark',
  async up({ db }) {
    await db.collection('marks').insertOne({ mark: 'a' });
  },
};

void describe('a migration in a transaction on a replica set (scripted)', () => {
  void it("binds a write sent without a session to the migration's transaction, which commits it with the record", async (t) => {
    const { rs, client } = await scriptedSet(t);
    const run = await up(migratorOn(t, rs, [MARK]));
    assert.equal(run.result.error, undefined, JSON.stringify(run.result.error));
    const [insert] = rs.recorded({ name: 'insert', collection: 'marks' });
    assert.ok(insert?.inTransaction === true, 'the insert carried the transaction');
    assert.deepEqual(rs.recorded({ collection: 'mongrate_lock', inTransaction: true }), [], 'the lock document is not part of it');
    const [outcome] = rs.recorded({ name: 'update', collection: 'mongrate_changelog', inTransaction: true });
    assert.equal(outcome?.transaction, insert.transaction, 'the same transaction as the outcome');
    const inIt = rs.recorded({ when: (c) => c.transaction === insert.transaction });
    assert.deepEqual(inIt.map((c) => `${c.name} ${c.collection ?? ''}`.trim()), ['insert marks', 'update mongrate_changelog', 'commitTransaction'], 'two commands of its own');
    const commits = ended(rs, insert.transaction ?? '', 'commitTransaction');
    assert.equal(commits.length, 1);
    assert.equal(commits[0]?.writeConcern?.w, 'majority', 'committed by a majority');
    assert.deepEqual(await marks(client), ['a']);
    assert.deepEqual(await states(client), [['001-mark', 'applied']]);
  });

  void it('TransientTransactionError: the whole transaction runs again, and its write lands once', async (t) => {
    const { rs, client } = await scriptedSet(t);
    rs.script({ name: 'insert', collection: 'marks', inTransaction: true }, { code: 112, codeName: 'WriteConflict', errorLabels: ['TransientTransactionError'] });
    const run = await up(migratorOn(t, rs, [MARK]));
    assert.equal(run.result.error, undefined, JSON.stringify(run.result.error));
    const [first, second] = markTransactions(rs);
    assert.ok(first !== undefined && second !== undefined && first !== second, 'two attempts');
    assert.equal(ended(rs, first, 'abortTransaction').length, 1, 'the first aborted');
    assert.equal(ended(rs, second, 'commitTransaction').length, 1, 'the second committed');
    assert.deepEqual(await marks(client), ['a']);
  });

  void it('a write conflict without the TransientTransactionError label (as DocumentDB answers it) runs the transaction again too', async (t) => {
    const { rs, client } = await scriptedSet(t);
    rs.script({ name: 'insert', collection: 'marks', inTransaction: true }, { code: 112, codeName: 'WriteConflict' });
    const run = await up(
      migratorOn(t, rs, [
        {
          id: '001-mark',
          async up({ db, session }) {
            await db.collection('marks').insertOne({ mark: 'a' }, { session });
          },
        },
      ]),
    );
    assert.equal(run.result.error, undefined, JSON.stringify(run.result.error));
    assert.equal(markTransactions(rs).length, 2);
    assert.deepEqual(await marks(client), ['a']);
  });

  void it('UnknownTransactionCommitResult: the commit (with w: majority) is sent again, the migration is not', async (t) => {
    const { rs, client } = await scriptedSet(t);
    rs.script(
      { name: 'commitTransaction', when: (c) => markTransactions(rs).includes(c.transaction ?? '') },
      { writeConcernError: { code: 64, codeName: 'WriteConcernFailed', errmsg: 'waiting for replication timed out', errInfo: { wtimeout: true } } },
    );
    const run = await up(migratorOn(t, rs, [MARK]));
    assert.equal(run.result.error, undefined, JSON.stringify(run.result.error));
    const [only] = markTransactions(rs);
    assert.equal(markTransactions(rs).length, 1, 'one attempt');
    const commits = ended(rs, only ?? '', 'commitTransaction');
    assert.equal(commits.length, 2, 'committed again');
    assert.ok(commits.every((c) => c.writeConcern?.w === 'majority'), JSON.stringify(commits.map((c) => c.writeConcern)));
    assert.deepEqual(await marks(client), ['a']);
    assert.deepEqual(await states(client), [['001-mark', 'applied']]);
  });

  for (const mode of ['auto', 'always'] as const) {
    void it(`NoSuchTransaction after the lifetime limit (a statement in flight crossed it): ${mode === 'auto' ? 'run again outside a transaction (batched, resumable), saying so' : 'fails naming the limit and `transaction: false`'}`, async (t) => {
      const { rs, client } = await scriptedSet(t);
      rs.transactionLifetimeLimitSeconds = 1;
      // sent in time, answered after the server's 1 s: by then it aborted the transaction
      rs.script({ name: 'insert', collection: 'marks', inTransaction: true }, { delayMs: 900 });
      const slow: InlineMigration = {
        id: '001-slow',
        async up({ db, session }) {
          // a first statement opens the transaction on the server, whose clock starts then
          if (session !== undefined) await db.collection('marks').findOne({});
          if (session !== undefined) await sleep(400);
          await db.collection('marks').insertOne({ mark: session === undefined ? 'outside' : 'inside' });
        },
      };
      const run = await up(migratorOn(t, rs, [slow], { transactions: mode }));
      if (mode === 'auto') {
        assert.equal(run.result.error, undefined, JSON.stringify(run.result.error));
        const warnings = run.events.filter((e) => e.startsWith('warning'));
        assert.equal(warnings.length, 1, run.events.join('\n'));
        assert.match(warnings[0] ?? '', /the migration cannot run inside a transaction: it ran 1\.\d s, past the server's transaction lifetime limit \(1 s\), and the server aborted it; rolled back, running it again outside a transaction \(batched and resumable\)$/);
        assert.deepEqual(await marks(client), ['outside']);
        assert.deepEqual(await states(client), [['001-slow', 'applied']]);
      } else {
        assert.equal(run.result.error?.code, 'TRANSACTION_LIMIT', JSON.stringify(run.result.error));
        assert.match(run.result.error.message, /past the server's transaction lifetime limit \(1 s\)/);
        assert.match(run.result.error.message, /Set `transaction: false` on this migration, or use transactions: 'auto'$/);
        assert.deepEqual(await marks(client), []);
      }
      assert.equal(rs.recorded({ name: 'insert', collection: 'marks', inTransaction: true }).length, 1, 'the transaction is not run again');
    });
  }

  void it('sends nothing more once its transaction is about to outlive the lifetime limit (DocumentDB would run it outside the transaction): run again outside', async (t) => {
    const { rs, client } = await scriptedSet(t);
    rs.transactionLifetimeLimitSeconds = 1;
    const slow: InlineMigration = {
      id: '001-slow',
      async up({ db, session }) {
        if (session !== undefined) await sleep(1200);
        await db.collection('marks').insertOne({ mark: session === undefined ? 'outside' : 'inside' });
      },
    };
    const run = await up(migratorOn(t, rs, [slow]));
    assert.equal(run.result.error, undefined, JSON.stringify(run.result.error));
    assert.match(run.events.find((e) => e.startsWith('warning')) ?? '', /the migration cannot run inside a transaction: it ran 1\.\d s, too close to the server's transaction lifetime limit \(1 s\) to send more; rolled back, running it again outside a transaction/);
    assert.deepEqual(rs.recorded({ name: 'insert', collection: 'marks', inTransaction: true }), [], 'nothing sent in the transaction after its time');
    assert.deepEqual(await marks(client), ['outside']);
  });

  void it('NoSuchTransaction after a duplicate key the migration swallowed: fails once, naming the duplicate key', async (t) => {
    const { rs, client } = await scriptedSet(t);
    await app(client).collection<{ _id: number; mark: string }>('marks').insertOne({ _id: 1, mark: 'there before' });
    const swallows: InlineMigration = {
      id: '001-dup',
      async up({ db, session }) {
        try {
          await db.collection('marks').insertOne({ _id: 1, mark: 'again' } as Document, { session });
        } catch {
          // swallowed: the server aborted the transaction anyway
        }
        await db.collection('marks').insertOne({ mark: 'after' }, { session });
      },
    };
    const run = await up(migratorOn(t, rs, [swallows]));
    assert.equal(run.result.error?.code, 'MIGRATION_FAILED', JSON.stringify(run.result.error));
    assert.match(run.result.error.message, /^migration 001-dup failed: an error inside the transaction aborted it: E11000 duplicate key/);
    assert.equal(markTransactions(rs).length, 1, 'one attempt, not three');
    assert.deepEqual(await marks(client), ['there before']);
    assert.deepEqual(await states(client), [['001-dup', 'failed']]);
  });

  void it('OperationNotSupportedInTransaction from createIndex on an existing collection, even caught: run again outside a transaction', async (t) => {
    const { rs, client } = await scriptedSet(t);
    await app(client).collection('users').insertOne({ email: 'a@example.com' });
    const index: InlineMigration = {
      id: '001-index',
      async up({ db, session }) {
        try {
          await db.collection('users').createIndex({ email: 1 }, {}, { session });
        } catch {
          // caught: the attempt is over anyway
        }
        await db.collection('users').updateMany({}, { $set: { indexed: true } }, { session });
      },
    };
    const run = await up(migratorOn(t, rs, [index]));
    assert.equal(run.result.error, undefined, JSON.stringify(run.result.error));
    assert.match(run.events.find((e) => e.startsWith('warning')) ?? '', /users\.createIndex cannot run inside a transaction: the server refused it \(OperationNotSupportedInTransaction: .*\); rolled back, running it again outside a transaction/);
    assert.deepEqual(rs.recorded({ name: 'update', collection: 'users', inTransaction: true }), [], 'nothing more of the refused attempt was sent');
    assert.deepEqual((await app(client).collection('users').listIndexes().toArray()).map((i: Document) => i.name as unknown), ['_id_', 'email_1']);
    assert.equal(await app(client).collection('users').countDocuments({ indexed: true }), 1);
  });

  void it('a TransactionLimitError the migration swallowed ends the attempt: run again outside a transaction, everything bumped', async (t) => {
    const { rs, client } = await scriptedSet(t);
    await app(client).collection('users').insertMany([1, 2, 3, 4, 5].map((n) => ({ n, schema_version: 1 })));
    const swallows: InlineMigration = {
      id: '001-bump',
      async up({ helpers }) {
        try {
          await helpers.bumpSchemaVersion('users', { to: 2 });
        } catch {
          // swallowed
        }
      },
    };
    const run = await up(migratorOn(t, rs, [swallows], { transactionDocumentLimit: 2 }));
    assert.equal(run.result.error, undefined, JSON.stringify(run.result.error));
    assert.match(run.events.find((e) => e.startsWith('warning')) ?? '', /bumpSchemaVersion\(users\) cannot run inside a transaction: it would touch 5 documents, more than transactionDocumentLimit \(2\)/);
    assert.equal(await app(client).collection('users').countDocuments({ schema_version: 2 }), 5);
    const poisoned = rs.recorded({ collection: 'users', inTransaction: true })[0]?.transaction ?? '';
    assert.notEqual(poisoned, '', 'the attempt sent something in its transaction');
    assert.equal(ended(rs, poisoned, 'commitTransaction').length, 0, 'the attempt that met the limit never committed');
  });

  void it('refuses a session the migration opened itself, naming `transaction: false`', async (t) => {
    const { rs, client } = await scriptedSet(t);
    const own: InlineMigration = {
      id: '001-own',
      async up({ client: own, db }) {
        const session = own.startSession();
        try {
          await db.collection('marks').insertOne({ mark: 'own session' }, { session });
        } finally {
          await session.endSession();
        }
      },
    };
    const run = await up(migratorOn(t, rs, [own]));
    assert.equal(run.result.error?.code, 'MIGRATION_FAILED', JSON.stringify(run.result.error));
    assert.match(run.result.error.message, /client\.startSession\(\) inside a migration that runs in a transaction.*set `transaction: false` on this migration/);
    assert.deepEqual(rs.recorded({ name: 'insert', collection: 'marks' }), [], 'nothing was sent');
    assert.deepEqual(await states(client), [['001-own', 'failed']]);
  });

  void it('is `running` to status and to another runner while its transaction is open', async (t) => {
    const { rs, client } = await scriptedSet(t);
    rs.script({ name: 'insert', collection: 'marks', inTransaction: true }, 'hang');
    const inside = rs.nextCommand({ name: 'insert', collection: 'marks' });
    const running = up(migratorOn(t, rs, [MARK]));
    await inside;
    const observer = migratorOn(t, rs, [MARK]);
    const [seen] = (await observer.status()).migrations;
    assert.deepEqual([seen?.state, seen?.direction], ['running', 'up']);
    const other = await observer.up().then(
      (r) => r.error?.code,
      (error: unknown) => (error as { code?: string }).code,
    );
    assert.equal(other, 'LOCK_HELD');
    rs.release();
    const run = await running;
    assert.equal(run.result.error, undefined, JSON.stringify(run.result.error));
    assert.deepEqual(await states(client), [['001-mark', 'applied']]);
  });

  void it('a lease shorter than its transaction is not reported lost: the heartbeat renews it outside the transaction, and the next migration runs', async (t) => {
    const { rs, client } = await scriptedSet(t);
    const lingers: InlineMigration = {
      id: '001-lingers',
      async up({ db, session }) {
        await db.collection('marks').insertOne({ mark: 'lingered' });
        if (session !== undefined) await sleep(3500); // past the 2 s lease, with the transaction open
      },
    };
    const run = await up(migratorOn(t, rs, [lingers, { ...MARK, id: '002-mark' }], { lock: { ttlSeconds: 2 } }));
    assert.equal(run.result.error, undefined, JSON.stringify(run.result.error));
    assert.deepEqual(run.result.steps.map((s) => [s.id, s.status, s.transaction]), [['001-lingers', 'success', true], ['002-mark', 'success', true]]);
    assert.deepEqual(run.result.warnings, []);
    assert.deepEqual(await marks(client), ['a', 'lingered']);
    const [first] = markTransactions(rs);
    const all = rs.recorded();
    const opened = all.findIndex((c) => c.transaction === first);
    const committed = all.findIndex((c) => c.transaction === first && c.name === 'commitTransaction');
    const renewals = all.slice(opened, committed).filter((c) => c.name === 'update' && c.collection === 'mongrate_lock');
    assert.ok(renewals.length >= 1 && renewals.every((c) => !c.inTransaction), `renewed outside the transaction while it was open: ${renewals.length}`);
  });

  void it('a runner killed inside its transaction: interrupted and rolled back, and a plain up runs it again', async (t) => {
    const { rs, client } = await scriptedSet(t);
    rs.transactionLifetimeLimitSeconds = 2; // the dead runner's transaction is aborted after that
    const project = await createProject();
    t.after(() => project.remove());
    const files = { IN_TRANSACTION: join(project.dir, 'in-transaction'), FIXED: join(project.dir, 'fixed (never created)') };
    await project.write('001-waits.js', `import { existsSync, writeFileSync } from 'node:fs';
export async function up({ db, session }) {
  await db.collection('marks').insertOne({ mark: session === undefined ? 'outside' : 'attempt' });
  // run again here (no FIXED named), or once fixed: it just writes
  if (session === undefined || process.env.FIXED === undefined || existsSync(process.env.FIXED)) return;
  writeFileSync(process.env.IN_TRANSACTION, 'in');
  for (;;) await new Promise((resolve) => setTimeout(resolve, 50));
}
`);
    const killed = startCli(['--uri', rs.uri, '--db', 'app', 'up'], { cwd: project.dir, env: files, timeoutMs: 60_000 });
    await waitFor('the migration is inside its transaction', () => Promise.resolve(existsSync(files.IN_TRANSACTION)), killed.done);
    killed.child.kill('SIGKILL');
    assert.equal((await killed.done).signal, 'SIGKILL');

    const migrator = createMigrator({ uri: rs.uri, database: 'app', migrationsDir: project.migrationsDir });
    t.after(() => migrator.close());
    // its lock, released as its lease running out would (the lock is not part of its transaction: nothing waits)
    assert.equal((await migrator.unlock({ force: true })).released, true);
    const [shown] = (await migrator.status()).migrations;
    assert.deepEqual([shown?.state, shown?.interrupted, shown?.rolledBack], ['failed', true, true]);
    assert.match(shown?.error ?? '', /its transaction was rolled back, nothing was applied/);
    assert.deepEqual(await marks(client), [], 'the server rolled it back');

    const again = await migrator.up();
    assert.equal(again.error, undefined, `no retryFailed needed: ${JSON.stringify(again.error)}`);
    assert.deepEqual(await marks(client), ['attempt']);
    assert.deepEqual(await states(client), [['001-waits', 'applied']]);
  });

  /**
   * One migration whose first run (runner A) writes its mark and waits inside its transaction for
   * `gate`; any later run (runner B, after a takeover) writes its own mark at once.
   */
  function raced(gate: Promise<void>): { migration: InlineMigration; inside: Promise<void>; runs: () => number } {
    let runs = 0;
    let entered = (): void => undefined;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const migration: InlineMigration = {
      id: '001-mark',
      async up({ db }) {
        const first = runs++ === 0;
        await db.collection('marks').insertOne({ mark: first ? 'A' : 'B' });
        if (!first) return;
        entered();
        await gate;
      },
    };
    return { migration, inside, runs: () => runs };
  }

  /** Runner B: releases A's live lock by force (as an expired lease would be taken over), then runs `up`. */
  async function takeOver(t: TestContext, rs: ScriptedReplicaSet, migration: InlineMigration): Promise<Run> {
    const b = migratorOn(t, rs, [migration]);
    assert.equal((await b.unlock({ force: true })).released, true);
    return up(b);
  }

  void it("the record is the fence: B takes over and re-claims the record while A's transaction is open; A's outcome then conflicts, A commits nothing (LOCK_LOST)", async (t) => {
    const { rs, client } = await scriptedSet(t);
    let open = (): void => undefined;
    const race = raced(new Promise<void>((resolve) => (open = resolve)));
    // a lease long enough that A's heartbeat does not notice the takeover first: only the record stops A
    const a = up(migratorOn(t, rs, [race.migration], { lock: { ttlSeconds: 60 } }));
    await race.inside;
    const claimOfA = (await app(client).collection<{ _id: string; claim?: { runId: string } }>('mongrate_changelog').findOne({ _id: '001-mark' }))?.claim?.runId;
    const b = await takeOver(t, rs, race.migration);
    assert.equal(b.result.error, undefined, `B ran it again (A's attempt shows as rolled back): ${JSON.stringify(b.result.error)}`);
    const [reclaim] = rs.recorded({ name: 'update', collection: 'mongrate_changelog', inTransaction: false });
    const [statement] = (reclaim?.command.updates ?? []) as { q: unknown }[];
    assert.deepEqual(statement?.q, { _id: '001-mark', state: 'running', 'claim.runId': claimOfA }, "B's re-claim is a conditional write on the record: still A's claim");
    open();
    const ranA = await a;
    assert.equal(ranA.result.error?.code, 'LOCK_LOST', JSON.stringify(ranA.result.error));
    assert.match(ranA.result.error.message, /^stopped 001-mark: lost the lock \(001-mark ran to the end in its transaction, but the changelog record of 001-mark no longer carries this run's claim/);
    const [transactionOfA] = markTransactions(rs);
    assert.equal(ended(rs, transactionOfA ?? '', 'commitTransaction').length, 0, "A's transaction never committed");
    assert.equal(ended(rs, transactionOfA ?? '', 'abortTransaction').length, 1, 'it was aborted');
    assert.deepEqual(await marks(client), ['B'], "A's write never landed");
    assert.deepEqual(await states(client), [['001-mark', 'applied']]);
    assert.equal(race.runs(), 2);
  });

  void it("the record is the fence: A wrote its outcome in its transaction first; B's re-claim waits for A's commit, then finds it applied and runs nothing", async (t) => {
    const { rs, client } = await scriptedSet(t);
    const race = raced(Promise.resolve());
    const outcomeWritten = rs.nextCommand({ name: 'update', collection: 'mongrate_changelog', inTransaction: true });
    rs.script({ name: 'commitTransaction', when: (c) => markTransactions(rs).includes(c.transaction ?? '') }, 'hang');
    const a = up(migratorOn(t, rs, [race.migration], { lock: { ttlSeconds: 60 } }));
    await outcomeWritten;
    const reclaimSent = rs.nextCommand({ name: 'update', collection: 'mongrate_changelog', inTransaction: false });
    const b = takeOver(t, rs, race.migration);
    await reclaimSent; // waiting behind A's transaction, which wrote the record first
    rs.release();
    const ranA = await a;
    assert.equal(ranA.result.error, undefined, JSON.stringify(ranA.result.error));
    const ranB = await b;
    assert.equal(ranB.result.error?.code, 'LOCK_HELD', JSON.stringify(ranB.result.error));
    assert.match(ranB.result.error.message, /001-mark was claimed by another runner while this run was starting it; nothing of it ran here/);
    assert.equal(race.runs(), 1, 'B never ran it');
    assert.deepEqual(await marks(client), ['A']);
    assert.deepEqual(await states(client), [['001-mark', 'applied']]);
  });
});
