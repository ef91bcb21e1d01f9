// The index lifecycle on a MongoDB replica set, where the local servers cannot show it (FerretDB
// has no collMod, TTL or hidden indexes; DocumentDB no hidden indexes): ensureIndexes changes a
// TTL's expireAfterSeconds and `hidden` in place with collMod, dropIndexes' hideFirst hides in one
// migration and drops in a later one (never in a retry of the same), reportUndeclared lists what
// no spec names, and a server without the feature gets an error naming it before any write.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Db, Document, IndexDescription } from 'mongodb';
import { createHelpers, type HelperContext, type HelperPlan } from '../../src/helpers/index.ts';
import type { HiddenIndexRecord } from '../../src/helpers/index-changes.ts';
import { createMigrator, type InlineMigration } from '../../src/index.ts';
import { probeServer } from '../../src/server/capabilities.ts';
import { rejectsWith } from '../support/helpers.ts';
import { scriptedSet } from './fixtures.ts';

const DB = 'app';
const TTL_30_DAYS = 2_592_000;
const TTL_7_DAYS = 604_800;
const EXPIRY: IndexDescription = { key: { created_at: 1 }, name: 'expires', expireAfterSeconds: TTL_7_DAYS };

async function contextOn(db: Db, extra: Partial<HelperContext> = {}): Promise<HelperContext> {
  return { db, server: await probeServer(db), dryRun: false, ...extra };
}

/** name → the options that matter here, as listIndexes gives them. */
async function listed(db: Db, collection: string): Promise<Record<string, Document>> {
  const indexes = (await db.collection(collection).listIndexes().toArray()) as Document[];
  return Object.fromEntries(indexes.map((i) => [String(i.name), { key: i.key as unknown, ...(i.expireAfterSeconds === undefined ? {} : { ttl: i.expireAfterSeconds as unknown }), ...(i.hidden === true ? { hidden: true } : {}) }]));
}

/** The collMod commands sent, as `name: {index change}`. */
function collMods(rs: Awaited<ReturnType<typeof scriptedSet>>['rs']): unknown[] {
  return rs.recorded({ name: 'collMod' }).map((c) => JSON.parse(JSON.stringify({ [String(c.command.collMod)]: c.command.index as unknown })) as unknown);
}

