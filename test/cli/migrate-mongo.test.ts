// Adopting a migrate-mongo project, both tools spawned as a user runs them: the real
// migrate-mongo 14.0.7 (a devDependency) applies migrations in two runs (two blocks), then
// `mongrate import migrate-mongo` records them; nothing runs again, `down --last-run` follows
// migrate-mongo's blocks, new files in its style run with (db, client), and an entry imported
// once is never imported again.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { Db } from 'mongodb';
import { type CliResult, exits, parseJson, runCli, runNode, tableState } from '../support/cli.ts';
import { testUri, withTestDb } from '../support/database.ts';
import { createProject, type TestProject } from '../support/project.ts';

const MIGRATE_MONGO = fileURLToPath(new URL('../../node_modules/.bin/migrate-mongo', import.meta.url));

/** A migration in migrate-mongo's style: `up(db, client)` marks the database, through `client` too. */
function migrateMongoFile(mark: string, style: 'cjs' | 'esm' = 'cjs'): string {
  const up = `async (db, client) => {
    await db.collection('marks').insertOne({ mark: ${JSON.stringify(mark)}, viaClient: client.db(db.databaseName).databaseName === db.databaseName });
  }`;
  const down = `async (db) => {
    await db.collection('marks').deleteOne({ mark: ${JSON.stringify(mark)} });
  }`;
  return style === 'cjs' ? `module.exports = {\n  up: ${up},\n  down: ${down},\n};\n` : `export const up = ${up};\nexport const down = ${down};\n`;
}

interface Adoption {
  project: TestProject;
  db: Db;
  dbName: string;
  migrateMongo: (args: string[]) => Promise<CliResult>;
  mongrate: (args: string[]) => Promise<CliResult>;
}

function withAdoption(label: string, fn: (ctx: Adoption) => Promise<void>): Promise<void> {
  return withTestDb(label, async ({ db, dbName }) => {
    const project = await createProject();
    try {
      await fn({
        project,
        db,
        dbName,
        migrateMongo: (args) => runNode([MIGRATE_MONGO, ...args], { cwd: project.dir }),
        // no MONGODB_URI: the connection comes from migrate-mongo's config, as in the user's project
        mongrate: (args) => runCli(args, { cwd: project.dir }),
      });
    } finally {
      await project.remove();
    }
  });
}

async function marks(db: Db): Promise<string[]> {
  return (await db.collection<{ mark: string }>('marks').find({}).toArray()).map((m) => m.mark).sort();
}

const sha256 = (text: string): string => `sha256:${createHash('sha256').update(text).digest('hex')}`;

