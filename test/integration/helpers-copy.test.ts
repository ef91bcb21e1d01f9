// Integration tests of copyAndRename against the test server (inserts only, so 2000 documents are cheap everywhere).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MongoServerError, type Db, type Document } from 'mongodb';
import { MongrateError } from '../../src/errors.ts';
import { createHelpers, type HelperPlan, type HelperProgress } from '../../src/helpers/index.ts';
import { withTestDb } from '../support/database.ts';
import { contextFor, ids, rejectsWith } from '../support/helpers.ts';

async function collectionNames(db: Db): Promise<string[]> {
  return (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
}

async function indexSummary(db: Db, name: string): Promise<string[]> {
  const indexes = (await db.collection(name).listIndexes().toArray()) as Document[];
  return indexes.map((i) => `${String(i.name)}${i.unique === true ? ' unique' : ''}`).sort();
}

/** QueryPlanKilled, CursorKilled, CursorNotFound, Interrupted. */
const QUERY_KILLED = new Set([175, 237, 43, 11601]);

const CREATED = new Date('2023-05-06T07:08:09Z');
const UPDATED = new Date('2024-06-01T00:00:00Z');

/** The flat users of the reference tutorial; every seventh has no settings at all. */
function flatUsers(count: number): Document[] {
  return ids(count).map((_id, n) => ({
    _id,
    email: `user${n}@example.com`,
    name: `User ${n}`,
    bio: `bio ${n}`,
    avatar_url: `https://example.com/${n}.png`,
    location: n % 2 === 0 ? 'Berlin' : 'Lisbon',
    ...(n % 7 === 0 ? {} : { notifications: n % 3 === 0, theme: 'dark' }),
    created_at: CREATED,
  }));
}

/** Reference pattern 2: flat -> nested. */
function nest(doc: Document): Document {
  return {
    _id: doc._id as unknown,
    email: doc.email as unknown,
    name: doc.name as unknown,
    profile: { bio: doc.bio as unknown, avatar_url: doc.avatar_url as unknown, location: doc.location as unknown },
    settings: { notifications: (doc.notifications as unknown) ?? true, theme: (doc.theme as unknown) ?? 'light' },
    created_at: doc.created_at as unknown,
    updated_at: UPDATED,
  };
}

async function seedUsers(db: Db, count: number): Promise<Document[]> {
  const users = flatUsers(count);
  await db.collection('users').insertMany(users.map((u) => ({ ...u })));
  await db.collection('users').createIndexes([{ key: { email: 1 }, unique: true }, { key: { created_at: 1 } }]);
  return users;
}

void describe('copyAndRename()', () => {
  void it('copies 2000 documents into a new collection in batches with their indexes, keeping the original', () =>
    withTestDb('copy_new', async ({ db }) => {
      const users = await seedUsers(db, 2000);
      const progress: HelperProgress[] = [];
      const helpers = createHelpers(await contextFor(db, { onProgress: (p) => progress.push(p) }));
      const result = await helpers.copyAndRename('users', { to: 'people', transform: nest, keepOriginalAs: 'users_flat', batchSize: 500 });
      assert.deepEqual(result, { matched: 2000, copied: 2000, carriedOver: 0 });
      assert.deepEqual(progress.map((p) => `${p.done}/${p.total}`), ['500/2000', '1000/2000', '1500/2000', '2000/2000']);
      assert.deepEqual(await collectionNames(db), ['people', 'users_flat'], 'no temporary collections left');
      assert.deepEqual(await db.collection('people').find({}).sort({ _id: 1 }).toArray(), users.map(nest));
      assert.deepEqual(await db.collection('users_flat').find({}).sort({ _id: 1 }).toArray(), users);
      assert.deepEqual(await indexSummary(db, 'people'), ['_id_', 'created_at_1', 'email_1 unique']);
      // the unique index really is there on the copy
      await assert.rejects(db.collection('people').insertOne({ email: 'user1@example.com' }), (error: unknown) => (error as { code?: unknown }).code === 11000, 'a duplicate key, told by its code (DocumentDB words it differently)');
    }));

  void it('replaces the source, leaves documents out for null or delete, and skips the indexes when asked', () =>
    withTestDb('copy_filter', async ({ db }) => {
      const users = await seedUsers(db, 100);
      const helpers = createHelpers(await contextFor(db));
      const result = await helpers.copyAndRename('users', { to: 'berliners', copyIndexes: false, transform: { unset: ['avatar_url'] } });
      assert.deepEqual(result, { matched: 100, copied: 100, carriedOver: 0 });
      assert.deepEqual(await collectionNames(db), ['berliners'], 'without keepOriginalAs the source is gone');
      assert.deepEqual(await indexSummary(db, 'berliners'), ['_id_']);
      assert.deepEqual(
        await db.collection('berliners').find({}).sort({ _id: 1 }).toArray(),
        users.map(({ avatar_url: _gone, ...rest }) => rest),
      );

      await seedUsers(db, 100);
      const picky = await helpers.copyAndRename('users', {
        to: 'berliners',
        allowBriefGap: true,
        transform: (doc) => (doc.location === 'Berlin' ? doc : Number(String(doc.name).slice(5)) % 4 === 1 ? 'delete' : null),
      });
      assert.deepEqual(picky, { matched: 100, copied: 50, carriedOver: 0 });
      assert.deepEqual(await collectionNames(db), ['berliners']);
      assert.deepEqual(await db.collection('berliners').find({}).sort({ _id: 1 }).toArray(), users.filter((u) => u.location === 'Berlin'));
      assert.deepEqual(await indexSummary(db, 'berliners'), ['_id_', 'created_at_1', 'email_1 unique']);
    }));

  void it('replaces the collection in place: with renameCollection dropTarget, or with allowBriefGap where the server lacks it', () =>
    withTestDb('copy_inplace', async ({ db }) => {
      const users = await seedUsers(db, 2000);
      const ctx = await contextFor(db);
      const helpers = createHelpers(ctx);
      if (!ctx.server.supports('renameDropTarget')) {
        await rejectsWith(
          helpers.copyAndRename('users', { transform: nest }),
          'MIGRATION_FAILED',
          /needs renameCollection dropTarget \[renameDropTarget\] to replace 'users' in one step, which .+ does not support; pass allowBriefGap: true/,
        );
        assert.deepEqual(await collectionNames(db), ['users'], 'refused before copying anything');
      }
      const result = await helpers.copyAndRename('users', { transform: nest, keepOriginalAs: 'users_v1', allowBriefGap: true });
      assert.deepEqual(result, { matched: 2000, copied: 2000, carriedOver: 0 });
      assert.deepEqual(await collectionNames(db), ['users', 'users_v1']);
      assert.deepEqual(await db.collection('users').find({}).sort({ _id: 1 }).toArray(), users.map(nest));
      assert.deepEqual(await db.collection('users_v1').find({}).sort({ _id: 1 }).toArray(), users);
      assert.deepEqual(await indexSummary(db, 'users'), ['_id_', 'created_at_1', 'email_1 unique']);
      assert.deepEqual(await indexSummary(db, 'users_v1'), ['_id_', 'created_at_1', 'email_1 unique'], 'the kept original keeps its indexes');

      // `down`: the kept original goes back the same way
      await helpers.copyAndRename('users_v1', { to: 'users', allowBriefGap: true });
      assert.deepEqual(await collectionNames(db), ['users']);
      assert.deepEqual(await db.collection('users').find({}).sort({ _id: 1 }).toArray(), users);
    }));

  void it('never leaves a moment without the target: a reader polling it always finds documents', async (t) => {
    await withTestDb('copy_reader', async ({ db }) => {
      const ctx = await contextFor(db);
      if (!ctx.server.supports('renameDropTarget')) {
        t.skip(`${ctx.server.describe()} lacks an atomic renameCollection dropTarget [renameDropTarget]; the brief-gap path is covered above`);
        return;
      }
      const users = await seedUsers(db, 2000);
      let polls = 0;
      let misses = 0;
      let copying = true;
      const reader = (async () => {
        while (copying) {
          try {
            const found = await db.collection('users').find({}).limit(1).toArray();
            polls++;
            if (found.length === 0) misses++;
          } catch (error) {
            // a rename may kill a query in flight; that is not a missing collection, so ask again
            if (!(error instanceof MongoServerError && QUERY_KILLED.has(Number(error.code)))) throw error;
          }
        }
      })();
      try {
        await createHelpers(ctx).copyAndRename('users', { transform: nest, keepOriginalAs: 'users_v1', batchSize: 200 });
      } finally {
        copying = false;
        await reader;
      }
      assert.ok(polls > 10, `the reader ran (${polls} polls)`);
      assert.equal(misses, 0, `the reader found no users in ${misses} of ${polls} polls`);
      assert.deepEqual(await db.collection('users').find({}).sort({ _id: 1 }).toArray(), users.map(nest));
    });
  });

  void it('a dry run reports the copy and creates nothing', () =>
    withTestDb('copy_dry', async ({ db }) => {
      await seedUsers(db, 120);
      const plans: HelperPlan[] = [];
      const helpers = createHelpers(await contextFor(db, { dryRun: true, onPlan: (p) => plans.push(p) }));
      assert.deepEqual(await helpers.copyAndRename('users', { to: 'people', transform: nest, keepOriginalAs: 'users_flat' }), { matched: 120, copied: 0, carriedOver: 0, dryRun: true });
      assert.deepEqual(plans, [{ helper: 'copyAndRename', collection: 'users', action: "copy 120 documents into 'people', keep the original as 'users_flat'", documents: 120 }]);
      assert.deepEqual(await collectionNames(db), ['users']);
    }));

  void it('an interruption or a failing transform leaves the source as it was and no temporary collections', () =>
    withTestDb('copy_fail', async ({ db }) => {
      const users = await seedUsers(db, 300);
      const abort = new AbortController();
      const interrupted = createHelpers(await contextFor(db, { signal: abort.signal, onProgress: () => abort.abort() }));
      await assert.rejects(
        interrupted.copyAndRename('users', { to: 'people', transform: nest, keepOriginalAs: 'old', batchSize: 100 }),
        (error: unknown) => error instanceof MongrateError && error.code === 'INTERRUPTED' && /after 100 of 300 documents/.test(error.message),
      );
      assert.deepEqual(await collectionNames(db), ['users']);

      const helpers = createHelpers(await contextFor(db));
      await assert.rejects(
        helpers.copyAndRename('users', {
          to: 'people',
          transform: (doc) => {
            if (doc.email === 'user150@example.com') throw new Error('bad document');
            return doc;
          },
        }),
        /bad document/,
      );
      assert.deepEqual(await collectionNames(db), ['users']);
      assert.deepEqual(await db.collection('users').find({}).sort({ _id: 1 }).toArray(), users);

      // a temporary collection left by a crash is dropped by the next run
      await db.collection('_mongrate_tmp_people').insertOne({ stale: true });
      assert.deepEqual(await helpers.copyAndRename('users', { to: 'people' }), { matched: 300, copied: 300, carriedOver: 0 });
      assert.equal(await db.collection('people').countDocuments({ stale: true }), 0);
      assert.deepEqual(await collectionNames(db), ['people']);
    }));

  void it('a failing insert while the next batch is read stops the copy, keeps the source and cleans up', () =>
    withTestDb('copy_insert_fails', async ({ db }) => {
      const users = await seedUsers(db, 300);
      const helpers = createHelpers(await contextFor(db));
      const progress: number[] = [];
      const withProgress = createHelpers(await contextFor(db, { onProgress: (p) => progress.push(p.done) }));
      // document 150 (batch 2 of 3) is given the _id of document 10 (batch 1): batch 2's insert fails
      // on the temporary collection's _id index while batch 3 is being read
      const firstId = users[10]?._id as unknown;
      await assert.rejects(
        withProgress.copyAndRename('users', {
          to: 'people',
          batchSize: 100,
          transform: (doc) => (doc.email === 'user150@example.com' ? { ...doc, _id: firstId } : doc),
        }),
        (error: unknown) => error instanceof MongoServerError && error.code === 11000,
      );
      assert.deepEqual(progress, [100], 'progress counts only the batch whose insert succeeded');
      assert.deepEqual(await collectionNames(db), ['users']);
      assert.deepEqual(await db.collection('users').find({}).sort({ _id: 1 }).toArray(), users);
      assert.deepEqual(await helpers.copyAndRename('users', { to: 'people' }), { matched: 300, copied: 300, carriedOver: 0 });
    }));

  void it('refuses a missing source, an existing keepOriginalAs and clashing names', () =>
    withTestDb('copy_refuse', async ({ db }) => {
      await seedUsers(db, 10);
      await db.collection('users_v1').insertOne({ keep: 'me' });
      const helpers = createHelpers(await contextFor(db));
      await rejectsWith(helpers.copyAndRename('nobody', { to: 'x' }), 'MIGRATION_FAILED', /collection 'nobody' does not exist$/);
      // what a brief-gap swap that crashed between its renames leaves: the original aside
      await db.collection('_mongrate_old_ghosts').insertOne({ boo: true });
      await rejectsWith(
        helpers.copyAndRename('ghosts', { allowBriefGap: true }),
        'MIGRATION_FAILED',
        /'ghosts' does not exist, but '_mongrate_old_ghosts' does: an earlier run may have stopped between its two renames/,
      );
      await db.collection('_mongrate_old_ghosts').drop();
      await rejectsWith(
        helpers.copyAndRename('users', { to: 'people', keepOriginalAs: 'users_v1' }),
        'MIGRATION_FAILED',
        /'users_v1' \(keepOriginalAs\) already exists; if an earlier run stopped half-way/,
      );
      await rejectsWith(helpers.copyAndRename('users', { to: 'people', keepOriginalAs: 'people' }), 'USAGE', /keepOriginalAs must name a new collection/);
      assert.deepEqual(await collectionNames(db), ['users', 'users_v1']);
      assert.deepEqual(await db.collection('users_v1').find({}, { projection: { _id: 0 } }).toArray(), [{ keep: 'me' }]);
    }));

  void it('refuses a sharded source', async (t) => {
    await withTestDb('copy_sharded', async ({ db }) => {
      const ctx = await contextFor(db);
      if (ctx.server.topology !== 'sharded') {
        t.skip(`needs a sharded cluster; ${ctx.server.describe()} is not one`);
        return;
      }
      await seedUsers(db, 10);
      await db.client.db('admin').command({ shardCollection: `${db.databaseName}.users`, key: { _id: 'hashed' } });
      await rejectsWith(createHelpers(ctx).copyAndRename('users', { to: 'people' }), 'MIGRATION_FAILED', /'users' is sharded/);
    });
  });
});
