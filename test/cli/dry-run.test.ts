// `mongrate up --dry-run` as a user runs it (the built bin, a throwaway project): it prints what each
// helper would touch with document counts, `--json` carries the same as `plan` in each step, and the
// database is byte-for-byte what it was.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ObjectId, type Db } from 'mongodb';
import { parseJson, runCli, type CliResult } from '../support/cli.ts';
import { testUri, withTestDb } from '../support/database.ts';
import { createProject, type TestProject } from '../support/project.ts';
import { snapshotDb } from '../support/snapshot.ts';

const MIGRATIONS: [string, string][] = [
  [
    '001-reshape-items.ts',
    `import { defineMigration } from 'mongrate';
export default defineMigration({
  description: 'flag the first items, bump the rest',
  async up({ helpers }) {
    await helpers.reshape('items', { filter: { n: { $lt: 25 } }, transform: (doc) => ({ ...doc, flagged: true }) });
    await helpers.bumpSchemaVersion('items', { to: 2 });
  },
  async down() {},
});
`,
  ],
  [
    '002-archive.ts',
    `import { defineMigration } from 'mongrate';
export default defineMigration({
  description: 'archive copied and indexed',
  transaction: false,
  async up({ helpers }) {
    await helpers.copyAndRename('archive', { to: 'archive_v2', transform: (doc) => ({ ...doc, moved: true }) });
    await helpers.ensureIndexes('items', [{ key: { n: 1 }, name: 'n_1' }]);
  },
  async down() {},
});
`,
  ],
  [
    '003-direct.ts',
    `export async function up({ db }) {
  await db.collection('marks').insertOne({ mark: 'direct' });
}
`,
  ],
];

interface Ctx {
  db: Db;
  project: TestProject;
  run: (args: string[]) => Promise<CliResult>;
}

function withSeededProject(label: string, fn: (ctx: Ctx) => Promise<void>): Promise<void> {
  return withTestDb(label, async ({ db, dbName }) => {
    const project = await createProject();
    try {
      for (const [name, source] of MIGRATIONS) await project.write(name, source);
      const base = Math.floor(Date.UTC(2024, 0, 1) / 1000);
      // 60 items, every third already at version 2; 30 archived
      await db.collection('items').insertMany(
        Array.from({ length: 60 }, (_, n) => ({ _id: ObjectId.createFromTime(base + n), n, schema_version: n % 3 === 0 ? 2 : 1 })),
      );
      await db.collection('archive').insertMany(Array.from({ length: 30 }, (_, n) => ({ _id: ObjectId.createFromTime(base + n), n })));
      const run = (args: string[]): Promise<CliResult> => runCli(['--db', dbName, ...args], { cwd: project.dir, env: { MONGODB_URI: testUri() } });
      await fn({ db, project, run });
    } finally {
      await project.remove();
    }
  });
}

function ok(result: CliResult, what: string): void {
  assert.equal(result.code, 0, `${what}: expected exit 0, got ${String(result.code)}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
}

/** The lines of `text`, trimmed. */
function lines(text: string): string[] {
  return text.split('\n').map((line) => line.trim());
}

void describe('mongrate up --dry-run', () => {
  void it('prints each helper with its document counts and changes nothing', () =>
    withSeededProject('cli_dry', async ({ db, run }) => {
      const before = await snapshotDb(db);
      const result = await run(['up', '--dry-run']);
      ok(result, 'up --dry-run');
      const out = lines(result.stdout);
      const expected = [
        'Dry run: would run 3 steps, in this order:',
        '↑ up   001-reshape-items',
        'reshape items: transform 25 documents (in batches of 1000)',
        'bumpSchemaVersion items: bring 40 documents to schema_version 2 (server-side updateMany)',
        '↑ up   002-archive',
        "copyAndRename archive: copy 30 documents into 'archive_v2'",
        'ensureIndexes items: build index n_1 (over 60 documents)',
        '↑ up   003-direct',
        'dry run: stopped at a direct write (marks.insertOne); direct writes are not simulated',
        'Nothing was changed.',
      ];
      // in this order, each line once
      let from = 0;
      for (const line of expected) {
        const at = out.indexOf(line, from);
        assert.notEqual(at, -1, `missing (in order) ${JSON.stringify(line)} in:\n${result.stdout}`);
        from = at + 1;
      }
      assert.deepEqual(await snapshotDb(db), before, 'up --dry-run changed the database');

      // the real run touches what the dry run counted
      const real = await run(['up']);
      ok(real, 'up');
      assert.match(real.stdout, /reshape\(items\): 25 matched/);
      assert.equal(await db.collection('items').countDocuments({ flagged: true }), 25);
      assert.equal(await db.collection('archive_v2').countDocuments({ moved: true }), 30);
    }));

  void it('--json carries the plan of each step', () =>
    withSeededProject('cli_dry_json', async ({ db, run }) => {
      const before = await snapshotDb(db);
      const result = await run(['--json', 'up', '--dry-run']);
      ok(result, '--json up --dry-run');
      assert.equal(result.stderr, '');
      const json = parseJson(result);
      assert.equal(json.ok, true);
      assert.equal(json.dryRun, true);
      const steps = json.steps as { id: string; status: string; plan?: { helper: string; collection: string; action: string; documents?: number; note?: string }[]; note?: string }[];
      assert.deepEqual(
        steps.map((s) => [s.id, s.status, (s.plan ?? []).map((p) => `${p.helper} ${p.collection}: ${String(p.documents)}`)]),
        [
          ['001-reshape-items', 'not-run', ['reshape items: 25', 'bumpSchemaVersion items: 40']],
          ['002-archive', 'not-run', ['copyAndRename archive: 30', 'ensureIndexes items: 60']],
          ['003-direct', 'not-run', []],
        ],
      );
      const build = steps[1]?.plan?.[1];
      assert.deepEqual([build?.action, build?.note], ['build index n_1', 'over 60 documents']);
      assert.equal(steps[0]?.note, undefined);
      assert.match(steps[2]?.note ?? '', /direct writes are not simulated/);
      assert.deepEqual(await snapshotDb(db), before, '--json up --dry-run changed the database');
    }));
});
