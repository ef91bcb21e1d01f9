// The fence (the run's lease check): every write command a helper sends is preceded by one fence
// call, and a fence that throws stops the helper before its next write, whatever the helper was doing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Db, Document } from 'mongodb';
import { MongrateError } from '../../src/errors.ts';
import { createHelpers, type HelperContext, type MigrationHelpers } from '../../src/helpers/index.ts';
import { withTestDb } from '../support/database.ts';
import { contextFor, ids, isWriteCommand, rejectsWith, withMonitoredDb } from '../support/helpers.ts';

const lost = (): MongrateError => new MongrateError('LOCK_LOST', 'lease lost (test fence)');

interface FenceCase {
  label: string;
  setup: (db: Db) => Promise<void>;
  run: (helpers: MigrationHelpers) => Promise<unknown>;
  /** Changes to the probed context, e.g. a smaller statement limit per command. */
  context?: (ctx: HelperContext) => HelperContext;
}

/** One run on a fresh database with a fence that throws from call `failAt` on (never when undefined). */
async function runFenced(c: FenceCase, failAt: number | undefined): Promise<{ calls: number; writes: string[]; error: unknown }> {
  return withTestDb(`fence_${c.label}`, async ({ db, dbName, uri }) => {
    await c.setup(db);
    let calls = 0;
    let error: unknown;
    const writes: string[] = [];
    await withMonitoredDb(uri, dbName, async (mdb, seen) => {
      const fence = (): void => {
        calls++;
        if (failAt !== undefined && calls >= failAt) throw lost();
      };
      const probed = await contextFor(mdb, { fence });
      await c.run(createHelpers(c.context?.(probed) ?? probed)).catch((e: unknown) => (error = e));
      writes.push(...seen.all.filter(isWriteCommand).map((e) => e.commandName));
    });
    return { calls, writes, error };
  });
}

/**
 * Runs the case once unfenced (every write command had its own fence call), then once per fence
 * call with the fence failing there: exactly the writes before it were sent, and the error is the fence's.
 */
async function checkEveryWriteIsFenced(c: FenceCase): Promise<void> {
  const free = await runFenced(c, undefined);
  assert.equal(free.error, undefined, `${c.label} runs when the fence holds`);
  assert.ok(free.calls > 0, `${c.label} calls the fence`);
  assert.equal(free.writes.length, free.calls, `${c.label}: one fence call per write command (${free.writes.join(', ')})`);
  for (let failAt = 1; failAt <= free.calls; failAt++) {
    const fenced = await runFenced(c, failAt);
    assert.ok(fenced.error instanceof MongrateError && fenced.error.code === 'LOCK_LOST', `${c.label} at fence call ${failAt}: the fence's error propagates (${String(fenced.error)})`);
    assert.deepEqual(fenced.writes, free.writes.slice(0, failAt - 1), `${c.label} at fence call ${failAt}: no write after the fence threw`);
  }
}

const users = (count: number): Document[] => ids(count).map((_id, n) => ({ _id, n, email: `u${n}@example.com` }));
async function seedUsers(db: Db, count: number): Promise<void> {
  await db.collection('users').insertMany(users(count));
  await db.collection('users').createIndexes([{ key: { email: 1 }, unique: true }]);
}

