// The commands for when history needs attention (validate, repair, baseline, unlock), the checksum
// gate on `up`, `transactions: 'always'` and the history trail, run as a user would: the built bin
// in a throwaway project folder against the test server, one fresh database per test.
import type { LockDocument } from '../../src/lock/mongo-lock-store.ts';
import { rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Collection, Db } from 'mongodb';
import {
  changelog,
  type CliResult,
  exits,
  history,
  type HistoryDoc,
  marks,
  oneLineError,
  parseJson,
  type StartedCli,
  states,
  tableStates,
  withCliProject,
} from '../support/cli.ts';
import { HAVE_SCRIPT, runOnTty } from '../support/tty.ts';
import { failingMigration, markerMigration } from '../support/project.ts';

interface StatusDoc {
  ok: boolean;
  migrations: { id: string; state: string }[];
  error?: { code: string; message: string };
}

type LockDoc = LockDocument;

/** A lock document as another machine's runner would have left it, expiring `expiresInMs` from now. */
function foreignLock(expiresInMs: number): LockDoc {
  return {
    _id: 'mongrate',
    owner: 'run-from-elsewhere',
    host: 'build-box-7',
    pid: 4242,
    command: 'up',
    acquiredAt: new Date(Date.now() - 600_000),
    expiresAt: new Date(Date.now() + expiresInMs),
  };
}

const lockCollection = (db: Db): Collection<LockDoc> => db.collection<LockDoc>('mongrate_lock');

interface Finding {
  id: string;
  kind: string;
  message: string;
}

/** Waits for a CLI run begun with `start` and adds its process id, to match it against what the command recorded. */
async function withPid({ child, done }: StartedCli): Promise<CliResult & { pid: number }> {
  const result = await done;
  assert.ok(child.pid !== undefined);
  return { ...result, pid: child.pid };
}

/** Every history document is complete (host, pid, runId, at); returns them in insertion order. */
async function completeHistory(db: Db): Promise<HistoryDoc[]> {
  const docs = await history(db);
  for (const doc of docs) {
    const what = JSON.stringify(doc);
    assert.equal(doc.host, hostname(), `history host: ${what}`);
    assert.ok(typeof doc.pid === 'number' && Number.isInteger(doc.pid) && doc.pid > 0, `history pid: ${what}`);
    assert.ok(typeof doc.runId === 'string' && doc.runId !== '', `history runId: ${what}`);
    assert.ok(doc.at instanceof Date && !Number.isNaN(doc.at.getTime()), `history at: ${what}`);
  }
  return docs;
}

const A = '001-alpha';
const B = '002-beta';
const C = '003-gamma';
const D = '004-delta';

