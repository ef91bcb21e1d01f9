// Helpers inside the migration's transaction: work that does not fit one (too many documents, or
// collection and index changes) is refused with TransactionLimitError before anything is written.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClientSession, Db } from 'mongodb';
import { TransactionLimitError } from '../../src/errors.ts';
import { createHelpers, type MigrationHelpers } from '../../src/helpers/index.ts';
import { FEATURE_NAMES } from '../../src/server/capabilities.ts';
import { withTestDb } from '../support/database.ts';
import { contextFor, ids, isWriteCommand, withMonitoredDb } from '../support/helpers.ts';

const isLimit = (message: RegExp) => (error: unknown): boolean => error instanceof TransactionLimitError && error.code === 'TRANSACTION_LIMIT' && message.test(error.message);

/** Runs fn with helpers bound to a session in a started transaction, then aborts it. */
async function inTransaction(db: Db, extra: { transactionDocumentLimit?: number }, fn: (helpers: MigrationHelpers, session: ClientSession) => Promise<void>): Promise<void> {
  const session = db.client.startSession();
  try {
    session.startTransaction();
    await fn(createHelpers(await contextFor(db, { session, ...extra })), session);
  } finally {
    if (session.inTransaction()) await session.abortTransaction().catch(() => undefined);
    await session.endSession();
  }
}

void describe('helpers in a transaction', () => {
  void it('collection and index changes are refused before anything is sent (any server: startTransaction is client-side)', () =>
    withTestDb('tx_ddl', async ({ db, dbName, uri }) => {
      await withMonitoredDb(uri, dbName, async (mdb, seen) => {
        await inTransaction(mdb, {}, async (helpers) => {
          seen.all.length = 0; // the server probe of contextFor
          const ddl = /cannot run inside a transaction: it changes collections or indexes, which a transaction cannot hold$/;
          await assert.rejects(helpers.ensureIndexes('products', [{ key: { a: 1 } }]), isLimit(/^ensureIndexes\(products\) /));
          await assert.rejects(helpers.ensureIndexes('products', [{ key: { a: 1 } }]), isLimit(ddl));
          await assert.rejects(helpers.dropIndexes('products', ['x']), isLimit(/^dropIndexes\(products\) cannot run/));
          await assert.rejects(helpers.copyAndRename('products', { to: 'x' }), isLimit(/^copyAndRename\(products -> x\) cannot run/));
          await assert.rejects(helpers.setValidator('products', { required: ['a'] }), isLimit(/^setValidator\(products\) cannot run/));
        });
        assert.deepEqual(seen.all.map((e) => e.commandName).filter((name) => name !== 'abortTransaction'), [], 'nothing sent');
      });
      assert.deepEqual(await db.listCollections().toArray(), []);
    }));

  void it('reshape and bumpSchemaVersion count first and write nothing when the count exceeds transactionDocumentLimit', async (t) => {
    await withTestDb('tx_limit', async ({ db, dbName, uri }) => {
      const probe = await contextFor(db);
      if (!probe.server.supports('transactions')) {
        t.skip(`${probe.server.describe()} lacks ${FEATURE_NAMES.transactions}`);
        return;
      }
      await db.collection('users').insertMany(ids(12).map((_id, n) => ({ _id, n, schema_version: 1 })));
      await withMonitoredDb(uri, dbName, async (mdb, seen) => {
        await inTransaction(mdb, { transactionDocumentLimit: 10 }, async (helpers) => {
          const tooMany = /cannot run inside a transaction: it would touch 12 documents, more than transactionDocumentLimit \(10\)$/;
          await assert.rejects(helpers.reshape('users', { transform: (doc) => ({ ...doc, x: 1 }) }), isLimit(tooMany));
          // the declarative spec runs server-side: the same limit
          await assert.rejects(helpers.bumpSchemaVersion('users', { to: 2 }), isLimit(tooMany));
          await assert.rejects(helpers.bumpSchemaVersion('users', { to: 2, transform: (doc) => ({ ...doc, y: 1 }) }), isLimit(/^bumpSchemaVersion\(users\) cannot run/));
        });
        assert.deepEqual(seen.all.filter(isWriteCommand).map((e) => e.commandName), [], 'no write command');

        await inTransaction(mdb, { transactionDocumentLimit: 12 }, async (helpers, session) => {
          assert.deepEqual(await helpers.bumpSchemaVersion('users', { to: 2, transform: (doc) => ({ ...doc, y: 1 }) }), { matched: 12, modified: 12, deleted: 0 });
          await session.commitTransaction();
        });
      });
      assert.equal(await db.collection('users').countDocuments({ schema_version: 2, y: 1 }), 12);
    });
  });
});
