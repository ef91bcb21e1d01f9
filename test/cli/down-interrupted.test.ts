// A `down` stopped half-way, seen from the terminal: Ctrl-C and SIGKILL during the revert of a
// long helper, then what `status`, `status --check`, plain `up`/`down` and `down --retry-failed`
// say and do. The built CLI against the real server; the database read with the driver.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Db } from 'mongodb';
import { changelogRecord as record, type CliProjectContext, exits, show, tableState, waitFor, waitForRecord, withCliProject } from '../support/cli.ts';
import { lockDocument, waitUntilLeaseExpired } from '../support/lock-cli.ts';

const DOCS = 120;

/**
 * up seeds DOCS users at version 2; down brings them back to 1, slowly (15 ms per document), in
 * batches of 10. With $HOLD_AFTER_FIRST_BATCH set, the down holds in its second batch until the
 * run is interrupted (for up to a minute): the test's signal surely lands half-way, however fast
 * or slow the server. Outside a transaction: what is under test is a down stopped half-way.
 */
const LONG_DOWN = `import { defineMigration } from 'mongrate';
export default defineMigration({
  description: 'users to v2, slowly reverted',
  transaction: false,
  async up({ db }) {
    await db.collection('users').insertMany(Array.from({ length: ${DOCS} }, (_, n) => ({ n, schema_version: 2 })));
  },
  async down({ helpers, signal }) {
    let transformed = 0;
    await helpers.bumpSchemaVersion('users', {
      to: 1,
      batchSize: 10,
      transform: async (user) => {
        if (process.env.HOLD_AFTER_FIRST_BATCH && ++transformed > 10) {
          for (let i = 0; i < 1200 && !signal.aborted; i++) await new Promise((resolve) => setTimeout(resolve, 50));
        }
        await new Promise((resolve) => setTimeout(resolve, 15));
        return user;
      },
    });
  },
});
`;

/** For the run the test interrupts: it holds in its second batch until then. */
const HOLDING = { HOLD_AFTER_FIRST_BATCH: '1' };

const lockConfig = (ttlSeconds: number): string => `export default { lock: { ttlSeconds: ${ttlSeconds} } };\n`;

async function versions(db: Db): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const user of await db.collection<{ schema_version: number }>('users').find({}).toArray()) {
    counts[`v${user.schema_version}`] = (counts[`v${user.schema_version}`] ?? 0) + 1;
  }
  return counts;
}

/** What every half-reverted down must look like from the CLI, then `down --retry-failed` finishes it. */
async function checkHalfRevertedThenRetry({ db, run }: CliProjectContext): Promise<void> {
  const half = await versions(db);
  assert.ok((half.v1 ?? 0) > 0 && (half.v2 ?? 0) > 0, `the down stopped half-way: ${JSON.stringify(half)}`);

  const status = await run(['status']);
  exits(status, 0, 'status');
  assert.equal(tableState(status.stdout, '001-users'), 'failed (down, interrupted)', status.stdout);
  exits(await run(['status', '--check']), 4, 'status --check over a half-reverted migration');
  const json = JSON.parse((await run(['status', '--json'])).stdout) as { migrations: { id: string; state: string; direction?: string; interrupted: boolean }[] };
  assert.deepEqual(json.migrations.map((m) => [m.id, m.state, m.direction, m.interrupted]), [['001-users', 'failed', 'down', true]]);

  for (const command of ['up', 'down']) {
    const refused = await run([command]);
    exits(refused, 1, `plain ${command} over a failed down`);
    assert.match(refused.stderr, /001-users/);
    assert.match(refused.stderr, /down --retry-failed/);
    assert.match(refused.stderr, /up --retry-failed/);
  }
  assert.deepEqual(await versions(db), half, 'the refused commands changed nothing');

  const retried = await run(['down', '--retry-failed']);
  exits(retried, 0, 'down --retry-failed');
  assert.match(retried.stdout, /reverted 001-users/);
  assert.deepEqual(await versions(db), { v1: DOCS }, 'every user is back at version 1');
  assert.equal(await record(db, '001-users'), null, 'a finished down leaves no record');
  exits(await run(['status', '--check']), 4, 'pending again');
}

void describe('interrupting down', { concurrency: 2 }, () => {
  void it('SIGINT during the revert: exit 130, failed (down, interrupted); up and down refuse; down --retry-failed finishes it', async () => {
    await withCliProject('down_sigint', async (ctx) => {
      const { project, db, run, start } = ctx;
      await project.write('001-users.ts', LONG_DOWN);
      exits(await run(['up']), 0, 'up');
      const { child, done } = start(['down'], 90_000, HOLDING);
      await waitForRecord(db, '001-users', done, (r) => r?.state === 'running' && r.claim?.direction === 'down');
      await waitFor('a batch of the down was written', async () => (await versions(db)).v1 !== undefined, done);
      child.kill('SIGINT');
      const result = await done;
      exits(result, 130, 'down interrupted by SIGINT');
      const interrupted = await record(db, '001-users');
      assert.equal(interrupted?.state, 'failed', show(result));
      assert.equal(interrupted.error?.direction, 'down');
      assert.equal(interrupted.error.interrupted, true);
      await checkHalfRevertedThenRetry(ctx);
    });
  });

  void it('SIGKILL during the revert: running (down) while the lease lasts, then failed (down, interrupted); down --retry-failed finishes it', async () => {
    await withCliProject('down_sigkill', { config: lockConfig(2) }, async (ctx) => {
      const { project, db, run, start } = ctx;
      await project.write('001-users.ts', LONG_DOWN);
      exits(await run(['up']), 0, 'up');
      const { child, done } = start(['down'], 90_000, HOLDING);
      await waitForRecord(db, '001-users', done, (r) => r?.state === 'running' && r.claim?.direction === 'down');
      await waitFor('a batch of the down was written', async () => (await versions(db)).v1 !== undefined, done);
      child.kill('SIGKILL');
      assert.equal((await done).signal, 'SIGKILL');
      assert.equal((await record(db, '001-users'))?.state, 'running', 'a killed runner records nothing');
      // the killed runner's lease (2 s) must run out before anyone may call it dead: waited for
      // on the server's clock, not slept for on this machine's
      const stale = await lockDocument(db);
      assert.ok(stale !== null, 'the killed runner left its lock behind');
      await waitUntilLeaseExpired(db, stale, 2);
      // the runners from here on hold an ordinary lease: a 2 s one is rightly lost by a runner
      // that a loaded machine stalls for 2 s, and only the killed runner's had to be short
      await project.writeFile('migrate.config.ts', lockConfig(30));
      await checkHalfRevertedThenRetry(ctx);
    });
  });
});
