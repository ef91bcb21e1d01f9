// Ctrl-C and SIGTERM during `up`: the built CLI is started, signalled while a migration runs, and
// the changelog is read with the driver to see what it recorded.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { changelogRecord as record, type CliResult, marks, parseJson, waitForOutput, waitUntilRunning, withCliProject } from '../support/cli.ts';
import { markerMigration } from '../support/project.ts';

/** Loops for up to 20 s in 50 ms sleeps and stops (throws) once `ctx.signal` is aborted. */
const COOPERATIVE = `import { defineMigration } from 'mongrate';
export default defineMigration({
  description: 'slow and cooperative',
  async up({ db, signal }) {
    const until = Date.now() + 20000;
    while (Date.now() < until) {
      if (signal.aborted) throw new Error('stopped at a safe point');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await db.collection('marks').insertOne({ mark: 'slow finished' });
  },
  async down() {},
});
`;

/**
 * Sleeps 20 s and never looks at the signal. Outside a transaction: the second Ctrl-C exits at
 * once, and a transaction left open would hold its changelog record on the server until its lifetime ends.
 */
const STUBBORN = `export const transaction = false;
export async function up({ db }) {
  await new Promise((resolve) => setTimeout(resolve, 20000));
  await db.collection('marks').insertOne({ mark: 'stubborn finished' });
}
export async function down() {}
`;

function exits130(result: CliResult, what: string): void {
  assert.equal(result.code, 130, `${what}: expected exit 130, got ${String(result.code)} (signal ${String(result.signal)})\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
}

void describe('interrupting up', { concurrency: 3 }, () => {
  void it('SIGINT stops at the next safe point: exit 130, the migration recorded as failed and interrupted, later ones not run', async () => {
    await withCliProject('sigint', async ({ project, db, start }) => {
      await project.write('001-first.ts', markerMigration('first'));
      await project.write('002-slow.ts', COOPERATIVE);
      await project.write('003-after.ts', markerMigration('after'));
      const { child, done } = start(['up'], 40_000);
      await waitUntilRunning(db, '002-slow', done);
      child.kill('SIGINT');
      const result = await done;
      exits130(result, 'up interrupted by SIGINT');

      const slow = await record(db, '002-slow');
      assert.equal(slow?.state, 'failed');
      // it stopped within moments, proven by what the migration left rather than by a stopwatch
      // (which would time the server recording the failure): it throws this only on seeing the
      // signal, and had its 20 s loop run out it would have written 'slow finished' (marks below)
      assert.match(slow.error?.message ?? '', /stopped at a safe point/, 'the migration saw the signal at its next safe point');
      assert.equal(slow.error?.interrupted, true, `error.interrupted should be true: ${JSON.stringify(slow.error)}`);
      assert.equal((await record(db, '001-first'))?.state, 'applied');
      assert.equal(await record(db, '003-after'), null, 'the migration after the interrupted one did not run');
      assert.deepEqual(await marks(db), ['first']);

      assert.match(result.stderr, /interrupt/i);
      assert.match(result.stderr, /002-slow/);
      assert.match(result.stdout, /003-after/, 'the output lists what was not run');
      assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace');
    });
  });

  void it('SIGTERM with --json: exit 130 and one JSON document with error.code INTERRUPTED', async () => {
    await withCliProject('sigterm', async ({ project, db, start }) => {
      await project.write('001-slow.ts', COOPERATIVE);
      await project.write('002-after.ts', markerMigration('after'));
      const { child, done } = start(['up', '--json'], 40_000);
      await waitUntilRunning(db, '001-slow', done);
      child.kill('SIGTERM');
      const result = await done;
      exits130(result, 'up --json interrupted by SIGTERM');
      const doc = parseJson(result);
      assert.equal(doc.ok, false);
      assert.equal((doc.error as { code: string }).code, 'INTERRUPTED');
      const slow = await record(db, '001-slow');
      assert.equal(slow?.state, 'failed');
      assert.equal(slow.error?.interrupted, true);
      assert.equal(await record(db, '002-after'), null);
    });
  });

  void it('a second SIGINT exits 130 at once, even when the migration ignores the signal', async () => {
    await withCliProject('sigint_twice', async ({ project, db, start }) => {
      await project.write('001-stubborn.ts', STUBBORN);
      await project.write('002-after.ts', markerMigration('after'));
      const started = start(['up'], 40_000);
      const { child, done } = started;
      await waitUntilRunning(db, '001-stubborn', done);
      // the CLI says when it took the first SIGINT: a latch, where a fixed sleep could end first
      const firstTaken = waitForOutput(started, 'stderr', /SIGINT: .*press Ctrl-C again to quit at once/);
      child.kill('SIGINT');
      await firstTaken;
      assert.equal(child.exitCode, null, 'the first SIGINT waits for a safe point instead of exiting');
      child.kill('SIGINT');
      const result = await done;
      exits130(result, 'up after two SIGINTs');
      assert.match(result.stderr, /second SIGINT: exiting now/);
      assert.equal(await record(db, '002-after'), null, 'nothing after it ran');
      // at once, proven without a stopwatch: the migration ignores the signal and writes its mark
      // after 20 s, so an exit that waited for it would have left the mark
      const marks = await db.collection('marks').countDocuments();
      assert.equal(marks, 0, 'it exited before the stubborn migration finished');
    });
  });
});
