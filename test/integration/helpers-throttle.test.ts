// maxDocsPerSecond and pauseMs on the batched helpers, against the test server. Only lower bounds
// of time are asserted, each a sum of the helper's own waits (a paced helper is never faster than
// its limit, whatever the machine's load); where a wait happens is read from the commands' start
// times. Never a bound on the time between two commands that a late command shortens.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CommandStartedEvent, Db } from 'mongodb';
import { createHelpers, type HelperPlan, type HelperProgress } from '../../src/helpers/index.ts';
import { MongrateError } from '../../src/errors.ts';
import { withTestDb } from '../support/database.ts';
import { contextFor, ids, withMonitoredDb } from '../support/helpers.ts';

async function seed(db: Db, count: number, name = 'users'): Promise<void> {
  await db.collection(name).insertMany(ids(count).map((_id, n) => ({ _id, n, name: `user ${n}` })));
}

/** Milliseconds between the starts of two commands. */
const gap = (a: CommandStartedEvent, b: CommandStartedEvent, times: Map<number, number>): number => (times.get(b.requestId) ?? 0) - (times.get(a.requestId) ?? 0);

void describe('throttled helpers', () => {
  void it('maxDocsPerSecond holds reshape to the rate over the whole call, last batch included', () =>
    withTestDb('throttle_rate', async ({ db }) => {
      await seed(db, 60);
      const progress: HelperProgress[] = [];
      const helpers = createHelpers(await contextFor(db, { onProgress: (p) => progress.push(p) }));
      const started = performance.now();
      const result = await helpers.reshape('users', { batchSize: 10, maxDocsPerSecond: 100, transform: (doc) => ({ ...doc, paced: true }) });
      const ms = performance.now() - started;
      assert.deepEqual(result, { matched: 60, modified: 60, deleted: 0 });
      assert.ok(ms >= 600, `60 documents at 100/s take at least 600 ms, took ${ms.toFixed(0)}`);
      assert.equal(progress.length, 6, 'one progress report per batch');
      assert.equal(await db.collection('users').countDocuments({ paced: true }), 60);
    }));

  void it('pauseMs waits between batches, before the next page is read, and not after the last', () =>
    withTestDb('throttle_pause', async ({ db, dbName, uri }) => {
      await seed(db, 30);
      await withMonitoredDb(uri, dbName, async (mdb, seen) => {
        const times = new Map<number, number>();
        mdb.client.on('commandStarted', (event) => times.set(event.requestId, performance.now()));
        const logs: string[] = [];
        const helpers = createHelpers(await contextFor(mdb, { log: (line) => logs.push(line) }));
        const started = performance.now();
        await helpers.reshape('users', { batchSize: 10, pauseMs: 150, transform: (doc) => ({ ...doc, paused: true }) });
        const ms = performance.now() - started;
        assert.ok(ms >= 300, `two pauses of 150 ms between three batches, took ${ms.toFixed(0)} ms`);
        const commands = seen.all.filter((e) => e.commandName === 'find' || e.commandName === 'update');
        const pairs = commands.slice(1).map((event, i) => [commands[i] as CommandStartedEvent, event] as const);
        const waitedBeforeRead = pairs.filter(([before, after]) => before.commandName === 'update' && after.commandName === 'find' && gap(before, after, times) >= 150);
        assert.ok(waitedBeforeRead.length >= 2, `a pause of >= 150 ms between a batch's write and the next read, twice: ${pairs.map(([a, b]) => `${a.commandName}->${b.commandName} ${gap(a, b, times).toFixed(0)}`).join(', ')}`);
        assert.match(logs.join('\n'), /reshape\(users\): 30 matched, 30 modified, 0 deleted in [\d.]+ s \(throttled: waited 0\.[3-9]\d* s|\(throttled: waited [1-9]/);
      });
    }));

  void it('a throttled declarative spec runs in batches, never as one server-side updateMany', () =>
    withTestDb('throttle_spec', async ({ db, dbName, uri }) => {
      await seed(db, 25);
      const plans: HelperPlan[] = [];
      const dry = createHelpers(await contextFor(db, { dryRun: true, onPlan: (plan) => plans.push(plan) }));
      await dry.reshape('users', { transform: { set: { v: 2 } } });
      await dry.reshape('users', { transform: { set: { v: 2 } }, maxDocsPerSecond: 1000, batchSize: 10 });
      assert.deepEqual(plans.map((p) => p.note), ['server-side updateMany', 'in batches of 10, throttled']);
      await withMonitoredDb(uri, dbName, async (mdb, seen) => {
        await createHelpers(await contextFor(mdb)).bumpSchemaVersion('users', { field: 'v', to: 2, pauseMs: 20, batchSize: 10 });
        const statements = seen.updates.flat();
        assert.equal(statements.length, 25, 'one statement per document');
        assert.ok(statements.every((s) => s.multi !== true), 'no multi-document update');
      });
      assert.equal(await db.collection('users').countDocuments({ v: 2 }), 25);
    }));

  void it('an interrupt ends a long pause: the helper stops after the batch it wrote', () =>
    withTestDb('throttle_abort', async ({ db }) => {
      await seed(db, 20);
      const abort = new AbortController();
      const helpers = createHelpers(await contextFor(db, { signal: abort.signal, onProgress: () => setTimeout(() => abort.abort(), 100) }));
      const started = performance.now();
      await assert.rejects(
        helpers.reshape('users', { batchSize: 10, pauseMs: 120_000, transform: (doc) => ({ ...doc, seen: true }) }),
        (error: unknown) => error instanceof MongrateError && error.code === 'INTERRUPTED' && /interrupted after 10 of 20 documents/.test(error.message),
      );
      assert.ok(performance.now() - started < 60_000, 'did not sit out the two-minute pause');
      assert.equal(await db.collection('users').countDocuments({ seen: true }), 10, 'the first batch is written, the second never read');
    }));

  void it('copyAndRename paces its inserts', () =>
    withTestDb('throttle_copy', async ({ db, dbName, uri }) => {
      await seed(db, 30, 'items');
      await withMonitoredDb(uri, dbName, async (mdb, seen) => {
        const times = new Map<number, number>();
        mdb.client.on('commandStarted', (event) => times.set(event.requestId, performance.now()));
        const helpers = createHelpers(await contextFor(mdb));
        const started = performance.now();
        const result = await helpers.copyAndRename('items', { batchSize: 10, maxDocsPerSecond: 50, allowBriefGap: true, transform: (doc) => ({ ...doc, copied: true }) });
        const ms = performance.now() - started;
        assert.deepEqual(result, { matched: 30, copied: 30, carriedOver: 0 });
        assert.ok(ms >= 600, `30 documents at 50/s take at least 600 ms, took ${ms.toFixed(0)}`);
        const inserts = seen.all.filter((e) => e.commandName === 'insert' && e.command.insert === '_mongrate_tmp_items');
        assert.equal(inserts.length, 3);
        // Each batch waits for the rate before it is sent: batch k+1 is sent no earlier than
        // k * 200 ms (10 documents at 50/s) after the call began. Counted from the call, not from
        // the batch before: a batch the server made late leaves less to wait before the next one,
        // so the gap between two batches is no bound, whatever the machine's load.
        for (const [k, insert] of inserts.entries()) {
          const sentMs = (times.get(insert.requestId) ?? 0) - started;
          assert.ok(sentMs >= k * 200, `batch ${k + 1} sent ${sentMs.toFixed(0)} ms into the call, before ${k * 200} ms (10 documents at 50/s)`);
        }
      });
      assert.equal(await db.collection('items').countDocuments({ copied: true }), 30);
    }));
});