void describe('checksums: changed and missing files', () => {
  void it('changed and missing files are reported by status, status --check, validate and up; --no-validate proceeds; repair accepts them', async () => {
    await withCliProject('changed', async ({ project, db, run }) => {
      await project.write(`${A}.ts`, markerMigration('a'));
      await project.write(`${B}.ts`, markerMigration('b'));
      exits(await run(['up']), 0, 'first up');

      // changed: an applied file edited; a new pending migration next to it
      await project.write(`${B}.ts`, markerMigration('b', { description: 'beta, edited after it ran' }));
      await project.write(`${C}.ts`, markerMigration('c'));
      const status = await run(['status']);
      exits(status, 0, 'status');
      assert.deepEqual(tableStates(status.stdout), [[A, 'applied'], [B, 'changed'], [C, 'pending']]);
      exits(await run(['status', '--check']), 4, 'status --check with a changed file');
      const validate = await run(['validate']);
      exits(validate, 4, 'validate with a changed file');
      assert.match(validate.stdout, new RegExp(`changed: .*${B}`));
      assert.doesNotMatch(validate.stdout, new RegExp(A), 'only the changed file is named');
      const validateJson = parseJson(await run(['validate', '--json']));
      assert.equal(validateJson.ok, false);
      assert.deepEqual((validateJson.findings as Finding[]).map((f) => [f.id, f.kind]), [[B, 'changed']]);

      const before = await changelog(db);
      const refused = await run(['up']);
      exits(refused, 4, 'up with a changed applied file');
      oneLineError(refused, new RegExp(B), /mongrate repair/, /--no-validate/);
      assert.deepEqual(await changelog(db), before, 'up applied nothing');
      assert.deepEqual(await marks(db), ['a', 'b']);

      const forced = await run(['up', '--no-validate']);
      exits(forced, 0, 'up --no-validate');
      assert.deepEqual(await states(db), { [A]: 'applied', [B]: 'applied', [C]: 'applied' });
      assert.deepEqual(await marks(db), ['a', 'b', 'c']);

      // missing: an applied file deleted; again a pending one next to it
      await rm(join(project.migrationsDir, `${A}.ts`));
      await project.write(`${D}.ts`, markerMigration('d'));
      const missing = await run(['status']);
      exits(missing, 0, 'status with a missing file');
      assert.deepEqual(tableStates(missing.stdout), [[A, 'missing'], [B, 'changed'], [C, 'applied'], [D, 'pending']]);
      exits(await run(['status', '--check']), 4, 'status --check with a missing file');
      const validateMissing = await run(['validate']);
      exits(validateMissing, 4, 'validate with a missing file');
      assert.match(validateMissing.stdout, new RegExp(`missing: .*${A}`));
      const beforeMissing = await changelog(db);
      const refusedMissing = await run(['up']);
      exits(refusedMissing, 4, 'up with a missing applied file');
      oneLineError(refusedMissing, new RegExp(A), /mongrate repair/, /--no-validate/);
      assert.deepEqual(await changelog(db), beforeMissing, 'up applied nothing');

      const repair = await run(['repair', '--yes']);
      exits(repair, 0, 'repair --yes');
      assert.match(repair.stdout, new RegExp(A));
      assert.match(repair.stdout, new RegExp(B));
      exits(await run(['validate']), 0, 'validate after repair');
      assert.deepEqual(await states(db), { [B]: 'applied', [C]: 'applied' }, 'the missing record is forgotten, the changed one kept');
      const checksum = (await changelog(db)).find((r) => r._id === B)?.checksum;
      const statusJson = parseJson(await run(['status', '--json'])) as unknown as StatusDoc;
      assert.deepEqual(statusJson.migrations.map((m) => [m.id, m.state]), [[B, 'applied'], [C, 'applied'], [D, 'pending']]);
      assert.match(checksum ?? '', /^sha256:[0-9a-f]{64}$/);
      exits(await run(['status', '--check']), 4, 'status --check with one pending');
      exits(await run(['up']), 0, 'up after repair');
      exits(await run(['status', '--check']), 0, 'status --check when everything is applied');
      const events = (await completeHistory(db)).map((h) => `${h.migrationId}:${h.event}`);
      assert.deepEqual(events.filter((e) => e.endsWith(':repair')).sort(), [`${A}:repair`, `${B}:repair`]);
    });
  });
});

void describe('repair asks first', { concurrency: 2 }, () => {
  void it('repair without --yes and without a terminal exits 2 saying to pass --yes, and changes nothing', async () => {
    await withCliProject('repair_notty', async ({ project, db, run }) => {
      await project.write(`${A}.ts`, markerMigration('a'));
      await project.write('002-fails.ts', failingMigration('boom'));
      exits(await run(['up']), 1, 'up with a failing migration');
      const before = await changelog(db);
      assert.deepEqual(before.map((r) => [r._id, r.state]), [[A, 'applied'], ['002-fails', 'failed']]);

      const result = await run(['repair']);
      exits(result, 2, 'repair on a pipe');
      assert.match(result.stderr, /--yes/);
      assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace');
      const json = await run(['repair', '--json']);
      exits(json, 2, 'repair --json without --yes');
      const doc = parseJson(json);
      assert.equal(doc.ok, false);
      assert.equal((doc.error as { code: string }).code, 'USAGE');
      assert.match((doc.error as { message: string }).message, /--yes/);
      assert.deepEqual(await changelog(db), before, 'the changelog is unchanged');
      assert.deepEqual((await completeHistory(db)).map((h) => h.event), ['up', 'failed'], 'no repair was recorded');
    });
  });

  void it('repair on a terminal asks: n changes nothing, y repairs', { skip: HAVE_SCRIPT ? false : 'script(1) is not installed, so no pty' }, async () => {
    await withCliProject('repair_tty', async ({ project, db, dbName, run }) => {
      await project.write('001-fails.ts', failingMigration('boom'));
      exits(await run(['up']), 1, 'up with a failing migration');
      const before = await changelog(db);

      const no = await runOnTty(['--db', dbName, 'repair'], project.dir, 'n');
      assert.equal(no.code, 0, no.output);
      assert.match(no.output, /001-fails/);
      assert.match(no.output, /\[y\/N\]/);
      assert.match(no.output, /Nothing changed/);
      assert.deepEqual(await changelog(db), before);

      const yes = await runOnTty(['--db', dbName, 'repair'], project.dir, 'y');
      assert.equal(yes.code, 0, yes.output);
      assert.match(yes.output, /Repaired 1 record/);
      assert.deepEqual(await changelog(db), [], 'the failed record is gone');
      assert.deepEqual((await completeHistory(db)).map((h) => `${h.migrationId}:${h.event}`), ['001-fails:failed', '001-fails:repair']);
    });
  });
});

