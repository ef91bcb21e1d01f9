// Managed services as they answer, posed by the scripted set (a member's hello names the
// vendor's hosts; replies scripted as the vendor documents them): Azure Cosmos DB RU (hello
// refused, narrow transactions, throttling) and vCore (MongoDB's features, not RU's refusals),
// Amazon DocumentDB (retryable writes refused, its duplicate-key wording), a server older than the
// driver speaks to (wire version 7), and Atlas's Stable API strict snippet (buildInfo refused).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Document } from 'mongodb';
import { exitCodeFor } from '../../src/cli/exit-codes.ts';
import { createHelpers } from '../../src/helpers/index.ts';
import { createMigrator, type InlineMigration, type ServerInfo } from '../../src/index.ts';
import { probeServer } from '../../src/server/capabilities.ts';
import type { ScriptedReplicaSet } from '../support/scripted-replica-set/index.ts';
import { scriptedSet, upSaying } from './fixtures.ts';

const COSMOS_RU_HOST = 'acct.mongo.cosmos.azure.com:10255';
const COSMOS_VCORE_HOST = 'c-cluster.mongocluster.cosmos.azure.com:10260';

/** A lock document, as another runner left it. */
interface LockDocument {
  _id: string;
  owner: string;
  host: string;
  pid: number;
  command: string;
  acquiredAt: Date;
  expiresAt: Date;
}

/** The primary, reached directly, says it is `host` (as the vendor's gateway does). */
function poseAs(rs: ScriptedReplicaSet, host: string, extra: Document = {}): string {
  rs.setHello('primary', { hosts: [host], me: host, primary: host, ...extra });
  return rs.directUri('primary');
}

/** A migration that remembers what mongrate told it about the server. */
function noting(seen: ServerInfo[]): InlineMigration {
  return {
    id: '001-note',
    up: async ({ db, session, server }) => {
      seen.push(server);
      await db.collection('users').insertOne({ _id: 1 } as Document, { session });
    },
  };
}

