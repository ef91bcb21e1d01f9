// Integration tests of the lock as the migrator uses it: `unlock()`, a second runner refused or
// waiting, and a run that loses its lease mid-way. The lease itself is tested in lease.test.ts.
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from 'mongodb';
import { LOCK_ID, type LockDocument } from '../../src/lock/mongo-lock-store.ts';
import { readHelloLocalTime } from '../../src/server/clock.ts';
import { markerMigration } from '../support/project.ts';
import { failsWithCode, stepSummary, withEnv } from '../support/migrator.ts';

const LOCKS = 'mongrate_lock';

function readLockDoc(db: Db): Promise<LockDocument | null> {
  return db.collection<LockDocument>(LOCKS).findOne({ _id: LOCK_ID });
}

/** The server's time now plus `ms` (lock dates are in server time). */
async function serverTimePlus(db: Db, ms: number): Promise<Date> {
  return new Date((await readHelloLocalTime(db)).getTime() + ms);
}

/** A lock document written by hand, as another (possibly dead) runner would have left it. */
async function insertLockDoc(db: Db, fields: Partial<LockDocument> & { owner: string; expiresAt: Date }): Promise<LockDocument> {
  const doc: LockDocument = {
    _id: LOCK_ID,
    host: 'other-host',
    pid: 4242,
    command: 'up',
    acquiredAt: new Date(fields.expiresAt.getTime() - 30_000),
    ...fields,
  };
  await db.collection<LockDocument>(LOCKS).insertOne(doc);
  return doc;
}

void describe('migrator.unlock()', () => {
  void it('reports no lock; keeps a live one; releases an expired one, or a live one with force; records history', () =>
    withEnv('unlock', async (env) => {
      const locks = env.db.collection<LockDocument>(LOCKS);

      assert.deepEqual(await env.migrator.unlock(), { lock: null, released: false, expired: false });
      assert.deepEqual(await env.history(), []);

      await insertLockDoc(env.db, { owner: 'live-1', host: 'live-host', pid: 11, expiresAt: await serverTimePlus(env.db, 60_000) });
      const kept = await env.migrator.unlock();
      assert.equal(kept.error?.code, 'LOCK_HELD', 'a live lock it leaves is an error to act on');
      assert.match(kept.error.message, /live-host pid 11 .*; it is live/);
      assert.equal(kept.released, false);
      assert.equal(kept.expired, false);
      assert.equal(kept.lock?.host, 'live-host');
      assert.equal(kept.lock.pid, 11);
      assert.equal((await readLockDoc(env.db))?.owner, 'live-1', 'a live lock stays without force');
      assert.deepEqual(await env.history(), [], 'nothing released, nothing recorded');

      await locks.updateOne({ _id: LOCK_ID }, { $set: { expiresAt: await serverTimePlus(env.db, -1000) } });
      const expired = await env.migrator.unlock();
      assert.equal(expired.released, true);
      assert.equal(expired.expired, true);
      assert.equal(expired.lock?.owner, 'live-1');
      assert.equal(await readLockDoc(env.db), null);

      await insertLockDoc(env.db, { owner: 'live-2', host: 'busy-host', pid: 22, expiresAt: await serverTimePlus(env.db, 60_000) });
      const forced = await env.migrator.unlock({ force: true });
      assert.equal(forced.released, true);
      assert.equal(forced.expired, false);
      assert.equal(forced.lock?.owner, 'live-2');
      assert.equal(await readLockDoc(env.db), null);

      const history = await env.history();
      assert.deepEqual(history.map((h) => h.event), ['unlock', 'unlock']);
      assert.match(history[0]?.note ?? '', /live-host pid 11 .*expired/);
      assert.match(history[1]?.note ?? '', /busy-host pid 22 .*forced/);
      for (const h of history) {
        assert.equal(h.host, hostname());
        assert.equal(h.pid, process.pid);
      }

      // after the forced release the lock can be taken again
      await env.project.write('001-a.ts', markerMigration('a'));
      assert.equal((await env.migrator.up()).error, undefined);
      assert.deepEqual(await env.marks(), ['a']);
    }));
});

