// The one suite every LockStore implementation must pass (golang-migrate's shared driver tests):
// what the lease in core/lease.ts relies on and nothing more. It runs against the test server of
// `npm test` (FerretDB, or MONGODB_URI when set) for each implementation listed below.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MongoClient, MongoServerError, type Db } from 'mongodb';
import type { LeaseKey, LockStore } from '../../src/lock/contract.ts';
import { MongoLockStore } from '../../src/lock/mongo-lock-store.ts';
import { FEATURE_NAMES, probeServer } from '../../src/server/capabilities.ts';
import type { LockInfo } from '../../src/types.ts';
import { withTestDb } from '../support/database.ts';

interface LockStoreImplementation {
  name: string;
  /** A store over `db`; two stores made from the same database share one lock. */
  open(db: Db): LockStore;
}

const IMPLEMENTATIONS: LockStoreImplementation[] = [{ name: 'MongoLockStore', open: (db) => new MongoLockStore(db, 'mongrate_lock') }];

const CONCURRENT_CLIENTS = 8;
const ROUNDS = 25;
const BASE = Date.UTC(2030, 0, 1);

function leaseOf(owner: string, expiresInMs = 60_000): LockInfo {
  return { owner, host: `host-${owner}`, pid: 1000 + owner.length, command: 'up', acquiredAt: new Date(BASE), expiresAt: new Date(BASE + expiresInMs) };
}

const keyOf = (lease: LockInfo): LeaseKey => ({ owner: lease.owner, expiresAt: lease.expiresAt });

/** Runs every store's insert (or claim) at once from separate clients; returns who succeeded. */
async function raceFromSeparateClients(
  uri: string,
  dbName: string,
  impl: LockStoreImplementation,
  attempt: (store: LockStore, index: number, round: number) => Promise<boolean>,
  rounds: number,
  reset: (store: LockStore) => Promise<void>,
): Promise<number[][]> {
  const clients = await Promise.all(Array.from({ length: CONCURRENT_CLIENTS }, () => new MongoClient(uri).connect()));
  try {
    const stores = clients.map((client) => impl.open(client.db(dbName)));
    const winnersPerRound: number[][] = [];
    for (let round = 0; round < rounds; round++) {
      await reset(stores[0] as LockStore);
      const outcomes = await Promise.all(stores.map((store, index) => attempt(store, index, round)));
      winnersPerRound.push(outcomes.flatMap((won, index) => (won ? [index] : [])));
    }
    return winnersPerRound;
  } finally {
    await Promise.all(clients.map((client) => client.close()));
  }
}

async function skipWithoutTransactions(t: TestContext, db: Db): Promise<boolean> {
  const server = await probeServer(db);
  if (server.supports('transactions')) return false;
  t.skip(`needs ${FEATURE_NAMES.transactions} [transactions], which ${server.describe()} lacks`);
  return true;
}