void describe('the fence', () => {
  void it('precedes every write of copyAndRename, and a failing fence stops it (to a new name, and in place with a brief gap)', async () => {
    await checkEveryWriteIsFenced({
      label: 'copy_new',
      setup: (db) => seedUsers(db, 20),
      run: (helpers) => helpers.copyAndRename('users', { to: 'people', keepOriginalAs: 'users_v1', batchSize: 5, transform: (doc) => ({ ...doc, v: 2 }) }),
    });
    await checkEveryWriteIsFenced({
      label: 'copy_inplace',
      setup: (db) => seedUsers(db, 20),
      run: (helpers) => helpers.copyAndRename('users', { keepOriginalAs: 'users_v1', allowBriefGap: true, batchSize: 5 }),
    });
  });

  void it('precedes every bulk write chunk of reshape and every updateMany of a server-side spec', async () => {
    await checkEveryWriteIsFenced({
      label: 'reshape',
      setup: (db) => seedUsers(db, 12),
      run: (helpers) => helpers.reshape('users', { batchSize: 6, transform: (doc) => ((doc.n as number) === 4 ? 'delete' : { ...doc, v: 2 }) }),
      // three statements per command: two chunks per batch
      context: (ctx) => ({ ...ctx, server: { ...ctx.server, maxUpdatesPerCommand: 3 } }),
    });
    await checkEveryWriteIsFenced({
      label: 'bump_spec',
      setup: (db) => seedUsers(db, 5),
      // not `email`: documents without it would collide in its unique index on MongoDB
      run: (helpers) => helpers.bumpSchemaVersion('users', { to: 2, transform: { setDefaults: { prefs: {} }, unset: ['n'] } }),
    });
  });

  void it('precedes every index build and drop, and every validator change (where the server has validators)', async () => {
    await checkEveryWriteIsFenced({
      label: 'ensure',
      setup: (db) => seedUsers(db, 3),
      run: (helpers) => helpers.ensureIndexes('users', [{ key: { n: 1 } }, { key: { n: -1, email: 1 } }]),
    });
    await checkEveryWriteIsFenced({
      label: 'drop',
      setup: async (db) => {
        await seedUsers(db, 3);
        await db.collection('users').createIndexes([{ key: { n: 1 } }]);
      },
      run: (helpers) => helpers.dropIndexes('users', ['n_1', 'email_1']),
    });
    const server = await withTestDb('fence_probe', async ({ db }) => (await contextFor(db)).server);
    if (server.supports('validators')) {
      // any schema shows the fence: one every server with validators takes (the open-source DocumentDB has no `required`, no alias 'number')
      const schema = { properties: { n: { bsonType: 'int' } } };
      await checkEveryWriteIsFenced({ label: 'validator', setup: (db) => seedUsers(db, 3), run: (helpers) => helpers.setValidator('users', schema) });
      await checkEveryWriteIsFenced({ label: 'validator_new', setup: () => Promise.resolve(), run: (helpers) => helpers.setValidator('fresh', schema) });
    }
  });

  void it('a stalled event loop past the lease deadline stops the batch after the stall (reshape and copyAndRename)', () =>
    withTestDb('fence_stall', async ({ db, dbName, uri }) => {
      await db.collection('users').insertMany(users(30));
      await withMonitoredDb(uri, dbName, async (mdb, seen) => {
        for (const helper of ['reshape', 'copyAndRename'] as const) {
          let deadline = Number.POSITIVE_INFINITY;
          const fence = (): void => {
            if (performance.now() > deadline) throw lost();
          };
          const transform = (doc: Document): Document => {
            if (doc.n === 15) {
              // the lease would be renewed in 20 ms, but the event loop is blocked for 100 ms
              deadline = performance.now() + 20;
              Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
            }
            return { ...doc, v: 2 };
          };
          const helpers = createHelpers(await contextFor(mdb, { fence }));
          seen.all.length = 0;
          const run = helper === 'reshape' ? helpers.reshape('users', { batchSize: 10, transform }) : helpers.copyAndRename('users', { to: 'people', batchSize: 10, transform });
          await rejectsWith(run, 'LOCK_LOST', /lease lost/);
          const writes = seen.all.filter(isWriteCommand);
          if (helper === 'reshape') {
            assert.deepEqual(writes.map((e) => e.commandName), ['update'], 'the first batch only');
            assert.equal(await db.collection('users').countDocuments({ v: 2 }), 10);
          } else {
            assert.deepEqual(writes.filter((e) => e.command.insert === '_mongrate_tmp_people').length, 1, 'the first batch only');
            assert.ok(!writes.some((e) => e.commandName === 'renameCollection'));
          }
        }
      });
    }));
});
