// Integration tests of reshape and bumpSchemaVersion against the test server.
// FerretDB writes ~10-20 ms per document, so the data sets are sized to keep this file well under a minute there.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Db, Document, WithId } from 'mongodb';
import {
  bumpSchemaVersion,
  createHelpers,
  reshape,
  runWithHelperContext,
  type HelperContext,
  type HelperPlan,
  type HelperProgress,
  type ReshapeSpec,
} from '../../src/helpers/index.ts';
import { withTestDb } from '../support/database.ts';
import { contextFor, ids, rejectsWith, withMonitoredDb } from '../support/helpers.ts';

async function byId(db: Db, name: string): Promise<Map<string, WithId<Document>>> {
  const docs = await db.collection(name).find({}).sort({ _id: 1 }).toArray();
  return new Map(docs.map((doc) => [String(doc._id), doc]));
}

const UPDATED = new Date('2024-06-01T00:00:00Z');
const CREATED = new Date('2023-01-01T00:00:00Z');

void describe('reshape()', () => {
  void it('streams 2000 documents in _id order: one batch in memory, bulk writes chunked to the server limit', ({ name }) =>
    withTestDb('reshape_big', async ({ db, dbName, uri }) => {
      const keys = ids(2000);
      await db.collection('users').insertMany(keys.map((_id, n) => ({ _id, n, name: `user ${n}`, tags: ['a'] })));

      await withMonitoredDb(uri, dbName, async (mdb, seen) => {
        const progress: HelperProgress[] = [];
        let inFlight = 0;
        let maxInFlight = 0;
        const visited: number[] = [];
        const ctx = await contextFor(mdb, {
          onProgress: (p) => {
            progress.push(p);
            inFlight = 0;
          },
        });
        const started = performance.now();
        const result = await createHelpers(ctx).reshape('users', {
          batchSize: 500,
          transform: (doc) => {
            maxInFlight = Math.max(maxInFlight, ++inFlight);
            const n = doc.n as number;
            visited.push(n);
            if (n % 10 === 0) return null;
            if (n % 20 === 5) return 'delete';
            return { ...doc, name: `USER ${n}`, double: n * 2 };
          },
        });
        const seconds = (performance.now() - started) / 1000;

        assert.deepEqual(result, { matched: 2000, modified: 1700, deleted: 100 });
        assert.deepEqual(visited, keys.map((_, n) => n), 'every document once, in _id order');
        assert.equal(maxInFlight, 500, 'never more than batchSize documents between two writes');
        // after each page, and within a page where the server takes few updates per command
        const done = progress.map((p) => p.done);
        assert.deepEqual(done.filter((d) => d % 500 === 0), [500, 1000, 1500, 2000]);
        assert.deepEqual([...done].sort((a, b) => a - b), done, 'progress only moves forward');
        for (const p of progress) {
          assert.equal(p.helper, 'reshape');
          assert.equal(p.collection, 'users');
          assert.equal(p.total, 2000);
          assert.ok(p.docsPerSecond > 0);
        }
        // four full pages, one empty page, one look for _ids of later BSON types
        // only the helper's reads: where transactions may exist, probing the server reads one document of another collection
        const pages = seen.finds.filter((f) => f.find === 'users');
        assert.equal(pages.length, 6);
        for (const find of pages) assert.equal(find.limit, 500);
        const limit = ctx.server.maxUpdatesPerCommand;
        assert.ok(seen.updates.length >= Math.ceil(1700 / limit));
        for (const statements of [...seen.updates, ...seen.deletes]) assert.ok(statements.length <= limit, `${statements.length} statements > ${limit}`);
        assert.equal(seen.updates.flat().length, 1700, 'one conditional update per changed document');
        assert.equal(seen.deletes.flat().length, 100);
        process.stderr.write(`# ${name}: ${(2000 / seconds).toFixed(0)} docs/s on ${ctx.server.describe()}\n`);
      });

      const after = await byId(db, 'users');
      assert.equal(after.size, 1900);
      for (const [n, _id] of keys.entries()) {
        const doc = after.get(String(_id));
        if (n % 20 === 5) assert.equal(doc, undefined, `${n} deleted`);
        else if (n % 10 === 0) assert.deepEqual(doc, { _id, n, name: `user ${n}`, tags: ['a'] });
        else assert.deepEqual(doc, { _id, n, name: `USER ${n}`, tags: ['a'], double: n * 2 });
      }
    }));

  void it('a declarative spec gives the same documents server-side, in the batched fallback, and as a function', () =>
    withTestDb('reshape_spec', async ({ db, dbName, uri }) => {
      const keys = ids(200);
      const seed = keys.map((_id, n) => ({
        _id,
        email: `u${n}@example.com`,
        ...(n % 3 === 0 ? {} : { bio: `bio ${n}` }),
        ...(n % 4 === 0 ? { preferences: { theme: 'dark' } } : {}),
        old_field: n,
      }));
      for (const name of ['server', 'fallback', 'function']) await db.collection(name).insertMany(seed.map((doc) => ({ ...doc })));
      const spec: ReshapeSpec = { rename: { bio: 'profile.bio' }, unset: ['old_field'], set: { updated_at: UPDATED }, setDefaults: { preferences: {} } };

      await withMonitoredDb(uri, dbName, async (mdb, seen) => {
        const helpers = createHelpers(await contextFor(mdb));
        const server = await helpers.reshape('server', { transform: spec });
        const serverUpdates = seen.updates.splice(0);
        // one updateMany for the default, one for the rename into profile, one for unset+set
        assert.deepEqual(serverUpdates.map((statements) => statements.map((s) => s.multi === true)), [[true], [true], [true]]);

        // a filter that reads the defaulted field (and matches everything) forces the batched path
        const everything = { $or: [{ preferences: { $exists: true } }, { preferences: { $exists: false } }] };
        const fallback = await helpers.reshape('fallback', { filter: everything, transform: spec, batchSize: 64 });
        assert.ok(seen.updates.splice(0).flat().every((s) => s.multi !== true), 'updated document by document');

        const byHand = await helpers.reshape('function', {
          transform: ({ bio, old_field: _old, preferences, ...rest }) => ({
            ...rest,
            ...(bio === undefined ? {} : { profile: { bio: bio as unknown } }),
            preferences: (preferences as unknown) ?? {},
            updated_at: UPDATED,
          }),
        });
        for (const result of [server, fallback, byHand]) assert.deepEqual(result, { matched: 200, modified: 200, deleted: 0 });
      });

      const expected = seed.map(({ _id, email, bio, preferences }) => ({
        _id,
        email,
        ...(bio === undefined ? {} : { profile: { bio } }),
        preferences: preferences ?? {},
        updated_at: UPDATED,
      }));
      for (const name of ['server', 'fallback', 'function']) {
        assert.deepEqual(await db.collection(name).find({}).sort({ _id: 1 }).toArray(), expected, name);
      }
    }));

  void it('walks _ids of mixed BSON types in MongoDB order across batch and type boundaries', () =>
    withTestDb('reshape_mixed', async ({ db }) => {
      const docs: Document[] = [
        { _id: 3 }, { _id: 1.5 }, { _id: -7 }, { _id: 'b' }, { _id: 'a' }, { _id: 'c' }, { _id: { k: 1 } },
        ...ids(4).map((_id) => ({ _id })), { _id: false }, { _id: true }, { _id: new Date(0) }, { _id: new Date(1) },
      ];
      await db.collection('mixed').insertMany(docs.map((doc) => ({ ...doc, seen: 0 })));
      const order = (await db.collection('mixed').find({}).sort({ _id: 1 }).toArray()).map((doc) => doc._id as unknown);
      for (const batchSize of [1, 2, 3, 100]) {
        const visited: unknown[] = [];
        const result = await createHelpers(await contextFor(db)).reshape('mixed', {
          batchSize,
          transform: (doc) => {
            visited.push(doc._id);
            return null;
          },
        });
        assert.deepEqual(visited, order, `batchSize ${batchSize}`);
        assert.equal(result.matched, docs.length);
      }
    }));

  void it('says once per call that _ids of types the server cannot query are not visited (not on FerretDB, which cannot store them)', () =>
    withTestDb('reshape_rare', async ({ db }) => {
      const docs: Document[] = [{ _id: 1 }, { _id: 'a' }, { _id: { k: 1 } }, ...ids(2).map((_id) => ({ _id })), { _id: true }];
      await db.collection('mixed').insertMany(docs);
      const ctx = await contextFor(db);
      const warnings: string[] = [];
      const walk = (server: HelperContext['server']): Promise<unknown> =>
        createHelpers({ ...ctx, server, warn: (w) => warnings.push(w) }).reshape('mixed', { batchSize: 1, transform: () => null });
      if (ctx.server.flavour === 'mongodb' || ctx.server.flavour === 'documentdb-gateway') {
        await walk(ctx.server);
        assert.deepEqual(warnings, [], 'MongoDB and the open-source DocumentDB walk every type');
        return;
      }
      await walk(ctx.server);
      if (ctx.server.flavour === 'ferretdb') assert.deepEqual(warnings, [], 'FerretDB cannot store such _ids: nothing to say');
      // the same walk as a compatible server that may hold them (the same query list, so it runs here)
      warnings.length = 0;
      await walk({ ...ctx.server, flavour: 'documentdb', describe: () => 'Amazon DocumentDB 5.0.0 (replicaset)' });
      assert.deepEqual(warnings, [
        'reshape(mixed): documents whose _id is a decimal, minKey, maxKey or symbol are not visited (Amazon DocumentDB 5.0.0 (replicaset) cannot query those types in order)',
      ]);
    }));

  void it('refuses a transform that returns nothing or changes _id, naming the document', () =>
    withTestDb('reshape_bad', async ({ db }) => {
      const [first] = ids(1);
      await db.collection('c').insertOne({ _id: first, a: 1 });
      const helpers = createHelpers(await contextFor(db));
      await rejectsWith(helpers.reshape('c', { transform: () => undefined as unknown as null }), 'USAGE', /returned undefined for _id [0-9a-f]{24}; return the new document, null/);
      await rejectsWith(helpers.reshape('c', { transform: (doc) => ({ ...doc, _id: 'other' }) }), 'USAGE', /changed the _id of/);
      await rejectsWith(helpers.reshape('c', { transform: { set: { _id: 1 } } }), 'USAGE', /would change _id/);
      assert.deepEqual(await db.collection('c').find({}).toArray(), [{ _id: first, a: 1 }]);
    }));

  void it('standalone functions use the migration context; outside one they take a Collection, not a name', () =>
    withTestDb('reshape_ambient', async ({ db, dbName, uri }) => {
      await db.collection('users').insertMany(ids(30).map((_id, n) => ({ _id, n })));
      await withMonitoredDb(uri, dbName, async (mdb, seen) => {
        const plans: HelperPlan[] = [];
        const dry = await contextFor(mdb, { dryRun: true, onPlan: (p) => plans.push(p) });
        const planned = await runWithHelperContext(dry, () => reshape('users', { filter: { n: { $lt: 10 } }, transform: (doc) => ({ ...doc, x: 1 }) }));
        assert.deepEqual(planned, { matched: 10, modified: 0, deleted: 0, dryRun: true }, 'a dry run returns what it would consider');
        assert.deepEqual(plans, [{ helper: 'reshape', collection: 'users', action: 'transform 10 documents', note: 'in batches of 1000', documents: 10 }]);

        // every command a helper sends carries the migration's session
        const session = mdb.client.startSession();
        try {
          const ctx = await contextFor(mdb, { session });
          seen.all.length = 0;
          const result = await runWithHelperContext(ctx, () =>
            bumpSchemaVersion('users', { to: 2, filter: { n: { $gte: 20 } }, transform: (doc) => ({ ...doc, y: 1 }) }),
          );
          assert.deepEqual(result, { matched: 10, modified: 10, deleted: 0 });
          assert.ok(seen.all.length >= 3);
          for (const event of seen.all) {
            const lsid = event.command.lsid as { id: unknown } | undefined;
            assert.deepEqual(lsid?.id, session.id?.id, `${event.commandName} without the session`);
          }
        } finally {
          await session.endSession();
        }
      });

      // outside a migration: a Collection works with a probed server, a bare name cannot be resolved
      assert.deepEqual(await reshape(db.collection('users'), { transform: { set: { z: true } } }), { matched: 30, modified: 30, deleted: 0 });
      assert.equal(await db.collection('users').countDocuments({ z: true }), 30);
      await rejectsWith(reshape('users', { transform: { set: { z: 1 } } }), 'USAGE', /a collection name needs a migration/);
    }));
});

