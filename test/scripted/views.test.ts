// createView and dropView on a MongoDB replica set, where FerretDB has no views: a view created
// once and left alone after, redefined in place with collMod when its source or pipeline change
// (never dropped and recreated), a collation that cannot change in place refused, a collection
// of that name never touched, a dry run that only says what it would do, the standalone
// functions inside a migration, and a server without views or collMod failing with the feature's name.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Db, Document } from 'mongodb';
import { createHelpers, type HelperContext, type HelperPlan } from '../../src/helpers/index.ts';
import { createMigrator, createView, dropView } from '../../src/index.ts';
import { probeServer } from '../../src/server/capabilities.ts';
import { rejectsWith } from '../support/helpers.ts';
import { scriptedSet } from './fixtures.ts';

const DB = 'app';
const ACTIVE = [{ $match: { active: true } }, { $project: { _id: 1, email: 1 } }];

async function contextOn(db: Db, extra: Partial<HelperContext> = {}): Promise<HelperContext> {
  return { db, server: await probeServer(db), dryRun: false, ...extra };
}

async function seed(db: Db): Promise<void> {
  await db.collection('users').insertMany([
    { _id: 1, email: 'a@example.com', active: true, plan: 'pro' },
    { _id: 2, email: 'b@example.com', active: false, plan: 'free' },
    { _id: 3, email: 'c@example.com', active: true, plan: 'free' },
  ] as Document[]);
}

async function viewListing(db: Db, name: string): Promise<Document | undefined> {
  const [entry] = await db.listCollections({ name }, { nameOnly: false }).toArray();
  return entry === undefined ? undefined : { type: entry.type as unknown, options: JSON.parse(JSON.stringify(entry.options)) as unknown };
}

const WRITES = ['create', 'collMod', 'drop', 'insert', 'update', 'delete'];

