// A readWrite user copying a validated collection: its inserts into the copy bypass the validator
// (bypassDocumentValidation, in dbAdmin and restore), and the server answers the first batch with
// Unauthorized. copyAndRename and setValidator check the user's privileges first
// (connectionStatus with showPrivileges) and say which action and role are missing, before
// anything is created.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Document } from 'mongodb';
import { createHelpers } from '../../src/helpers/index.ts';
import { probeServer } from '../../src/server/capabilities.ts';
import { rejectsWith } from '../support/helpers.ts';
import type { ScriptedReplicaSet } from '../support/scripted-replica-set/index.ts';
import { scriptedSet } from './fixtures.ts';

const DB = 'app';
const READ_WRITE = ['find', 'insert', 'update', 'remove', 'createCollection', 'dropCollection', 'createIndex', 'dropIndex', 'renameCollectionSameDB', 'listCollections', 'listIndexes', 'collStats', 'dbStats'];

function asUser(rs: ScriptedReplicaSet, role: string, actions: string[]): void {
  rs.setConnectionStatus({ users: [{ user: 'app', db: 'admin' }], roles: [{ role, db: DB }], privileges: [{ resource: { db: DB, collection: '' }, actions }] });
}

void describe('privileges checked before a helper changes anything', () => {
  void it('copyAndRename of a validated collection by a readWrite user: refused naming bypassDocumentValidation and dbAdmin, nothing created', async (t) => {
    const { rs, client } = await scriptedSet(t);
    const db = client.db(DB);
    await db.createCollection('users', { validator: { $jsonSchema: { required: ['email'] } } });
    await db.collection('users').insertMany([{ _id: 1, email: 'a' }, { _id: 2, email: 'b' }] as Document[]);
    asUser(rs, 'readWrite', READ_WRITE);
    // what the server would answer the copy's first batch
    rs.script({ name: 'insert', collection: '_mongrate_tmp_users' }, { code: 13, codeName: 'Unauthorized', errmsg: 'not authorized on app to execute command { insert: "_mongrate_tmp_users", bypassDocumentValidation: true }' });
    const helpers = createHelpers({ db, server: await probeServer(db), dryRun: false });
    await rejectsWith(helpers.copyAndRename('users', { transform: (user) => ({ ...user, active: true }) }), 'MIGRATION_FAILED', /copyAndRename\(users\) needs bypassDocumentValidation \(the copy's inserts, which its validator would refuse\) on database 'app', which app@admin lacks; grant dbAdmin \(or restore\) on 'app'/);
    assert.deepEqual(rs.recorded({ name: ['create', 'insert'], when: (c) => c.collection?.startsWith('_mongrate_') === true }), [], 'no temporary collection');
    const [status] = rs.recorded({ name: 'connectionStatus' }, { upkeep: true });
    assert.equal(status?.command.showPrivileges, true);
  });

  void it('with dbAdmin as well the copy goes ahead', async (t) => {
    const { rs, client } = await scriptedSet(t);
    const db = client.db(DB);
    await db.createCollection('users', { validator: { $jsonSchema: { required: ['email'] } } });
    await db.collection('users').insertMany([{ _id: 1, email: 'a' }] as Document[]);
    asUser(rs, 'readWrite', [...READ_WRITE, 'bypassDocumentValidation', 'collMod']);
    const helpers = createHelpers({ db, server: await probeServer(db), dryRun: false });
    const result = await helpers.copyAndRename('users', { transform: (user) => ({ ...user, active: true }) });
    assert.equal(result.copied, 1);
  });

  void it('setValidator on an existing collection without collMod: refused naming it and dbAdmin, no collMod sent', async (t) => {
    const { rs, client } = await scriptedSet(t);
    const db = client.db(DB);
    await db.collection('users').insertOne({ _id: 1 } as Document);
    asUser(rs, 'readWrite', READ_WRITE);
    const helpers = createHelpers({ db, server: await probeServer(db), dryRun: false });
    await rejectsWith(helpers.setValidator('users', { required: ['email'] }), 'MIGRATION_FAILED', /setValidator\(users\) needs collMod \(changing the validator\) on database 'app', which app@admin lacks; grant dbAdmin on 'app'/);
    assert.deepEqual(rs.recorded({ name: 'collMod' }), []);
  });

  void it('without an authenticated user (auth off) nothing is checked', async (t) => {
    const { client } = await scriptedSet(t);
    const db = client.db(DB);
    await db.collection('users').insertOne({ _id: 1 } as Document);
    const helpers = createHelpers({ db, server: await probeServer(db), dryRun: false });
    assert.deepEqual(await helpers.setValidator('users', { required: ['email'] }), { created: false });
  });
});
