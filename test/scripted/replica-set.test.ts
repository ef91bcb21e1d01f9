// The scripted replica set itself, driven by the real driver: discovery, CRUD and cursors, BSON
// types kept, unique indexes, scripted replies (errors with labels, hangs, hello refused, an old
// wire version), and operations in progress ($currentOp, killOp).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BSONRegExp, Binary, Decimal128, Double, Long, MongoClient, MongoServerError, MongoWriteConcernError, type Document, type TopologyDescription } from 'mongodb';
import { scriptedSet, signal } from './fixtures.ts';

void describe('the scripted replica set', () => {
  void it('is discovered from its URI as a primary and a secondary, each on its own port, monitored by streaming hellos', async (t) => {
    const { rs, client } = await scriptedSet(t);
    const descriptions: TopologyDescription[] = [];
    client.on('topologyDescriptionChanged', (event) => descriptions.push(event.newDescription));
    const awaited = signal();
    client.on('serverHeartbeatSucceeded', (event) => event.awaited && awaited.resolve());
    await client.connect();

    const hello = await client.db('admin').command({ hello: 1 });
    assert.equal(hello.setName, 'rs0');
    assert.deepEqual(hello.hosts, rs.members.map((m) => m.address));
    assert.equal(hello.primary, rs.primary?.address);
    assert.equal(hello.isWritablePrimary, true);
    assert.ok(hello.localTime instanceof Date);
    assert.equal(hello.maxWireVersion, 21);
    await awaited.promise; // a streamed (awaitable) hello came back
    const last = descriptions.at(-1);
    assert.ok(last !== undefined);
    assert.equal(last.type, 'ReplicaSetWithPrimary');
    assert.deepEqual([...last.servers.values()].map((s) => s.type).sort(), ['RSPrimary', 'RSSecondary']);
    assert.deepEqual(new Set(rs.recorded({ name: ['hello', 'isMaster', 'ismaster'] }, { upkeep: true }).map((c) => c.member)), new Set(rs.members.map((m) => m.address)));
    assert.ok(rs.commands.length < 60, `${rs.commands.length} commands: the monitors do not busy-loop`);
  });

  void it('serves a polling monitor too, an arbiter and a mongos flavour', async (t) => {
    const psa = await scriptedSet(t, { arbiter: true }, { serverMonitoringMode: 'poll' });
    await psa.client.db('app').collection<{ _id: number }>('c').insertOne({ _id: 1 });
    const hello = await psa.client.db('admin').command({ hello: 1 });
    assert.deepEqual(hello.arbiters, [psa.rs.members[2]?.address]);
    assert.equal(psa.rs.members[2]?.role, 'arbiter');

    const mongos = await scriptedSet(t, { flavour: 'mongos' });
    assert.equal((await mongos.client.db('admin').command({ hello: 1 })).msg, 'isdbgrid');
    assert.ok(!mongos.rs.uri.includes('replicaSet='));
  });

  void it('stores, queries, updates and deletes, and serves a cursor in batches', async (t) => {
    const { rs, client } = await scriptedSet(t);
    const users = client.db('app').collection<{ _id: number; n: number; tags?: string[]; profile?: Document }>('users');
    await users.insertMany([1, 2, 3, 4, 5, 6, 7].map((n) => ({ _id: n, n, tags: n % 2 === 0 ? ['even'] : ['odd'], profile: { level: n > 4 ? 'high' : 'low' } })));

    const all = await users.find({}, { batchSize: 2, sort: { _id: -1 } }).toArray();
    assert.deepEqual(all.map((d) => d._id), [7, 6, 5, 4, 3, 2, 1]);
    assert.equal(rs.recorded({ name: 'getMore', collection: 'users' }).length, 3, 'a first batch of 2, then 2, 2 and 1');
    assert.deepEqual((await users.find({ tags: 'even', 'profile.level': 'high' }).toArray()).map((d) => d._id), [6]);
    assert.deepEqual((await users.find({ $or: [{ n: { $lt: 2 } }, { n: { $in: [7] } }] }, { projection: { _id: 1 } }).toArray()), [{ _id: 1 }, { _id: 7 }]);
    assert.deepEqual(await users.distinct('tags'), ['odd', 'even']);
    assert.deepEqual(await users.aggregate([{ $match: { n: { $gt: 2 } } }, { $group: { _id: '$profile.level', count: { $sum: 1 } } }, { $sort: { _id: 1 } }]).toArray(), [
      { _id: 'high', count: 3 },
      { _id: 'low', count: 2 },
    ]);
    assert.equal(await users.countDocuments({ n: { $gte: 3 } }), 5);

    const updated = await users.updateMany({ n: { $lte: 2 } }, { $inc: { n: 10 }, $push: { tags: 'bumped' } });
    assert.deepEqual([updated.matchedCount, updated.modifiedCount], [2, 2]);
    assert.deepEqual(await users.findOne({ _id: 2 }), { _id: 2, n: 12, tags: ['even', 'bumped'], profile: { level: 'low' } });
    const upserted = await users.updateOne({ _id: 8 }, { $set: { n: 8 } }, { upsert: true });
    assert.equal(upserted.upsertedId, 8);
    const before = await users.findOneAndUpdate({ _id: 8 }, { $unset: { n: '' } }, { returnDocument: 'before' });
    assert.deepEqual(before, { _id: 8, n: 8 });
    assert.equal((await users.deleteMany({ n: { $exists: false } })).deletedCount, 1);
    assert.equal((await users.deleteOne({ _id: 1 })).deletedCount, 1);
    assert.equal(await users.estimatedDocumentCount(), 6);
  });

  void it('keeps every BSON type as sent: Long stays Long, Double 2.0 stays Double, Decimal128, Binary subtype 4, regex flag x', async (t) => {
    const { client } = await scriptedSet(t);
    const values = client.db('app').collection<Document & { _id: number }>('values');
    const uuid = new Binary(Buffer.from('0123456789abcdef'), 4);
    await values.insertOne({ _id: 1, long: Long.fromNumber(5), double: new Double(2), decimal: Decimal128.fromString('1.10'), uuid, regex: new BSONRegExp('a b # spaced', 'x') });
    await values.updateOne({ _id: 1 }, { $set: { touched: true } });

    const stored = await values.findOne({ _id: 1 }, { promoteValues: false, bsonRegExp: true });
    assert.ok(stored?.long instanceof Long && stored.long.equals(5));
    assert.ok(stored.double instanceof Double && stored.double.value === 2);
    assert.ok(stored.decimal instanceof Decimal128 && stored.decimal.toString() === '1.10');
    assert.ok(stored.uuid instanceof Binary && stored.uuid.sub_type === 4);
    assert.ok(stored.regex instanceof BSONRegExp && stored.regex.options === 'x');
    assert.equal(await values.countDocuments({ long: 5, double: 2 }), 1, 'numbers compare across their types');
  });

  void it('enforces a unique index with E11000, keyPattern and keyValue', async (t) => {
    const { client } = await scriptedSet(t);
    const users = client.db('app').collection('users');
    await users.createIndexes([{ key: { email: 1 }, name: 'email_1', unique: true }]);
    await users.insertOne({ email: 'a@example.com' });
    const error = await users.insertOne({ email: 'a@example.com' }).catch((e: unknown) => e);
    assert.ok(error instanceof MongoServerError);
    assert.equal(error.code, 11000);
    assert.equal(error.errmsg, 'E11000 duplicate key error collection: app.users index: email_1 dup key: { email: "a@example.com" }');
    assert.deepEqual([error.keyPattern, error.keyValue], [{ email: 1 }, { email: 'a@example.com' }]);
    assert.deepEqual((await users.listIndexes().toArray()).map((i: Document) => i.name as unknown), ['_id_', 'email_1']);
  });

  void it('answers a scripted error as a MongoServerError with its labels, and unknown commands with 59', async (t) => {
    const { rs, client } = await scriptedSet(t);
    rs.script({ name: 'find', collection: 'users' }, { code: 2, codeName: 'BadValue', errmsg: 'scripted', errorLabels: ['TransientTransactionError'] });
    const error = await client.db('app').collection('users').findOne({}).catch((e: unknown) => e);
    assert.ok(error instanceof MongoServerError);
    assert.equal(error.code, 2);
    assert.ok(error.hasErrorLabel('TransientTransactionError'));
    assert.equal(await client.db('app').collection('users').findOne({}), null, 'the script was used up');

    const unknown = await client.db('app').command({ frobnicate: 1 }).catch((e: unknown) => e);
    assert.ok(unknown instanceof MongoServerError && unknown.code === 59);
  });

  void it('acts on scripts in order: nth and times, a delay before a reply, a function, a writeConcernError after normal handling', async (t) => {
    const { rs, client } = await scriptedSet(t);
    const items = client.db('app').collection<{ _id: number | string }>('items');
    rs.script({ name: 'insert', nth: 2, times: 2 }, { code: 2, codeName: 'BadValue', errmsg: 'second and third' });
    await items.insertOne({ _id: 1 });
    for (const _id of [2, 3]) {
      const refused = await items.insertOne({ _id }).catch((e: unknown) => e);
      assert.ok(refused instanceof MongoServerError && refused.errmsg === 'second and third');
    }
    await items.insertOne({ _id: 4 });

    rs.script({ name: 'insert' }, { writeConcernError: { code: 64, codeName: 'WriteConcernFailed', errmsg: 'scripted', errInfo: { wtimeout: true } } });
    const late = await items.insertOne({ _id: 5 }).catch((e: unknown) => e);
    assert.ok(late instanceof MongoWriteConcernError && late.code === 64, String(late));
    assert.deepEqual((await items.find({}).toArray()).map((d) => d._id), [1, 4, 5], 'the write itself was applied');

    rs.script({ name: 'find' }, { delayMs: 20, then: { reply: { cursor: { firstBatch: [{ _id: 'scripted' }], id: Long.fromNumber(0), ns: 'app.items' }, ok: 1 } } });
    assert.deepEqual(await items.findOne({}), { _id: 'scripted' });
    const seen: string[] = [];
    rs.script({ name: 'count', times: Infinity }, (command, member) => {
      seen.push(member.role);
      return command.command.query === undefined ? { n: 42, ok: 1 } : undefined;
    });
    assert.equal(await items.estimatedDocumentCount(), 42);
    assert.equal(await items.countDocuments({}), 3, 'countDocuments is an aggregate: not scripted');
    assert.deepEqual(seen, ['primary']);
  });

  void it('says what it is: buildInfo, connectionStatus with privileges, serverStatus, getParameter; a standalone flavour', async (t) => {
    const { rs, client } = await scriptedSet(t, { buildInfo: { version: '6.0.2' } });
    rs.setBuildInfo({ ferretdbVersion: 'v1.24.2' });
    const admin = client.db('admin');
    const info = await admin.command({ buildInfo: 1 });
    assert.deepEqual([info.version, info.versionArray, info.ferretdbVersion], ['6.0.2', [6, 0, 2, 0], 'v1.24.2']);
    rs.setConnectionStatus({ users: [{ user: 'app', db: 'admin' }], roles: [{ role: 'readWrite', db: 'app' }], privileges: [{ resource: { db: 'app', collection: '' }, actions: ['find'] }] });
    const status = await admin.command({ connectionStatus: 1, showPrivileges: true });
    assert.deepEqual(status.authInfo, {
      authenticatedUsers: [{ user: 'app', db: 'admin' }],
      authenticatedUserRoles: [{ role: 'readWrite', db: 'app' }],
      authenticatedUserPrivileges: [{ resource: { db: 'app', collection: '' }, actions: ['find'] }],
    });
    assert.equal((await admin.command({ serverStatus: 1 })).process, 'mongod');
    assert.equal(Number((await admin.command({ getParameter: 1, transactionLifetimeLimitSeconds: 1 })).transactionLifetimeLimitSeconds), 60);

    const standalone = await scriptedSet(t, { flavour: 'standalone' });
    const hello = await standalone.client.db('admin').command({ hello: 1 });
    assert.equal(hello.setName, undefined);
    assert.equal(hello.isWritablePrimary, true);
    await standalone.client.db('app').collection<{ _id: number }>('c').insertOne({ _id: 1 });
    assert.equal(await standalone.client.db('app').collection('c').countDocuments(), 1);
  });

  void it('holds a hung command until the client gives up: maxTimeMS on the server, socketTimeoutMS on the client', async (t) => {
    const { rs, client } = await scriptedSet(t, {}, { retryReads: false });
    rs.script({ name: 'find' }, 'hang');
    const expired = await client.db('app').collection('c').findOne({}, { maxTimeMS: 50 }).catch((e: unknown) => e);
    assert.ok(expired instanceof MongoServerError && expired.code === 50, String(expired));

    const impatient = new MongoClient(rs.uri, { socketTimeoutMS: 200, retryReads: false });
    t.after(() => impatient.close());
    await impatient.connect();
    rs.script({ name: 'find' }, 'hang');
    const timedOut = await impatient.db('app').collection('c').findOne({}).catch((e: unknown) => e);
    assert.ok(timedOut instanceof Error && timedOut.name === 'MongoNetworkTimeoutError', String(timedOut));
  });

  void it('lists scripted and in-progress operations in $currentOp, and killOp removes or interrupts them', async (t) => {
    const { rs, client } = await scriptedSet(t);
    const admin = client.db('admin');
    rs.currentOps = [{ opid: 7001, op: 'update', ns: 'app.users', command: { update: 'users', comment: 'mongrate run abc' }, secs_running: Long.fromNumber(120) }];
    const listed = await admin.aggregate([{ $currentOp: {} }, { $match: { 'command.comment': 'mongrate run abc' } }]).toArray();
    assert.deepEqual(listed.map((op) => op.opid as unknown), [7001]);
    await admin.command({ killOp: 1, op: 7001 });
    assert.deepEqual(rs.killedOps, [7001]);
    assert.equal((await admin.aggregate([{ $currentOp: {} }, { $match: { opid: 7001 } }]).toArray()).length, 0);

    rs.script({ name: 'update' }, 'hang');
    const arrived = rs.nextCommand({ name: 'update' });
    const hung = client.db('app').collection<{ _id: number }>('users').updateOne({ _id: 1 }, { $set: { a: 1 } }, { comment: 'mongrate run def' }).catch((e: unknown) => e);
    await arrived;
    const [inProgress] = await admin.aggregate([{ $currentOp: {} }, { $match: { 'command.comment': 'mongrate run def' } }]).toArray();
    assert.equal(inProgress?.op, 'update');
    await admin.command({ killOp: 1, op: inProgress.opid as number });
    const error = await hung;
    assert.ok(error instanceof MongoServerError && error.code === 11601, String(error));
  });

  void it('can refuse hello (115) so that only isMaster works, report a numeric localTime, or pose as a too old server', async (t) => {
    const cosmos = await scriptedSet(t, { hello: { helloOk: undefined } });
    cosmos.rs.script({ name: 'hello' }, { code: 115, codeName: 'CommandNotSupported', errmsg: 'Command hello not supported.' });
    cosmos.rs.setHello(undefined, { localTime: Long.fromNumber(Date.now()) });
    const refused = await cosmos.client.db('admin').command({ hello: 1 }).catch((e: unknown) => e);
    assert.ok(refused instanceof MongoServerError && refused.code === 115);
    const isMaster = await cosmos.client.db('admin').command({ isMaster: 1 });
    assert.equal(isMaster.ismaster, true);
    assert.equal(typeof isMaster.localTime, 'number', 'an Int64, as DocumentDB answers');

    const old = await scriptedSet(t, { hello: { maxWireVersion: 7 } }, { serverSelectionTimeoutMS: 2000 });
    const error = await old.client.connect().catch((e: unknown) => e);
    assert.ok(error instanceof Error && /wire version/i.test(error.message), String(error));
  });
});
