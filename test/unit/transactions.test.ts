// Unit tests of the transaction decisions: topology from recorded `hello` replies, the probe's
// logic against stand-in sessions, the run's transaction policy, which errors mean 'run the
// transaction again'. No server.
import { FERRETDB_BUILD_INFO, FERRETDB_HELLO } from '../support/recorded-replies.ts';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Binary, Long, MongoNetworkError, MongoServerError, ObjectId, Timestamp, type Document } from 'mongodb';
import { exitCodeFor } from '../../src/cli/exit-codes.ts';
import { isTransientTransactionError, transactionPolicy, transactionSupportOf, type TransactionSupport } from '../../src/core/transactions.ts';
import { capabilitiesFrom } from '../../src/server/capabilities.ts';
import { MongrateError } from '../../src/errors.ts';
import type { TransactionMode } from '../../src/types.ts';

const clusterTime = new Timestamp({ t: 1715677923, i: 1 });

/** `db.admin().command({ hello: 1 })` of a MongoDB 7.0 standalone `mongod`. */
const MONGOD_7_STANDALONE: Document = {
  isWritablePrimary: true,
  topologyVersion: { processId: new ObjectId('6643298e1f0c2a4d5e6b7c8d'), counter: Long.fromNumber(0) },
  maxBsonObjectSize: 16777216,
  maxMessageSizeBytes: 48000000,
  maxWriteBatchSize: 100000,
  localTime: new Date('2024-05-14T09:12:03.417Z'),
  logicalSessionTimeoutMinutes: 30,
  connectionId: 12,
  minWireVersion: 0,
  maxWireVersion: 21,
  readOnly: false,
  ok: 1,
};

/** The primary of a three-member MongoDB 7.0 replica set. */
const MONGOD_7_RS_PRIMARY: Document = {
  topologyVersion: { processId: new ObjectId('66432a01b7e94c3f2d1a0b9c'), counter: Long.fromNumber(6) },
  hosts: ['mongo-0.rs:27017', 'mongo-1.rs:27017', 'mongo-2.rs:27017'],
  setName: 'rs0',
  setVersion: 1,
  isWritablePrimary: true,
  secondary: false,
  primary: 'mongo-0.rs:27017',
  me: 'mongo-0.rs:27017',
  electionId: new ObjectId('7fffffff0000000000000003'),
  lastWrite: {
    opTime: { ts: clusterTime, t: Long.fromNumber(3) },
    lastWriteDate: new Date('2024-05-14T09:12:03.000Z'),
    majorityOpTime: { ts: clusterTime, t: Long.fromNumber(3) },
    majorityWriteDate: new Date('2024-05-14T09:12:03.000Z'),
  },
  maxBsonObjectSize: 16777216,
  maxMessageSizeBytes: 48000000,
  maxWriteBatchSize: 100000,
  localTime: new Date('2024-05-14T09:12:03.852Z'),
  logicalSessionTimeoutMinutes: 30,
  connectionId: 87,
  minWireVersion: 0,
  maxWireVersion: 21,
  readOnly: false,
  ok: 1,
  $clusterTime: { clusterTime, signature: { hash: new Binary(Buffer.alloc(20)), keyId: Long.fromNumber(0) } },
  operationTime: clusterTime,
};

/** A secondary of the same set. */
const MONGOD_7_RS_SECONDARY: Document = {
  ...MONGOD_7_RS_PRIMARY,
  isWritablePrimary: false,
  secondary: true,
  me: 'mongo-1.rs:27017',
  electionId: undefined,
};

/** A MongoDB 7.0 `mongos`. */
const MONGOS_7: Document = {
  isWritablePrimary: true,
  msg: 'isdbgrid',
  topologyVersion: { processId: new ObjectId('66432b5c0a9d8e7f6a5b4c3d'), counter: Long.fromNumber(0) },
  maxBsonObjectSize: 16777216,
  maxMessageSizeBytes: 48000000,
  maxWriteBatchSize: 100000,
  localTime: new Date('2024-05-14T09:12:04.101Z'),
  logicalSessionTimeoutMinutes: 30,
  connectionId: 3021,
  maxWireVersion: 21,
  minWireVersion: 0,
  ok: 1,
  $clusterTime: { clusterTime, signature: { hash: new Binary(Buffer.alloc(20)), keyId: Long.fromNumber(0) } },
  operationTime: clusterTime,
};


const MONGOD_7_BUILDINFO = { version: '7.0.12', versionArray: [7, 0, 12, 0], ok: 1 };

/** The transaction decision as the migrator makes it: from the probe of buildInfo + hello (+ a real attempt). */
const supportFrom = (buildInfo: Document, hello: Document, committed?: boolean): TransactionSupport =>
  transactionSupportOf(capabilitiesFrom(buildInfo, hello, committed === undefined ? {} : { transactions: committed }));