void describe('ensureIndexes() changes in place what MongoDB can (scripted replica set)', () => {
  void it("changes a TTL's expireAfterSeconds with collMod; a dry run says `~ modify` and changes nothing; the same spec again is unchanged", async (t) => {
    const { rs, client } = await scriptedSet(t);
    const db = client.db(DB);
    await db.collection('sessions').createIndexes([{ key: { created_at: 1 }, name: 'expires', expireAfterSeconds: TTL_30_DAYS }]);
    rs.clearCommands();

    const plans: HelperPlan[] = [];
    const dry = await createHelpers(await contextOn(db, { dryRun: true, onPlan: (p) => plans.push(p) })).ensureIndexes('sessions', [EXPIRY]);
    assert.deepEqual(dry, { created: [], modified: ['expires'], unchanged: [], dryRun: true });
    assert.deepEqual(plans, [{ helper: 'ensureIndexes', collection: 'sessions', action: '~ modify expireAfterSeconds 2592000 → 604800 on index expires', note: 'collMod' }]);
    assert.deepEqual(collMods(rs), [], 'a dry run sends no collMod');

    const logs: string[] = [];
    const helpers = createHelpers(await contextOn(db, { log: (line) => logs.push(line) }));
    assert.deepEqual(await helpers.ensureIndexes('sessions', [EXPIRY]), { created: [], modified: ['expires'], unchanged: [] });
    assert.deepEqual(collMods(rs), [{ sessions: { name: 'expires', expireAfterSeconds: TTL_7_DAYS } }]);
    assert.deepEqual(logs, ['ensureIndexes(sessions): modified expires (expireAfterSeconds 2592000 → 604800)']);
    assert.deepEqual((await listed(db, 'sessions')).expires, { key: { created_at: 1 }, ttl: TTL_7_DAYS });
    assert.deepEqual(await helpers.ensureIndexes('sessions', [EXPIRY]), { created: [], modified: [], unchanged: ['expires'] });
    assert.equal(rs.recorded({ name: ['collMod', 'createIndexes', 'dropIndexes'] }).length, 1, 'nothing more was sent');
  });

  void it('hides and unhides an index with collMod as the spec says; anything else that differs is still an error, naming every difference', async (t) => {
    const { rs, client } = await scriptedSet(t);
    const db = client.db(DB);
    await db.collection('users').createIndexes([{ key: { email: 1 }, name: 'email_1', unique: true }]);
    await db.collection('sessions').createIndexes([{ key: { created_at: 1 }, name: 'expires', expireAfterSeconds: TTL_30_DAYS }]);
    await db.collection('sessions').createIndexes([{ key: { user: 1 }, name: 'user_1' }]);
    const helpers = createHelpers(await contextOn(db));
    rs.clearCommands();

    assert.deepEqual(await helpers.ensureIndexes('users', [{ key: { email: 1 }, unique: true, hidden: true }]), { created: [], modified: ['email_1'], unchanged: [] });
    assert.deepEqual((await listed(db, 'users')).email_1, { key: { email: 1 }, hidden: true });
    // a spec without `hidden` asks for a visible index
    assert.deepEqual(await helpers.ensureIndexes('users', [{ key: { email: 1 }, unique: true }]), { created: [], modified: ['email_1'], unchanged: [] });
    assert.deepEqual((await listed(db, 'users')).email_1, { key: { email: 1 } });
    assert.deepEqual(collMods(rs), [{ users: { name: 'email_1', hidden: true } }, { users: { name: 'email_1', hidden: false } }]);

    rs.clearCommands();
    await rejectsWith(
      helpers.ensureIndexes('users', [{ key: { email: 1 }, hidden: true }]),
      'MIGRATION_FAILED',
      /'email_1' exists with another definition \(unique true instead of false; hidden false instead of true\); drop it first/,
    );
    // a TTL is not added to, or removed from, an index in place: that is another index
    await rejectsWith(helpers.ensureIndexes('sessions', [{ key: { user: 1 }, expireAfterSeconds: 60 }]), 'MIGRATION_FAILED', /'user_1' exists with another definition \(expireAfterSeconds unset instead of 60\)/);
    await rejectsWith(helpers.ensureIndexes('sessions', [{ key: { created_at: 1 }, name: 'expires' }]), 'MIGRATION_FAILED', /'expires' exists with another definition \(expireAfterSeconds 2592000 instead of unset\)/);
    // the whole call fails before anything is changed or built, even the changes beside it that it could make
    await rejectsWith(helpers.ensureIndexes('sessions', [EXPIRY, { key: { n: 1 } }, { key: { user: 1 }, unique: true }]), 'MIGRATION_FAILED', /'user_1' exists with another definition \(unique false instead of true\)/);
    assert.deepEqual(rs.recorded({ name: ['collMod', 'createIndexes'] }), []);
  });

  void it('reportUndeclared lists the indexes no spec names, in the result and a log line (a dry run too)', async (t) => {
    const { client } = await scriptedSet(t);
    const db = client.db(DB);
    await db.collection('users').createIndexes([{ key: { email: 1 }, name: 'email_1' }, { key: { legacy: 1 }, name: 'legacy_1' }, { key: { tmp: 1 }, name: 'tmp_fix' }]);
    const logs: string[] = [];
    const helpers = createHelpers(await contextOn(db, { log: (line) => logs.push(line) }));
    const specs: IndexDescription[] = [{ key: { email: 1 } }, { key: { name: 1 } }];
    assert.deepEqual(await helpers.ensureIndexes('users', specs, { reportUndeclared: true }), { created: ['name_1'], modified: [], unchanged: ['email_1'], undeclared: ['legacy_1', 'tmp_fix'] });
    assert.deepEqual(logs, ['ensureIndexes(users): undeclared (no spec names them): legacy_1, tmp_fix', 'ensureIndexes(users): built name_1']);
    const dry = createHelpers(await contextOn(db, { dryRun: true, log: (line) => logs.push(line) }));
    assert.deepEqual(await dry.ensureIndexes('users', [...specs, { key: { legacy: 1 } }, { key: { tmp: 1 }, name: 'tmp_fix' }], { reportUndeclared: true }), {
      created: [],
      modified: [],
      unchanged: ['email_1', 'name_1', 'legacy_1', 'tmp_fix'],
      undeclared: [],
      dryRun: true,
    });
    assert.equal(logs.at(-1), 'ensureIndexes(users): no undeclared indexes');
    assert.deepEqual(Object.keys(await helpers.ensureIndexes('users', specs)), ['created', 'modified', 'unchanged'], 'without the option, no undeclared');
  });
});

