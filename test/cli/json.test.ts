// `--json` is complete, run as a user would against the test server: a real run carries each
// step's log lines (as the dry run does), status counts list every state (0 included), a dry run
// has no empty run id, and a run's error names its migration `id`, as the API does.
import { NO_COUNTS } from '../support/counts.ts';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exits, parseJson, withCliProject } from '../support/cli.ts';
import { failingMigration } from '../support/project.ts';

const LOGGING = `import { defineMigration } from 'mongrate';
export default defineMigration({
  async up({ helpers, log }) {
    log('before the reshape');
    await helpers.reshape('items', { transform: (doc) => ({ ...doc, seen: true }) });
    log('after the reshape');
  },
  async down() {},
});
`;

interface RunDoc {
  ok: boolean;
  command: string;
  dryRun: boolean;
  runId?: string;
  steps: { id: string; status: string; logs?: string[] }[];
  warnings: string[];
  error?: Record<string, unknown>;
}

const STATES = Object.keys(NO_COUNTS);

void describe('--json is complete', { concurrency: 3 }, () => {
  void it("a real up carries each step's log lines and a run id; the dry run the same lines and no run id", () =>
    withCliProject('json_logs', async ({ project, db, run }) => {
      await db.collection<{ _id: number }>('items').insertMany([{ _id: 1 }, { _id: 2 }, { _id: 3 }]);
      await project.write('001-logs.ts', LOGGING);
      const dry = parseJson(await run(['--json', 'up', '--dry-run'])) as unknown as RunDoc;
      assert.equal('runId' in dry, false, 'no "runId": "" in a dry run');
      assert.deepEqual(dry.steps[0]?.logs, ['before the reshape', 'after the reshape']);

      const result = await run(['--json', 'up']);
      exits(result, 0, '--json up');
      const doc = parseJson(result) as unknown as RunDoc;
      assert.equal(doc.ok, true);
      assert.match(doc.runId ?? '', /^[\w-]{8,}$/, 'a real run names its run id');
      const logs = doc.steps[0]?.logs ?? [];
      assert.equal(logs[0], 'before the reshape');
      assert.match(logs[1] ?? '', /^reshape\(items\): 3 matched, 3 modified, 0 deleted in [\d.]+ s$/, "the helper's own summary line");
      assert.equal(logs[2], 'after the reshape');
      assert.deepEqual(doc.warnings, []);
    }));

  void it('status counts every state, 0 where there is none', () =>
    withCliProject('json_counts', async ({ project, run }) => {
      await project.write('001-logs.ts', LOGGING);
      const doc = parseJson(await run(['--json', 'status'])) as unknown as { counts: Record<string, number> };
      assert.deepEqual(Object.keys(doc.counts).sort(), [...STATES].sort());
      assert.equal(doc.counts.pending, 1);
      for (const state of STATES.filter((s) => s !== 'pending')) assert.equal(doc.counts[state], 0, `counts.${state}`);
    }));

  void it("a run's error names its migration as `id`, like the API; errors that stop a command have none", () =>
    withCliProject('json_error', async ({ project, run }) => {
      await project.write('001-fails.js', failingMigration('kaput'));
      const failed = await run(['--json', 'up']);
      exits(failed, 1, '--json up with a failing migration');
      const doc = parseJson(failed) as unknown as RunDoc;
      assert.equal(doc.ok, false);
      const error = doc.error ?? {};
      assert.deepEqual(Object.keys(error).sort(), ['code', 'id', 'message']);
      assert.equal(error.id, '001-fails');
      assert.match(String(error.message), /kaput; run `mongrate up --retry-failed` to run it again once it is fixed$/);

      const refused = await run(['--json', 'up']);
      exits(refused, 1, '--json up after the failure');
      const stopped = parseJson(refused).error as Record<string, unknown>;
      assert.deepEqual(Object.keys(stopped).sort(), ['code', 'message']);
    }));
});
