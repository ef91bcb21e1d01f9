// Unit tests of the capability decision: recorded/documented buildInfo + hello replies in, ServerInfo
// out; and of how probe failures are read (recorded error replies, real driver errors).
import { FERRETDB_BUILD_INFO, FERRETDB_COMMIT_TRANSACTION_REPLY, FERRETDB_HELLO } from '../support/recorded-replies.ts';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MongoClient, MongoNetworkError, MongoServerError, ObjectId, Timestamp, type Document } from 'mongodb';
import { exitCodeFor } from '../../src/cli/exit-codes.ts';
import { MongrateError } from '../../src/errors.ts';
import {
  capabilitiesFrom,
  FEATURES,
  meansNoTransactions,
  probeFailure,
  probeServer,
  probeTransactions,
  versionFromWire,
  type Feature,
} from '../../src/server/capabilities.ts';

// MongoDB 7.0 replies, in the shapes the server documents.
const MONGODB_BUILD_INFO: Document = {
  version: '7.0.14',
  gitVersion: 'ce59cfc6a3c5e5c067dca0d30697edd68d4f5188',
  modules: [],
  allocator: 'tcmalloc',
  javascriptEngine: 'mozjs',
  sysInfo: 'deprecated',
  versionArray: [7, 0, 14, 0],
  openssl: { running: 'OpenSSL 3.0.2 15 Mar 2022', compiled: 'OpenSSL 3.0.2 15 Mar 2022' },
  buildEnvironment: { distmod: 'ubuntu2204', distarch: 'x86_64', target_arch: 'x86_64', target_os: 'linux' },
  bits: 64,
  debug: false,
  maxBsonObjectSize: 16777216,
  storageEngines: ['devnull', 'wiredTiger'],
  ok: 1,
};
const MONGODB_STANDALONE_HELLO: Document = {
  isWritablePrimary: true,
  topologyVersion: { processId: new ObjectId('66f1a2b3c4d5e6f708192a3b'), counter: 0 },
  maxBsonObjectSize: 16777216,
  maxMessageSizeBytes: 48000000,
  maxWriteBatchSize: 100000,
  localTime: new Date('2024-09-23T10:00:00Z'),
  logicalSessionTimeoutMinutes: 30,
  connectionId: 12,
  minWireVersion: 0,
  maxWireVersion: 21,
  readOnly: false,
  ok: 1,
};
const MONGODB_REPLICA_SET_HELLO: Document = {
  ...MONGODB_STANDALONE_HELLO,
  hosts: ['mongo-0.internal:27017', 'mongo-1.internal:27017', 'mongo-2.internal:27017'],
  setName: 'rs0',
  setVersion: 3,
  secondary: false,
  primary: 'mongo-0.internal:27017',
  me: 'mongo-0.internal:27017',
  electionId: new ObjectId('7fffffff0000000000000004'),
  lastWrite: { opTime: { ts: new Timestamp({ t: 1727085600, i: 1 }), t: 4 }, lastWriteDate: new Date('2024-09-23T10:00:00Z') },
  $clusterTime: { clusterTime: new Timestamp({ t: 1727085600, i: 1 }) },
  operationTime: new Timestamp({ t: 1727085600, i: 1 }),
};
const MONGOS_HELLO: Document = {
  isWritablePrimary: true,
  msg: 'isdbgrid',
  topologyVersion: { processId: new ObjectId('66f1a2b3c4d5e6f708192a3c'), counter: 0 },
  maxBsonObjectSize: 16777216,
  maxMessageSizeBytes: 48000000,
  maxWriteBatchSize: 100000,
  localTime: new Date('2024-09-23T10:00:00Z'),
  logicalSessionTimeoutMinutes: 30,
  connectionId: 7,
  maxWireVersion: 21,
  minWireVersion: 0,
  ok: 1,
};