/** The promise a SLOW migration in database `name` waits for, set by the test. */
const release = (name: string): symbol => Symbol.for(`mongrate-test:release:${name}`);
type Releases = typeof globalThis & Record<symbol, Promise<void> | undefined>;

/**
 * Waits until the test releases it (however long the test's checks take), then inserts mark
 * 'slow'. Outside a transaction: on DocumentDB a second runner's lock insert would wait for the
 * transaction to end, and the test releases it only after that runner was refused.
 */
const SLOW = `import { defineMigration } from 'mongrate';
export default defineMigration({
  description: 'slow',
  transaction: false,
  async up({ db }) {
    await globalThis[Symbol.for('mongrate-test:release:' + db.databaseName)];
    await db.collection('marks').insertOne({ mark: 'slow' });
  },
  async down() {},
});
`;

/**
 * Simulates another runner taking the lock over, then keeps working until its runner noticed (its
 * run's signal is aborted when the lease is lost; bounded), and writes. Outside a transaction:
 * what is under test is the fence on the migration's own writes.
 */
const USURPED = `export const transaction = false;
export async function up({ db, signal }) {
  await db.collection('mongrate_lock').updateOne({ _id: 'mongrate' }, { $set: { owner: 'usurper', host: 'usurper-host', pid: 4242 } });
  for (let i = 0; i < 400 && !signal.aborted; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  await db.collection('marks').insertOne({ mark: 'usurped-finished' });
}
export async function down() {}
`;

