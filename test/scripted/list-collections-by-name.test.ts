// Some MongoDB-compatible servers ignore listCollections' filter and list every collection: the
// helpers match each entry by name instead of taking the first one as the collection they asked
// for. Scripted here as such a server answers: every collection, another one first.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Long, type Document } from 'mongodb';
import { createHelpers } from '../../src/helpers/index.ts';
import { probeServer } from '../../src/server/capabilities.ts';
import { scriptedSet } from './fixtures.ts';

const DB = 'shop';

/** The answer of a server that ignores the filter: `entries`, whatever was asked. */
const everything = (entries: Document[]): { reply: Document } => ({ reply: { cursor: { id: Long.ZERO, ns: `${DB}.$cmd.listCollections`, firstBatch: entries }, ok: 1 } });

void describe('listCollections results matched by name (a server that ignores the filter)', () => {
  void it("setValidator on a collection that does not exist creates it: another collection listed first is not taken for it", async (t) => {
    const { rs, client } = await scriptedSet(t);
    const db = client.db(DB);
    await db.collection('users').insertOne({ _id: 1 } as Document);
    rs.script({ name: 'listCollections', db: DB, times: Infinity }, everything([{ name: 'users', type: 'collection', options: {}, info: { readOnly: false } }]));
    const ctx = { db, server: await probeServer(db), dryRun: false };
    const result = await createHelpers(ctx).setValidator('audit', { required: ['at'] });
    assert.equal(result.created, true);
    assert.deepEqual(rs.recorded({ name: 'collMod' }), [], 'no collMod of a collection that does not exist');
    assert.equal(rs.recorded({ name: 'create', collection: 'audit' }).length, 1);
  });

  void it("copyAndRename copies the source's own options, not those of the collection listed first", async (t) => {
    const { rs, client } = await scriptedSet(t);
    const db = client.db(DB);
    await db.collection('users').insertMany([{ _id: 1 }, { _id: 2 }] as Document[]);
    // asked about users, the server lists a capped collection first
    rs.script(
      { name: 'listCollections', db: DB, times: Infinity, when: (c) => (c.command.filter as Document | undefined)?.name === 'users' },
      everything([
        { name: 'events', type: 'collection', options: { capped: true, size: 4096 }, info: { readOnly: false } },
        { name: 'users', type: 'collection', options: {}, info: { readOnly: false }, idIndex: { v: 2, key: { _id: 1 }, name: '_id_' } },
      ]),
    );
    const ctx = { db, server: await probeServer(db), dryRun: false };
    await createHelpers(ctx).copyAndRename('users', { to: 'people' });
    const [create] = rs.recorded({ name: 'create', collection: '_mongrate_tmp_people' });
    assert.ok(create !== undefined);
    assert.equal(create.command.capped, undefined, `the copy was created with another collection's options: ${JSON.stringify(create.command)}`);
    rs.clearScripts();
    assert.equal(await db.collection('people').countDocuments(), 2);
  });
});