void describe('transaction support from recorded hello replies', () => {
  void it('a MongoDB 7 standalone has none, and the reason says a replica set is needed', () => {
    const support = supportFrom(MONGOD_7_BUILDINFO, MONGOD_7_STANDALONE);
    assert.equal(support.supported, false);
    assert.match(support.reason, /standalone/);
    assert.match(support.reason, /replica set/);
  });

  void it('a replica-set primary or secondary that commits a transaction has them', () => {
    assert.deepEqual(supportFrom(MONGOD_7_BUILDINFO, MONGOD_7_RS_PRIMARY, true), { supported: true, reason: 'supported' });
    assert.equal(supportFrom(MONGOD_7_BUILDINFO, MONGOD_7_RS_SECONDARY, true).supported, true);
  });

  void it('a mongos is a sharded cluster with transactions', () => {
    assert.equal(capabilitiesFrom(MONGOD_7_BUILDINFO, MONGOS_7).topology, 'sharded');
    assert.equal(supportFrom(MONGOD_7_BUILDINFO, MONGOS_7, true).supported, true);
  });

  void it('a replica set that refuses to commit is unsupported, and says so', () => {
    const support = supportFrom(MONGOD_7_BUILDINFO, MONGOD_7_RS_PRIMARY, false);
    assert.equal(support.supported, false);
    assert.match(support.reason, /refused to commit a transaction/);
  });

  void it("FerretDB 1.24's real reply: a standalone without transactions, named in the reason", () => {
    const server = capabilitiesFrom(FERRETDB_BUILD_INFO, FERRETDB_HELLO);
    assert.equal(server.topology, 'standalone');
    const support = transactionSupportOf(server);
    assert.equal(support.supported, false);
    assert.match(support.reason, /FerretDB 1\.24\.2/);
  });

  void it('a FerretDB that reports a replica set (as through the transaction shim) is judged by a real commit, like any server', () => {
    const asSet = { ...FERRETDB_HELLO, setName: 'rs0', hosts: ['127.0.0.1:27017'] };
    assert.equal(capabilitiesFrom(FERRETDB_BUILD_INFO, asSet).supports('transactions'), true, 'worth probing');
    assert.equal(supportFrom(FERRETDB_BUILD_INFO, asSet, true).supported, true);
    const refused = supportFrom(FERRETDB_BUILD_INFO, asSet, false);
    assert.equal(refused.supported, false);
    assert.match(refused.reason, /FerretDB 1\.24\.2 .*refused to commit a transaction/);
  });
});

const SUPPORTED: TransactionSupport = { supported: true, reason: 'supported' };
const UNSUPPORTED: TransactionSupport = {
  supported: false,
  reason: 'the server is a standalone (transactions need a replica set or a sharded cluster)',
};

const migration = (transaction: boolean | undefined): { id: string; definition: { transaction?: boolean } } => ({
  id: '001-a',
  definition: transaction === undefined ? {} : { transaction },
});

void describe('transactionPolicy', () => {
  const cases: { mode: TransactionMode; support: TransactionSupport; expect: Record<'default' | 'true' | 'false', boolean> | 'CONFIG' }[] = [
    { mode: 'never', support: SUPPORTED, expect: { default: false, true: false, false: false } },
    { mode: 'never', support: UNSUPPORTED, expect: { default: false, true: false, false: false } },
    { mode: 'auto', support: SUPPORTED, expect: { default: true, true: true, false: false } },
    { mode: 'auto', support: UNSUPPORTED, expect: { default: false, true: false, false: false } },
    { mode: 'always', support: SUPPORTED, expect: { default: true, true: true, false: false } },
    { mode: 'always', support: UNSUPPORTED, expect: 'CONFIG' },
  ];

  for (const { mode, support, expect } of cases) {
    const label = `${mode} + ${support.supported ? 'supported' : 'unsupported'}`;
    if (expect === 'CONFIG') {
      void it(`${label}: throws CONFIG (exit 2) naming the reason, before any migration is asked about`, () => {
        assert.throws(
          () => transactionPolicy(mode, support, 1000),
          (error: unknown) => {
            assert.ok(error instanceof MongrateError);
            assert.equal(error.code, 'CONFIG');
            assert.equal(exitCodeFor(error.code), 2);
            assert.match(error.message, /transactions/);
            assert.match(error.message, /always/);
            assert.ok(error.message.includes(support.reason), error.message);
            return true;
          },
        );
      });
      continue;
    }
    void it(`${label}: default ${expect.default}, transaction: true ${expect.true}, transaction: false ${expect.false}`, () => {
      const policy = transactionPolicy(mode, support, 1000);
      assert.equal(policy.use(migration(undefined)), expect.default);
      assert.equal(policy.use(migration(true)), expect.true);
      assert.equal(policy.use(migration(false)), expect.false);
      // a helper whose work does not fit: auto runs the migration again outside, always fails it
      assert.equal(policy.rerunOutside, mode === 'auto');
      assert.equal(policy.documentLimit, 1000);
    });
  }
});

void describe('isTransientTransactionError', () => {
  const conflict = { message: 'WriteConflict error', code: 112, codeName: 'WriteConflict' };
  void it('is true for a server error labelled TransientTransactionError', () => {
    assert.equal(isTransientTransactionError(new MongoServerError({ ...conflict, errorLabels: ['TransientTransactionError'] })), true);
  });
  void it('is true for a network error the driver labelled (inside a transaction, before the commit)', () => {
    const lost = new MongoNetworkError('connection closed');
    lost.addErrorLabel('TransientTransactionError');
    assert.equal(isTransientTransactionError(lost), true);
  });
  void it("is true for a write conflict without the label (how DocumentDB's gateway answers one inside a transaction)", () => {
    assert.equal(isTransientTransactionError(new MongoServerError(conflict)), true);
  });
  void it('is false without the label for anything else: a duplicate key, a commit whose result is unknown', () => {
    assert.equal(isTransientTransactionError(new MongoServerError({ message: 'E11000 duplicate key', code: 11000 })), false);
    const unknown = { message: 'waiting for replication timed out', code: 64, codeName: 'WriteConcernFailed' };
    assert.equal(isTransientTransactionError(new MongoServerError({ ...unknown, errorLabels: ['UnknownTransactionCommitResult'] })), false);
  });
  void it('is false for anything that is not a driver error', () => {
    assert.equal(isTransientTransactionError(new MongrateError('MIGRATION_FAILED', 'TransientTransactionError')), false);
    assert.equal(isTransientTransactionError(new Error('TransientTransactionError')), false);
    assert.equal(isTransientTransactionError(undefined), false);
  });
});