void describe('the lock in the migrator', () => {
  void it('a second up() is refused while one runs; with lockWait it waits and finds nothing to do; status and validate take no lock', () =>
    withEnv('lock_migrator', async (env) => {
      await env.project.write('001-slow.ts', SLOW);
      let go: () => void = () => undefined;
      (globalThis as Releases)[release(env.dbName)] = new Promise<void>((resolve) => (go = resolve));
      const runner = env.newMigrator();
      let finished = false;
      const running = runner.up().finally(() => (finished = true));
      try {
        const observer = env.newMigrator();
        let state = '';
        // however long the runner takes to get there (DocumentDB's first index build waits for other transactions)
        for (const giveUp = performance.now() + 20_000; state !== 'running' && performance.now() < giveUp; ) {
          state = (await observer.status()).migrations[0]?.state ?? '';
          if (state !== 'running') await sleep(5);
        }
        assert.equal(state, 'running', "status() works while the lock is held and shows the migration 'running'");

        const second = env.newMigrator();
        const refused = await failsWithCode(second.up(), 'LOCK_HELD');
        assert.ok(refused.message.includes(hostname()));
        assert.match(refused.message, new RegExp(`pid ${process.pid}\\b`));
        assert.match(refused.message, /\(up\)/);

        const validation = await observer.validate();
        assert.deepEqual(validation, { ok: true, findings: [] });
        assert.equal(finished, false, 'status() and validate() did not wait for the lock');

        go();
        // a wait far longer than a loaded server needs to finish the slow migration and release:
        // the second gets the lock because the first let go, never because the server was quick
        const waited = await second.up({ lockWait: 60 });
        assert.equal(waited.error, undefined, 'the waiting runner got the lock once the first released it');
        assert.deepEqual(waited.steps, [], 'the waiting runner found nothing left to do');
      } finally {
        go();
        await running;
        Reflect.deleteProperty(globalThis, release(env.dbName));
      }
      const result = await running;
      assert.equal(result.error, undefined);
      assert.deepEqual(stepSummary(result), ['001-slow:up:success']);
      assert.deepEqual(await env.marks(), ['slow'], 'applied exactly once');
      assert.deepEqual((await env.history()).map((h) => `${h.migrationId}:${h.event}`), ['001-slow:up']);
      assert.equal(await readLockDoc(env.db), null, 'both runners released the lock');
    }));

  void it('losing the lock mid-run: the migration is not recorded applied and later ones do not run', () =>
    withEnv('lock_lost_run', async (env) => {
      await env.project.write('001-a.ts', markerMigration('a'));
      await env.project.write('002-usurped.js', USURPED);
      await env.project.write('003-c.ts', markerMigration('c'));
      // heartbeats every second: one finds the lock taken over long before its own deadline
      const migrator = env.newMigrator({ lock: { ttlSeconds: 3 } });

      const result = await migrator.up();
      assert.ok(result.error !== undefined);
      assert.equal(result.error.code, 'LOCK_LOST');
      assert.equal(result.error.id, '002-usurped');
      assert.match(result.error.message, /left 'running'/);
      assert.match(result.error.message, /usurper-host/);
      assert.deepEqual(stepSummary(result), ['001-a:up:success', '002-usurped:up:failed', '003-c:up:not-run']);
      // its direct write after the loss was fenced: it never reached the server
      assert.deepEqual(await env.marks(), ['a'], 'no write after the loss, and 003-c did not run');

      const records = await env.changelog();
      assert.deepEqual(records.map((r) => `${r._id}:${r.state}`), ['001-a:applied', '002-usurped:running']);
      assert.equal(records[1]?.runId, result.runId);
      assert.deepEqual((await env.history()).map((h) => `${h.migrationId}:${h.event}`), ['001-a:up'], 'no up event for 002');
      assert.equal((await readLockDoc(env.db))?.owner, 'usurper', "the run did not release the new owner's lock");

      const status = await env.newMigrator().status();
      const usurped = status.migrations.find((m) => m.id === '002-usurped');
      assert.ok(usurped !== undefined);
      assert.equal(usurped.state, 'failed');
      assert.equal(usurped.interrupted, true);
      assert.deepEqual(status.migrations.map((m) => `${m.id}:${m.state}`), ['001-a:applied', '002-usurped:failed', '003-c:pending']);
    }));

  void it('after the loss the fence stops writes through every handle: collections(), createCollection(), client.db(), bulk operations, rename', () =>
    withEnv('lock_lost_handles', async (env) => {
      await env.db.createCollection('listed');
      await env.project.write('001-handles.js', `export const transaction = false;
export async function up({ db, client, log }) {
  const created = await db.createCollection('created');
  const listed = (await db.collections()).find((c) => c.collectionName === 'listed');
  await db.collection('mongrate_lock').updateOne({ _id: 'mongrate' }, { $set: { owner: 'usurper', host: 'usurper-host' } });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const writes = {
    'createCollection()': () => created.insertOne({ mark: 'created' }),
    'collections()': () => listed.insertOne({ mark: 'listed' }),
    'client.db()': () => client.db(db.databaseName).collection('marks').insertOne({ mark: 'client' }),
    'bulk operation': () => { const bulk = db.collection('marks').initializeOrderedBulkOp(); bulk.insert({ mark: 'bulk' }); return bulk.execute(); },
    'rename()': () => db.collection('listed').rename('renamed'),
  };
  for (const [handle, write] of Object.entries(writes)) {
    try {
      await write();
      log(handle + ': written');
    } catch (error) {
      log(handle + ': ' + error.code);
    }
  }
}
`);
      const result = await env.newMigrator({ lock: { ttlSeconds: 1 } }).up();
      assert.equal(result.error?.code, 'LOCK_LOST', JSON.stringify(result.error));
      assert.deepEqual(result.steps[0]?.logs, ['createCollection(): LOCK_LOST', 'collections(): LOCK_LOST', 'client.db(): LOCK_LOST', 'bulk operation: LOCK_LOST', 'rename(): LOCK_LOST']);
      for (const name of ['created', 'listed', 'marks']) assert.equal(await env.db.collection(name).countDocuments(), 0, `nothing written to ${name}`);
      assert.deepEqual((await env.db.listCollections({ name: 'renamed' }).toArray()).length, 0);
    }));
});