void describe('bumpSchemaVersion()', () => {
  void it('converts every document exactly once across an interruption and a rerun; dry runs count what the run touches', () =>
    withTestDb('bump_rerun', async ({ db }) => {
      const keys = ids(400);
      // every eighth document is already at version 2 and must not be touched
      await db.collection('users').insertMany(keys.map((_id, n) => ({ _id, n, ...(n % 8 === 0 ? { schema_version: 2 } : { schema_version: 1 }) })));
      const snapshot = await db.collection('users').find({}).sort({ _id: 1 }).toArray();
      const transform = (doc: WithId<Document>): Document => ({ ...doc, writes: ((doc.writes as number | undefined) ?? 0) + 1 });

      const plans: HelperPlan[] = [];
      const dry = createHelpers(await contextFor(db, { dryRun: true, onPlan: (p) => plans.push(p) }));
      assert.deepEqual(await dry.bumpSchemaVersion('users', { to: 2, transform }), { matched: 350, modified: 0, deleted: 0, dryRun: true });
      assert.deepEqual(plans.splice(0), [{ helper: 'bumpSchemaVersion', collection: 'users', action: 'bring 350 documents to schema_version 2', note: 'in batches of 1000', documents: 350 }]);
      assert.deepEqual(await db.collection('users').find({}).sort({ _id: 1 }).toArray(), snapshot, 'the dry run wrote nothing');

      // Ctrl-C lands during the second batch: that batch finishes, nothing after it starts
      const abort = new AbortController();
      const interrupted = createHelpers(await contextFor(db, { signal: abort.signal, onProgress: (p) => p.done >= 150 && abort.abort() }));
      await rejectsWith(interrupted.bumpSchemaVersion('users', { to: 2, transform, batchSize: 100 }), 'INTERRUPTED', /interrupted after 200 of 350 documents/);
      assert.equal(await db.collection('users').countDocuments({ writes: 1 }), 200);

      await dry.bumpSchemaVersion('users', { to: 2, transform });
      assert.equal(plans.splice(0)[0]?.documents, 150, 'the dry run counts what the rerun will touch');
      const rerun = createHelpers(await contextFor(db));
      assert.deepEqual(await rerun.bumpSchemaVersion('users', { to: 2, transform, batchSize: 100 }), { matched: 150, modified: 150, deleted: 0 });
      assert.deepEqual(await rerun.bumpSchemaVersion('users', { to: 2, transform }), { matched: 0, modified: 0, deleted: 0 }, 'nothing left');

      const after = await db.collection('users').find({}).sort({ _id: 1 }).toArray();
      assert.deepEqual(
        after,
        keys.map((_id, n) => (n % 8 === 0 ? { _id, n, schema_version: 2 } : { _id, n, schema_version: 2, writes: 1 })),
      );
    }));

  void it('a declarative spec reproduces the schema-evolution pattern server-side (custom field, extra filter)', () =>
    withTestDb('bump_spec', async ({ db }) => {
      const keys = ids(150);
      await db.collection('users').insertMany(
        keys.map((_id, n) => ({
          _id,
          name: `u${n}`,
          v: n < 50 ? 2 : 1,
          ...(n % 2 === 0 ? { created_at: CREATED } : {}),
          ...(n % 5 === 0 ? { preferences: { lang: 'en' } } : {}),
          old_field: 'x',
          active: n % 3 !== 0,
        })),
      );
      const result = await createHelpers(await contextFor(db)).bumpSchemaVersion('users', {
        field: 'v',
        to: 2,
        filter: { active: true },
        transform: { set: { updated_at: UPDATED }, setDefaults: { created_at: UPDATED, preferences: {} }, unset: ['old_field'] },
      });
      // active and not at version 2: n in 50..149 with n % 3 !== 0
      const converted = keys.map((_, n) => n).filter((n) => n >= 50 && n % 3 !== 0);
      assert.deepEqual(result, { matched: converted.length, modified: converted.length, deleted: 0 });
      const after = await byId(db, 'users');
      for (const [n, _id] of keys.entries()) {
        const doc = after.get(String(_id));
        if (!converted.includes(n)) {
          assert.equal(doc?.old_field, 'x', `${n} untouched`);
          continue;
        }
        assert.deepEqual(doc, {
          _id,
          name: `u${n}`,
          v: 2,
          created_at: n % 2 === 0 ? CREATED : UPDATED,
          preferences: n % 5 === 0 ? { lang: 'en' } : {},
          active: true,
          updated_at: UPDATED,
        });
      }
    }));

  void it('stops before the first batch when the run was already interrupted', () =>
    withTestDb('bump_aborted', async ({ db }) => {
      await db.collection('users').insertMany(ids(5).map((_id) => ({ _id })));
      const abort = new AbortController();
      abort.abort();
      const helpers = createHelpers(await contextFor(db, { signal: abort.signal }));
      await rejectsWith(helpers.bumpSchemaVersion('users', { to: 1 }), 'INTERRUPTED', /interrupted after 0 of 5 documents/);
      assert.equal(await db.collection('users').countDocuments({ schema_version: 1 }), 0);
    }));
});