void describe('createView() / dropView() (scripted replica set)', () => {
  void it('creates the view once, leaves it alone when it is as asked, and redefines it with collMod when the pipeline or source changes', async (t) => {
    const { rs, client } = await scriptedSet(t);
    const db = client.db(DB);
    await seed(db);
    await db.collection('customers').insertOne({ _id: 9, email: 'z@example.com', active: true } as Document);
    const logs: string[] = [];
    const helpers = createHelpers(await contextOn(db, { log: (line) => logs.push(line) }));
    rs.clearCommands();

    assert.deepEqual(await helpers.createView('active_users', 'users', ACTIVE), { created: true, redefined: false });
    assert.deepEqual(await viewListing(db, 'active_users'), { type: 'view', options: { viewOn: 'users', pipeline: ACTIVE } });
    assert.deepEqual(await db.collection('active_users').find().toArray(), [{ _id: 1, email: 'a@example.com' }, { _id: 3, email: 'c@example.com' }]);
    assert.deepEqual(await helpers.createView('active_users', 'users', ACTIVE), { created: false, redefined: false });

    const pro = [{ $match: { active: true, plan: 'pro' } }, { $project: { _id: 1, email: 1 } }];
    assert.deepEqual(await helpers.createView('active_users', 'users', pro), { created: false, redefined: true });
    assert.deepEqual(await db.collection('active_users').find().toArray(), [{ _id: 1, email: 'a@example.com' }]);
    assert.deepEqual(await helpers.createView('active_users', 'customers', pro.slice(1)), { created: false, redefined: true });
    assert.deepEqual(await db.collection('active_users').find().toArray(), [{ _id: 9, email: 'z@example.com' }]);
    assert.deepEqual(
      rs.recorded({ name: WRITES }).map((c) => `${c.name} ${JSON.stringify(c.command.viewOn)} ${JSON.stringify(c.command.pipeline)}`),
      [`create "users" ${JSON.stringify(ACTIVE)}`, `collMod "users" ${JSON.stringify(pro)}`, `collMod "customers" ${JSON.stringify(pro.slice(1))}`],
      'created once, then changed in place: never dropped',
    );
    assert.deepEqual(logs, [
      'createView(active_users): created on users (2 stages)',
      'createView(active_users): redefined on users (2 stages)',
      'createView(active_users): redefined on customers (1 stage)',
    ]);

    assert.deepEqual(await helpers.dropView('active_users'), { dropped: true });
    assert.equal(await viewListing(db, 'active_users'), undefined);
    assert.deepEqual(await helpers.dropView('active_users'), { dropped: false });
    assert.equal(logs.at(-1), 'dropView(active_users): dropped');
  });

  void it('keeps the collation: the same one is unchanged, another one is refused naming the way out', async (t) => {
    const { rs, client } = await scriptedSet(t);
    const db = client.db(DB);
    await seed(db);
    const helpers = createHelpers(await contextOn(db));
    const caseless = { locale: 'en', strength: 2 };
    assert.deepEqual(await helpers.createView('by_email', 'users', ACTIVE, { collation: caseless }), { created: true, redefined: false });
    assert.deepEqual((await viewListing(db, 'by_email'))?.options, { viewOn: 'users', pipeline: ACTIVE, collation: caseless });
    assert.deepEqual(await helpers.createView('by_email', 'users', ACTIVE, { collation: caseless }), { created: false, redefined: false });
    rs.clearCommands();
    await rejectsWith(
      helpers.createView('by_email', 'users', ACTIVE, { collation: { locale: 'fr' } }),
      'MIGRATION_FAILED',
      /createView\(by_email\): the view exists with another collation \(\{"locale":"en","strength":2\}\); a view's collation cannot be changed in place: dropView\('by_email'\), then createView/,
    );
    await rejectsWith(helpers.createView('by_email', 'users', ACTIVE), 'MIGRATION_FAILED', /exists with another collation/);
    assert.deepEqual(rs.recorded({ name: WRITES }), []);
  });

  void it('never touches a collection of that name: createView and dropView refuse it and its documents stay', async (t) => {
    const { rs, client } = await scriptedSet(t);
    const db = client.db(DB);
    await seed(db);
    const helpers = createHelpers(await contextOn(db));
    rs.clearCommands();
    await rejectsWith(helpers.createView('users', 'customers', ACTIVE), 'MIGRATION_FAILED', /createView\(users\): 'users' is a collection, not a view; createView never replaces a collection \(drop or rename it first, or choose another name\)/);
    await rejectsWith(helpers.dropView('users'), 'MIGRATION_FAILED', /dropView\(users\): 'users' is a collection, not a view; dropView never drops a collection \(its documents would be lost\)/);
    await rejectsWith(helpers.createView('v', 'v', ACTIVE), 'USAGE', /the source must name another collection or view/);
    await rejectsWith(helpers.createView('v', 'users', { $match: {} } as unknown as Document[]), 'USAGE', /the pipeline must be an array of stage documents/);
    await rejectsWith(helpers.createView('v', client.db('other').collection('users'), ACTIVE), 'USAGE', /a view is defined on a collection of its own database, not of 'other'/);
    assert.deepEqual(rs.recorded({ name: WRITES }), []);
    assert.equal(await db.collection('users').countDocuments(), 3);
    // ensureIndexes on a view: the server's own refusal
    await helpers.createView('active_users', 'users', ACTIVE);
    await assert.rejects(helpers.ensureIndexes('active_users', [{ key: { email: 1 } }]), /is a view, not a collection/);
  });

  void it('a dry run says what it would do and changes nothing', async (t) => {
    const { rs, client } = await scriptedSet(t);
    const db = client.db(DB);
    await seed(db);
    await createHelpers(await contextOn(db)).createView('old_view', 'users', ACTIVE);
    const plans: HelperPlan[] = [];
    const dry = createHelpers(await contextOn(db, { dryRun: true, onPlan: (p) => plans.push(p) }));
    rs.clearCommands();
    assert.deepEqual(await dry.createView('active_users', 'users', ACTIVE), { created: true, redefined: false, dryRun: true });
    assert.deepEqual(await dry.createView('old_view', 'users', ACTIVE.slice(0, 1)), { created: false, redefined: true, dryRun: true });
    assert.deepEqual(await dry.createView('old_view', 'users', ACTIVE), { created: false, redefined: false, dryRun: true });
    assert.deepEqual(await dry.dropView('old_view'), { dropped: true, dryRun: true });
    assert.deepEqual(await dry.dropView('never_there'), { dropped: false, dryRun: true });
    assert.deepEqual(plans, [
      { helper: 'createView', collection: 'active_users', action: 'create the view on users (2 stages)' },
      { helper: 'createView', collection: 'old_view', action: 'redefine the view on users (1 stage)', note: 'collMod' },
      { helper: 'dropView', collection: 'old_view', action: 'drop the view' },
    ]);
    assert.deepEqual(rs.recorded({ name: WRITES }), []);
  });

  void it("the functions exported from 'mongrate' find the running migration; up and down create and drop the view", async (t) => {
    const { rs, client } = await scriptedSet(t);
    const db = client.db(DB);
    await seed(db);
    const migrator = createMigrator({
      uri: rs.uri,
      database: DB,
      migrations: [
        {
          id: '001-active-users-view',
          transaction: false,
          up: async () => {
            await createView('active_users', 'users', ACTIVE);
          },
          down: async () => {
            await dropView('active_users');
          },
        },
      ],
    });
    t.after(() => migrator.close());
    const dry = await migrator.up({ dryRun: true });
    assert.deepEqual(dry.steps[0]?.plan, [{ helper: 'createView', collection: 'active_users', action: 'create the view on users (2 stages)' }]);
    const up = await migrator.up();
    assert.equal(up.error, undefined, JSON.stringify(up.error));
    assert.deepEqual(up.steps[0]?.logs, ['createView(active_users): created on users (2 stages)']);
    assert.equal((await viewListing(db, 'active_users'))?.type, 'view');
    const down = await migrator.down();
    assert.equal(down.error, undefined, JSON.stringify(down.error));
    assert.equal(await viewListing(db, 'active_users'), undefined);
  });

  void it('a server that refuses collMod fails a redefinition naming [collMod]; the view keeps its pipeline', async (t) => {
    const { rs, client } = await scriptedSet(t);
    const db = client.db(DB);
    await seed(db);
    const helpers = createHelpers(await contextOn(db));
    await helpers.createView('active_users', 'users', ACTIVE);
    rs.script({ name: 'collMod', times: Infinity }, { code: 59, codeName: 'CommandNotFound', errmsg: "no such command: 'collMod'" });
    await rejectsWith(
      helpers.createView('active_users', 'users', ACTIVE.slice(0, 1)),
      'MIGRATION_FAILED',
      /createView\(active_users\) needs changing an index or a view in place \(collMod\) \[collMod\], which MongoDB 7\.0\.14 \(replicaset\) does not support \(it answered: no such command: 'collMod'\)/,
    );
    assert.deepEqual((await viewListing(db, 'active_users'))?.options, { viewOn: 'users', pipeline: ACTIVE });
  });

  void it('a server without views (MongoDB 3.2) fails naming [views] before any write; dropView has nothing to drop', async (t) => {
    const { rs, client } = await scriptedSet(t, { buildInfo: { version: '3.2.22' } });
    const db = client.db(DB);
    const helpers = createHelpers(await contextOn(db));
    rs.clearCommands();
    await rejectsWith(helpers.createView('active_users', 'users', ACTIVE), 'MIGRATION_FAILED', /createView\(active_users\) needs views \(create with viewOn and pipeline\) \[views\], which MongoDB 3\.2\.22 \(replicaset\) does not support/);
    assert.deepEqual(await helpers.dropView('active_users'), { dropped: false });
    assert.deepEqual(rs.recorded({ name: WRITES }), []);
  });
});
