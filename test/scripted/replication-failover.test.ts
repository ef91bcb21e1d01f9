// Replication, read preference, write concern and failover on the scripted replica set: reads
// routed to a secondary see its (lagging) copy, w:'majority' waits for the secondaries, a
// step-down interrupts writes until a new primary is elected, and a failover can lose the
// writes a majority had not acknowledged.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MongoClient, MongoServerError, MongoWriteConcernError } from 'mongodb';
import { scriptedSet } from './fixtures.ts';

interface Item {
  _id: number;
}

const failure = (promise: Promise<unknown>): Promise<unknown> => promise.then(
  () => assert.fail('expected a failure'),
  (error: unknown) => error,
);

void describe('replication and failover on the scripted replica set', () => {
  void it('routes a secondaryPreferred read to the secondary, whose lagging copy misses an acknowledged w:1 write', async (t) => {
    const { rs, client } = await scriptedSet(t, {}, {}, (set) => `${set.uri}&readPreference=secondaryPreferred`);
    const items = client.db('app').collection<Item>('items');
    await items.insertOne({ _id: 1 }, { writeConcern: { w: 1 } });
    assert.deepEqual(await items.findOne({ _id: 1 }), { _id: 1 });
    const [read] = rs.recorded({ name: 'find', collection: 'items' });
    assert.ok(read !== undefined);
    assert.equal(read.member, rs.members[1]?.address);
    assert.equal(read.role, 'secondary');
    assert.equal(read.readPreference?.mode, 'secondaryPreferred');

    rs.lag('secondary', 60_000);
    await items.insertOne({ _id: 2 }, { writeConcern: { w: 1 } });
    assert.equal(await items.findOne({ _id: 2 }), null, 'the secondary has not applied it yet');
    assert.deepEqual(await items.findOne({ _id: 2 }, { readPreference: 'primary' }), { _id: 2 });
    rs.lag('secondary', 0);
    assert.deepEqual(await items.findOne({ _id: 2 }), { _id: 2 }, 'without the lag it catches up at once');
  });

  void it("acknowledges w:'majority' only once the secondary has the write: paused, it times out with a writeConcernError (64)", async (t) => {
    const { rs, client } = await scriptedSet(t);
    const items = client.db('app').collection<Item>('items');
    rs.pauseReplication('secondary');
    const error = await failure(items.insertOne({ _id: 1 }, { writeConcern: { w: 'majority', wtimeoutMS: 100 } }));
    assert.ok(error instanceof MongoWriteConcernError, String(error));
    assert.equal(error.code, 64);
    assert.equal((error.result.writeConcernError as { errInfo?: { wtimeout?: unknown } }).errInfo?.wtimeout, true);
    assert.deepEqual(await items.findOne({ _id: 1 }), { _id: 1 }, 'the write itself happened on the primary');
    const [sent] = rs.recorded({ name: 'insert' });
    assert.deepEqual([sent?.writeConcern?.w, Number(sent?.writeConcern?.wtimeout)], ['majority', 100], 'recorded as sent (numbers keep their BSON type: Int32)');

    const arrived = rs.nextCommand({ name: 'insert' });
    const waiting = items.insertOne({ _id: 2 }); // the default write concern is majority, as on MongoDB 5+
    await arrived;
    rs.resumeReplication('secondary');
    assert.equal((await waiting).insertedId, 2);
  });

  void it('steps down mid-workload: a retryable write succeeds on the new primary, a non-retryable one sees NotWritablePrimary (10107)', async (t) => {
    const { rs, client } = await scriptedSet(t);
    const items = client.db('app').collection<Item>('items');
    let elected: Promise<void> = Promise.resolve();
    rs.script({ name: 'insert', nth: 4 }, () => {
      elected = rs.stepDown({ unavailableMs: 1500, newPrimary: 'secondary' });
      return undefined; // handled normally, by a member that is no longer primary
    });
    const oldPrimary = rs.primary?.address;
    for (let i = 1; i <= 8; i++) await items.insertOne({ _id: i });
    await elected;
    assert.deepEqual((await items.find({}).toArray()).map((d) => d._id), [1, 2, 3, 4, 5, 6, 7, 8], 'every write applied once');
    assert.notEqual(rs.primary?.address, oldPrimary);
    const fourth = rs.recorded({ name: 'insert' }).filter((c) => Number((c.command.documents as Item[])[0]?._id) === 4);
    assert.deepEqual(fourth.map((c) => c.member), [oldPrimary, rs.primary?.address], 'refused by the old primary, retried on the new one');

    const noRetries = new MongoClient(rs.uri, { retryWrites: false, serverSelectionTimeoutMS: 15_000 });
    t.after(() => noRetries.close());
    await noRetries.db('app').collection<Item>('items').insertOne({ _id: 9 });
    void rs.stepDown({ unavailableMs: 1500 });
    const refused = await failure(noRetries.db('app').collection<Item>('items').insertOne({ _id: 10 }));
    assert.ok(refused instanceof MongoServerError && refused.code === 10107, String(refused));
    assert.ok(!refused.hasErrorLabel('RetryableWriteError'), 'no txnNumber: not a retryable write');
  });

  void it('interrupts a write waiting for replication when the primary steps down: PrimarySteppedDown (189) as a writeConcernError', async (t) => {
    const { rs, client } = await scriptedSet(t, {}, { retryWrites: false });
    rs.pauseReplication('secondary');
    const arrived = rs.nextCommand({ name: 'insert' });
    const waiting = failure(client.db('app').collection<Item>('items').insertOne({ _id: 1 }, { writeConcern: { w: 'majority' } }));
    await arrived;
    const elected = rs.stepDown({ unavailableMs: 0 });
    const error = await waiting;
    assert.ok(error instanceof MongoWriteConcernError && error.code === 189, String(error));
    await elected;
  });

  void it('loses a w:1 write the secondary never had when the set fails over with rollbackUnreplicated', async (t) => {
    const { rs, client } = await scriptedSet(t);
    const items = client.db('app').collection<Item>('items');
    await items.insertOne({ _id: 1 });
    rs.pauseReplication('secondary');
    await items.insertOne({ _id: 2 }, { writeConcern: { w: 1 } });
    const [oldPrimary, secondary] = rs.members;
    await rs.failover({ rollbackUnreplicated: true });
    assert.equal(rs.primary?.address, secondary?.address);
    assert.equal(rs.members.find((m) => m.address === oldPrimary?.address)?.role, 'secondary');
    assert.deepEqual((await items.find({}).toArray()).map((d) => d._id), [1], 'the acknowledged w:1 write was rolled back');
  });

  void it('kills a member (its reads fall back to the primary) and restarts it as a new process', async (t) => {
    const { rs, client } = await scriptedSet(t, {}, { heartbeatFrequencyMS: 500 }, (set) => `${set.uri}&readPreference=secondaryPreferred`);
    const items = client.db('app').collection<Item>('items');
    const secondary = rs.members[1]?.address;
    const typeOf = (type: string): Promise<void> =>
      new Promise((resolve) => client.on('serverDescriptionChanged', (event) => event.address === secondary && event.newDescription.type === type && resolve()));
    await items.insertOne({ _id: 1 });
    await items.findOne({ _id: 1 });
    assert.equal(rs.recorded({ name: 'find' })[0]?.member, secondary);

    const gone = typeOf('Unknown');
    await rs.kill('secondary');
    await gone;
    rs.clearCommands();
    assert.deepEqual(await items.findOne({ _id: 1 }), { _id: 1 });
    assert.equal(rs.recorded({ name: 'find' })[0]?.role, 'primary');

    const back = typeOf('RSSecondary');
    await rs.restart('secondary');
    await back;
    rs.clearCommands();
    await items.findOne({ _id: 1 });
    assert.equal(rs.recorded({ name: 'find' })[0]?.member, secondary);
  });

  void it('refuses a write sent straight to a secondary with NotWritablePrimary (10107)', async (t) => {
    const { rs } = await scriptedSet(t);
    const direct = new MongoClient(rs.directUri('secondary'), { retryWrites: false });
    t.after(() => direct.close());
    const refused = await failure(direct.db('app').collection<Item>('items').insertOne({ _id: 1 }));
    assert.ok(refused instanceof MongoServerError && refused.code === 10107, String(refused));
    assert.deepEqual(await direct.db('app').collection<Item>('items').find({}).toArray(), [], 'a direct read is allowed (primaryPreferred)');
  });
});