void describe('managed services on the scripted replica set', () => {
  void it('Cosmos DB RU: hello refused (the clock asks isMaster), no transactions under auto (said once), throttled lock insert sent again, no comment', async (t) => {
    // RU's gateway never says helloOk, so the driver itself keeps to isMaster
    const { rs, client } = await scriptedSet(t, { hello: { helloOk: undefined } }, {}, (s) => poseAs(s, COSMOS_RU_HOST));
    rs.setBuildInfo({ version: '4.2.0' });
    rs.script({ name: 'hello', times: Infinity }, { code: 115, codeName: 'CommandNotSupported', errmsg: 'Command hello not supported.' });
    rs.script({ name: 'insert', collection: 'mongrate_lock' }, { code: 16500, codeName: 'TooManyRequests', errmsg: 'Request rate is large. More Request Units may be needed, so no changes were made. Please retry this request later. RetryAfterMs=10' });
    const seen: ServerInfo[] = [];
    const migrator = createMigrator({ uri: rs.directUri('primary'), database: 'app', migrations: [noting(seen)] });
    const warnings: string[] = [];
    migrator.on('warning', ({ message }) => warnings.push(message));
    const result = await migrator.up();
    await migrator.close();
    assert.equal(result.error, undefined, JSON.stringify(result.error));
    assert.equal(seen[0]?.flavour, 'cosmosdb');
    assert.notEqual(result.steps[0]?.transaction, true, 'ran without a transaction');
    assert.equal(rs.recorded({ inTransaction: true }).length, 0);
    assert.deepEqual(
      warnings.filter((w) => w.includes('transactions')),
      ["transactions: 'auto' runs migrations without transactions here: Azure Cosmos DB for MongoDB (RU) runs a transaction on one collection for at most 5 s, and a migration's transaction holds its own writes and its changelog record"],
    );
    assert.ok(rs.recorded({ name: 'hello', when: (c) => c.lsid !== undefined }).length > 0, "mongrate's own hello was refused");
    assert.ok(rs.recorded({ name: 'isMaster', when: (c) => c.lsid !== undefined }).length > 0, 'and isMaster asked instead');
    assert.equal(rs.recorded({ name: 'insert', collection: 'mongrate_lock' }).length, 2, 'the throttled lock insert, and the one sent after a pause');
    assert.deepEqual(rs.recorded({ when: (c) => c.comment !== undefined }).map((c) => c.name), [], 'RU takes no comment');
    assert.equal(await client.db('app').collection('users').countDocuments(), 1);
  });

  void it("Cosmos DB RU's throttling (16500) of a helper's page read and batch, twice each, as a whole and statement by statement: waited out and sent again, said once", async (t) => {
    const { rs, client } = await scriptedSet(t, { hello: { helloOk: undefined } }, {}, (s) => poseAs(s, COSMOS_RU_HOST));
    rs.setBuildInfo({ version: '4.2.0' });
    rs.script({ name: 'hello', times: Infinity }, { code: 115, codeName: 'CommandNotSupported', errmsg: 'Command hello not supported.' });
    await client.db('app').collection('users').insertMany(Array.from({ length: 4 }, (_, i) => ({ _id: i + 1, schema_version: 1 })) as Document[]);
    const throttled = { code: 16500, codeName: 'TooManyRequests', errmsg: 'Request rate is large. More Request Units may be needed, so no changes were made. Please retry this request later. RetryAfterMs=10' };
    rs.script({ name: 'find', collection: 'users', nth: 2, times: 2 }, throttled);
    // the second batch: throttled as a whole, then each of its two statements
    rs.script({ name: 'update', collection: 'users', nth: 2 }, throttled);
    const { code, errmsg } = throttled;
    rs.script({ name: 'update', collection: 'users' }, { reply: { ok: 1, n: 0, nModified: 0, writeErrors: [0, 1].map((index) => ({ index, code, errmsg })) } });
    const transformed: number[] = [];
    const migrator = createMigrator({
      uri: rs.directUri('primary'),
      database: 'app',
      migrations: [
        {
          id: '001-bump',
          up: ({ helpers }) =>
            helpers.bumpSchemaVersion('users', {
              to: 2,
              batchSize: 2,
              transform: (user) => {
                transformed.push(Number(user._id));
                return { ...user, active: true };
              },
            }),
        },
      ],
    });
    const { result, lines } = await upSaying(migrator);
    assert.equal(result.error, undefined, JSON.stringify(result.error));
    assert.equal(await client.db('app').collection('users').countDocuments({ schema_version: 2, active: true }), 4);
    assert.deepEqual(transformed, [1, 2, 3, 4], 'every document transformed once');
    assert.deepEqual(
      lines.filter((line) => line.includes('throttled')),
      [`bumpSchemaVersion(users): throttled by the server (16500: ${throttled.errmsg}); waiting and sending again`],
    );
    const pages = rs.recorded({ name: 'find', collection: 'users' }).map((c) => JSON.stringify((c.command.filter as Document)._id));
    assert.deepEqual(pages.slice(0, 5), [undefined, '{"$gt":2}', '{"$gt":2}', '{"$gt":2}', '{"$gt":4}'], 'the second page sent three times');
    const batches = rs.recorded({ name: 'update', collection: 'users' });
    assert.deepEqual(batches.map((c) => (c.command.updates as Document[]).length), [2, 2, 2, 2], 'the second batch sent three times');
  });

  void it("Cosmos DB RU's throttling (16500) of a migration's own read and single-document write through ctx.db: sent again after a pause, said once; a multi-document write is left to the migration", async (t) => {
    const { rs, client } = await scriptedSet(t, { hello: { helloOk: undefined } }, {}, (s) => poseAs(s, COSMOS_RU_HOST));
    rs.setBuildInfo({ version: '4.2.0' });
    rs.script({ name: 'hello', times: Infinity }, { code: 115, codeName: 'CommandNotSupported', errmsg: 'Command hello not supported.' });
    await client.db('app').collection('users').insertOne({ _id: 1, name: 'Ada' } as Document);
    rs.clearCommands();
    const throttled = { code: 16500, codeName: 'TooManyRequests', errmsg: 'Request rate is large. More Request Units may be needed, so no changes were made. Please retry this request later. RetryAfterMs=10' };
    rs.script({ name: 'find', collection: 'users', times: 2 }, throttled);
    rs.script({ name: 'update', collection: 'users', times: 2 }, throttled);
    rs.script({ name: 'insert', collection: 'users' }, throttled);
    let many: unknown;
    const migrator = createMigrator({
      uri: rs.directUri('primary'),
      database: 'app',
      migrations: [
        {
          id: '001-direct',
          up: async ({ db }) => {
            const users = db.collection('users');
            const ada = await users.findOne({ _id: 1 } as Document);
            await users.updateOne({ _id: 1 } as Document, { $set: { greeting: `hello ${String(ada?.name)}` } });
            many = await users.insertMany([{ _id: 2 }, { _id: 3 }] as Document[]).catch((error: unknown) => error);
          },
        },
      ],
    });
    const { result, lines } = await upSaying(migrator);
    assert.equal(result.error, undefined, JSON.stringify(result.error));
    assert.equal(rs.recorded({ name: 'find', collection: 'users' }).length, 3);
    assert.equal((await client.db('app').collection('users').findOne({ _id: 1 } as Document))?.greeting, 'hello Ada');
    assert.equal(rs.recorded({ name: 'update', collection: 'users' }).length, 3);
    assert.equal((many as { code?: unknown } | undefined)?.code, 16500, "insertMany's throttling reaches the migration");
    assert.equal(rs.recorded({ name: 'insert', collection: 'users' }).length, 1);
    assert.deepEqual(
      lines.filter((line) => line.includes('throttled')),
      [`users.findOne: throttled by the server (16500: ${throttled.errmsg}); waiting and sending again`],
    );
  });

  void it("Cosmos DB vCore: its own flavour, with MongoDB's features and transactions, not RU's refusals", async (t) => {
    const { rs } = await scriptedSet(t, {}, {}, (s) => poseAs(s, COSMOS_VCORE_HOST));
    const seen: ServerInfo[] = [];
    const migrator = createMigrator({ uri: rs.directUri('primary'), database: 'app', migrations: [noting(seen)] });
    const warnings: string[] = [];
    migrator.on('warning', ({ message }) => warnings.push(message));
    const result = await migrator.up();
    await migrator.close();
    assert.equal(result.error, undefined, JSON.stringify(result.error));
    const [server] = seen;
    assert.equal(server?.flavour, 'cosmosdb-vcore');
    for (const feature of ['validators', 'transactions'] as const) assert.equal(server.supports(feature), true, feature);
    assert.equal(result.steps[0]?.transaction, true);
    assert.deepEqual(warnings, []);
    assert.ok(rs.recorded({ collection: 'users', name: 'insert' }).every((c) => c.inTransaction && typeof c.comment === 'string'));
  });

  void it("Cosmos DB vCore runs DocumentDB's engine, whose rename over a target is a drop then a rename: copyAndRename over an existing collection needs allowBriefGap", async (t) => {
    const { rs, client } = await scriptedSet(t, {}, {}, (s) => poseAs(s, COSMOS_VCORE_HOST));
    const db = client.db('app');
    await db.collection('users').insertMany([{ _id: 1 }, { _id: 2 }] as Document[]);
    await db.collection('people').insertOne({ _id: 9 } as Document);
    const copy: InlineMigration = { id: '001-copy', transaction: false, up: ({ helpers }) => helpers.copyAndRename('users', { to: 'people' }) };
    const refusing = createMigrator({ uri: rs.directUri('primary'), database: 'app', migrations: [copy] });
    const refused = await refusing.up();
    await refusing.close();
    assert.equal(refused.error?.code, 'MIGRATION_FAILED', JSON.stringify(refused.error));
    assert.match(refused.error.message, /renameCollection dropTarget \[renameDropTarget\].*Azure Cosmos DB for MongoDB vCore.*pass allowBriefGap: true/);
    assert.deepEqual(rs.recorded({ name: ['create', 'insert', 'renameCollection'], when: (c) => c.collection?.startsWith('_mongrate_') === true }), [], 'nothing copied');
    assert.deepEqual(await db.collection('people').find().toArray(), [{ _id: 9 }]);

    // with the setting: moved aside, then the copy renamed in
    const helpers = createHelpers({ db, server: await probeServer(db), dryRun: false });
    await helpers.copyAndRename('users', { to: 'people', allowBriefGap: true });
    assert.equal(await db.collection('people').countDocuments(), 2);
    assert.ok(rs.recorded({ name: 'renameCollection' }).every((c) => c.command.dropTarget !== true), 'no rename with dropTarget');
  });

  void it('a server of wire version 7 (DocumentDB 4.0, Cosmos DB RU 4.0) is too old for the driver: exit 2 naming the oldest it takes', async (t) => {
    const { rs } = await scriptedSet(t, { hello: { maxWireVersion: 7 } });
    // the driver waits out server selection before it says why (30 s by default): shortened here
    const migrator = createMigrator({ uri: rs.uri, database: 'app', migrations: [{ id: '001-a', up: () => Promise.resolve() }], clientOptions: { serverSelectionTimeoutMS: 2000 } });
    const result = await migrator.up();
    await migrator.close();
    assert.equal(result.error?.code, 'CONFIG', JSON.stringify(result.error));
    assert.equal(exitCodeFor(result.error.code), 2);
    assert.match(result.error.message, /is older than mongodb \S+ \(the driver mongrate runs on\) can talk to: it needs MongoDB 4\.4 or newer/);
  });

  void it("Amazon DocumentDB: retryable writes refused (301) name retryWrites=false; a docdb host without it is refused before connecting", async (t) => {
    const { rs } = await scriptedSet(t);
    rs.script({ name: 'insert', collection: 'mongrate_lock' }, { code: 301, codeName: 'IllegalOperation', errmsg: 'Retryable writes are not supported' });
    const migrator = createMigrator({ uri: rs.uri, database: 'app', migrations: [{ id: '001-a', up: () => Promise.resolve() }] });
    const result = await migrator.up();
    await migrator.close();
    assert.equal(result.error?.code, 'CONFIG', JSON.stringify(result.error));
    assert.match(result.error.message, /does not support retryable writes \(Retryable writes are not supported\): add retryWrites=false to the connection string/);

    // AWS's documented string, less retryWrites=false: nothing is contacted
    const docdb = createMigrator({
      uri: 'mongodb://app:secret@docs.cluster-c1.eu-west-1.docdb.amazonaws.com:27017/?tls=true&replicaSet=rs0&readPreference=secondaryPreferred',
      database: 'app',
      migrations: [{ id: '001-a', up: () => Promise.resolve() }],
    });
    const refused = await docdb.up();
    await docdb.close();
    assert.equal(refused.error?.code, 'CONFIG', JSON.stringify(refused.error));
    assert.match(refused.error.message, /is Amazon DocumentDB, which does not support retryable writes: add retryWrites=false/);
    assert.doesNotMatch(refused.error.message, /secret/);
  });

  void it("DocumentDB's duplicate-key wording (code 11000, no E11000) on the lock insert: the lock is held, exit 3", async (t) => {
    const { rs, client } = await scriptedSet(t);
    const until = new Date(Date.now() + 600_000);
    await client.db('app').collection<LockDocument>('mongrate_lock').insertOne({ _id: 'mongrate', owner: 'other-run', host: 'deploy-2', pid: 7, command: 'up', acquiredAt: new Date(), expiresAt: until });
    rs.script({ name: 'insert', collection: 'mongrate_lock' }, { code: 11000, errmsg: "Duplicate key violation on the requested collection: Index '_id_'" });
    const migrator = createMigrator({ uri: rs.uri, database: 'app', migrations: [{ id: '001-a', up: () => Promise.resolve() }] });
    const result = await migrator.up();
    await migrator.close();
    assert.equal(result.error?.code, 'LOCK_HELD', JSON.stringify(result.error));
    assert.equal(exitCodeFor(result.error.code), 3);
    assert.match(result.error.message, /deploy-2/);
  });

  void it("Atlas's Stable API strict snippet: buildInfo and $currentOp refused (APIStrictError), the run goes on with the version hello stands for", async (t) => {
    const { rs, client } = await scriptedSet(t);
    const strict = { code: 323, codeName: 'APIStrictError' };
    rs.script({ name: 'buildInfo', times: Infinity }, { ...strict, errmsg: 'Provided apiStrict:true, but the command buildInfo is not in API Version 1' });
    rs.script({ name: 'aggregate', db: 'admin', times: Infinity }, { ...strict, errmsg: 'Provided apiStrict:true, but $currentOp is not allowed in this version of the API' });
    const seen: ServerInfo[] = [];
    const migrator = createMigrator({ uri: rs.uri, database: 'app', migrations: [noting(seen)], clientOptions: { serverApi: { version: '1', strict: true, deprecationErrors: true } } });
    const result = await migrator.up();
    await migrator.close();
    assert.equal(result.error, undefined, JSON.stringify(result.error));
    assert.equal(seen[0]?.mongodbVersion, '7.0', "the version hello's wire version 21 stands for");
    assert.equal(result.steps[0]?.transaction, true);
    assert.ok(rs.recorded({ collection: 'users', name: 'insert' }).every((c) => c.command.apiStrict === true));
    assert.equal(await client.db('app').collection('users').countDocuments(), 1);
  });

  void it("the Stable API strict before MongoDB 8.1: copyAndRename says it needs renameCollection, outside API version 1, before copying; from 8.1 it copies", async (t) => {
    const { rs, client } = await scriptedSet(t);
    for (const name of ['app', 'other']) await client.db(name).collection('users').insertOne({ _id: 1 } as Document);
    rs.script({ name: 'buildInfo', times: Infinity }, { code: 323, codeName: 'APIStrictError', errmsg: 'Provided apiStrict:true, but the command buildInfo is not in API Version 1' });
    const copy: InlineMigration = { id: '001-copy', transaction: false, up: ({ helpers }) => helpers.copyAndRename('users', { to: 'people' }) };
    const strict = { serverApi: { version: '1' as const, strict: true } };
    const before = createMigrator({ uri: rs.uri, database: 'app', migrations: [copy], clientOptions: strict });
    const refused = await before.up();
    await before.close();
    assert.equal(refused.error?.code, 'MIGRATION_FAILED', JSON.stringify(refused.error));
    assert.match(refused.error.message, /copyAndRename\(users -> people\) needs renameCollection, which is outside the Stable API version 1 before MongoDB 8\.1 \(this server: 7\.0\).*strict: false/);
    assert.deepEqual(rs.recorded({ name: ['create', 'insert'], when: (c) => c.collection?.startsWith('_mongrate_') === true }), [], 'nothing copied');

    rs.setHello(undefined, { maxWireVersion: 26 });
    const after = createMigrator({ uri: rs.uri, database: 'other', migrations: [copy], clientOptions: strict });
    const result = await after.up();
    await after.close();
    assert.equal(result.error, undefined, JSON.stringify(result.error));
    assert.equal(await client.db('other').collection('people').countDocuments(), 1);
  });

  void it('Cosmos DB RU builds unique indexes only on empty collections: copyAndRename builds the unique ones before copying, the rest after', async (t) => {
    const { rs, client } = await scriptedSet(t, { hello: { helloOk: undefined } }, {}, (s) => poseAs(s, COSMOS_RU_HOST));
    rs.setBuildInfo({ version: '4.2.0' });
    const db = client.db('app');
    await db.collection('users').insertMany([{ _id: 1, email: 'a', city: 'x' }, { _id: 2, email: 'b', city: 'y' }] as Document[]);
    await db.collection('users').createIndexes([{ key: { email: 1 }, name: 'email_1', unique: true }, { key: { city: 1 }, name: 'city_1' }]);
    const helpers = createHelpers({ db, server: await probeServer(db), dryRun: false });
    await helpers.copyAndRename('users', { to: 'people' });
    const onCopy = rs.recorded({ collection: '_mongrate_tmp_people', name: ['createIndexes', 'insert'] });
    const order = onCopy.map((c) => (c.name === 'insert' ? 'insert' : ((c.command.indexes ?? []) as Document[]).map((index) => String(index.name)).join(',')));
    assert.deepEqual([order[0], order.at(-1)], ['email_1', 'city_1'], order.join(' '));
    assert.ok(order.slice(1, -1).every((step) => step === 'insert'));
    assert.equal(await db.collection('people').countDocuments(), 2);
  });
});
