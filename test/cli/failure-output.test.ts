// A failing migration as the user sees it, through the built CLI against the test server: its
// message is printed once; `-v` shows the migration's own error (class, its file and line, its
// `cause`), not mongrate's frames; without `-v` no stack at all.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exits, withCliProject } from '../support/cli.ts';
import { markerMigration } from '../support/project.ts';

/**
 * Line 6 throws a TypeError whose cause is another TypeError thrown on line 3. Outside a
 * transaction on every server, so the failure reads the same everywhere.
 */
const THROWS = `import { defineMigration } from 'mongrate';
function priceOf(product: { price?: { amount: number } }): number {
  return (product.price as { amount: number }).amount;
}
export default defineMigration({ transaction: false,
  async up() { try { priceOf({}); } catch (error) { throw new TypeError('could not read the prices', { cause: error }); } },
  async down() {},
});
`;

const STACK_FRAME = /^\s+at /m;

/** How often `needle` occurs in `text`. */
const occurrences = (text: string, needle: string): number => text.split(needle).length - 1;

void describe('a failing migration in the output', { concurrency: 2 }, () => {
  void it('its message is printed once, with what to do; no stack without -v', () =>
    withCliProject('fail_once', async ({ project, run }) => {
      await project.write('001-a.ts', markerMigration('a'));
      await project.write('002-prices.ts', THROWS);
      const result = await run(['up']);
      exits(result, 1, 'up with a failing migration');
      const all = result.stdout + result.stderr;
      assert.equal(occurrences(all, 'could not read the prices'), 1, `the message once:\n${all}`);
      assert.match(result.stdout, /^✖ failed {3}002-prices \((?:\d+ ms|\d+\.\d+ s)\)$/m, 'the step is marked failed, without the message (its time in ms, or in s on a slow server)');
      assert.deepEqual(result.stderr.trimEnd().split('\n'), [
        'error: migration 002-prices failed: could not read the prices; run `mongrate up --retry-failed` to run it again once it is fixed',
      ]);
      assert.doesNotMatch(all, STACK_FRAME);
    }));

  void it("-v shows the migration's own error class, file and line, and its cause; not mongrate's error", () =>
    withCliProject('fail_verbose', async ({ project, run }) => {
      const file = await project.write('001-prices.ts', THROWS);
      const result = await run(['up', '-v']);
      exits(result, 1, 'up -v with a failing migration');
      const err = result.stderr;
      assert.match(err, /^error: migration 001-prices failed: could not read the prices/m);
      assert.match(err, /^TypeError: could not read the prices$/m, "the migration's own class and message");
      assert.ok(err.includes(`${file}:6:`), `the migration's file and line of the throw:\n${err}`);
      assert.match(err, /^caused by: TypeError: Cannot read properties of undefined \(reading 'amount'\)$/m, 'the cause');
      assert.ok(err.includes(`${file}:3:`), `the cause's line:\n${err}`);
      assert.doesNotMatch(err, /^MongrateError/m, "not mongrate's wrapper and its frames");
      assert.equal(occurrences(result.stdout, 'could not read the prices'), 0, 'stdout marks the step, stderr carries the error');
    }));
});