/** A migration calling dropIndexes(users, [legacy_1], { hideFirst }) and keeping its result. */
function hidingMigration(id: string, results: Record<string, unknown>): InlineMigration {
  return {
    id,
    transaction: false,
    up: async ({ helpers }) => {
      results[id] = await helpers.dropIndexes('users', ['legacy_1'], { hideFirst: true });
    },
  };
}

void describe('dropIndexes() with hideFirst (scripted replica set)', () => {
  void it('hides in one migration, drops in a later one; a retry of the hiding migration never drops; unhiding undoes it', async (t) => {
    const { rs, client } = await scriptedSet(t);
    const db = client.db(DB);
    await db.collection('users').createIndexes([{ key: { legacy: 1 }, name: 'legacy_1' }, { key: { email: 1 }, name: 'email_1' }]);
    const results: Record<string, unknown> = {};
    const run = async (migrations: InlineMigration[]): Promise<string[]> => {
      const migrator = createMigrator({ uri: rs.uri, database: DB, migrations });
      try {
        const result = await migrator.up();
        assert.equal(result.error, undefined, JSON.stringify(result.error));
        return result.steps.flatMap((s) => s.logs ?? []);
      } finally {
        await migrator.close();
      }
    };

    const hiding = hidingMigration('001-hide-legacy', results);
    assert.deepEqual(await run([hiding]), ['dropIndexes(users): hid legacy_1; a later migration\'s dropIndexes drops it (unhide it to undo)']);
    assert.deepEqual(results['001-hide-legacy'], { dropped: [], hidden: ['legacy_1'] });
    assert.deepEqual((await listed(db, 'users')).legacy_1, { key: { legacy: 1 }, hidden: true });
    const record = await db.collection('_mongrate_hidden_indexes').findOne({}, { projection: { hiddenAt: 0 } });
    assert.deepEqual(record, { _id: { collection: 'users', index: 'legacy_1' }, key: { legacy: 1 }, migration: '001-hide-legacy' });

    // the same migration again (a retry after a crash, redo): still hidden, never dropped
    const retry = await createHelpers(await contextOn(db, { migration: '001-hide-legacy' })).dropIndexes('users', ['legacy_1'], { hideFirst: true });
    assert.deepEqual(retry, { dropped: [], hidden: ['legacy_1'] });
    assert.ok('legacy_1' in (await listed(db, 'users')));

    // a later migration: dry run first, then for real
    const plans: HelperPlan[] = [];
    const dry = createHelpers(await contextOn(db, { migration: '002-drop-legacy', dryRun: true, onPlan: (p) => plans.push(p) }));
    assert.deepEqual(await dry.dropIndexes('users', ['legacy_1', 'email_1'], { hideFirst: true }), { dropped: ['legacy_1'], hidden: ['email_1'], dryRun: true });
    assert.deepEqual(plans, [
      { helper: 'dropIndexes', collection: 'users', action: 'hide index email_1', note: 'collMod; a later migration drops it' },
      { helper: 'dropIndexes', collection: 'users', action: 'drop index legacy_1', note: 'hidden by 001-hide-legacy' },
    ]);
    rs.clearCommands();
    assert.deepEqual(await run([hiding, hidingMigration('002-drop-legacy', results)]), ['dropIndexes(users): dropped legacy_1 (hidden by 001-hide-legacy)']);
    assert.deepEqual(results['002-drop-legacy'], { dropped: ['legacy_1'], hidden: [] });
    assert.deepEqual(Object.keys(await listed(db, 'users')), ['_id_', 'email_1']);
    assert.equal(await db.collection('_mongrate_hidden_indexes').countDocuments(), 0, 'the record went with the index');
    assert.deepEqual(collMods(rs), [], 'dropping sends no collMod');

    // undo before the drop: ensureIndexes with the spec unhides it and forgets the record, so a later hideFirst hides again
    await db.collection('users').createIndexes([{ key: { legacy: 1 }, name: 'legacy_1' }]);
    await createHelpers(await contextOn(db, { migration: '003-hide' })).dropIndexes('users', ['legacy_1'], { hideFirst: true });
    const undo = await createHelpers(await contextOn(db, { migration: '003-hide' })).ensureIndexes('users', [{ key: { legacy: 1 } }]);
    assert.deepEqual(undo, { created: [], modified: ['legacy_1'], unchanged: [] });
    assert.equal(await db.collection('_mongrate_hidden_indexes').countDocuments(), 0);
    assert.deepEqual(await createHelpers(await contextOn(db, { migration: '004-hide' })).dropIndexes('users', ['legacy_1'], { hideFirst: true }), { dropped: [], hidden: ['legacy_1'] });
  });

  void it("takes over an index hidden without mongrate's record (hidden by hand), and one recorded for another key; only a later migration drops it", async (t) => {
    const { rs, client } = await scriptedSet(t);
    const db = client.db(DB);
    await db.collection('users').createIndexes([{ key: { legacy: 1 }, name: 'legacy_1', hidden: true }]);
    // a record of an index of that name on another key (dropped and rebuilt since)
    await db.collection<HiddenIndexRecord>('_mongrate_hidden_indexes').insertOne({ _id: { collection: 'users', index: 'legacy_1' }, key: { old: 1 }, migration: '000', hiddenAt: new Date() });
    rs.clearCommands();
    const logs: string[] = [];
    const first = createHelpers(await contextOn(db, { migration: '005', log: (line) => logs.push(line) }));
    assert.deepEqual(await first.dropIndexes('users', ['legacy_1', 'missing_1'], { hideFirst: true }), { dropped: [], hidden: ['legacy_1'] });
    assert.deepEqual(logs, ["dropIndexes(users): legacy_1 was hidden already; recorded, a later migration's dropIndexes drops it"]);
    assert.deepEqual(collMods(rs), [], 'nothing to hide');
    assert.deepEqual(await createHelpers(await contextOn(db, { migration: '006' })).dropIndexes('users', ['legacy_1'], { hideFirst: true }), { dropped: ['legacy_1'], hidden: [] });
  });

  void it('a plain dropIndexes of an index mongrate hid drops it and its record', async (t) => {
    const { client } = await scriptedSet(t);
    const db = client.db(DB);
    await db.collection('users').createIndexes([{ key: { legacy: 1 }, name: 'legacy_1' }]);
    const helpers = createHelpers(await contextOn(db, { migration: '007' }));
    await helpers.dropIndexes('users', ['legacy_1'], { hideFirst: true });
    assert.deepEqual(await helpers.dropIndexes('users', ['legacy_1']), { dropped: ['legacy_1'] });
    assert.equal(await db.collection('_mongrate_hidden_indexes').countDocuments(), 0);
  });
});

