// `--lock-wait` on every command that takes the lock (up, down, redo, baseline, repair; up's races
// are in concurrency.test.ts), run as a user would against the test server: while another
// runner's lock is live the command says it waits and names the holder, then runs once the lock
// is released; without the flag it exits 3 with the ways out; an expired lock is taken over, and
// the output says so.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CliProjectContext, exits, marks, states, waitForOutput, withCliProject } from '../support/cli.ts';
import { insertForeignLock, lockDocument, releaseForeignLock } from '../support/lock-cli.ts';
import { failingMigration, markerMigration } from '../support/project.ts';

/** The line a waiting command prints: the wait, and who holds the lock since when. */
const WAITING = /^waiting up to 30 s for the lock held by deploy-box-3 pid 4242 \(up\) since \d{4}-\d\d-\d\dT[\d:.]+Z \.\.\.$/m;

/**
 * Starts `args` with `--lock-wait 30` while another runner's live lock is held, waits for the
 * waiting line on stderr, releases the lock and returns the command's result.
 */
async function waitsThenRuns(ctx: CliProjectContext, args: string[]): Promise<{ stdout: string; stderr: string }> {
  await insertForeignLock(ctx.db, 60_000);
  const started = ctx.start([...args, '--lock-wait', '30'], 60_000);
  const shown = await waitForOutput(started, 'stderr', WAITING);
  assert.notEqual(await lockDocument(ctx.db), null, 'still waiting: the foreign lock is there');
  await releaseForeignLock(ctx.db);
  const result = await started.done;
  exits(result, 0, `${args.join(' ')} --lock-wait 30`);
  assert.ok(shown.split('\n').filter((line) => WAITING.test(line)).length === 1, `one waiting line:\n${result.stderr}`);
  assert.equal(await lockDocument(ctx.db), null, 'the command released the lock it took');
  return result;
}

void describe('--lock-wait on every command that takes the lock', { concurrency: 4 }, () => {
  void it('down --lock-wait waits, naming the holder, then reverts', () =>
    withCliProject('lw_down', async (ctx) => {
      await ctx.project.write('001-a.ts', markerMigration('a'));
      exits(await ctx.run(['up']), 0, 'up');
      const result = await waitsThenRuns(ctx, ['down']);
      assert.match(result.stdout, /reverted 001-a/);
      assert.deepEqual(await states(ctx.db), {});
    }));

  void it('redo --lock-wait waits, naming the holder, then reverts and applies again', () =>
    withCliProject('lw_redo', async (ctx) => {
      await ctx.project.write('001-a.ts', markerMigration('a'));
      exits(await ctx.run(['up']), 0, 'up');
      const result = await waitsThenRuns(ctx, ['redo']);
      assert.match(result.stdout, /reverted 001-a[\s\S]*applied\s+001-a/);
      assert.deepEqual(await marks(ctx.db), ['a']);
    }));

  void it('baseline --lock-wait waits, naming the holder, then records', () =>
    withCliProject('lw_baseline', async (ctx) => {
      await ctx.project.write('001-a.ts', markerMigration('a'));
      await ctx.project.write('002-b.ts', markerMigration('b'));
      const result = await waitsThenRuns(ctx, ['baseline', '001-a']);
      assert.match(result.stdout, /Baselined 1 migration/);
      assert.deepEqual(await states(ctx.db), { '001-a': 'baseline' });
    }));

  void it('repair --yes --lock-wait waits, naming the holder, then repairs', () =>
    withCliProject('lw_repair', async (ctx) => {
      await ctx.project.write('001-fails.ts', failingMigration('broken'));
      exits(await ctx.run(['up']), 1, 'up with a failing migration');
      const result = await waitsThenRuns(ctx, ['repair', '--yes']);
      assert.match(result.stdout, /Repaired 1 record/);
      assert.deepEqual(await states(ctx.db), {});
    }));

  void it('up --lock-wait says it waits too, naming the holder (it used to wait in silence)', () =>
    withCliProject('lw_up', async (ctx) => {
      await ctx.project.write('001-a.ts', markerMigration('a'));
      const result = await waitsThenRuns(ctx, ['up']);
      assert.match(result.stdout, /applied\s+001-a/);
    }));

  void it('without --lock-wait each exits 3 at once, naming the holder and the ways out', () =>
    withCliProject('lw_none', async (ctx) => {
      await ctx.project.write('001-a.ts', markerMigration('a'));
      exits(await ctx.run(['up']), 0, 'up');
      // something for `up` to do: with nothing pending it takes no lock and exits 0 (no-op-start.test.ts)
      await ctx.project.write('002-b.ts', markerMigration('b'));
      await insertForeignLock(ctx.db, 60_000);
      for (const args of [['down'], ['redo'], ['baseline', '001-a'], ['up']]) {
        const result = await ctx.run(args);
        exits(result, 3, `${args.join(' ')} while another runner holds the lock`);
        const lines = result.stderr.trimEnd().split('\n');
        assert.equal(lines.length, 1, `one error line:\n${result.stderr}`);
        assert.match(lines[0] ?? '', /^error: lock held by deploy-box-3 pid 4242 \(up\) since .*, lease until /);
        assert.match(lines[0] ?? '', /pass `--lock-wait <seconds>` to wait for it, or run `mongrate unlock` to release it if that runner is dead$/);
      }
    }));

  void it('an expired lock (its runner died) is taken over, and the output says whose it was', () =>
    withCliProject('lw_takeover', async (ctx) => {
      await ctx.project.write('001-a.ts', markerMigration('a'));
      exits(await ctx.run(['up']), 0, 'up');
      await insertForeignLock(ctx.db, -5_000);
      const result = await ctx.run(['down']);
      exits(result, 0, 'down over an expired lock');
      assert.match(result.stderr, /^took over the lock of deploy-box-3 pid 4242 \(up\) since \S+: its lease expired at \S+ \(that runner died or stalled\)$/m);
      assert.doesNotMatch(result.stderr, /waiting/, 'an expired lock is not waited for');
      assert.deepEqual(await states(ctx.db), {});
    }));
});
