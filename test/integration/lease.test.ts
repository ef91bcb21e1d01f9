// Integration tests of the run lease (core/lease.ts) on the real test server: acquire, wait,
// heartbeat, takeover of an expired lease through claims, races between separate clients, loss
// (taken over, or a stalled event loop), release that never throws, and the read side.
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MongoClient, type Db } from 'mongodb';
import { Lease, readLockState, unlockLease, type LeaseOptions } from '../../src/core/lease.ts';
import { MongrateError } from '../../src/errors.ts';
import { LOCK_ID, MongoLockStore, type LockDocument } from '../../src/lock/mongo-lock-store.ts';
import { measureServerClock, readHelloLocalTime, ServerClock } from '../../src/server/clock.ts';
import type { LockInfo } from '../../src/types.ts';
import { newRunIdentity, type RunIdentity } from '../../src/util/identity.ts';
import { withTestDb } from '../support/database.ts';
import { rejectsWithCode } from '../support/migrator.ts';

const LOCKS = 'mongrate_lock';
const LOCK_KEYS = ['_id', 'acquiredAt', 'command', 'expiresAt', 'host', 'owner', 'pid'];

const clocks = new WeakMap<Db, Promise<ServerClock>>();
function clockOf(db: Db): Promise<ServerClock> {
  let clock = clocks.get(db);
  if (clock === undefined) clocks.set(db, (clock = measureServerClock(db)));
  return clock;
}

async function leaseOf(db: Db, options: Partial<LeaseOptions> = {}, identity: RunIdentity = newRunIdentity()): Promise<Lease> {
  return new Lease({
    store: new MongoLockStore(db, LOCKS),
    clock: await clockOf(db),
    identity,
    command: 'up',
    ttlSeconds: 30,
    waitSeconds: 0,
    ...options,
  });
}

const readLockDoc = (db: Db): Promise<LockDocument | null> => db.collection<LockDocument>(LOCKS).findOne({ _id: LOCK_ID });

/** The server's time now, as the server says it (the test server may be this machine or not). */
const serverNow = async (db: Db): Promise<number> => (await readHelloLocalTime(db)).getTime();

/** A lock left by another (possibly dead) runner, dated in server time. */
async function insertLockDoc(db: Db, fields: Partial<LockInfo> & { owner: string; expiresInMs: number }): Promise<LockInfo> {
  const now = await serverNow(db);
  const { expiresInMs, ...rest } = fields;
  const lock: LockInfo = { host: 'other-host', pid: 4242, command: 'up', acquiredAt: new Date(now - 30_000), expiresAt: new Date(now + expiresInMs), ...rest };
  await new MongoLockStore(db, LOCKS).insertLease(lock);
  return lock;
}

/** A client on `dbName` that counts the inserts of the lock document itself: each one an attempt to acquire. */
async function countingLeaseInserts(uri: string, dbName: string): Promise<{ db: Db; attempts: () => number; close: () => Promise<void> }> {
  const client = new MongoClient(uri, { monitorCommands: true });
  let attempts = 0;
  client.on('commandStarted', (event) => {
    const documents = event.commandName === 'insert' ? (event.command.documents as { _id?: unknown }[] | undefined) : undefined;
    if (documents?.some((doc) => doc._id === LOCK_ID) === true) attempts++;
  });
  await client.connect();
  return { db: client.db(dbName), attempts: () => attempts, close: () => client.close() };
}

