// Long migrations in CI (no terminal): a progress line at least every ~10 s with done/total, docs/s
// and an ETA, so a long backfill never looks hung; a migration without helper progress still says
// it is running. Through the built CLI against the test server, each line timed as it arrives.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exits, type StartedCli, withCliProject } from '../support/cli.ts';

/** 300 items in 3 batches, ~4 s each (the transform is slow and changes nothing): ~12 s of reshape. */
const SLOW_RESHAPE = `import { defineMigration } from 'mongrate';
export default defineMigration({
  async up({ helpers }) {
    await helpers.reshape('items', { batchSize: 100, transform: async () => { await new Promise((r) => setTimeout(r, 40)); return null; } });
  },
  async down() {},
});
`;

/** Works for ~10.5 s without any helper: no progress events at all. */
const SLOW_OWN_CODE = `export async function up() { await new Promise((r) => setTimeout(r, 10_500)); }
export async function down() {}
`;

interface TimedLine {
  at: number;
  line: string;
}

/** Every line of stdout and stderr with the time it arrived, until the CLI exits. */
async function timedLines(started: StartedCli): Promise<{ lines: TimedLine[]; code: number | null; stderr: string }> {
  const lines: TimedLine[] = [];
  for (const stream of [started.child.stdout, started.child.stderr]) {
    let partial = '';
    stream?.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) lines.push({ at: Date.now(), line });
    });
  }
  const result = await started.done;
  return { lines, code: result.code, stderr: result.stderr };
}

const PROGRESS = /^ {2}001-slow: reshape items: (\d+)\/300 \((\d+)%\), (\d+) docs\/s, (ETA \d+ (?:s|min \d+ s)|done)$/;

void describe('progress in CI', { concurrency: 2 }, () => {
  void it('a long reshape prints done/total, docs/s and an ETA at least every ~10 s, then done', () =>
    withCliProject('progress_ci', async ({ db, project, start }) => {
      await db.collection<{ _id: number }>('items').insertMany(Array.from({ length: 300 }, (_, i) => ({ _id: i })));
      await project.write('001-slow.ts', SLOW_RESHAPE);
      // -v: the 'applying' line says when the migration started
      const { lines, code, stderr } = await timedLines(start(['up', '-v'], 90_000, { CI: 'true' }));
      assert.equal(code, 0, stderr);
      const begun = lines.find(({ line }) => line.includes('applying 001-slow'))?.at;
      assert.ok(begun !== undefined, `no 'applying' line:\n${stderr}`);
      const progress = lines.filter(({ line }) => PROGRESS.test(line));
      assert.ok(progress.length >= 2, `a progress line mid-run and a final one:\n${lines.map((l) => l.line).join('\n')}`);
      const midRun = progress.find(({ line }) => / ETA /.test(line));
      assert.ok(midRun !== undefined, 'a line with an ETA while it runs');
      const [, done, , rate] = PROGRESS.exec(midRun.line) ?? [];
      assert.ok(Number(done) > 0 && Number(done) < 300 && Number(rate) > 0, midRun.line);
      assert.match(progress.at(-1)?.line ?? '', /300\/300 \(100%\), \d+ docs\/s, done$/);
      // The line clock works whatever the machine's speed: the reshape sleeps 4 s a batch, so its
      // progress events come at >= 4, 8 and 12 s and only the last (done) is 10 s after a line;
      // the mid-run line with an ETA above can only come from the clock. No silence much longer
      // than 10 s, from the start and between lines: a bound of two periods (the clock missed a
      // tick on a loaded machine, never a period), not one second past one as it was.
      const times = [begun, ...progress.map((p) => p.at)];
      const gaps = times.slice(1).map((at, i) => at - (times[i] ?? at));
      assert.ok(gaps.every((gap) => gap < 20_000), `gaps between progress lines (ms): ${gaps.join(', ')}`);
    }));

  void it('a migration with no helper progress says it is still running after ~10 s', () =>
    withCliProject('progress_own', async ({ project, start }) => {
      await project.write('001-slow.js', SLOW_OWN_CODE);
      const { lines, code, stderr } = await timedLines(start(['up'], 90_000, { CI: 'true' }));
      exits({ code, signal: null, stdout: lines.map((l) => l.line).join('\n'), stderr }, 0, 'up of a slow migration');
      assert.ok(lines.some(({ line }) => /^ {2}001-slow: still running \(\d+(\.\d+)? s\)$/.test(line)), lines.map((l) => l.line).join('\n'));
    }));
});
