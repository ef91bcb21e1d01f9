// A start with nothing to do takes no lock: every pod of a deploy runs `mongrate up` at start, and
// the ones that find nothing to do exit 0 having written nothing, even while another runner holds
// the lock. Something to do (a migration pending, or `running` under a live runner) still goes
// through the lock: exit 3 while it is held, as before. The built CLI, spawned as a user runs it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { withCliProject } from '../support/cli.ts';
import { exits, insertForeignLock, show, waitUntilRunning } from '../support/lock-cli.ts';
import { markerMigration } from '../support/project.ts';
import { describeSnapshot, snapshotDb } from '../support/snapshot.ts';

const PODS = 20;

/**
 * A migration that waits (checking its signal) until the test lets it finish by inserting `go`.
 * Outside a transaction: inside one its reads see a snapshot from before the `go` was inserted.
 */
const GATED = `export const transaction = false;
export async function up({ db, signal }) {
  while (!(await db.collection('gate').findOne({ _id: 'go' }))) {
    if (signal.aborted) throw new Error('stopped');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
export async function down() {}
`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

void describe('a start with nothing to do', { concurrency: 1 }, () => {
  void it(`${PODS} concurrent \`up\` with nothing pending, while another runner holds the lock: all exit 0, nothing written`, async (t) => {
    await withCliProject('noop_pods', async ({ project, db, run, start }) => {
      await project.write('001-first.ts', markerMigration('first'));
      await project.write('002-second.ts', markerMigration('second'));
      exits(await run(['up']), 0, 'the first deploy');
      await insertForeignLock(db, 120_000);
      const before = await snapshotDb(db);

      const pods = Array.from({ length: PODS }, () => {
        const startedAt = performance.now();
        const pod = start(['up'], 120_000);
        return pod.done.then((result) => ({ result, ms: performance.now() - startedAt }));
      });
      const ended = await Promise.all(pods);
      const report = ended.map(({ result }, i) => `#${i}: ${show(result)}`).join('\n');
      assert.deepEqual(ended.map(({ result }) => result.code), Array<number>(PODS).fill(0), `every pod exits 0:\n${report}`);
      for (const { result } of ended) assert.match(result.stdout + result.stderr, /Nothing to apply/);
      const after = await snapshotDb(db);
      assert.deepEqual(after, before, `nothing was written (before: ${describeSnapshot(before)}; after: ${describeSnapshot(after)})`);

      const times = ended.map(({ ms }) => ms);
      t.diagnostic(`${PODS} pods, start to exit: median ${Math.round(median(times))} ms, max ${Math.round(Math.max(...times))} ms`);
    });
  });

  void it('`down` with nothing applied and `up --json` with nothing pending take no lock; an empty database gets no collection', async () => {
    await withCliProject('noop_empty', async ({ db, run }) => {
      exits(await run(['up']), 0, 'up on an empty project');
      exits(await run(['down']), 0, 'down with nothing applied');
      assert.deepEqual(await snapshotDb(db), [], 'no changelog, history or lock collection was created');
      await insertForeignLock(db, 120_000);
      const json = await run(['--json', 'up']);
      exits(json, 0, 'up --json under a held lock');
      const document = JSON.parse(json.stdout) as Record<string, unknown>;
      assert.equal(document.ok, true);
      assert.deepEqual(document.steps, []);
      assert.equal(document.runId, undefined, 'no run: no run id');
    });
  });

  void it('something to do still goes through the lock: a pending migration, or one `running` under a live runner, exits 3 while it is held', async () => {
    await withCliProject('noop_not', async ({ project, db, run, start }) => {
      await project.write('001-gated.ts', GATED);
      const first = start(['up'], 60_000);
      await waitUntilRunning(db, '001-gated', first.done);
      const refused = await run(['up']);
      exits(refused, 3, 'up while 001-gated runs under a live runner');
      assert.match(refused.stderr, /lock held by /);
      await db.collection<{ _id: string }>('gate').insertOne({ _id: 'go' });
      exits(await first.done, 0, 'the first runner');

      await project.write('002-second.ts', markerMigration('second'));
      await insertForeignLock(db, 120_000);
      exits(await run(['up']), 3, 'up with 002 pending under a held lock');
      exits(await run(['down']), 3, 'down with 001 applied under a held lock');
    });
  });
});