void describe('mongrate import migrate-mongo', { concurrency: 2 }, () => {
  void it('adopts a CommonJS project: two blocks imported as two runs, nothing re-runs, down --last-run follows the blocks, new files run with (db, client)', () =>
    withAdoption('mm_adopt', async (ctx) => {
      const { project, db, dbName } = ctx;
      // the URL comes from the environment of the user's config, as such configs often do
      await project.writeFile(
        'migrate-mongo-config.js',
        `module.exports = {
  mongodb: { url: ${JSON.stringify(testUri())}, databaseName: ${JSON.stringify(dbName)}, options: {} },
  migrationsDir: 'migrations',
  changelogCollectionName: 'changelog',
  migrationFileExtension: '.js',
  useFileHash: false,
  moduleSystem: 'commonjs',
};
`,
      );
      await project.writeFile('package.json', '{ "name": "legacy-app", "private": true }\n');
      const files: Record<string, string> = {};
      for (const id of ['20240101000000-a', '20240102000000-b']) files[id] = migrateMongoFile(id);
      for (const [id, source] of Object.entries(files)) await project.write(`${id}.js`, source);
      exits(await ctx.migrateMongo(['up']), 0, 'migrate-mongo up (block 1)');
      for (const id of ['20240103000000-c', '20240104000000-d']) {
        files[id] = migrateMongoFile(id);
        await project.write(`${id}.js`, files[id]);
      }
      exits(await ctx.migrateMongo(['up']), 0, 'migrate-mongo up (block 2)');
      const theirs = await db.collection('changelog').find({}, { sort: { fileName: 1 } }).toArray();
      assert.equal(new Set(theirs.map((e) => e.migrationBlock as number)).size, 2, 'migrate-mongo made two blocks');

      const dry = await ctx.mongrate(['import', 'migrate-mongo', '--dry-run']);
      exits(dry, 0, 'import --dry-run');
      assert.match(dry.stdout, /Would import 4 migrations in 2 runs/);
      assert.match(dry.stdout, /Nothing was changed/);
      assert.equal(await db.collection('mongrate_changelog').countDocuments(), 0, 'a dry run records nothing');
      assert.equal(existsSync(join(project.dir, 'migrate.config.ts')), false, 'a dry run writes no config');

      const imported = await ctx.mongrate(['import', 'migrate-mongo']);
      exits(imported, 0, 'import');
      assert.match(imported.stdout, /Imported 4 migrations in 2 runs/);
      const records = await db.collection<{ _id: string; state: string; checksum: string; runId: string; importedFrom: string; startedAt: Date; finishedAt: Date }>('mongrate_changelog').find({}).sort({ _id: 1 }).toArray();
      assert.deepEqual(records.map((r) => [r._id, r.state, r.importedFrom]), Object.keys(files).map((id) => [id, 'applied', 'migrate-mongo']));
      for (const record of records) {
        assert.equal(record.checksum, sha256(files[record._id] ?? ''), `${record._id}: the checksum of the file as it is now`);
        const entry = theirs.find((e) => e.fileName === `${record._id}.js`);
        assert.deepEqual(record.finishedAt, entry?.appliedAt, 'applied-at from migrate-mongo');
      }
      assert.equal(new Set(records.map((r) => r.runId)).size, 2, 'one run per migrationBlock');
      const history = await db.collection('mongrate_history').find({ event: 'import' }).toArray();
      assert.equal(history.length, 4, 'history says what was imported');
      assert.deepEqual(await db.collection('changelog').find({}, { sort: { fileName: 1 } }).toArray(), theirs, "migrate-mongo's changelog is untouched");

      const config = await readFile(join(project.dir, 'migrate.config.ts'), 'utf8');
      assert.match(config, /compat: 'migrate-mongo'/);
      assert.match(config, /from "\.\/migrate-mongo-config\.js"/);
      assert.doesNotMatch(config, /mongodb:\/\/|127\.0\.0\.1|localhost/, 'no connection string is copied');

      const status = await ctx.mongrate(['status']);
      exits(status, 0, 'status after the import');
      for (const id of Object.keys(files)) assert.equal(tableState(status.stdout, id), 'applied', status.stdout);
      const up = await ctx.mongrate(['up']);
      exits(up, 0, 'up after the import');
      assert.match(up.stdout, /Nothing to apply/);
      assert.deepEqual(await marks(db), Object.keys(files), 'each migration ran once, by migrate-mongo');

      const down = await ctx.mongrate(['down', '--last-run']);
      exits(down, 0, 'down --last-run');
      assert.match(down.stdout, /reverted 20240104000000-d[\s\S]*reverted 20240103000000-c/, 'the second block, newest first');
      assert.deepEqual(await marks(db), ['20240101000000-a', '20240102000000-b']);

      const again = await ctx.mongrate(['import', 'migrate-mongo', '--json']);
      exits(again, 0, 'a second import');
      const second = parseJson(again);
      assert.deepEqual(second.imported, [], 'a second import adds nothing');
      assert.deepEqual(
        (second.skipped as { id: string; reason: string }[]).map((s) => `${s.id}:${s.reason}`),
        ['20240101000000-a:recorded', '20240102000000-b:recorded', '20240103000000-c:imported-before', '20240104000000-d:imported-before'],
        'what mongrate reverted is not imported again',
      );
      assert.equal((second.config as { written: boolean }).written, false, 'the config is kept');

      // new files in migrate-mongo's style (and its template, never a migration) next to the old ones
      await project.write('20240105000000-e.js', migrateMongoFile('20240105000000-e'));
      await project.write('sample-migration.js', "module.exports = { up() { throw new Error('the template ran'); } };\n");
      const upAgain = await ctx.mongrate(['up']);
      exits(upAgain, 0, 'up: the reverted block and the new file');
      assert.match(upAgain.stdout, /Done: applied 3 migrations/);
      const all = await db.collection<{ mark: string; viaClient: boolean }>('marks').find({}).toArray();
      assert.deepEqual(all.map((m) => m.mark).sort(), [...Object.keys(files), '20240105000000-e']);
      assert.ok(all.every((m) => m.viaClient), 'every file was called with (db, client)');
      exits(await ctx.migrateMongo(['status']), 0, 'migrate-mongo still reads its own changelog');
    }));

  void it('an ESM config exporting a promise, a custom folder, changelog collection and extension, useFileHash, a file gone', () =>
    withAdoption('mm_esm', async (ctx) => {
      const { project, db, dbName } = ctx;
      await project.writeFile('package.json', '{ "name": "legacy-esm", "private": true, "type": "module" }\n');
      await project.writeFile(
        'mm.config.js',
        `export default (async () => ({
  mongodb: { url: ${JSON.stringify(testUri())}, databaseName: ${JSON.stringify(dbName)} },
  migrationsDir: 'db/changes',
  changelogCollectionName: 'applied_changes',
  migrationFileExtension: '.cjs',
  useFileHash: true,
  moduleSystem: 'esm',
}))();
`,
      );
      const dir = join(project.dir, 'db', 'changes');
      await mkdir(dir, { recursive: true });
      const ids = ['20240201000000-one', '20240202000000-two', '20240203000000-three'];
      for (const id of ids) await writeFile(join(dir, `${id}.cjs`), migrateMongoFile(id));
      exits(await ctx.migrateMongo(['up', '-f', 'mm.config.js']), 0, 'migrate-mongo up with an ESM config exporting a promise');
      await rm(join(dir, '20240202000000-two.cjs'));
      await writeFile(join(dir, '20240203000000-three.cjs'), migrateMongoFile('20240203000000-three') + '// edited after it ran\n');

      const result = await ctx.mongrate(['import', 'migrate-mongo', '--from', 'mm.config.js', '--json']);
      exits(result, 0, 'import --from an ESM config');
      const doc = parseJson(result);
      assert.deepEqual((doc.imported as { id: string; state: string }[]).map((i) => `${i.id}:${i.state}`), [
        '20240201000000-one:applied',
        '20240202000000-two:missing',
        '20240203000000-three:applied',
      ]);
      assert.match((doc.notes as string[]).join('\n'), /20240203000000-three\.cjs changed since migrate-mongo last ran it/);
      assert.equal(await db.collection('applied_changes').countDocuments(), 3, 'its changelog is left as it was');
      const config = await readFile(join(project.dir, 'migrate.config.ts'), 'utf8');
      assert.match(config, /from "\.\/mm\.config\.js"/);

      const status = await ctx.mongrate(['status']);
      exits(status, 0, 'status through the written config');
      assert.equal(tableState(status.stdout, '20240201000000-one'), 'applied', status.stdout);
      assert.equal(tableState(status.stdout, '20240202000000-two'), 'missing', status.stdout);
      assert.equal(tableState(status.stdout, '20240203000000-three'), 'applied', status.stdout);
    }));
});
