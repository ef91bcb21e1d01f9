// The lease while a migration's transaction holds the lock document (core/lease.ts): nobody can
// take it over then, so neither a lease shorter than the transaction nor a heartbeat waiting
// behind it ends the run; after the commit the lease runs from the transaction's last stamp, after
// an abort from the last committed renewal. Each title says where it runs.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MongoClient } from 'mongodb';
import { Lease } from '../../src/core/lease.ts';
import { startMigrationTransaction } from '../../src/core/transactions.ts';
import { MongrateError } from '../../src/errors.ts';
import { LOCK_ID, MongoLockStore, type LockDocument } from '../../src/lock/mongo-lock-store.ts';
import { measureServerClock } from '../../src/server/clock.ts';
import { newRunIdentity } from '../../src/util/identity.ts';
import { uniqueDbName } from '../support/database.ts';
import { venueIt, type Gateway } from '../support/transaction-venue.ts';
import { MARK_IN_TRANSACTION, marks, named, sent, shimOf, states, withTransactionEnv } from '../support/transaction-env.ts';

/** A migration that stays in its transaction for `ms` (and is quick outside one). */
const LINGERS = (ms: number): string => `export async function up({ db, session }) {
  if (session !== undefined) await new Promise((resolve) => setTimeout(resolve, ${ms}));
  await db.collection('marks').insertOne({ mark: 'lingered' });
}
`;

/** A 2 s lease held through the gateway, and a session to run transactions in. */
async function withLease(gateway: Gateway, fn: (lease: Lease, client: MongoClient, read: () => Promise<LockDocument | null>) => Promise<void>): Promise<void> {
  const client = new MongoClient(gateway.uri, { serverSelectionTimeoutMS: 5000 });
  const db = client.db(uniqueDbName('txn_lease'));
  try {
    const lease = new Lease({ store: new MongoLockStore(db, 'mongrate_lock'), clock: await measureServerClock(db), identity: newRunIdentity(), command: 'up', ttlSeconds: 2, waitSeconds: 0 });
    await lease.acquire();
    try {
      await fn(lease, client, () => db.collection<LockDocument>('mongrate_lock').findOne({ _id: LOCK_ID }));
    } finally {
      await lease.release();
    }
  } finally {
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  }
}

const lost = (error: unknown): boolean => error instanceof MongrateError && error.code === 'LOCK_LOST';

void describe('the lease during a transaction', () => {
  venueIt('a 3 s lease and a migration whose transaction lasts 4.5 s: applied, never reported lost, and the next migration runs under the same lease', { commands: true }, (gateway) =>
    withTransactionEnv(gateway, 'txn_lease_short', { lock: { ttlSeconds: 3 } }, async (env) => {
      const shim = shimOf(gateway);
      await env.project.write('001-lingers.ts', LINGERS(4500));
      await env.project.write('002-mark.ts', MARK_IN_TRANSACTION);
      const result = await env.migrator.up();
      assert.equal(result.error, undefined, JSON.stringify(result.error));
      assert.deepEqual(result.steps.map((s) => [s.id, s.status, s.transaction]), [['001-lingers', 'success', true], ['002-mark', 'success', true]]);
      assert.deepEqual(result.warnings, []);
      assert.deepEqual(await states(env), [['001-lingers', 'applied'], ['002-mark', 'applied']]);
      assert.deepEqual(await marks(env), ['a', 'lingered']);
      // inside the first transaction: the touch, the migration, a fresh stamp before the commit
      const insert = sent(shim).find((c) => c.collection === 'marks' && c.inTransaction);
      assert.ok(insert !== undefined);
      const transaction = shim.transactionOf(insert);
      assert.deepEqual(transaction.map(named), ['update mongrate_lock', 'insert marks', 'update mongrate_lock', 'update mongrate_changelog', 'commitTransaction']);
      // no heartbeat while the transaction held the lock document: it would only wait for the commit
      const [touch, , restamp] = transaction;
      const between = shim.commands.slice(shim.commands.indexOf(touch ?? insert), shim.commands.indexOf(restamp ?? insert));
      assert.deepEqual(between.filter((c) => c.collection === 'mongrate_lock' && !c.inTransaction).map(named), []);
    }),
  );

  venueIt('after a commit the lease runs from the last stamp in the transaction; after an abort from the last committed renewal, so a lease that ran out meanwhile is lost', {}, (gateway) =>
    withLease(gateway, async (lease, client, read) => {
      const session = client.startSession();
      try {
        startMigrationTransaction(session);
        const held = await lease.touch(session);
        await sleep(2500); // past the 2 s lease: still held, the transaction holds the lock document
        lease.assertHeld();
        await held.refresh();
        await session.commitTransaction();
        held.committed();
        lease.assertHeld();
        const committed = await read();
        assert.ok(committed !== null);

        startMigrationTransaction(session);
        const aborted = await lease.touch(session);
        await sleep(2500);
        lease.assertHeld();
        await session.abortTransaction();
        aborted.aborted();
        assert.throws(() => lease.assertHeld(), lost, 'the renewals it waited on never came: past its committed deadline');
        if (gateway.real) assert.deepEqual((await read())?.expiresAt, committed.expiresAt, 'the aborted stamp never landed');
      } finally {
        await session.endSession();
      }
    }),
  );

  venueIt("before a transaction, a lease shorter than the server's longest transaction is renewed for that long: others see it live while the transaction holds the lock document", {}, (gateway) =>
    withLease(gateway, async (lease, _client, read) => {
      const before = await read();
      assert.ok(before !== null);
      const lifetimeMs = 5000;
      await lease.coverTransaction(lifetimeMs);
      const covered = await read();
      assert.ok(covered !== null);
      const grownMs = covered.expiresAt.getTime() - before.expiresAt.getTime();
      assert.ok(grownMs >= lifetimeMs - 1000, `the 2 s lease now runs at least ~5 s longer, grew by ${grownMs} ms`);
      await lease.coverTransaction(lifetimeMs);
      assert.deepEqual((await read())?.expiresAt, covered.expiresAt, 'covered already: nothing written');
      // and the heartbeat goes on as before: its next renewal brings the lease back to 2 s
      for (let i = 0; i < 100 && (await read())?.expiresAt.getTime() === covered.expiresAt.getTime(); i++) await sleep(50);
      const renewed = await read();
      assert.ok(renewed !== null && renewed.expiresAt < covered.expiresAt, 'renewed by the heartbeat');
      await sleep(2500); // past a 2 s lease: the heartbeat kept it
      lease.assertHeld();
    }),
  );
});