/** Resolves at the event loop's next turn: whatever only microtasks had to settle has settled by then. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Blocks the event loop (no timer, no I/O callback runs) for `ms`. */
function blockEventLoop(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

void describe('Lease', () => {
  void it('acquire writes exactly the contract document, dated in server time; the fence passes; release removes it', () =>
    withTestDb('lease_doc', async ({ db }) => {
      const identity = newRunIdentity();
      const lease = await leaseOf(db, { ttlSeconds: 30 }, identity);
      const before = await serverNow(db);
      await lease.acquire();
      const after = await serverNow(db);
      const docs = await db.collection<LockDocument>(LOCKS).find({}).toArray();
      assert.equal(docs.length, 1, 'one lock document, nothing else');
      const doc = docs[0];
      assert.ok(doc !== undefined);
      assert.deepEqual(Object.keys(doc).sort(), LOCK_KEYS);
      assert.deepEqual(
        { _id: doc._id, owner: doc.owner, host: doc.host, pid: doc.pid, command: doc.command },
        { _id: 'mongrate', owner: identity.runId, host: hostname(), pid: process.pid, command: 'up' },
      );
      // the lease dates its insert with the clock's estimate of server time, exact within the
      // clock's own bound (half the sample's round trip and drift), whatever the load
      const slack = (await clockOf(db)).uncertaintyMs();
      const acquiredAt = doc.acquiredAt.getTime();
      assert.ok(acquiredAt >= before - slack && acquiredAt <= after + slack, `acquiredAt is the server time of the insert (±${slack} ms)`);
      assert.equal(doc.expiresAt.getTime() - doc.acquiredAt.getTime(), 30_000, 'lease = ttlSeconds');
      assert.equal(lease.lost, undefined);
      lease.assertHeld();
      assert.deepEqual(await lease.release(), { released: true });
      assert.equal(await db.collection(LOCKS).countDocuments({}), 0, 'released');
      assert.throws(() => lease.assertHeld(), (e: unknown) => e instanceof MongrateError && e.code === 'LOCK_LOST', 'the fence closes after release');
    }));

  void it('a second runner fails at once with LOCK_HELD naming host, pid, command, since when and what to do', () =>
    withTestDb('lease_held', async ({ db, dbName, uri }) => {
      const first = await leaseOf(db, { command: 'repair' }, { ...newRunIdentity(), host: 'build-host-7', pid: 4242 });
      await first.acquire();
      const second = await countingLeaseInserts(uri, dbName);
      try {
        const doc = await readLockDoc(db);
        assert.ok(doc !== null);
        const waits: LockInfo[] = [];
        const error = await rejectsWithCode((await leaseOf(second.db, { onWait: (h) => waits.push(h) })).acquire(), 'LOCK_HELD');
        // "at once" counted in attempts, not milliseconds (which would time the server)
        assert.equal(second.attempts(), 1, 'waitSeconds 0 does not wait: one attempt, no retry after a backoff');
        assert.equal(error.code, 'LOCK_HELD');
        assert.match(error.message, /build-host-7 pid 4242 \(repair\) since /);
        assert.ok(error.message.includes(doc.acquiredAt.toISOString()), `since when: ${error.message}`);
        assert.deepEqual(error.hints.map((h) => h.command ?? Object.keys(h.options ?? {}).join()), ['lockWait', 'unlock'], 'ways out: wait (lockWait), or unlock');
        assert.doesNotMatch(error.message, /--lock-wait|mongrate unlock/, 'no CLI advice in the API');
        assert.deepEqual(waits, [], 'waitSeconds 0: no wait announced');
      } finally {
        await second.close();
        await first.release();
      }
    }));

  void it('with waitSeconds a second runner says once whom it waits for, and gets the lock once the first releases', () =>
    withTestDb('lease_wait', async ({ db }) => {
      const firstIdentity = newRunIdentity();
      const first = await leaseOf(db, {}, firstIdentity);
      await first.acquire();
      const waits: LockInfo[] = [];
      const secondIdentity = newRunIdentity();
      // The first releases once the second says it waits (a latch, not a fixed delay), and the
      // second may wait far longer than a loaded server needs for that release: it must get the
      // lock because it was released, never because it was quick.
      let releasing: Promise<unknown> | undefined;
      const second = await leaseOf(db, {
        waitSeconds: 60,
        onWait: (holder) => {
          waits.push(holder);
          releasing ??= first.release();
        },
      }, secondIdentity);
      try {
        await second.acquire();
        assert.ok(releasing !== undefined, 'waited for the release: it got the lock only after it had said it waits, and the first let go');
        assert.deepEqual(waits.map((h) => h.owner), [firstIdentity.runId], 'onWait once, naming the holder');
        assert.equal((await readLockDoc(db))?.owner, secondIdentity.runId);
        assert.deepEqual(await releasing, { released: true }, "the first released its own lock, not the second's");
      } finally {
        await releasing;
        await second.release();
      }
    }));

  void it('aborting the signal while waiting stops acquire() with INTERRUPTED at once', () =>
    withTestDb('lease_abort', async ({ db }) => {
      const holder = await leaseOf(db);
      await holder.acquire();
      try {
        const abort = new AbortController();
        // aborted just after the waiter started a backoff sleep (onWait comes right before the
        // first one): a latch, where a fixed delay could fire while a loaded server still answers
        let settled = false;
        let settledAtNextTurn: Promise<boolean> | undefined;
        const onWait = (): void => {
          setImmediate(() => {
            abort.abort();
            // nothing but microtasks lies between the abort and the rejection: no timer, no server
            settledAtNextTurn = nextTurn().then(() => settled);
          });
        };
        const waiting = (await leaseOf(db, { waitSeconds: 30, signal: abort.signal, onWait })).acquire().finally(() => (settled = true));
        await rejectsWithCode(waiting, 'INTERRUPTED');
        assert.ok(settledAtNextTurn !== undefined && (await settledAtNextTurn), 'no backoff sleep finished first: the abort ended it before the event loop turned');
      } finally {
        await holder.release();
      }
    }));

  void it('the heartbeat renews a 1 s lease held for 2.5 s, and nobody can take it meanwhile', () =>
    withTestDb('lease_heartbeat', async ({ db }) => {
      const identity = newRunIdentity();
      const lease = await leaseOf(db, { ttlSeconds: 1 }, identity);
      await lease.acquire();
      try {
        const samples: number[] = [];
        for (const wait of [0, 1200, 1300]) {
          await sleep(wait);
          lease.assertHeld();
          const doc = await readLockDoc(db);
          assert.ok(doc !== null);
          assert.equal(doc.owner, identity.runId);
          assert.ok(doc.expiresAt.getTime() > (await serverNow(db)), 'the lease never runs out on the server clock while held');
          samples.push(doc.expiresAt.getTime());
        }
        assert.ok(samples[0] !== undefined && samples[1] !== undefined && samples[2] !== undefined);
        assert.ok(samples[1] > samples[0] && samples[2] > samples[1], `expiresAt moves forward: ${samples.join(', ')}`);
        await rejectsWithCode((await leaseOf(db, { ttlSeconds: 1 })).acquire(), 'LOCK_HELD');
        assert.equal(lease.lost, undefined);
      } finally {
        await lease.release();
      }
    }));

  void it('takes over a lease expired on the server clock, and says whose it was', () =>
    withTestDb('lease_takeover', async ({ db }) => {
      const dead = await insertLockDoc(db, { owner: 'dead', expiresInMs: -60_000 });
      const identity = newRunIdentity();
      const previous: LockInfo[] = [];
      const lease = await leaseOf(db, { onTakeover: (p) => previous.push(p) }, identity);
      await lease.acquire();
      try {
        assert.equal((await readLockDoc(db))?.owner, identity.runId);
        assert.deepEqual(previous, [dead]);
      } finally {
        await lease.release();
      }
      assert.equal(await readLockDoc(db), null);
    }));

  for (const runners of [2, 8]) {
    void it(`${runners} leases (separate clients) racing for one expired lease: exactly one wins, 20 times`, () =>
      withTestDb(`lease_race_${runners}`, async ({ db, dbName, uri }) => {
        const clients = await Promise.all(Array.from({ length: runners }, () => new MongoClient(uri).connect()));
        try {
          const dbs = clients.map((client) => client.db(dbName));
          for (let round = 0; round < 20; round++) {
            await db.collection(LOCKS).deleteMany({});
            await insertLockDoc(db, { owner: `dead-${round}`, expiresInMs: -1000 });
            const takeovers: string[] = [];
            const contenders = await Promise.all(
              dbs.map(async (contenderDb) => {
                const identity = newRunIdentity();
                return { identity, lease: await leaseOf(contenderDb, { onTakeover: () => takeovers.push(identity.runId) }, identity) };
              }),
            );
            const outcomes = await Promise.allSettled(contenders.map((c) => c.lease.acquire()));
            const winners = contenders.filter((_, i) => outcomes[i]?.status === 'fulfilled');
            try {
              for (const outcome of outcomes) {
                if (outcome.status === 'rejected') {
                  const reason: unknown = outcome.reason;
                  assert.ok(reason instanceof MongrateError && reason.code === 'LOCK_HELD', `round ${round}: ${String(reason)}`);
                }
              }
              assert.equal(winners.length, 1, `round ${round}: exactly one winner, got ${winners.length}`);
              assert.equal((await readLockDoc(db))?.owner, winners[0]?.identity.runId, `round ${round}: the lock is the winner's`);
              // the winner may have found the lock already removed by the claim's winner: then it took nothing over
              assert.ok(takeovers.length <= 1 && takeovers.every((id) => id === winners[0]?.identity.runId), `round ${round}: only the winner reports a takeover`);
            } finally {
              for (const winner of winners) await winner.lease.release();
            }
          }
        } finally {
          await Promise.all(clients.map((client) => client.close()));
        }
      }));
  }

  void it('a runner that died mid-takeover (a live claim on the expired lease) is waited out with backoff, not a busy loop', () =>
    withTestDb('lease_claim', async ({ db, dbName, uri }) => {
      const expired = await insertLockDoc(db, { owner: 'dead', expiresInMs: -5000 });
      const now = await serverNow(db);
      // the claim a takeover inserts, left by a claimant that then died
      const claimant: LockInfo = { owner: 'claimer', host: 'claim-host', pid: 7, command: 'up', acquiredAt: new Date(now), expiresAt: new Date(now + 1500) };
      await new MongoLockStore(db, LOCKS).insertClaim({ owner: expired.owner, expiresAt: expired.expiresAt }, 1, claimant);
      const client = new MongoClient(uri, { monitorCommands: true });
      let commands = 0;
      let attempts = 0;
      client.on('commandStarted', (event) => {
        commands++;
        const documents = event.commandName === 'insert' ? (event.command.documents as { _id?: unknown }[] | undefined) : undefined;
        if (documents?.some((doc) => doc._id === LOCK_ID) === true) attempts++;
      });
      try {
        const monitored = (await client.connect()).db(dbName);
        const error = await rejectsWithCode((await leaseOf(monitored)).acquire(), 'LOCK_HELD');
        assert.match(error.message, /being taken over by another runner/);
        // "at once" counted in attempts, not milliseconds (which would time the server)
        assert.equal(attempts, 1, 'waitSeconds 0 fails at once while the claim is live: one attempt, no retry after a backoff');

        commands = 0;
        const identity = newRunIdentity();
        const waiting = await leaseOf(monitored, { waitSeconds: 5 }, identity);
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

  void it('detects a takeover at the next renewal: lost, onLost once, the fence throws LOCK_LOST, release keeps the new owner', () =>
    withTestDb('lease_loss', async ({ db }) => {
      const reasons: string[] = [];
      const lease = await leaseOf(db, { ttlSeconds: 1, onLost: (reason) => reasons.push(reason) });
      await lease.acquire();
      await db.collection<LockDocument>(LOCKS).updateOne({ _id: LOCK_ID }, { $set: { owner: 'usurper', host: 'usurper-host', pid: 777 } });
      await lease.renew();
      assert.match(lease.lost ?? '', /taken over by usurper-host pid 777/);
      assert.deepEqual(reasons, [lease.lost]);
      assert.throws(() => lease.assertHeld(), (e: unknown) => e instanceof MongrateError && e.code === 'LOCK_LOST' && /usurper-host/.test(e.message));
      await sleep(700); // heartbeats would have fired by now
      assert.equal(reasons.length, 1, 'onLost is called once');
      assert.equal((await readLockDoc(db))?.owner, 'usurper', 'no renewal wrote over the new owner');
      assert.deepEqual(await lease.release(), { released: false });
      assert.equal((await readLockDoc(db))?.owner, 'usurper', "release() leaves the new owner's lock alone");
    }));

  void it('a stalled event loop: past its deadline the fence throws at once, nothing is renewed, and the lease is taken over', () =>
    withTestDb('lease_stall', async ({ db }) => {
      const reasons: string[] = [];
      const identity = newRunIdentity();
      const lease = await leaseOf(db, { ttlSeconds: 1, onLost: (reason) => reasons.push(reason) }, identity);
      await lease.acquire();
      const acquired = await readLockDoc(db);
      assert.ok(acquired !== null);
      blockEventLoop(1200); // no heartbeat can run
      // synchronously after the stall, before any timer or reply could run: the write would be stopped here
      assert.throws(() => lease.assertHeld(), (e: unknown) => e instanceof MongrateError && e.code === 'LOCK_LOST' && /ran out before it was renewed/.test(e.message));
      assert.equal(reasons.length, 1, 'reported lost once, by the fence');
      await lease.renew();
      await sleep(500); // the overdue heartbeats run now
      const doc = await readLockDoc(db);
      assert.equal(doc?.owner, identity.runId);
      assert.equal(doc.expiresAt.getTime(), acquired.expiresAt.getTime(), 'the lease past its deadline was never renewed');
      assert.equal(reasons.length, 1);
      const release = await lease.release();
      assert.equal(release.released, false, 'a lost lease is left for the next runner, not removed');

      // the next runner waits as long as it must (far longer than the 1 s lease): it takes over
      // when its own estimate of the server's clock says the lease expired, whatever the load
      const next = newRunIdentity();
      const tookOver: LockInfo[] = [];
      const other = await leaseOf(db, { waitSeconds: 60, onTakeover: (previous) => tookOver.push(previous) }, next);
      await other.acquire();
      assert.equal((await readLockDoc(db))?.owner, next.runId, 'taken over once expired on the server clock');
      assert.deepEqual(tookOver.map((previous) => previous.owner), [identity.runId], 'the expired lease it took over was the stalled one');
      assert.ok((await serverNow(db)) > acquired.expiresAt.getTime(), 'not before it expired on the server clock');
      await other.release();
    }));

  void it('release() never throws: with the server gone it returns a warning', () =>
    withTestDb('lease_release_fail', async ({ dbName, uri }) => {
      const client = await new MongoClient(uri).connect();
      const lease = await leaseOf(client.db(dbName));
      await lease.acquire();
      await client.close();
      const outcome = await lease.release();
      assert.equal(outcome.released, false);
      assert.match(outcome.warning ?? '', /could not release the lock .*expires by itself at \d{4}-/);
    }));

  void it('refuses a lease whose ttl the round trip to the server is too slow to judge', () =>
    withTestDb('lease_slow_clock', async ({ db }) => {
      const slowClock = await ServerClock.measure(async () => {
        await sleep(300);
        return readHelloLocalTime(db);
      }, { samples: 1 });
      const lease = new Lease({ store: new MongoLockStore(db, LOCKS), clock: slowClock, identity: newRunIdentity(), command: 'up', ttlSeconds: 1, waitSeconds: 0 });
      const error = await rejectsWithCode(lease.acquire(), 'UNREACHABLE');
      assert.match(error.message, /round trip \(\d+ ms at best\) is too slow to judge a lock lease of 1 s/);
      assert.match(error.message, /lock\.ttlSeconds/);
      assert.equal(await readLockDoc(db), null, 'nothing was written');
    }));
});

void describe('readLockState and unlockLease', () => {
  void it('live on the server clock: reported live, kept without force; expired: released; any with force', () =>
    withTestDb('lease_unlock', async ({ db }) => {
      const store = new MongoLockStore(db, LOCKS);
      const clock = await clockOf(db);
      const unlock = (force: boolean): ReturnType<typeof unlockLease> => unlockLease(store, clock, { force, claimant: newRunIdentity(), ttlSeconds: 30 });

      assert.deepEqual(await readLockState(store, clock), { lock: null, live: false });
      assert.deepEqual(await unlock(false), { lock: null, released: false, expired: false });

      const live = await insertLockDoc(db, { owner: 'live', expiresInMs: 60_000 });
      assert.deepEqual(await readLockState(store, clock), { lock: live, live: true });
      assert.deepEqual(await unlock(false), { lock: live, released: false, expired: false });
      assert.equal((await readLockDoc(db))?.owner, 'live');
      assert.deepEqual(await unlock(true), { lock: live, released: true, expired: false });
      assert.equal(await readLockDoc(db), null);

      const expired = await insertLockDoc(db, { owner: 'expired', expiresInMs: -1000 });
      assert.deepEqual(await readLockState(store, clock), { lock: expired, live: false });
      assert.deepEqual(await unlock(false), { lock: expired, released: true, expired: true });
      assert.equal(await readLockDoc(db), null);
    }));
});
