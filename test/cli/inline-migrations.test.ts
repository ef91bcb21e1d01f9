// Migrations without files, as a bundled application uses them: a program, spawned in a folder
// with no migrations folder at all, applies and lists migrations given as a list (and through a
// provider); then `mongrate status` in such a folder shows the database's changelog.
import { describe, it } from 'node:test';
import { build } from 'esbuild';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exits, parseJson, runCli, runNode } from '../support/cli.ts';
import { withTestDb } from '../support/database.ts';

const DIST = new URL('../../dist/index.js', import.meta.url).href;
const REPO = fileURLToPath(new URL('../..', import.meta.url));

/**
 * `uri` naming `database` in its path, its options kept (`?replicaSet=rs0`). Credentials are
 * checked against the path's database unless `authSource` says otherwise, so a URI with
 * credentials keeps checking them where it did (its own path's database, else admin).
 */
function uriWithDatabase(uri: string, database: string): string {
  const match = /^(mongodb(?:\+srv)?:\/\/)([^/?]*)(?:\/([^?]*))?(?:\?(.*))?$/.exec(uri);
  if (match === null) throw new Error('the test server URI is not a mongodb:// URI');
  const [, scheme = '', hosts = '', path = '', query = ''] = match;
  const options = query === '' ? [] : query.split('&');
  if (hosts.includes('@') && !options.some((option) => /^authSource=/i.test(option))) options.push(`authSource=${path === '' ? 'admin' : path}`);
  return `${scheme}${hosts}/${database}${options.length === 0 ? '' : `?${options.join('&')}`}`;
}

/** A program that gives mongrate its migrations in code; `second` is the source text of 002. */
function program(uri: string, database: string, options: { second: string; provider?: boolean; from?: string }): string {
  return `import { createMigrator } from ${JSON.stringify(options.from ?? DIST)};

const migrations = [
  {
    id: '002-second',
    description: 'second, with its source',
    source: ${JSON.stringify(options.second)},
    async up({ db }) { await db.collection('marks').insertOne({ mark: 'second' }); },
    async down({ db }) { await db.collection('marks').deleteOne({ mark: 'second' }); },
  },
  {
    id: '001-first',
    description: 'first, without a source',
    async up({ db }) { await db.collection('marks').insertOne({ mark: 'first' }); },
  },
];

const migrator = createMigrator({
  uri: ${JSON.stringify(uri)},
  database: ${JSON.stringify(database)},
  migrations: ${options.provider === true ? '{ list: async () => migrations }' : 'migrations'},
});
try {
  // up refuses an applied migration whose source changed (a MongrateError, before anything runs)
  const up = await migrator.up().catch((error) => ({ steps: [], error: { code: error.code, message: error.message } }));
  const status = await migrator.status();
  console.log(JSON.stringify({ up: up.steps.map((s) => s.id + ':' + s.status), error: up.error, states: status.migrations.map((m) => m.id + ':' + m.state) }));
} finally {
  await migrator.close();
}
`;
}

void describe('migrations given in code', () => {
  void it('a program with no migrations folder applies and lists them; status says unchecked without a source, changed when the source changed', () =>
    withTestDb('inline', async ({ db, dbName, uri }) => {
      const dir = await mkdtemp(join(tmpdir(), 'mongrate-bundle-'));
      try {
        const file = join(dir, 'server.mjs');
        await writeFile(file, program(uri, dbName, { second: 'export const up = 1; // v1' }));
        const first = await runNode([file], { cwd: dir });
        exits(first, 0, 'the program');
        const out = JSON.parse(first.stdout) as { up: string[]; states: string[] };
        assert.deepEqual(out.up, ['001-first:success', '002-second:success'], 'applied in id order');
        assert.deepEqual(out.states, ['001-first:unchecked', '002-second:applied']);
        assert.equal(existsSync(join(dir, 'migrations')), false, 'no migrations folder was needed or made');
        assert.deepEqual((await db.collection<{ mark: string }>('marks').find({}).toArray()).map((m) => m.mark).sort(), ['first', 'second']);

        await writeFile(file, program(uri, dbName, { second: 'export const up = 2; // v2', provider: true }));
        const second = await runNode([file], { cwd: dir });
        exits(second, 0, 'the program with a provider, after 002 changed');
        const after = JSON.parse(second.stdout) as { up: string[]; error: { code: string; message: string } | undefined; states: string[] };
        assert.deepEqual(after.states, ['001-first:unchecked', '002-second:changed'], 'an edited source shows as changed');
        assert.equal(after.error?.code, 'CHECK_FAILED', 'up refuses to run on top of an edited migration');
        assert.deepEqual(after.up, []);

        // the `npx mongrate status --uri ...` one-off, in a folder without migrations/
        const status = await runCli(['status', '--uri', uriWithDatabase(uri, dbName)], { cwd: dir });
        exits(status, 0, 'status in a folder without migrations/');
        assert.match(status.stdout, /001-first[^\n]*applied/, status.stdout);
        assert.match(status.stdout, /002-second[^\n]*applied/);
        assert.doesNotMatch(status.stdout, /missing/, 'nothing is missing when there is nothing to compare with');
        assert.match(status.stdout + status.stderr, /migrations folder not found/, 'it says why it shows the changelog only');
        const json = parseJson(await runCli(['status', '--json', '--db', dbName], { cwd: dir, env: { MONGODB_URI: uri } }));
        assert.deepEqual((json.migrations as { id: string; state: string }[]).map((m) => `${m.id}:${m.state}`), ['001-first:applied', '002-second:applied']);
        assert.match(String(json.migrationsUnavailable), /migrations folder not found/);
        exits(await runCli(['up', '--db', dbName], { cwd: dir, env: { MONGODB_URI: uri } }), 2, 'up still needs migrations');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }));

  void it('an application that bundles mongrate into its own file (esbuild) applies them, and records its version as unknown, not the application\'s', () =>
    withTestDb('inline_bundled', async ({ db, dbName, uri }) => {
      const dir = await mkdtemp(join(tmpdir(), 'mongrate-bundle-'));
      try {
        // the application's own package (the driver is left to its node_modules, as --packages=external leaves it)
        await writeFile(join(dir, 'package.json'), '{ "name": "my-app", "version": "9.9.9", "type": "module" }\n');
        await symlink(join(REPO, 'node_modules'), join(dir, 'node_modules'), 'dir');
        await writeFile(join(dir, 'server.mjs'), program(uri, dbName, { second: 'export const up = 1;', from: fileURLToPath(DIST) }));
        await build({ absWorkingDir: dir, entryPoints: ['server.mjs'], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: 'app.mjs', logLevel: 'error' });
        const run = await runNode([join(dir, 'app.mjs')], { cwd: dir });
        exits(run, 0, 'the bundled application');
        assert.deepEqual((JSON.parse(run.stdout) as { up: string[] }).up, ['001-first:success', '002-second:success']);
        const versions = await db.collection('mongrate_history').distinct('toolVersion');
        assert.deepEqual(versions, ['unknown'], "no mongrate package above the bundle: its version is unknown, never the application's 9.9.9");
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }));
});