// Amazon DocumentDB 5.0: a terse buildInfo; hello names the cluster's instances.
const DOCUMENTDB_BUILD_INFO: Document = { version: '5.0.0', versionArray: [5, 0, 0, 0], bits: 64, maxBsonObjectSize: 16777216, ok: 1 };
const DOCUMENTDB_INSTANCE = 'docdb-2024-01-15-10-20-30.c1a2b3c4d5e6.eu-central-1.docdb.amazonaws.com:27017';
const DOCUMENTDB_HELLO: Document = {
  hosts: [DOCUMENTDB_INSTANCE],
  setName: 'rs0',
  setVersion: 1,
  isWritablePrimary: true,
  secondary: false,
  primary: DOCUMENTDB_INSTANCE,
  me: DOCUMENTDB_INSTANCE,
  maxBsonObjectSize: 16777216,
  maxMessageSizeBytes: 48000000,
  maxWriteBatchSize: 100000,
  localTime: new Date('2024-09-23T10:00:00Z'),
  minWireVersion: 0,
  maxWireVersion: 13,
  readOnly: false,
  ok: 1,
};

// Azure Cosmos DB for MongoDB (RU), API 4.2: .NET-flavoured buildInfo, replica set "globaldb", isMaster only.
const COSMOS_BUILD_INFO: Document = {
  _t: 'BuildInfoResponse',
  ok: 1,
  version: '4.2.0',
  gitVersion: '45d947729a0315accb6d4f15a6b06be6d9c19fe7',
  targetMinOS: 'Windows 7/Windows Server 2008 R2',
  modules: [],
  allocator: 'tcmalloc',
  javascriptEngine: 'Chakra',
  sysInfo: 'deprecated',
  versionArray: [4, 2, 0, 0],
  bits: 64,
  debug: false,
  maxBsonObjectSize: 16777216,
};
const COSMOS_HELLO: Document = {
  ismaster: true,
  setName: 'globaldb',
  hosts: ['contoso-eastus.mongo.cosmos.azure.com:10255'],
  primary: 'contoso-eastus.mongo.cosmos.azure.com:10255',
  me: 'contoso-eastus.mongo.cosmos.azure.com:10255',
  maxBsonObjectSize: 16777216,
  maxMessageSizeBytes: 48000000,
  maxWriteBatchSize: 1000,
  localTime: new Date('2024-09-23T10:00:00Z'),
  maxWireVersion: 8,
  minWireVersion: 0,
  ok: 1,
};

function supported(buildInfo: Document, hello: Document, probed?: { transactions?: boolean }): Feature[] {
  return [...capabilitiesFrom(buildInfo, hello, probed).features];
}

const ALL: Feature[] = [...FEATURES];