void describe('validate', { concurrency: 2 }, () => {
  void it('exits 0 on a clean project with applied and pending migrations', async () => {
    await withCliProject('validate_ok', async ({ project, run }) => {
      await project.write(`${A}.ts`, markerMigration('a'));
      exits(await run(['up']), 0, 'up');
      await project.write(`${B}.ts`, markerMigration('b'));
      const result = await run(['validate']);
      exits(result, 0, 'validate');
      assert.match(result.stdout, /valid/);
      const doc = parseJson(await run(['validate', '--json']));
      assert.equal(doc.ok, true);
      assert.deepEqual(doc.findings, []);
    });
  });

  void it('duplicate ids: validate reports a finding (exit 4) and nothing else, status exits 2', async () => {
    await withCliProject('validate_dup', async ({ project, db, run }) => {
      await project.write(`${A}.ts`, markerMigration('a'));
      await project.write(`${B}.ts`, markerMigration('b'));
      exits(await run(['up']), 0, 'up');
      await project.write(`${B}.js`, markerMigration('b, as JavaScript'));
      const before = await changelog(db);

      const validate = await run(['validate']);
      exits(validate, 4, 'validate with two files for one id');
      assert.match(validate.stdout, new RegExp(`duplicate-id: .*${B}`));
      const doc = parseJson(await run(['validate', '--json']));
      assert.equal(doc.ok, false);
      const findings = doc.findings as Finding[];
      assert.ok(findings.some((f) => f.id === B && f.kind === 'duplicate-id'), JSON.stringify(findings));
      // every applied file is still there: a duplicate id elsewhere must not make them look missing
      assert.deepEqual(findings.filter((f) => f.kind === 'missing' || f.id === A), [], `spurious findings: ${JSON.stringify(findings)}`);

      const status = await run(['status']);
      exits(status, 2, 'status with two files for one id');
      oneLineError(status, /duplicate migration id/, new RegExp(B));
      exits(await run(['up']), 2, 'up with two files for one id');
      assert.deepEqual(await changelog(db), before);
    });
  });

  void it('a file that exports no up is a finding', async () => {
    await withCliProject('validate_noup', async ({ project, run }) => {
      await project.write(`${A}.ts`, 'export async function down() {}\n');
      const doc = parseJson(await run(['validate', '--json']));
      assert.deepEqual((doc.findings as Finding[]).map((f) => [f.id, f.kind]), [[A, 'no-up']]);
      exits(await run(['validate']), 4, 'validate');
    });
  });
});

/** Creates `users` with u1 (fails if it already exists), then marks itself. */
const CREATE_USERS = `export async function up({ db }) {
  await db.createCollection('users');
  await db.collection('users').insertOne({ _id: 'u1', email: 'u1@example.com' });
  await db.collection('marks').insertOne({ mark: 'create-users' });
}
export async function down({ db }) { await db.collection('users').drop(); }
`;
const INDEX_EMAIL = `export async function up({ db }) {
  await db.collection('users').createIndex({ email: 1 }, { unique: true, name: 'email_1' });
  await db.collection('marks').insertOne({ mark: 'index-email' });
}
export async function down({ db }) { await db.collection('users').dropIndex('email_1'); }
`;
const ACTIVATE = `export async function up({ db }) {
  await db.collection('users').updateMany({}, { $set: { active: true } });
  await db.collection('marks').insertOne({ mark: 'activate' });
}
export async function down({ db }) { await db.collection('users').updateMany({}, { $unset: { active: '' } }); }
`;