void describe('a server without hidden indexes or collMod: an error naming the feature, before any write (scripted replica set)', () => {
  void it('MongoDB 4.2 has no hidden indexes: hideFirst, a hidden change and a hidden build fail naming [hiddenIndexes]', async (t) => {
    const { rs, client } = await scriptedSet(t, { buildInfo: { version: '4.2.24' } });
    const db = client.db(DB);
    await db.collection('users').createIndexes([{ key: { legacy: 1 }, name: 'legacy_1' }]);
    const helpers = createHelpers(await contextOn(db));
    rs.clearCommands();
    const lacks = /needs hidden indexes \(hidden, collMod index\.hidden\) \[hiddenIndexes\], which MongoDB 4\.2\.24 \(replicaset\) does not support/;
    await rejectsWith(helpers.dropIndexes('users', ['legacy_1'], { hideFirst: true }), 'MIGRATION_FAILED', /^dropIndexes\(users\) with hideFirst needs hidden indexes/);
    await rejectsWith(helpers.dropIndexes('users', ['legacy_1'], { hideFirst: true }), 'MIGRATION_FAILED', lacks);
    await rejectsWith(helpers.ensureIndexes('users', [{ key: { legacy: 1 }, hidden: true }]), 'MIGRATION_FAILED', lacks);
    await rejectsWith(helpers.ensureIndexes('users', [{ key: { other: 1 }, hidden: true }]), 'MIGRATION_FAILED', lacks);
    assert.deepEqual(rs.recorded({ name: ['collMod', 'createIndexes', 'dropIndexes', 'insert', 'update'] }), []);
  });

  void it('a server that refuses collMod altogether fails a TTL change naming [collMod] and what it answered; the index keeps its TTL', async (t) => {
    const { rs, client } = await scriptedSet(t);
    const db = client.db(DB);
    await db.collection('sessions').createIndexes([{ key: { created_at: 1 }, name: 'expires', expireAfterSeconds: TTL_30_DAYS }]);
    rs.script({ name: 'collMod', times: Infinity }, { code: 59, codeName: 'CommandNotFound', errmsg: "no such command: 'collMod'" });
    await rejectsWith(
      createHelpers(await contextOn(db)).ensureIndexes('sessions', [EXPIRY]),
      'MIGRATION_FAILED',
      /ensureIndexes\(sessions\): index 'expires' needs changing an index or a view in place \(collMod\) \[collMod\], which MongoDB 7\.0\.14 \(replicaset\) does not support \(it answered: no such command: 'collMod'\)/,
    );
    assert.deepEqual((await listed(db, 'sessions')).expires, { key: { created_at: 1 }, ttl: TTL_30_DAYS });
  });

  void it("a server that poses as MongoDB 7 and refuses collMod's hidden (as DocumentDB does) fails naming the feature and what it answered", async (t) => {
    const { rs, client } = await scriptedSet(t);
    const db = client.db(DB);
    await db.collection('users').createIndexes([{ key: { legacy: 1 }, name: 'legacy_1' }]);
    rs.script({ name: 'collMod', times: Infinity }, { code: 115, codeName: 'CommandNotSupported', errmsg: "'collMod.index.hidden' is not supported yet." });
    const helpers = createHelpers(await contextOn(db));
    await rejectsWith(
      helpers.dropIndexes('users', ['legacy_1'], { hideFirst: true }),
      'MIGRATION_FAILED',
      /dropIndexes\(users\): index 'legacy_1' needs hidden indexes \(hidden, collMod index\.hidden\) \[hiddenIndexes\], which MongoDB 7\.0\.14 \(replicaset\) does not support \(it answered: 'collMod\.index\.hidden' is not supported yet\.\)/,
    );
    assert.equal(await db.collection('_mongrate_hidden_indexes').countDocuments(), 0, 'nothing recorded');
    assert.deepEqual(await listed(db, 'users'), { _id_: { key: { _id: 1 } }, legacy_1: { key: { legacy: 1 } } });
  });
});