void describe('capabilitiesFrom()', () => {
  void it('recognises FerretDB 1.24.2 behind its MongoDB 7.0.42 disguise and grants none of the features', () => {
    const info = capabilitiesFrom(FERRETDB_BUILD_INFO, FERRETDB_HELLO);
    assert.equal(info.flavour, 'ferretdb');
    assert.equal(info.version, '1.24.2');
    assert.equal(info.mongodbVersion, '7.0.42');
    assert.equal(info.topology, 'standalone');
    assert.deepEqual(info.features, []);
    for (const feature of FEATURES) assert.equal(info.supports(feature), false, feature);
    // an update command of 100 statements never returns on FerretDB 1.x (SQLite pool of 100)
    assert.equal(info.maxUpdatesPerCommand, 50);
    assert.equal(info.describe(), 'FerretDB 1.24.2 (poses as MongoDB 7.0.42, standalone)');
  });

  void it('require() throws MIGRATION_FAILED naming the feature and the server', () => {
    const info = capabilitiesFrom(FERRETDB_BUILD_INFO, FERRETDB_HELLO);
    assert.throws(
      () => info.require('renameDropTarget', 'copyAndRename(users)'),
      (error: unknown) =>
        error instanceof MongrateError &&
        error.code === 'MIGRATION_FAILED' &&
        error.message === 'copyAndRename(users) needs renameCollection dropTarget [renameDropTarget], which FerretDB 1.24.2 (poses as MongoDB 7.0.42, standalone) does not support',
    );
    assert.throws(() => info.require('partialIndexes', 'x'), /partial indexes \(partialFilterExpression\) \[partialIndexes\]/);
    assert.throws(() => info.require('ttlIndexes', 'x'), /TTL indexes \(expireAfterSeconds\)/);
    assert.throws(() => info.require('textIndexes', 'x'), /text indexes \[textIndexes\]/);
    assert.throws(() => info.require('validators', 'x'), /collection validators/);
    assert.throws(() => info.require('hiddenIndexes', 'x'), /hidden indexes \(hidden, collMod index\.hidden\) \[hiddenIndexes\]/);
    assert.throws(() => info.require('views', 'x'), /views \(create with viewOn and pipeline\) \[views\]/);
    const mongo = capabilitiesFrom(MONGODB_BUILD_INFO, MONGODB_STANDALONE_HELLO);
    assert.doesNotThrow(() => mongo.require('renameDropTarget', 'x'));
  });

  void it('reads FerretDB 2.x (a `ferretdb` document) and its aggregation stages list', () => {
    const buildInfo = { ...FERRETDB_BUILD_INFO, ferretdbVersion: undefined, ferretdb: { version: 'v2.1.0' }, ferretdbFeatures: { aggregationStages: ['$lookup', '$match'] } };
    const info = capabilitiesFrom(buildInfo, FERRETDB_HELLO);
    assert.equal(info.flavour, 'ferretdb');
    assert.equal(info.version, '2.1.0');
    assert.deepEqual(info.features, ['$lookup']);
    // the statement limit is a 1.x SQLite-pool bug
    assert.equal(info.maxUpdatesPerCommand, 1000);
  });

  void it('MongoDB 7 standalone: everything but transactions', () => {
    const info = capabilitiesFrom(MONGODB_BUILD_INFO, MONGODB_STANDALONE_HELLO);
    assert.equal(info.flavour, 'mongodb');
    assert.equal(info.version, '7.0.14');
    assert.equal(info.topology, 'standalone');
    assert.deepEqual(info.features, ALL.filter((f) => f !== 'transactions'));
    assert.equal(info.maxUpdatesPerCommand, 1000);
    assert.equal(info.describe(), 'MongoDB 7.0.14 (standalone)');
  });

  void it('MongoDB 7 replica set and mongos: everything, unless the transaction probe failed', () => {
    assert.equal(capabilitiesFrom(MONGODB_BUILD_INFO, MONGODB_REPLICA_SET_HELLO).topology, 'replicaset');
    assert.deepEqual(supported(MONGODB_BUILD_INFO, MONGODB_REPLICA_SET_HELLO), ALL);
    assert.deepEqual(supported(MONGODB_BUILD_INFO, MONGODB_REPLICA_SET_HELLO, { transactions: true }), ALL);
    assert.deepEqual(supported(MONGODB_BUILD_INFO, MONGODB_REPLICA_SET_HELLO, { transactions: false }), ALL.filter((f) => f !== 'transactions'));
    assert.equal(capabilitiesFrom(MONGODB_BUILD_INFO, MONGOS_HELLO).topology, 'sharded');
    assert.deepEqual(supported(MONGODB_BUILD_INFO, MONGOS_HELLO), ALL);
    // a successful probe cannot grant what the topology rules out
    assert.equal(capabilitiesFrom(MONGODB_BUILD_INFO, MONGODB_STANDALONE_HELLO, { transactions: true }).supports('transactions'), false);
  });

  void it('older MongoDB versions lose the features they predate', () => {
    const v40 = { ...MONGODB_BUILD_INFO, version: '4.0.28', versionArray: [4, 0, 28, 0] };
    assert.deepEqual(
      supported(v40, MONGODB_REPLICA_SET_HELLO),
      ALL.filter((f) => f !== '$merge' && f !== 'pipelineUpdates' && f !== 'hiddenIndexes'),
    );
    // transactions on a sharded cluster arrived in 4.2
    assert.equal(capabilitiesFrom(v40, MONGOS_HELLO).supports('transactions'), false);
    const v34 = { ...MONGODB_BUILD_INFO, version: '3.4.24' };
    assert.deepEqual(supported(v34, MONGODB_STANDALONE_HELLO), ['partialIndexes', 'ttlIndexes', 'textIndexes', '$out', '$lookup', 'renameDropTarget', 'collMod', 'views']);
  });

  void it('Amazon DocumentDB is recognised by the instance names in hello', () => {
    const info = capabilitiesFrom(DOCUMENTDB_BUILD_INFO, DOCUMENTDB_HELLO);
    assert.equal(info.flavour, 'documentdb');
    assert.equal(info.version, '5.0.0');
    assert.equal(info.topology, 'replicaset');
    assert.deepEqual(info.features, ALL.filter((f) => f !== 'hiddenIndexes' && f !== 'views'));
    const v4 = capabilitiesFrom({ ...DOCUMENTDB_BUILD_INFO, version: '4.0.0' }, DOCUMENTDB_HELLO);
    assert.deepEqual(v4.features, ['transactions', 'ttlIndexes', 'validators', '$out', '$lookup', 'renameDropTarget', 'collMod']);
    // hidden indexes and views arrived in DocumentDB 8.0
    assert.deepEqual(capabilitiesFrom({ ...DOCUMENTDB_BUILD_INFO, version: '8.0.0' }, DOCUMENTDB_HELLO).features, ALL);
    const elastic = capabilitiesFrom(DOCUMENTDB_BUILD_INFO, {
      ...MONGOS_HELLO,
      me: 'contoso-123456789.eu-central-1.docdb-elastic.amazonaws.com:27017',
    });
    assert.equal(elastic.flavour, 'documentdb');
    assert.equal(elastic.supports('transactions'), false);
  });

  void it('Azure Cosmos DB RU is recognised by its buildInfo; it lacks renames over a target and validators, and its transactions are too narrow for a migration', () => {
    const info = capabilitiesFrom(COSMOS_BUILD_INFO, COSMOS_HELLO);
    assert.equal(info.flavour, 'cosmosdb');
    assert.equal(info.version, '4.2.0');
    assert.equal(info.topology, 'replicaset');
    assert.deepEqual(info.features, ['$out', '$merge', '$lookup', 'pipelineUpdates']);
    assert.match(info.whyNot('transactions') ?? '', /one collection for at most 5 s/);
    assert.throws(() => info.require('transactions', 'x'), /does not support \(Azure Cosmos DB for MongoDB \(RU\) runs a transaction on one collection/);
    assert.equal(info.maxUpdatesPerCommand, 1000);
    assert.equal(info.describe(), 'Azure Cosmos DB for MongoDB (RU) 4.2.0 (replicaset)');
    // the RU host name alone is enough
    const byHost = capabilitiesFrom(MONGODB_BUILD_INFO, { ...MONGODB_REPLICA_SET_HELLO, me: 'contoso.mongo.cosmos.azure.com:10255' });
    assert.equal(byHost.flavour, 'cosmosdb');
  });

  void it('Azure Cosmos DB vCore (*.mongocluster.cosmos.azure.com) is told apart from RU: another engine, with transactions', () => {
    const hello = { ...MONGODB_REPLICA_SET_HELLO, hosts: ['c-contoso.mongocluster.cosmos.azure.com:10260'], me: 'c-contoso.mongocluster.cosmos.azure.com:10260' };
    const info = capabilitiesFrom({ version: '7.0.0', versionArray: [7, 0, 0, 0], ok: 1 }, hello);
    assert.equal(info.flavour, 'cosmosdb-vcore');
    assert.equal(info.supports('transactions'), true);
    assert.equal(info.whyNot('transactions'), undefined);
    assert.equal(info.describe(), 'Azure Cosmos DB for MongoDB vCore 7.0.0 (replicaset)');
  });

  void it('the Stable API strict: a version read from hello\'s wire version stands in for buildInfo', () => {
    assert.equal(versionFromWire({ maxWireVersion: 21 }), '7.0');
    assert.equal(versionFromWire({ maxWireVersion: 24 }), '7.0');
    assert.equal(versionFromWire({ maxWireVersion: 25 }), '8.0');
    assert.equal(versionFromWire({ maxWireVersion: 26 }), '8.1');
    assert.equal(versionFromWire({ maxWireVersion: 13 }), '5.0');
    assert.equal(versionFromWire({}), undefined);
    const info = capabilitiesFrom({ version: '7.0', ok: 1 }, MONGODB_REPLICA_SET_HELLO, { apiStrict: true });
    assert.equal(info.apiStrict, true);
    assert.equal(info.flavour, 'mongodb');
  });

  void it('the open-source DocumentDB is recognised by its gateway\'s hello and has no atomic rename over a target', () => {
    // recorded from pg_documentdb's gateway (server version setting 7.0)
    const buildInfo = { version: '7.0.0', versionArray: [7, 0, 0, 0], bits: 64, maxBsonObjectSize: 16777216, ok: 1 };
    const hello = {
      isWritablePrimary: true,
      msg: 'isdbgrid',
      maxBsonObjectSize: 16777216,
      maxMessageSizeBytes: 48000000,
      maxWriteBatchSize: 25000,
      localTime: 1796669153922,
      logicalSessionTimeoutMinutes: 30,
      minWireVersion: 0,
      maxWireVersion: 21,
      readOnly: false,
      connectionId: 4289,
      saslSupportedMechs: ['SCRAM-SHA-256'],
      internal: {},
      ok: 1,
    };
    const info = capabilitiesFrom(buildInfo, hello);
    assert.equal(info.flavour, 'documentdb-gateway');
    assert.equal(info.topology, 'sharded');
    assert.deepEqual(info.features, FEATURES.filter((f) => f !== 'renameDropTarget'));
    assert.equal(info.describe(), 'DocumentDB open source (poses as MongoDB 7.0.0, sharded)');
    // a mongos has no `internal` document
    assert.equal(capabilitiesFrom(MONGODB_BUILD_INFO, MONGOS_HELLO).flavour, 'mongodb');
  });

  void it('a server that reports no version is unknown and gets nothing version-gated', () => {
    const info = capabilitiesFrom({ ok: 1 }, { ismaster: true, ok: 1 });
    assert.equal(info.flavour, 'unknown');
    assert.equal(info.version, 'unknown');
    assert.deepEqual(info.features, ['ttlIndexes', 'textIndexes', '$out', 'renameDropTarget']);
    assert.match(info.describe(), /^an unidentified MongoDB-compatible server unknown/);
  });

  void it('respects a smaller maxWriteBatchSize than its own chunk size', () => {
    assert.equal(capabilitiesFrom(MONGODB_BUILD_INFO, { ...MONGODB_STANDALONE_HELLO, maxWriteBatchSize: 200 }).maxUpdatesPerCommand, 200);
  });
});

/**
 * The error the driver raises for a reply `{ ok: 0, ... }`: it builds MongoServerError from the
 * reply document exactly so (its constructor is internal, which is why only tests call it).
 */
const serverError = (reply: Document): MongoServerError => new MongoServerError(reply);

// Replies in the shapes the servers document (MongoDB's error codes are stable).
const STANDALONE_TRANSACTION_REPLY = {
  ok: 0,
  errmsg: 'Transaction numbers are only allowed on a replica set member or mongos',
  code: 20,
  codeName: 'IllegalOperation',
};
const FERRETDB_UNKNOWN_FIELD_REPLY = { ok: 0, errmsg: 'unknown field "startTransaction"', code: 9, codeName: 'FailedToParse' };
const NOT_IMPLEMENTED_REPLY = { ok: 0, errmsg: 'transactions are not implemented', code: 238, codeName: 'NotImplemented' };
const COMMAND_NOT_SUPPORTED_REPLY = { ok: 0, errmsg: 'Command commitTransaction not supported', code: 115, codeName: 'CommandNotSupported' };
const UNAUTHORIZED_REPLY = { ok: 0, errmsg: 'command find requires authentication', code: 13, codeName: 'Unauthorized' };
const NOT_PRIMARY_REPLY = { ok: 0, errmsg: 'not primary', code: 10107, codeName: 'NotWritablePrimary' };
const OTHER_ILLEGAL_OPERATION_REPLY = { ok: 0, errmsg: 'cannot run this on a view', code: 20, codeName: 'IllegalOperation' };
const OTHER_PARSE_REPLY = { ok: 0, errmsg: 'unknown field "fliter"', code: 9, codeName: 'FailedToParse' };

/** A real driver error: server selection against a port nothing listens on. */
function unreachableClient(): MongoClient {
  return new MongoClient('mongodb://127.0.0.1:1/?directConnection=true', { serverSelectionTimeoutMS: 200 });
}

void describe('meansNoTransactions()', () => {
  void it('is true only for the servers\' "no transactions here" answers', () => {
    for (const reply of [STANDALONE_TRANSACTION_REPLY, FERRETDB_COMMIT_TRANSACTION_REPLY, FERRETDB_UNKNOWN_FIELD_REPLY, NOT_IMPLEMENTED_REPLY, COMMAND_NOT_SUPPORTED_REPLY]) {
      assert.equal(meansNoTransactions(serverError(reply)), true, String(reply.errmsg));
    }
  });

  void it('is false for every other failure: permissions, elections, unrelated codes, network errors', () => {
    for (const reply of [UNAUTHORIZED_REPLY, NOT_PRIMARY_REPLY, OTHER_ILLEGAL_OPERATION_REPLY, OTHER_PARSE_REPLY]) {
      assert.equal(meansNoTransactions(serverError(reply)), false, reply.errmsg);
    }
    assert.equal(meansNoTransactions(new MongoNetworkError('connection 4 to 127.0.0.1:27017 closed')), false);
    assert.equal(meansNoTransactions(new Error('Transaction numbers are only allowed on a replica set member or mongos')), false, 'not a server reply');
  });
});

void describe('probeFailure()', () => {
  void it('a lost connection is UNREACHABLE (exit 5)', () => {
    const error = probeFailure(new MongoNetworkError('connection 4 to 127.0.0.1:27017 closed'), 'what it supports (buildInfo/hello)');
    assert.equal(error.code, 'UNREACHABLE');
    assert.equal(exitCodeFor(error.code), 5);
    assert.match(error.message, /lost the connection .*buildInfo\/hello.*connection 4 to 127\.0\.0\.1:27017 closed/);
  });

  void it('a server error answer is SERVER_PROBE_FAILED (exit 5), never MIGRATION_FAILED', () => {
    const error = probeFailure(serverError(UNAUTHORIZED_REPLY), 'what it supports (buildInfo/hello)');
    assert.equal(error.code, 'SERVER_PROBE_FAILED');
    assert.equal(exitCodeFor(error.code), 5);
    assert.match(error.message, /could not ask the server what it supports \(buildInfo\/hello\): command find requires authentication/);
  });
});

void describe('probeServer() and probeTransactions() without a server (real driver errors)', () => {
  void it('report server selection failures as UNREACHABLE instead of "no transactions"', async () => {
    const client = unreachableClient();
    try {
      const db = client.db('probe');
      await assert.rejects(probeTransactions(client, db), (error: unknown) => error instanceof MongrateError && error.code === 'UNREACHABLE');
      await assert.rejects(probeServer(db), (error: unknown) => error instanceof MongrateError && error.code === 'UNREACHABLE' && /buildInfo\/hello/.test(error.message));
    } finally {
      await client.close();
    }
  });
});
