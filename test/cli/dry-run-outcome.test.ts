// What a dry run tells, run as a user would against the test server: exit 1 (and `--json` ok:false)
// when the simulation already knows the real run would fail, exit 0 otherwise; helpers in a dry
// run return what they would consider, marked as a dry run; plans say in words what happens; and
// counts that earlier steps would change say so (the up half of a redo).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Db } from 'mongodb';
import { exits, parseJson, withCliProject } from '../support/cli.ts';
import { markerMigration } from '../support/project.ts';
import { probeServer } from '../../src/server/capabilities.ts';
import { snapshotDb } from '../support/snapshot.ts';

/** Throws a TypeError from its own code, as a migration with a bug does. */
const BUGGY = `import { defineMigration } from 'mongrate';
export default defineMigration({
  async up({ helpers }) {
    await helpers.reshape('items', { transform: (doc) => ({ ...doc, seen: true }) });
    const settings = undefined;
    settings.theme = 'dark';
  },
  async down() {},
});
`;

/** Replaces a collection with a copy: needs renameCollection dropTarget, or allowBriefGap. */
const COPY_OVER = `import { defineMigration } from 'mongrate';
export default defineMigration({
  transaction: false,
  async up({ helpers }) {
    await helpers.copyAndRename('items', { transform: (doc) => ({ ...doc, copied: true }) });
  },
  async down() {},
});
`;

/** Logs what its helpers return, the way a migration reports its own work. */
const REPORTING = `import { defineMigration } from 'mongrate';
export default defineMigration({
  transaction: false,
  async up({ helpers, log }) {
    const renamed = await helpers.reshape('items', { filter: { n: { $lt: 10 } }, transform: ({ n, ...doc }) => ({ ...doc, number: n }) });
    log(renamed.dryRun ? \`\${renamed.matched} items would be renamed\` : \`\${renamed.modified} items renamed\`);
    const dropped = await helpers.dropIndexes('items', ['n_1']);
    log(\`dropIndexes says: \${dropped.dropped.join(', ')} (dry run: \${String(dropped.dryRun === true)})\`);
  },
  async down() {},
});
`;

/** `down` takes users back to version 1, `up` brings them to 2: a redo's up meets what its down did. */
const VERSIONED = `import { defineMigration } from 'mongrate';
export default defineMigration({
  async up({ helpers }) { await helpers.bumpSchemaVersion('items', { to: 2 }); },
  async down({ helpers }) { await helpers.bumpSchemaVersion('items', { to: 1 }); },
});
`;

interface Item {
  _id: number;
  n: number;
  schema_version: number;
}

/** Inserts `count` items at schema version 1. */
async function seed(db: Db, count: number): Promise<void> {
  await db.collection<Item>('items').insertMany(Array.from({ length: count }, (_, i) => ({ _id: i, n: i, schema_version: 1 })));
}

interface DryRunDoc {
  ok: boolean;
  dryRun: boolean;
  runId?: unknown;
  steps: { id: string; status: string; error?: string; logs?: string[]; caveat?: string; plan?: { helper: string; action: string; documents?: number }[] }[];
  error?: { code: string; message: string; id?: string };
}

