// Across databases, what stops a database: Ctrl-C during a fan-out (every running database stops
// at its next safe point, no other starts), and a lock held in one database (reported `locked`,
// --lock-wait honoured per database).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { exits, parseJson } from '../support/cli.ts';
import type { LockDocument } from '../../src/lock/mongo-lock-store.ts';
import { waitFor } from '../support/lock-cli.ts';
import { appliedByDatabase, summaryResults, tenantMigration, withTenants } from '../support/tenants.ts';

/** Waits in 50 ms steps for up to 20 s, and stops (throws) once `ctx.signal` is aborted. */
const COOPERATIVE = `export async function up({ db, signal }) {
  await db.collection('marks').insertOne({ mark: 'slow started' });
  const until = Date.now() + 20000;
  while (Date.now() < until) {
    if (signal.aborted) throw new Error('stopped at a safe point');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
export async function down() {}
`;

void describe('stopping databases of a fan-out', { concurrency: 2 }, () => {
  void it('SIGINT stops every running database at its next safe point, starts no other, exits 130', () =>
    withTenants('fo_sigint', 5, async (ctx) => {
      await ctx.project.write('001-first.js', tenantMigration('first'));
      await ctx.project.write('002-slow.js', COOPERATIVE);
      const { child, done } = ctx.start(['up', '--databases-match', `${ctx.prefix}_*`, '--concurrency', '2']);
      const [first, second] = ctx.names as [string, string];
      const running = async (name: string): Promise<boolean> =>
        (await ctx.db(name).collection<{ _id: string; state: string }>('mongrate_changelog').findOne({ _id: '002-slow' }))?.state === 'running';
      await waitFor('the first two tenants run 002-slow', async () => (await running(first)) && (await running(second)), done);
      child.kill('SIGINT');
      const result = await done;
      exits(result, 130, 'up across databases interrupted');

      for (const name of [first, second]) {
        const slow = await ctx.db(name).collection<{ _id: string; state: string; error?: { interrupted?: boolean; message?: string } }>('mongrate_changelog').findOne({ _id: '002-slow' });
        assert.equal(slow?.state, 'failed', `${name}: the interrupted migration is recorded`);
        assert.equal(slow.error?.interrupted, true);
        // they stopped within moments, proven by what each left rather than by a stopwatch (which
        // would time the servers recording it): the loop throws this only on seeing the signal,
        // and one that ran its 20 s out would have been recorded applied
        assert.match(slow.error.message ?? '', /stopped at a safe point/, `${name}: the migration saw the signal at its next safe point`);
        assert.equal(await ctx.db(name).collection('mongrate_lock').countDocuments(), 0, `${name}: its lock is released`);
      }
      const applied = await appliedByDatabase(ctx);
      for (const name of ctx.names.slice(2)) assert.deepEqual(applied[name], [], `${name} never started`);
      const results = summaryResults(result.stdout);
      assert.deepEqual([results[first], results[second], results[ctx.names[2] ?? '']], ['interrupted', 'interrupted', 'not started'], result.stdout);
      assert.match(result.stderr, /SIGINT: stopping every database at its next safe point/);
    }));

  void it('a database whose lock is held is reported locked (exit 3), after --lock-wait, while the others complete', () =>
    withTenants('fo_locked', 3, async (ctx) => {
      await ctx.project.write('001-first.js', tenantMigration('first'));
      const [a, held, c] = ctx.names as [string, string, string];
      // a live lease of another runner, on the server's clock
      const now = new Date();
      await ctx.db(held).collection<LockDocument>('mongrate_lock').insertOne({
        _id: 'mongrate',
        owner: 'another-run',
        host: 'deploy-box',
        pid: 4242,
        command: 'up',
        acquiredAt: now,
        expiresAt: new Date(now.getTime() + 3_600_000),
      });
      const started = Date.now();
      const result = await ctx.run(['up', '--databases-match', `${ctx.prefix}_*`, '--keep-going', '--lock-wait', '1', '--json']);
      exits(result, 3, 'one database locked');
      assert.ok(Date.now() - started >= 1000, 'it waited --lock-wait for the held lock');
      const doc = parseJson(result);
      assert.equal(doc.ok, false);
      const databases = doc.databases as { database: string; outcome: string; error?: { code: string; message: string } }[];
      assert.deepEqual(databases.map((d) => [d.database, d.outcome]), [[a, 'ok'], [held, 'locked'], [c, 'ok']]);
      assert.match(databases[1]?.error?.message ?? '', /deploy-box/);
      assert.equal(databases[1]?.error?.code, 'LOCK_HELD');
      const applied = await appliedByDatabase(ctx);
      assert.deepEqual([applied[a], applied[held], applied[c]], [['001-first'], [], ['001-first']]);

      await ctx.project.write('002-second.js', tenantMigration('second'));
      const stopped = await ctx.run(['up', '--databases', `${held},${c}`]);
      exits(stopped, 3, 'without --keep-going, nothing starts after the locked database');
      const results = summaryResults(stopped.stdout);
      assert.deepEqual([results[held], results[c]], ['locked', 'not started'], stopped.stdout);
      assert.deepEqual((await appliedByDatabase(ctx))[c], ['001-first'], `${c} did not start`);
    }));
});
