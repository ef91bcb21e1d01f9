// mongrate's own migrator against the scripted replica set: a migration runs inside a
// transaction (the recorded commands show its insert in the transaction and the commit), and
// helper migrations (indexes, batched updates, copy-and-rename) run end to end.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Document } from 'mongodb';
import { createMigrator } from '../../src/index.ts';
import { scriptedSet } from './fixtures.ts';

void describe('mongrate on the scripted replica set', () => {
  void it('applies a migration inside a transaction: its insert carries the transaction, which is committed', async (t) => {
    const { rs, client } = await scriptedSet(t);
    const migrator = createMigrator({
      uri: rs.uri,
      database: 'app',
      migrations: [
        {
          id: '001',
          up: async ({ db, session }) => {
            await db.collection('users').insertOne({ a: 1 }, { session });
          },
        },
      ],
    });
    t.after(() => migrator.close());

    const result = await migrator.up();
    assert.equal(result.error, undefined, JSON.stringify(result.error));
    assert.equal(result.steps[0]?.transaction, true);
    const [insert] = rs.recorded({ name: 'insert', collection: 'users' });
    assert.ok(insert?.inTransaction === true && insert.transaction !== undefined, 'the insert was sent inside a transaction');
    assert.equal(insert.role, 'primary');
    const commits = rs.recorded({ name: 'commitTransaction', when: (c) => c.transaction === insert.transaction });
    assert.equal(commits.length, 1, 'and that transaction was committed');
    assert.ok(commits[0] !== undefined && commits[0].at >= insert.at);
    assert.deepEqual(await client.db('app').collection('users').find({}, { projection: { _id: 0 } }).toArray(), [{ a: 1 }]);
    const record = await client.db('app').collection<{ _id: string; state: string }>('mongrate_changelog').findOne({ _id: '001' });
    assert.equal(record?.state, 'applied');
  });

  void it('runs helper migrations end to end: indexes, a batched schema bump, a copy-and-rename', async (t) => {
    const { client, rs } = await scriptedSet(t);
    await client.db('app').collection('users').insertMany([1, 2, 3, 4, 5].map((n) => ({ email: `u${n}@example.com`, schema_version: 1 })));
    const migrator = createMigrator({
      uri: rs.uri,
      database: 'app',
      migrations: [
        {
          id: '001-indexes',
          transaction: false,
          up: async ({ helpers }) => {
            await helpers.ensureIndexes('users', [{ key: { email: 1 }, name: 'email_1', unique: true }]);
          },
        },
        {
          id: '002-bump',
          transaction: false,
          up: async ({ helpers }) => {
            await helpers.bumpSchemaVersion('users', { to: 2, transform: (user) => ({ ...user, active: true }) });
          },
        },
        {
          id: '003-copy',
          transaction: false,
          up: async ({ helpers }) => {
            await helpers.copyAndRename('users', { transform: (user) => ({ ...user, copied: true }), keepOriginalAs: 'users_v2' });
          },
        },
      ],
    });
    t.after(() => migrator.close());

    const result = await migrator.up();
    assert.equal(result.error, undefined, JSON.stringify(result.error));
    assert.deepEqual(result.steps.map((s) => s.status), ['success', 'success', 'success']);
    const users = await client.db('app').collection('users').find({}).toArray();
    assert.equal(users.length, 5);
    assert.ok(users.every((u) => u.schema_version === 2 && u.active === true && u.copied === true));
    assert.deepEqual((await client.db('app').collection('users').listIndexes().toArray()).map((i: Document) => i.name as unknown), ['_id_', 'email_1']);
    assert.equal(await client.db('app').collection('users_v2').countDocuments(), 5);
    assert.equal(await client.db('app').collection('mongrate_lock').countDocuments(), 0, 'the lock was released');
  });
});