void describe('dry run outcomes', { concurrency: 4 }, () => {
  void it('a migration that throws: exit 1, the step marked, later steps not simulated, --json ok:false; nothing changed', () =>
    withCliProject('dry_throws', async ({ project, db, run }) => {
      await seed(db, 20);
      await project.write('001-a.ts', markerMigration('a'));
      await project.write('002-buggy.ts', BUGGY);
      await project.write('003-c.ts', markerMigration('c'));
      const before = await snapshotDb(db);

      const result = await run(['up', '--dry-run']);
      exits(result, 1, 'up --dry-run with a migration that throws');
      // (001-a stopped at its direct write, which the counts after it cannot see: the caveat)
      assert.match(result.stdout, /↑ up {3}002-buggy\n {6}reshape items: transform 20 documents \(in batches of 1000\)\n {6}\(counted on [^)]*\)\n {6}✖ the real run would fail here/);
      assert.match(result.stdout, /003-c \(not simulated: the run would stop before it\)/);
      assert.match(result.stdout, /Nothing was changed\./);
      const errors = result.stderr.trimEnd().split('\n');
      assert.equal(errors.length, 1, `one error line:\n${result.stderr}`);
      assert.match(errors[0] ?? '', /^error: migration 002-buggy would fail: Cannot set properties of undefined \(setting 'theme'\)/);

      const json = await run(['--json', 'up', '--dry-run']);
      exits(json, 1, '--json up --dry-run with a migration that throws');
      const doc = parseJson(json) as unknown as DryRunDoc;
      assert.equal(doc.ok, false);
      assert.equal(doc.dryRun, true);
      assert.deepEqual([doc.error?.code, doc.error?.id], ['MIGRATION_FAILED', '002-buggy']);
      assert.deepEqual(doc.steps.map((s) => [s.id, s.status]), [['001-a', 'not-run'], ['002-buggy', 'failed'], ['003-c', 'not-run']]);
      assert.match(doc.steps[1]?.error ?? '', /setting 'theme'/);
      assert.deepEqual(await snapshotDb(db), before, 'the dry run changed nothing');
    }));

  void it('a helper that needs a feature the server lacks: exit 1 naming it (copyAndRename over a collection without dropTarget)', (t) =>
    withCliProject('dry_feature', async ({ project, db, run }) => {
      const server = await probeServer(db);
      if (server.supports('renameDropTarget')) {
        t.skip(`${server.describe()} has renameCollection dropTarget [renameDropTarget]: the copy would be swapped in`);
        return;
      }
      await seed(db, 5);
      await project.write('001-copy.ts', COPY_OVER);
      const result = await run(['up', '--dry-run']);
      exits(result, 1, 'up --dry-run of a copyAndRename the server cannot swap in');
      assert.match(result.stderr, /^error: migration 001-copy would fail: copyAndRename\(items\) needs .*renameDropTarget/m);
      const real = await run(['up']);
      exits(real, 1, 'the real run fails the same way');
    }));

  void it('a clean plan, and one that stops at a direct write, exit 0; --json has ok:true and no runId', () =>
    withCliProject('dry_clean', async ({ project, db, run }) => {
      await seed(db, 5);
      await project.write('001-a.ts', markerMigration('a'));
      const result = await run(['--json', 'up', '--dry-run']);
      exits(result, 0, 'up --dry-run that stops at a direct write');
      const doc = parseJson(result) as unknown as DryRunDoc;
      assert.equal(doc.ok, true);
      assert.equal('runId' in doc, false, `a dry run records nothing, so it has no run id: ${result.stdout}`);
      assert.equal(doc.error, undefined);
    }));

  void it('helpers return what they would consider, marked dryRun; plans say an index is dropped', () =>
    withCliProject('dry_results', async ({ project, db, run }) => {
      await seed(db, 30);
      await db.collection<Item>('items').createIndexes([{ key: { n: 1 }, name: 'n_1' }]);
      await project.write('001-report.ts', REPORTING);
      const result = await run(['up', '--dry-run']);
      exits(result, 0, 'up --dry-run');
      const lines = result.stdout.split('\n').map((line) => line.trim());
      for (const expected of [
        'reshape items: transform 10 documents (in batches of 1000)',
        'dropIndexes items: drop index n_1',
        '10 items would be renamed',
        'dropIndexes says: n_1 (dry run: true)',
      ]) {
        assert.ok(lines.includes(expected), `missing ${JSON.stringify(expected)} in:\n${result.stdout}`);
      }
      assert.doesNotMatch(result.stdout, /\b0 documents|\d items renamed/, 'no count of nothing');
      const real = await run(['up']);
      exits(real, 0, 'up');
      assert.match(real.stdout, /10 items renamed/);
      assert.match(real.stdout, /dropIndexes says: n_1 \(dry run: false\)/);
    }));

  void it("redo --dry-run: the up half's counts say the down before it would change them", () =>
    withCliProject('dry_redo', async ({ project, db, run }) => {
      await seed(db, 12);
      await project.write('001-versioned.ts', VERSIONED);
      exits(await run(['up']), 0, 'up');
      const result = await run(['redo', '--dry-run']);
      exits(result, 0, 'redo --dry-run');
      const out = result.stdout;
      assert.match(out, /↓ down 001-versioned\n {6}bumpSchemaVersion items: bring 12 documents to schema_version 1/);
      assert.match(
        out,
        /↑ up {3}001-versioned\n {6}bumpSchemaVersion items: bring 0 documents to schema_version 2 \(server-side updateMany\)\n {6}\(counted on the database as it is now: the steps before this one would change it first\)/,
      );
      const json = parseJson(await run(['--json', 'redo', '--dry-run'])) as unknown as DryRunDoc;
      assert.deepEqual(json.steps.map((s) => s.caveat === undefined), [true, false]);
    }));
});