void describe('baseline', () => {
  void it('adopts an existing database: records baseline states, status shows them, up applies only the rest; unknown ids exit 2', async () => {
    await withCliProject('baseline', async ({ project, db, run }) => {
      // the database already has what 001 and 002 would build
      await db.createCollection('users');
      await db.collection<{ _id: string; email: string }>('users').insertOne({ _id: 'u1', email: 'u1@example.com' });
      await db.collection('users').createIndexes([{ key: { email: 1 }, unique: true, name: 'email_1' }]);
      await project.write('001-create-users.ts', CREATE_USERS);
      await project.write('002-index-email.ts', INDEX_EMAIL);
      await project.write('003-activate.ts', ACTIVATE);

      const unknown = await run(['baseline', 'no-such-id']);
      exits(unknown, 2, 'baseline of an unknown id');
      oneLineError(unknown, /no-such-id/);
      assert.deepEqual(await changelog(db), []);

      const baseline = await run(['baseline', '002-index-email']);
      exits(baseline, 0, 'baseline');
      assert.match(baseline.stdout, /Baselined 2 migrations/);
      const records = await changelog(db);
      assert.deepEqual(records.map((r) => [r._id, r.state]), [['001-create-users', 'baseline'], ['002-index-email', 'baseline']]);
      for (const r of records) assert.match(r.checksum, /^sha256:[0-9a-f]{64}$/);
      const status = await run(['status']);
      exits(status, 0, 'status');
      assert.deepEqual(tableStates(status.stdout), [['001-create-users', 'baseline'], ['002-index-email', 'baseline'], ['003-activate', 'pending']]);

      const again = await run(['baseline', '002-index-email']);
      exits(again, 0, 'baseline again');
      assert.match(again.stdout, /Baselined 0 migrations; 2 already recorded/);

      const up = await run(['up']);
      exits(up, 0, 'up after baseline');
      assert.match(up.stdout, /003-activate/);
      assert.doesNotMatch(up.stdout, /001-create-users|002-index-email/);
      assert.deepEqual(await marks(db), ['activate'], 'only the migration after the baseline ran');
      assert.deepEqual(await states(db), { '001-create-users': 'baseline', '002-index-email': 'baseline', '003-activate': 'applied' });
      const user = await db.collection<{ _id: string; active?: boolean }>('users').findOne({ _id: 'u1' });
      assert.equal(user?.active, true);
      exits(await run(['status', '--check']), 0, 'status --check with baselines and applied');
      exits(await run(['validate']), 0, 'validate');
      const events = (await completeHistory(db)).map((h) => `${h.migrationId}:${h.event}`);
      assert.deepEqual(events, ['001-create-users:baseline', '002-index-email:baseline', '003-activate:up']);
    });
  });
});

void describe('unlock', { concurrency: 2 }, () => {
  void it('with no lock: exit 0, "No lock is held"', async () => {
    await withCliProject('unlock_none', async ({ project, run }) => {
      await project.write(`${A}.ts`, markerMigration('a'));
      const result = await run(['unlock']);
      exits(result, 0, 'unlock');
      assert.match(result.stdout, /No lock is held/);
      const doc = parseJson(await run(['unlock', '--json']));
      assert.equal(doc.ok, true);
      assert.equal(doc.lock, null);
    });
  });

  void it('an expired lock is released without --force; a live one needs --force', async () => {
    await withCliProject('unlock_hand', async ({ project, db, run }) => {
      await project.write(`${A}.ts`, markerMigration('a'));
      const locks = lockCollection(db);

      await locks.insertOne(foreignLock(-60_000));
      const expired = await run(['unlock']);
      exits(expired, 0, 'unlock of an expired lock');
      assert.match(expired.stdout, /expired/);
      assert.match(expired.stdout, /build-box-7 pid 4242/);
      assert.equal(await locks.findOne({ _id: 'mongrate' }), null, 'the expired lock is gone');

      await locks.insertOne(foreignLock(600_000));
      const live = await run(['unlock']);
      exits(live, 3, 'unlock of a live lock');
      oneLineError(live, /build-box-7 pid 4242/, /--force/);
      assert.notEqual(await locks.findOne({ _id: 'mongrate' }), null, 'a live lock is kept without --force');
      const blocked = await run(['up']);
      exits(blocked, 3, 'up while the hand-made lock is live');
      oneLineError(blocked, /build-box-7 pid 4242/, /mongrate unlock/);
      const forced = await run(['unlock', '--force']);
      exits(forced, 0, 'unlock --force');
      assert.match(forced.stdout, /build-box-7 pid 4242/);
      assert.equal(await locks.findOne({ _id: 'mongrate' }), null);
      exits(await run(['up']), 0, 'up once the lock is gone');

      const events = (await completeHistory(db)).map((h) => `${h.migrationId}:${h.event}`);
      assert.deepEqual(events, ['(lock):unlock', '(lock):unlock', `${A}:up`]);
    });
  });
});

