// Sessions and transactions on the scripted replica set, with MongoDB's semantics: isolation and
// rollback, write conflicts, a write outside waiting for the transaction that holds its document,
// the lifetime limit, DDL refused, retryable writes applied once.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { MongoClient, MongoServerError, type Document } from 'mongodb';
import { scriptedSet } from './fixtures.ts';

interface Counter {
  _id: number;
  v?: number;
  by?: string;
}

type Keyed = { _id: number } & Record<string, unknown>;

const failure = (promise: Promise<unknown>): Promise<unknown> => promise.then(
  () => assert.fail('expected a failure'),
  (error: unknown) => error,
);

void describe('transactions on the scripted replica set', () => {
  void it('commits atomically and invisibly until the commit; an abort undoes every write', async (t) => {
    const { client } = await scriptedSet(t);
    const counters = client.db('app').collection<Counter>('counters');
    await counters.insertOne({ _id: 1, v: 0 });

    const session = client.startSession();
    t.after(() => session.endSession());
    session.startTransaction();
    await counters.updateOne({ _id: 1 }, { $set: { v: 1 } }, { session });
    await counters.insertOne({ _id: 2, v: 2 }, { session });
    assert.deepEqual(await counters.find({}, { session }).toArray(), [{ _id: 1, v: 1 }, { _id: 2, v: 2 }], 'the transaction reads its own writes');
    assert.deepEqual(await counters.find({}).toArray(), [{ _id: 1, v: 0 }], 'an outside reader does not see them');
    await session.commitTransaction();
    assert.deepEqual(await counters.find({}).toArray(), [{ _id: 1, v: 1 }, { _id: 2, v: 2 }]);

    session.startTransaction();
    await counters.deleteOne({ _id: 1 }, { session });
    await counters.insertOne({ _id: 3 }, { session });
    await client.db('app').collection<Keyed>('created_inside').insertOne({ _id: 1 }, { session });
    await session.abortTransaction();
    assert.deepEqual(await counters.find({}).toArray(), [{ _id: 1, v: 1 }, { _id: 2, v: 2 }], 'the abort undid the delete and the insert');
    assert.deepEqual(await client.db('app').listCollections({ name: 'created_inside' }).toArray(), [], 'and the implicit creation');
  });

  void it('fails a write to a document changed since the snapshot, or held by another transaction, with WriteConflict (112, TransientTransactionError)', async (t) => {
    const { client } = await scriptedSet(t);
    const counters = client.db('app').collection<Counter>('counters');
    await counters.insertMany([{ _id: 1, v: 0 }, { _id: 2, v: 0 }]);
    const [first, second] = [client.startSession(), client.startSession()];
    t.after(() => Promise.all([first.endSession(), second.endSession()]));

    first.startTransaction();
    await counters.findOne({ _id: 1 }, { session: first }); // the snapshot is taken here
    await counters.updateOne({ _id: 1 }, { $inc: { v: 1 } }); // committed outside, after the snapshot
    const conflict = await failure(counters.updateOne({ _id: 1 }, { $inc: { v: 10 } }, { session: first }));
    assert.ok(conflict instanceof MongoServerError && conflict.code === 112, String(conflict));
    assert.ok(conflict.hasErrorLabel('TransientTransactionError'));
    const aborted = await failure(first.commitTransaction());
    assert.ok(aborted instanceof MongoServerError && aborted.code === 251, `the conflict aborted the transaction: ${String(aborted)}`);

    first.startTransaction();
    second.startTransaction();
    await counters.updateOne({ _id: 2 }, { $set: { by: 'first' } }, { session: first });
    const held = await failure(counters.updateOne({ _id: 2 }, { $set: { by: 'second' } }, { session: second }));
    assert.ok(held instanceof MongoServerError && held.code === 112 && held.hasErrorLabel('TransientTransactionError'), String(held));
    await second.abortTransaction();
    await first.commitTransaction();
    assert.deepEqual(await counters.findOne({ _id: 2 }), { _id: 2, v: 0, by: 'first' });
  });

  void it('makes a write outside any transaction wait for the transaction holding its document, then apply it on the committed version', async (t) => {
    const { rs, client } = await scriptedSet(t);
    const counters = client.db('app').collection<Counter>('counters');
    await counters.insertOne({ _id: 1, v: 0 });
    const session = client.startSession();
    t.after(() => session.endSession());
    session.startTransaction();
    await counters.updateOne({ _id: 1 }, { $set: { v: 10 } }, { session });

    const arrived = rs.nextCommand({ name: 'update', inTransaction: false });
    const outside = counters.updateOne({ _id: 1 }, { $inc: { v: 1 } }, { comment: 'outside' });
    await arrived;
    const waiting = await client.db('admin').aggregate([{ $currentOp: {} }, { $match: { 'command.comment': 'outside' } }]).toArray();
    assert.equal(waiting.length, 1, 'the outside update is in progress, waiting');
    assert.deepEqual(await counters.findOne({ _id: 1 }), { _id: 1, v: 0 }, 'reads are not blocked and see neither write');

    await session.commitTransaction();
    assert.equal((await outside).modifiedCount, 1);
    assert.deepEqual(await counters.findOne({ _id: 1 }), { _id: 1, v: 11 }, 'applied after the commit, on its result');
  });

  void it('aborts a transaction that outlives transactionLifetimeLimitSeconds: its next statement gets NoSuchTransaction (251)', async (t) => {
    const { rs, client } = await scriptedSet(t, { transactionLifetimeLimitSeconds: 0.2 });
    assert.equal(rs.transactionLifetimeLimitSeconds, 0.2);
    const counters = client.db('app').collection<Counter>('counters');
    const session = client.startSession();
    t.after(() => session.endSession());
    session.startTransaction();
    await counters.insertOne({ _id: 1 }, { session });
    await sleep(600); // the server's own 200 ms timer fires first: same process, earlier deadline
    const expired = await failure(counters.insertOne({ _id: 2 }, { session }));
    assert.ok(expired instanceof MongoServerError && expired.code === 251, String(expired));
    assert.ok(expired.hasErrorLabel('TransientTransactionError'));
    assert.match(expired.message, /transactionLifetimeLimitSeconds/);
    await session.abortTransaction().catch(() => undefined);
    assert.equal(await counters.countDocuments(), 0);
  });

  void it('refuses DDL on an existing collection and writes to a capped one inside a transaction (263); creating a collection inside is allowed', async (t) => {
    const { client } = await scriptedSet(t);
    const db = client.db('app');
    await db.collection<Keyed>('users').insertOne({ _id: 1 });
    await db.createCollection('log', { capped: true, size: 4096 });
    const session = client.startSession();
    t.after(() => session.endSession());

    for (const ddl of [
      () => db.collection('users').createIndexes([{ key: { a: 1 }, name: 'a_1' }], { session }),
      () => db.collection('users').drop({ session }),
      () => db.collection<Keyed>('log').insertOne({ _id: 1 }, { session }),
    ]) {
      session.startTransaction();
      await db.collection('other').findOne({}, { session });
      const refused = await failure(ddl());
      assert.ok(refused instanceof MongoServerError && refused.code === 263, String(refused));
      await session.abortTransaction();
    }

    session.startTransaction();
    await db.collection('fresh').createIndexes([{ key: { a: 1 }, name: 'a_1', unique: true }], { session });
    await db.collection<Keyed>('fresh').insertOne({ _id: 1, a: 1 }, { session });
    const late = await failure(db.collection('fresh').createIndexes([{ key: { b: 1 }, name: 'b_1' }], { session }));
    assert.ok(late instanceof MongoServerError && late.code === 263, 'not once it holds documents');
    await session.abortTransaction();
    session.startTransaction();
    await db.collection('fresh').createIndexes([{ key: { a: 1 }, name: 'a_1', unique: true }], { session });
    await db.collection<Keyed>('fresh').insertOne({ _id: 1, a: 1 }, { session });
    await session.commitTransaction();
    assert.deepEqual((await db.collection('fresh').listIndexes().toArray()).map((i: Document) => i.name as unknown), ['_id_', 'a_1']);
  });

  void it('applies a retryable write once when its reply is lost, and answers a retried commit after the commit with ok', async (t) => {
    const { rs, client } = await scriptedSet(t);
    const counters = client.db('app').collection<Counter>('counters');
    rs.script({ name: 'insert', collection: 'counters' }, 'handleThenCloseConnection');
    await counters.insertOne({ _id: 1, v: 1 });
    rs.script({ name: 'update', collection: 'counters' }, 'closeConnection');
    await counters.updateOne({ _id: 1 }, { $inc: { v: 1 } });
    rs.script({ name: 'update', collection: 'counters' }, 'handleThenCloseConnection');
    await counters.updateOne({ _id: 1 }, { $inc: { v: 1 } });
    assert.deepEqual(await counters.find({}).toArray(), [{ _id: 1, v: 3 }], 'each write applied exactly once');
    const inserts = rs.recorded({ name: 'insert', collection: 'counters' });
    assert.equal(inserts.length, 2, 'sent twice');
    assert.deepEqual([inserts[1]?.lsid, inserts[1]?.txnNumber], [inserts[0]?.lsid, inserts[0]?.txnNumber], 'with the same lsid and txnNumber');

    const session = client.startSession();
    t.after(() => session.endSession());
    session.startTransaction();
    await counters.insertOne({ _id: 2 }, { session });
    rs.script({ name: 'commitTransaction' }, 'handleThenCloseConnection');
    await session.commitTransaction();
    assert.equal(rs.recorded({ name: 'commitTransaction' }).length, 2);
    assert.equal(await counters.countDocuments({ _id: 2 }), 1);
  });

  void it('refuses a transaction on a secondary with NotWritablePrimary (10107)', async (t) => {
    const { rs } = await scriptedSet(t);
    const direct = new MongoClient(rs.directUri('secondary'));
    t.after(() => direct.close());
    const session = direct.startSession();
    t.after(() => session.endSession());
    session.startTransaction();
    const refused = await failure(direct.db('app').collection<Keyed>('c').insertOne({ _id: 1 }, { session }));
    assert.ok(refused instanceof MongoServerError && refused.code === 10107, String(refused));
    assert.ok(refused.hasErrorLabel('TransientTransactionError'));
    await session.abortTransaction().catch(() => undefined);
  });
});