for (const impl of IMPLEMENTATIONS) {
  void describe(`LockStore conformance: ${impl.name}`, () => {
    void it('insertLease is exclusive; readLease returns exactly what was inserted', () =>
      withTestDb('store_insert', async ({ db }) => {
        const store = impl.open(db);
        assert.equal(await store.readLease(), null);
        const first = leaseOf('first');
        assert.equal(await store.insertLease(first), true);
        assert.equal(await store.insertLease(leaseOf('second')), false, 'a second insert loses');
        assert.deepEqual(await store.readLease(), first, 'the first lease, every field');
        assert.deepEqual(await impl.open(db).readLease(), first, 'another store over the same database sees it');
      }));

    void it('extendLease changes only the expiry, and only for the owner', () =>
      withTestDb('store_extend', async ({ db }) => {
        const store = impl.open(db);
        assert.equal(await store.extendLease('nobody', new Date(BASE)), false, 'nothing to extend');
        const lease = leaseOf('owner');
        await store.insertLease(lease);
        assert.equal(await store.extendLease('intruder', new Date(BASE + 1)), false);
        assert.deepEqual(await store.readLease(), lease, 'a non-owner changed nothing');
        const later = new Date(BASE + 120_000);
        assert.equal(await store.extendLease('owner', later), true);
        assert.deepEqual(await store.readLease(), { ...lease, expiresAt: later });
      }));

    void it('removeLease is owner-conditional, and expiry-conditional when given an expiry', () =>
      withTestDb('store_remove', async ({ db }) => {
        const store = impl.open(db);
        assert.equal(await store.removeLease('nobody'), false);
        const lease = leaseOf('owner');
        await store.insertLease(lease);
        assert.equal(await store.removeLease('intruder'), false);
        assert.equal(await store.removeLease('owner', new Date(BASE + 1)), false, 'another expiry: a renewed lease is kept');
        assert.notEqual(await store.readLease(), null);
        assert.equal(await store.removeLease('owner', lease.expiresAt), true);
        assert.equal(await store.readLease(), null);
        assert.equal(await store.insertLease(leaseOf('next')), true, 'the lock can be taken again');
        assert.equal(await store.removeLease('next'), true, 'without an expiry: whatever its expiry');
        assert.equal(await store.readLease(), null);
      }));

    void it('claims: exclusive per lease and round, independent of the lock and of each other; cleaned up by expiry', () =>
      withTestDb('store_claims', async ({ db }) => {
        const store = impl.open(db);
        const expired = leaseOf('dead', -5_000);
        await store.insertLease(expired);
        const target = keyOf(expired);
        const claimant = leaseOf('claimant', 10_000);
        assert.equal(await store.readClaim(target, 1), null);
        assert.equal(await store.insertClaim(target, 1, claimant), true);
        assert.equal(await store.insertClaim(target, 1, leaseOf('late')), false, 'one claim per round');
        assert.deepEqual(await store.readClaim(target, 1), claimant);
        assert.equal(await store.insertClaim(target, 2, leaseOf('next-round', 20_000)), true, 'the next round is a new claim');
        assert.equal(await store.insertClaim({ ...target, expiresAt: new Date(BASE + 1) }, 1, leaseOf('other')), true, 'a claim names one exact lease');
        assert.deepEqual(await store.readLease(), expired, 'claims leave the lock alone');

        assert.equal(await store.removeClaimsExpiredBefore(new Date(BASE + 15_000)), 1, 'only the claim that ended before +15 s');
        assert.equal(await store.readClaim(target, 1), null);
        assert.notEqual(await store.readClaim(target, 2), null, 'a claim ending later is kept');
        assert.deepEqual(await store.readLease(), expired, 'cleaning claims never removes the lock');
        assert.equal(await store.removeClaimsExpiredBefore(new Date(BASE + 10 * 60_000)), 2);
        assert.deepEqual(await store.readLease(), expired);
      }));

    void it(`concurrent insertLease from ${CONCURRENT_CLIENTS} separate clients: exactly one wins, ${ROUNDS} rounds`, () =>
      withTestDb('store_race', async ({ dbName, uri }) => {
        const winners = await raceFromSeparateClients(
          uri,
          dbName,
          impl,
          (store, index) => store.insertLease(leaseOf(`racer-${index}`)),
          ROUNDS,
          async (store) => {
            const lease = await store.readLease();
            if (lease !== null) await store.removeLease(lease.owner);
          },
        );
        winners.forEach((round, i) => assert.equal(round.length, 1, `round ${i}: winners ${round.join(',')}`));
      }));

    void it(`concurrent insertClaim on one lease from ${CONCURRENT_CLIENTS} separate clients: exactly one wins, ${ROUNDS} rounds`, () =>
      withTestDb('store_claim_race', async ({ dbName, uri }) => {
        const winners = await raceFromSeparateClients(
          uri,
          dbName,
          impl,
          // each round claims a lease of its own (a new expiry), as each takeover does
          (store, index, round) => store.insertClaim({ owner: 'dead', expiresAt: new Date(BASE + round) }, 1, leaseOf(`claimant-${index}`)),
          ROUNDS,
          () => Promise.resolve(),
        );
        winners.forEach((round, i) => assert.equal(round.length, 1, `round ${i}: winners ${round.join(',')}`));
      }));

    void it('extendLease in a session: part of the transaction, and a removal of the lock makes it fail', (t) =>
      withTestDb('store_session', async ({ client, db }) => {
        if (await skipWithoutTransactions(t, db)) return;
        const store = impl.open(db);
        const lease = leaseOf('owner');
        await store.insertLease(lease);
        await db.createCollection('work');
        const later = new Date(BASE + 300_000);

        // committed with the transaction, invisible before
        const session = client.startSession();
        try {
          session.startTransaction();
          assert.equal(await store.extendLease('owner', later, session), true);
          assert.equal(await store.extendLease('intruder', later, session), false, 'owner-conditional in a session too');
          assert.deepEqual(await store.readLease(), lease, 'not visible outside before the commit');
          await session.commitTransaction();
          assert.deepEqual(await store.readLease(), { ...lease, expiresAt: later });

          // the lock removed after the transaction's snapshot: the transaction cannot extend it
          session.startTransaction();
          await db.collection('work').insertOne({ step: 'inside' }, { session });
          assert.equal(await store.removeLease('owner'), true);
          const outcome = await store.extendLease('owner', new Date(BASE + 400_000), session).then(
            (extended) => (extended ? 'extended' : 'not held'),
            (error: unknown) => (error instanceof MongoServerError && error.hasErrorLabel('TransientTransactionError') ? 'conflict' : String(error)),
          );
          assert.ok(outcome === 'conflict' || outcome === 'not held', `a removed lock is not extended in the transaction: ${outcome}`);
          await session.abortTransaction().catch(() => undefined);
          assert.equal(await db.collection('work').countDocuments({}), 0, 'the transaction wrote nothing');
          assert.equal(await store.readLease(), null);

          // extended in the transaction first: a takeover's removal waits for the commit, then finds another expiry
          await store.insertLease(lease);
          session.startTransaction();
          assert.equal(await store.extendLease('owner', later, session), true);
          const removal = store.removeLease('owner', lease.expiresAt);
          await sleep(300);
          await session.commitTransaction();
          assert.equal(await removal, false, 'the removal of the old lease matched nothing after the commit');
          assert.deepEqual(await store.readLease(), { ...lease, expiresAt: later });
        } finally {
          await session.endSession();
        }
      }));
  });
}