/** Whether the server runs a transaction (then `transactions: 'always'` would be allowed). */
async function transactionsWork(db: Db): Promise<boolean> {
  const hello = await db.admin().command({ hello: 1 });
  if (typeof hello.setName !== 'string' && hello.msg !== 'isdbgrid') return false;
  const session = db.client.startSession();
  try {
    session.startTransaction();
    await db.collection('probe').findOne({}, { session });
    await session.commitTransaction();
    return true;
  } catch {
    return false;
  } finally {
    await session.endSession();
  }
}

void describe('transactions', () => {
  void it("transactions: 'always' on a server without transactions: up exits 2 naming transactions, nothing applied", async (t) => {
    await withCliProject('tx_always', { config: "export default { transactions: 'always' };\n" }, async ({ project, db, run }) => {
      if (await transactionsWork(db)) {
        t.skip('this server supports transactions, so transactions: always is allowed here');
        return;
      }
      await project.write(`${A}.ts`, markerMigration('a'));
      await project.write(`${B}.ts`, markerMigration('b'));
      const result = await run(['up']);
      exits(result, 2, "up with transactions: 'always'");
      oneLineError(result, /transactions/);
      assert.deepEqual(await changelog(db), [], 'nothing recorded');
      assert.deepEqual(await marks(db), [], 'nothing ran');
      assert.equal(await lockCollection(db).findOne({ _id: 'mongrate' }), null, 'the lock was released');
      const json = await run(['up', '--json']);
      exits(json, 2, "up --json with transactions: 'always'");
      assert.equal((parseJson(json).error as { code: string }).code, 'CONFIG');
    });
  });
});

void describe('history', () => {
  void it('every event of up, failure, repair, baseline, unlock and down is in mongrate_history with host, pid, runId and at', async () => {
    await withCliProject('history', async ({ project, db, start }) => {
      await project.write(`${A}.ts`, markerMigration('a'));
      await project.write(`${B}.ts`, markerMigration('b'));
      await project.write(`${C}.ts`, failingMigration('boom'));
      const up = await withPid(start(['up']));
      exits(up, 1, 'up with a failing third migration');
      await project.write(`${C}.ts`, markerMigration('c'));
      const repair = await withPid(start(['repair', '--yes']));
      exits(repair, 0, 'repair --yes');
      await project.write(`${D}.ts`, markerMigration('d'));
      const baseline = await withPid(start(['baseline', D]));
      exits(baseline, 0, `baseline ${D}`);
      await lockCollection(db).insertOne(foreignLock(-60_000));
      const unlock = await withPid(start(['unlock']));
      exits(unlock, 0, 'unlock of an expired lock');
      const down = await withPid(start(['down']));
      exits(down, 0, 'down');

      const docs = await completeHistory(db);
      const expected: [string, string, number][] = [
        [A, 'up', up.pid],
        [B, 'up', up.pid],
        [C, 'failed', up.pid],
        [C, 'repair', repair.pid],
        [C, 'baseline', baseline.pid],
        [D, 'baseline', baseline.pid],
        ['(lock)', 'unlock', unlock.pid],
        [D, 'down', down.pid],
      ];
      assert.deepEqual(docs.map((h) => [h.migrationId, h.event, h.pid]), expected, JSON.stringify(docs, null, 1));
      // one run id per command run, different between runs
      const runIds = new Map<number, Set<unknown>>();
      for (const h of docs) runIds.set(h.pid as number, (runIds.get(h.pid as number) ?? new Set()).add(h.runId));
      for (const [pid, ids] of runIds) assert.equal(ids.size, 1, `pid ${pid} wrote one run id`);
      assert.equal(new Set([...runIds.values()].map((s) => [...s][0])).size, 5, 'each command has its own run id');
    });
  });
});
