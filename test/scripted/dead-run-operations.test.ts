// A killed runner's server-side work goes on: since MongoDB 4.2 a client disconnect cancels
// reads, not writes. Every command of a run carries a comment naming it, so the run that takes
// the lock next finds the dead run's operations in `$currentOp` and waits for them to end (or,
// with lock.deadRunOperations: 'kill', kills them), saying so, before it retries the migration.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MongoServerError, type Document } from 'mongodb';
import { createMigrator, type InlineMigration } from '../../src/index.ts';
import type { ScriptedReplicaSet } from '../support/scripted-replica-set/index.ts';
import { scriptedSet, signal, type ScriptedSetup } from './fixtures.ts';

const DEAD_RUN = '0b5e0e1c-dead-4d1e-9c6e-00000000dead';
const DEAD_COMMENT = `mongrate run ${DEAD_RUN} on app`;
/**
 * Commands the driver sends on its own, which take no comment; and createIndexes, whose comment
 * the driver (7.9) leaves out of the command it builds.
 */
const DRIVER_OWN = ['endSessions', 'killCursors', 'commitTransaction', 'abortTransaction', 'createIndexes'];

const backfill: InlineMigration = {
  id: '001-backfill',
  transaction: false,
  up: async ({ db }) => {
    await db.collection('users').updateMany({ plan: { $exists: false } }, { $set: { plan: 'free' } });
  },
};

/** What a runner SIGKILLed in the middle of 001-backfill leaves: its expired lease and its `running` record. */
async function deadRunnerLeftovers({ client }: ScriptedSetup): Promise<void> {
  const db = client.db('app');
  const longAgo = new Date(Date.now() - 3_600_000);
  await db.collection('users').insertMany([{ _id: 1 }, { _id: 2 }] as Document[]);
  await db.collection('mongrate_lock').insertOne({ _id: 'mongrate', owner: DEAD_RUN, host: 'deploy-1', pid: 4242, command: 'up', acquiredAt: longAgo, expiresAt: new Date(longAgo.getTime() + 120_000) } as Document);
  const claim = { direction: 'up', runId: DEAD_RUN, host: 'deploy-1', pid: 4242, startedAt: longAgo };
  await db.collection('mongrate_changelog').insertOne({ _id: '001-backfill', state: 'running', startedAt: longAgo, runId: DEAD_RUN, host: 'deploy-1', pid: 4242, toolVersion: '0.1.0', claim } as Document);
}

function runner(rs: ScriptedReplicaSet, extra: Record<string, unknown> = {}): ReturnType<typeof createMigrator> {
  return createMigrator({ uri: rs.uri, database: 'app', migrations: [backfill], ...extra });
}

