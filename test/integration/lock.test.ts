// Integration tests of the run lock: the Lock class directly (acquire, wait, heartbeat, takeover,
// races between separate clients, loss detection) and the lock as the migrator uses it.
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MongoClient, type Db } from 'mongodb';
import { MongrateError } from '../../src/errors.ts';
import { forceUnlock, Lock, LOCK_ID, type LockDocument, type LockOptions } from '../../src/lock/lock.ts';
import { newRunIdentity, type RunIdentity } from '../../src/util/identity.ts';
import { withTestDb } from '../support/db.ts';
import { markerMigration } from '../support/project.ts';
import { rejectsWithCode, stepSummary, withEnv } from './migrator-helpers.ts';

const LOCKS = 'mongrate_lock';
const LOCK_KEYS = ['_id', 'acquiredAt', 'command', 'expiresAt', 'host', 'owner', 'pid'];

function lockOf(db: Db, options: Partial<LockOptions> = {}, identity: RunIdentity = newRunIdentity(), command = 'up'): Lock {
  return new Lock(db, LOCKS, identity, command, { ttlSeconds: 30, waitSeconds: 0, ...options });
}

function readLockDoc(db: Db): Promise<LockDocument | null> {
  return db.collection<LockDocument>(LOCKS).findOne({ _id: LOCK_ID });
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

/** Blocks the event loop (no timer, no I/O callback runs) for `ms`. */
function blockEventLoop(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

void describe('Lock', () => {
  void it('acquire writes exactly the contract document; release removes it', () =>
    withTestDb('lock_doc', async ({ db }) => {
      const identity = newRunIdentity();
      const lock = lockOf(db, { ttlSeconds: 30 }, identity, 'up');
      const before = Date.now();
      await lock.acquire();
      const after = Date.now();
      try {
        const docs = await db.collection<LockDocument>(LOCKS).find({}).toArray();
        assert.equal(docs.length, 1, 'one lock document, nothing else');
        const doc = docs[0];
        assert.ok(doc !== undefined);
        assert.deepEqual(Object.keys(doc).sort(), LOCK_KEYS);
        assert.equal(doc._id, 'mongrate');
        assert.equal(doc.owner, identity.runId);
        assert.equal(doc.host, identity.host);
        assert.equal(doc.host, hostname());
        assert.equal(doc.pid, process.pid);
        assert.equal(doc.command, 'up');
        assert.ok(doc.acquiredAt instanceof Date && doc.expiresAt instanceof Date);
        assert.ok(doc.acquiredAt.getTime() >= before - 1 && doc.acquiredAt.getTime() <= after + 1);
        assert.equal(doc.expiresAt.getTime() - doc.acquiredAt.getTime(), 30_000, 'lease = ttlSeconds');
        assert.equal(lock.lost, undefined);
        assert.equal(lock.held(), true);
        assert.equal(await lock.verify(), true);
      } finally {
        await lock.release();
      }
      assert.equal(await readLockDoc(db), null, 'released');
      assert.equal(await db.collection(LOCKS).countDocuments({}), 0);
    }));

  void it('a second runner fails at once with LOCK_HELD naming host, pid, command, since when and what to do', () =>
    withTestDb('lock_held', async ({ db }) => {
      const holderIdentity: RunIdentity = { ...newRunIdentity(), host: 'build-host-7', pid: 4242 };
      const first = lockOf(db, {}, holderIdentity, 'repair');
      await first.acquire();
      try {
        const doc = await readLockDoc(db);
        assert.ok(doc !== null);
        const started = performance.now();
        const error = await rejectsWithCode(lockOf(db, { waitSeconds: 0 }).acquire(), 'LOCK_HELD');
        assert.ok(performance.now() - started < 1000, 'waitSeconds 0 does not wait');
        assert.equal(error.exitCode, 3);
        assert.match(error.message, /build-host-7/);
        assert.match(error.message, /\bpid 4242\b/);
        assert.match(error.message, /\brepair\b/);
        assert.ok(error.message.includes(doc.acquiredAt.toISOString()), `since when: ${error.message}`);
        assert.match(error.message, /mongrate unlock/);
        assert.equal((await readLockDoc(db))?.owner, holderIdentity.runId, 'the holder keeps the lock');
      } finally {
        await first.release();
      }
    }));

  void it('with waitSeconds 3 a second runner waits and gets the lock once the first releases', () =>
    withTestDb('lock_wait', async ({ db }) => {
      const first = lockOf(db);
      await first.acquire();
      const secondIdentity = newRunIdentity();
      const second = lockOf(db, { waitSeconds: 3 }, secondIdentity);
      const releaser = (async () => {
        await sleep(500);
        await first.release();
      })();
      const started = performance.now();
      try {
        await second.acquire();
        const waited = performance.now() - started;
        assert.ok(waited >= 450, `waited for the release (${Math.round(waited)} ms)`);
        assert.ok(waited < 3000, `got it before the deadline (${Math.round(waited)} ms)`);
        assert.equal((await readLockDoc(db))?.owner, secondIdentity.runId);
      } finally {
        await releaser;
        await second.release();
      }
      assert.equal(await readLockDoc(db), null);
    }));

  void it('the heartbeat renews a 1 s lease held for 2.5 s, and nobody can take it meanwhile', () =>
    withTestDb('lock_heartbeat', async ({ db }) => {
      const identity = newRunIdentity();
      const lock = lockOf(db, { ttlSeconds: 1 }, identity);
      await lock.acquire();
      try {
        const samples: number[] = [];
        for (const wait of [0, 1200, 1300]) {
          await sleep(wait);
          const doc = await readLockDoc(db);
          assert.ok(doc !== null);
          assert.equal(doc.owner, identity.runId);
          assert.ok(doc.expiresAt.getTime() > Date.now(), 'the lease never runs out while held');
          samples.push(doc.expiresAt.getTime());
        }
        assert.ok(samples[0] !== undefined && samples[1] !== undefined && samples[2] !== undefined);
        assert.ok(samples[1] > samples[0] && samples[2] > samples[1], `expiresAt moves forward: ${samples.join(', ')}`);
        assert.equal(lock.lost, undefined);
        await rejectsWithCode(lockOf(db, { ttlSeconds: 1 }).acquire(), 'LOCK_HELD');
        assert.equal((await readLockDoc(db))?.owner, identity.runId);
      } finally {
        await lock.release();
      }
    }));

  void it('takes over an expired lock', () =>
    withTestDb('lock_takeover', async ({ db }) => {
      await insertLockDoc(db, { owner: 'dead', expiresAt: new Date(Date.now() - 60_000) });
      const identity = newRunIdentity();
      const lock = lockOf(db, {}, identity);
      await lock.acquire();
      try {
        const doc = await readLockDoc(db);
        assert.ok(doc !== null);
        assert.equal(doc.owner, identity.runId);
        assert.equal(doc.host, identity.host);
        assert.ok(doc.expiresAt.getTime() > Date.now());
      } finally {
        await lock.release();
      }
      assert.equal(await readLockDoc(db), null);
    }));

  for (const runners of [2, 8]) {
    void it(`${runners} runners (separate clients) racing for one expired lock: exactly one wins, 20 times`, () =>
      withTestDb(`lock_race_${runners}`, async ({ dbName, uri }) => {
        const clients = await Promise.all(Array.from({ length: runners }, () => new MongoClient(uri).connect()));
        try {
          const dbs = clients.map((client) => client.db(dbName));
          const admin = dbs[0];
          assert.ok(admin !== undefined);
          for (let round = 0; round < 20; round++) {
            await admin.collection(LOCKS).deleteMany({});
            await insertLockDoc(admin, { owner: `dead-${round}`, expiresAt: new Date(Date.now() - 1000) });
            const contenders = dbs.map((db) => {
              const identity = newRunIdentity();
              return { identity, lock: lockOf(db, { ttlSeconds: 30, waitSeconds: 0 }, identity) };
            });
            const outcomes = await Promise.allSettled(contenders.map((c) => c.lock.acquire()));
            const winners = contenders.filter((_, i) => outcomes[i]?.status === 'fulfilled');
            try {
              for (const outcome of outcomes) {
                if (outcome.status === 'rejected') {
                  const reason: unknown = outcome.reason;
                  assert.ok(reason instanceof MongrateError, `round ${round}: ${String(reason)}`);
                  assert.equal(reason.code, 'LOCK_HELD', `round ${round}: ${reason.message}`);
                }
              }
              assert.equal(winners.length, 1, `round ${round}: exactly one winner, got ${winners.length}`);
              const doc = await readLockDoc(admin);
              assert.equal(doc?.owner, winners[0]?.identity.runId, `round ${round}: the lock is the winner's`);
            } finally {
              for (const winner of winners) await winner.lock.release();
            }
          }
        } finally {
          await Promise.all(clients.map((client) => client.close()));
        }
      }));
  }

  void it('a runner that died mid-takeover (live claim, expired lock) is waited out with backoff, not a busy loop', () =>
    withTestDb('lock_claim', async ({ db, dbName, uri }) => {
      const expired = await insertLockDoc(db, { owner: 'dead', expiresAt: new Date(Date.now() - 5000) });
      // the claim document a takeover inserts (see lock.ts), left by a claimer that then died
      await db.collection<LockDocument>(LOCKS).insertOne({
        ...expired,
        _id: `takeover:dead:${expired.expiresAt.getTime()}`,
        owner: 'claimer',
        acquiredAt: new Date(),
        expiresAt: new Date(Date.now() + 1500),
      });
      const client = new MongoClient(uri, { monitorCommands: true });
      let commands = 0;
      client.on('commandStarted', () => commands++);
      try {
        const monitored = (await client.connect()).db(dbName);

        const started = performance.now();
        const impatient = lockOf(monitored, { waitSeconds: 0 });
        const outcome = await impatient.acquire().then(
          () => 'acquired',
          (error: unknown) => (error instanceof MongrateError ? error.code : String(error)),
        );
        const took = `${Math.round(performance.now() - started)} ms, ${commands} commands`;
        if (outcome === 'acquired') await impatient.release();
        assert.equal(outcome, 'LOCK_HELD', `waitSeconds 0 must fail at once while another runner's claim is live (${took})`);
        assert.ok(performance.now() - started < 500, `failed at once (${took})`);

        commands = 0;
        const identity = newRunIdentity();
        const waiting = lockOf(monitored, { waitSeconds: 5 }, identity);
        await waiting.acquire();
        try {
          assert.equal((await readLockDoc(db))?.owner, identity.runId, 'taken over once the dead claim expired');
          assert.ok(commands < 100, `waited with backoff: ${commands} commands`);
        } finally {
          await waiting.release();
        }
      } finally {
        await client.close();
      }
    }));

  void it('detects a takeover at the next renewal: lost, onLost once, verify() false, release() keeps the new owner', () =>
    withTestDb('lock_loss', async ({ db }) => {
      const reasons: string[] = [];
      const lock = lockOf(db, { ttlSeconds: 1, onLost: (reason) => reasons.push(reason) });
      await lock.acquire();
      try {
        await db.collection<LockDocument>(LOCKS).updateOne({ _id: LOCK_ID }, { $set: { owner: 'usurper', host: 'usurper-host', pid: 777 } });
        await lock.renew();
        assert.ok(lock.lost !== undefined, 'the loss is reported');
        assert.match(lock.lost, /taken over/);
        assert.match(lock.lost, /usurper-host/);
        assert.equal(lock.held(), false);
        assert.equal(reasons.length, 1);
        assert.equal(reasons[0], lock.lost);
        assert.equal(await lock.verify(), false);
        await lock.renew();
        await sleep(700); // heartbeats would have fired by now
        assert.equal(reasons.length, 1, 'onLost is called once');
        const doc = await readLockDoc(db);
        assert.equal(doc?.owner, 'usurper', 'no renewal wrote over the new owner');
      } finally {
        await lock.release();
      }
      assert.equal((await readLockDoc(db))?.owner, 'usurper', "release() leaves the new owner's lock alone");
    }));

  void it('a runner whose process stalled past its lease reports the loss instead of renewing', () =>
    withTestDb('lock_stall', async ({ db }) => {
      const reasons: string[] = [];
      const identity = newRunIdentity();
      const lock = lockOf(db, { ttlSeconds: 1, onLost: (reason) => reasons.push(reason) }, identity);
      await lock.acquire();
      try {
        const acquired = await readLockDoc(db);
        assert.ok(acquired !== null);
        blockEventLoop(1200); // no heartbeat can run
        await lock.renew();
        assert.ok(lock.lost !== undefined, 'a lease past its expiry is lost');
        assert.match(lock.lost, /expired/);
        assert.equal(reasons.length, 1);
        assert.equal(await lock.verify(), false);
        const doc = await readLockDoc(db);
        assert.ok(doc !== null);
        assert.equal(doc.owner, identity.runId);
        assert.equal(doc.expiresAt.getTime(), acquired.expiresAt.getTime(), 'the expired lease was not renewed');
      } finally {
        await lock.release();
      }
      // the expired lease is left for someone else to take over
      const next = newRunIdentity();
      const other = lockOf(db, {}, next);
      await other.acquire();
      assert.equal((await readLockDoc(db))?.owner, next.runId);
      await other.release();
    }));

  void it('forceUnlock leaves a live lock alone without force and releases an expired one', () =>
    withTestDb('lock_force', async ({ db }) => {
      assert.deepEqual(await forceUnlock(db, LOCKS, false), { lock: null, released: false, expired: false });
      await insertLockDoc(db, { owner: 'live', expiresAt: new Date(Date.now() + 60_000) });
      const kept = await forceUnlock(db, LOCKS, false);
      assert.equal(kept.released, false);
      assert.equal(kept.expired, false);
      assert.equal(kept.lock?.owner, 'live');
      assert.equal((await readLockDoc(db))?.owner, 'live');
      await db.collection<LockDocument>(LOCKS).updateOne({ _id: LOCK_ID }, { $set: { expiresAt: new Date(Date.now() - 1000) } });
      const released = await forceUnlock(db, LOCKS, false);
      assert.equal(released.released, true);
      assert.equal(released.expired, true);
      assert.equal(await readLockDoc(db), null);
    }));
});

void describe('migrator.unlock()', () => {
  void it('reports no lock; keeps a live one; releases an expired one, or a live one with force; records history', () =>
    withEnv('unlock', async (env) => {
      const locks = env.db.collection<LockDocument>(LOCKS);

      assert.deepEqual(await env.migrator.unlock(), { lock: null, released: false, expired: false });
      assert.deepEqual(await env.history(), []);

      await insertLockDoc(env.db, { owner: 'live-1', host: 'live-host', pid: 11, expiresAt: new Date(Date.now() + 60_000) });
      const kept = await env.migrator.unlock();
      assert.equal(kept.released, false);
      assert.equal(kept.expired, false);
      assert.equal(kept.lock?.host, 'live-host');
      assert.equal(kept.lock.pid, 11);
      assert.equal((await readLockDoc(env.db))?.owner, 'live-1', 'a live lock stays without force');
      assert.deepEqual(await env.history(), [], 'nothing released, nothing recorded');

      await locks.updateOne({ _id: LOCK_ID }, { $set: { expiresAt: new Date(Date.now() - 1000) } });
      const expired = await env.migrator.unlock();
      assert.equal(expired.released, true);
      assert.equal(expired.expired, true);
      assert.equal(expired.lock?.owner, 'live-1');
      assert.equal(await readLockDoc(env.db), null);

      await insertLockDoc(env.db, { owner: 'live-2', host: 'busy-host', pid: 22, expiresAt: new Date(Date.now() + 60_000) });
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

/** Sleeps ~1 s, then inserts mark 'slow'. */
const SLOW = `import { defineMigration } from 'mongrate';
export default defineMigration({
  description: 'slow',
  async up({ db }) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await db.collection('marks').insertOne({ mark: 'slow' });
  },
  async down() {},
});
`;

/** Simulates another runner taking the lock over, then keeps working for 1.5 s (ignoring ctx.signal). */
const USURPED = `export async function up({ db }) {
  await db.collection('mongrate_lock').updateOne({ _id: 'mongrate' }, { $set: { owner: 'usurper', host: 'usurper-host', pid: 4242 } });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await db.collection('marks').insertOne({ mark: 'usurped-finished' });
}
export async function down() {}
`;

void describe('the lock in the migrator', () => {
  void it('a second up() is refused while one runs; with lockWait it waits and finds nothing to do; status and validate take no lock', () =>
    withEnv('lock_migrator', async (env) => {
      await env.project.write('001-slow.ts', SLOW);
      const runner = env.newMigrator();
      let finished = false;
      const running = runner.up().finally(() => (finished = true));
      try {
        const observer = env.newMigrator();
        let state = '';
        for (let i = 0; i < 400 && state !== 'running'; i++) {
          state = (await observer.status()).migrations[0]?.state ?? '';
          if (state !== 'running') await sleep(5);
        }
        assert.equal(state, 'running', "status() works while the lock is held and shows the migration 'running'");

        const second = env.newMigrator();
        const refused = await rejectsWithCode(second.up(), 'LOCK_HELD');
        assert.ok(refused.message.includes(hostname()));
        assert.match(refused.message, new RegExp(`pid ${process.pid}\\b`));
        assert.match(refused.message, /\(up\)/);

        const validation = await observer.validate();
        assert.deepEqual(validation, { ok: true, findings: [] });
        assert.equal(finished, false, 'status() and validate() did not wait for the lock');

        const started = performance.now();
        const waited = await second.up({ lockWait: 5 });
        assert.ok(performance.now() - started < 5000);
        assert.equal(waited.error, undefined);
        assert.deepEqual(waited.steps, [], 'the waiting runner found nothing left to do');
      } finally {
        await running;
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
      const migrator = env.newMigrator({ lock: { ttlSeconds: 1 } });

      const result = await migrator.up();
      assert.ok(result.error !== undefined);
      assert.equal(result.error.code, 'LOCK_HELD');
      assert.equal(result.error.id, '002-usurped');
      assert.match(result.error.message, /not recorded/);
      assert.match(result.error.message, /usurper-host/);
      assert.deepEqual(stepSummary(result), ['001-a:up:success', '002-usurped:up:failed', '003-c:up:not-run']);
      assert.deepEqual(await env.marks(), ['a', 'usurped-finished'], '003-c did not run');

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
});