void describe("a dead run's operations still in progress on the server", () => {
  void it('every command of a run names it in its comment; commands outside a run say mongrate', async (t) => {
    const { rs, client } = await scriptedSet(t);
    await client.db('app').collection('users').insertOne({ _id: 1 } as Document);
    const migrator = runner(rs);
    rs.clearCommands();
    const result = await migrator.up();
    assert.equal(result.error, undefined, JSON.stringify(result.error));
    const expected = `mongrate run ${result.runId ?? '?'} on app`;
    const sent = rs.recorded({ when: (c) => !DRIVER_OWN.includes(c.name) });
    const lockTaken = sent.findIndex((c) => c.name === 'insert' && c.collection === 'mongrate_lock');
    assert.ok(lockTaken > 0);
    const beforeLock = sent.slice(0, lockTaken);
    const inRun = sent.slice(lockTaken);
    assert.ok(beforeLock.every((c) => c.comment === 'mongrate'), JSON.stringify(beforeLock.map((c) => [c.name, c.comment])));
    const uncommented = inRun.filter((c) => c.comment !== expected).map((c) => [c.name, c.collection, c.comment]);
    assert.deepEqual(uncommented, [], 'every command of the run carries its comment');
    assert.ok(inRun.some((c) => c.name === 'update' && c.collection === 'users'), "the migration's own write");
    assert.ok(inRun.some((c) => c.name === 'buildInfo'), 'the server probe');
    rs.clearCommands();
    await migrator.status();
    assert.ok(rs.recorded({ name: 'find', collection: 'mongrate_changelog' }).every((c) => c.comment === 'mongrate'));
    await migrator.close();
  });

  void it("waits for the dead run's update still in progress before retrying its migration, and says so", async (t) => {
    const setup = await scriptedSet(t);
    const { rs, client } = setup;
    await deadRunnerLeftovers(setup);
    // the dead runner's updateMany, still running on the server 35 s after its client died
    rs.currentOps = [{ type: 'op', opid: 9001, active: true, op: 'update', ns: 'app.users', secs_running: 35, command: { update: 'users', updates: [{ q: {}, u: { $set: { plan: 'free' } }, multi: true }], comment: DEAD_COMMENT } }];
    const migrator = runner(rs);
    const warnings: string[] = [];
    let endedAt = 0;
    migrator.on('warning', ({ message }) => {
      warnings.push(message);
      if (warnings.length === 1) {
        // it ends on the server
        endedAt = Date.now();
        rs.currentOps = [];
      }
    });
    const result = await migrator.up({ retryFailed: true });
    assert.equal(result.error, undefined, JSON.stringify(result.error));
    assert.match(warnings[0] ?? '', new RegExp(`1 operation of the run that held the lock before \\(${DEAD_RUN}\\) still in progress on the server: update app\\.users \\(opid 9001, running 35 s\\); waiting for them to end`));
    assert.match(warnings[1] ?? '', /the dead run's operations ended after \d+ s; going on/);
    const retried = rs.recorded({ name: 'update', collection: 'users' });
    assert.equal(retried.length, 1);
    assert.ok((retried[0]?.at ?? 0) >= endedAt, 'the migration ran again only once the dead run\'s update had ended');
    assert.deepEqual(rs.killedOps, [], 'nothing was killed');
    const record = await client.db('app').collection<{ _id: string; state: string }>('mongrate_changelog').findOne({ _id: '001-backfill' });
    assert.equal(record?.state, 'applied');
    await migrator.close();
  });

  void it("with lock.deadRunOperations: 'kill', kills the dead run's update (killOp), then goes on", async (t) => {
    const setup = await scriptedSet(t);
    const { rs, client } = setup;
    await deadRunnerLeftovers(setup);
    // a connection of the dead runner's, whose updateMany the server is still working on
    rs.script({ name: 'update', collection: 'users', when: (c) => c.comment === DEAD_COMMENT }, 'hang');
    const arrived = rs.nextCommand({ name: 'update', collection: 'users' });
    const orphan = client.db('app').collection('users').updateMany({}, { $set: { plan: 'legacy' } }, { comment: DEAD_COMMENT }).then(
      () => undefined,
      (error: unknown) => error,
    );
    await arrived;
    const migrator = runner(rs, { lock: { deadRunOperations: 'kill' } });
    const warnings: string[] = [];
    migrator.on('warning', ({ message }) => warnings.push(message));
    const result = await migrator.up({ retryFailed: true });
    assert.equal(result.error, undefined, JSON.stringify(result.error));
    assert.equal(rs.killedOps.length, 1);
    const killed = await orphan;
    assert.ok(killed instanceof MongoServerError && killed.code === 11601, `the dead run's update was interrupted: ${String(killed)}`);
    assert.match(warnings[0] ?? '', /still in progress on the server: update app\.users .*; killing them \(lock\.deadRunOperations: kill\)/);
    assert.match(warnings[1] ?? '', /the dead run's operations were killed after \d+ s/);
    assert.equal(await client.db('app').collection('users').countDocuments({ plan: 'free' }), 2);
    await migrator.close();
  });

  void it('an interrupt ends the wait cleanly: nothing of the migration ran, the lock is released', async (t) => {
    const setup = await scriptedSet(t);
    const { rs, client } = setup;
    await deadRunnerLeftovers(setup);
    rs.currentOps = [{ type: 'op', opid: 9002, op: 'update', ns: 'app.users', command: { update: 'users', comment: DEAD_COMMENT } }];
    const migrator = runner(rs);
    const waiting = signal();
    migrator.on('warning', () => waiting.resolve());
    const running = migrator.up({ retryFailed: true });
    await waiting.promise;
    migrator.interrupt();
    const result = await running.then(
      (r) => r.error,
      (error: unknown) => error,
    );
    assert.equal((result as { code?: unknown } | undefined)?.code, 'INTERRUPTED', String(result));
    assert.deepEqual(rs.recorded({ name: 'update', collection: 'users' }), []);
    assert.equal(await client.db('app').collection<{ _id: string }>('mongrate_lock').countDocuments({ _id: 'mongrate' }), 0, 'released');
    await migrator.close();
  });

  void it("a spec's server-side updateMany is bounded by half the lease (maxTimeMS), and sent again, the lock checked, when it runs out", async (t) => {
    const { rs, client } = await scriptedSet(t);
    await client.db('app').collection('users').insertMany([{ _id: 1 }, { _id: 2 }] as Document[]);
    rs.script({ name: 'update', collection: 'users' }, { code: 50, codeName: 'MaxTimeMSExpired', errmsg: 'operation exceeded time limit' });
    const migrator = createMigrator({
      uri: rs.uri,
      database: 'app',
      lock: { ttlSeconds: 10 },
      migrations: [{ id: '001-plan', transaction: false, up: ({ helpers }) => helpers.bumpSchemaVersion('users', { to: 2 }) }],
    });
    const lines: string[] = [];
    migrator.on('log', ({ message }) => lines.push(message));
    const result = await migrator.up();
    await migrator.close();
    assert.equal(result.error, undefined, JSON.stringify(result.error));
    const sent = rs.recorded({ name: 'update', collection: 'users' });
    assert.deepEqual(sent.map((c) => c.maxTimeMS), [5000, 5000]);
    assert.ok(lines.some((line) => line.startsWith('bumpSchemaVersion(users): the step ran out of its time limit (5000 ms, half the lease) with part of its work done; the lock checked, sending it again (attempt 2)')), lines.join('\n'));
    assert.equal(await client.db('app').collection('users').countDocuments({ schema_version: 2 }), 2);
  });
});
