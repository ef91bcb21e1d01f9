// `init` and `create`, run exactly as a user would: the built bin in a throwaway project folder.
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { changelog, exits, oneLineError, parseJson, runCli, states, type StatusJson, statusTableRows, withCliProject } from '../support/cli.ts';
import { createProject } from '../support/project.ts';
import { testUri } from '../support/database.ts';

void describe('init and create', { concurrency: 4 }, () => {
  void it('init writes migrate.config.ts and migrations/, refuses to overwrite without --force', async () => {
    // bare: no --db, but MONGODB_URI set, as in a shell where the user exported it
    await withCliProject('init', { env: { MONGODB_URI: testUri() } }, async ({ project, db, dbName, bare }) => {
      await rm(project.migrationsDir, { recursive: true });
      const first = await bare(['init', '--db', dbName]);
      exits(first, 0, 'init');
      assert.match(first.stdout, /migrate\.config\.ts/);
      const configPath = join(project.dir, 'migrate.config.ts');
      const config = await readFile(configPath, 'utf8');
      assert.match(config, /defineConfig/);
      assert.ok(config.includes(`'${dbName}'`), `the config names the database:\n${config}`);
      assert.deepEqual(await readdir(project.migrationsDir), []);

      // the written config works as is: no --db needed
      const status = await bare(['status']);
      exits(status, 0, 'status with the config init wrote');
      assert.ok(status.stdout.includes(dbName), status.stdout);

      await writeFile(configPath, `${config}// edited by hand\n`);
      const again = await bare(['init']);
      exits(again, 2, 'init over an existing config');
      oneLineError(again, /already exists.*--force/);
      assert.equal(again.stdout, '');
      assert.match(await readFile(configPath, 'utf8'), /edited by hand/, 'the existing config is untouched');

      const forced = await bare(['init', '--force', '--json', '--db', dbName]);
      exits(forced, 0, 'init --force');
      const doc = parseJson(forced);
      assert.equal(doc.ok, true);
      assert.equal(doc.database, dbName);
      assert.doesNotMatch(await readFile(configPath, 'utf8'), /edited by hand/, '--force overwrote the config');
      assert.deepEqual(await changelog(db), []);
    });
  });

  void it('create add-user-profile writes a timestamped .ts with up and down, listed as pending, and applies', async () => {
    await withCliProject('create', async ({ project, db, run }) => {
      const before = Date.now();
      const result = await run(['create', 'add-user-profile']);
      exits(result, 0, 'create');
      const printed = result.stdout.trim();
      const match = /^migrations\/(\d{14})-add-user-profile\.ts$/.exec(printed);
      assert.ok(match !== null, `create should print migrations/<14 digits>-add-user-profile.ts, got '${printed}'`);
      const stamp = match[1] ?? '';
      // YYYYMMDDHHmmss (UTC) of now
      const parsed = Date.UTC(+stamp.slice(0, 4), +stamp.slice(4, 6) - 1, +stamp.slice(6, 8), +stamp.slice(8, 10), +stamp.slice(10, 12), +stamp.slice(12, 14));
      assert.ok(Math.abs(parsed - before) < 60_000, `timestamp ${stamp} should be the current UTC time`);
      const id = `${stamp}-add-user-profile`;
      assert.deepEqual(await readdir(project.migrationsDir), [`${id}.ts`]);
      const source = await readFile(join(project.dir, printed), 'utf8');
      assert.match(source, /\bup\s*\(/);
      assert.match(source, /\bdown\s*\(/);

      const status = await run(['status', '--json']);
      exits(status, 0, 'status');
      const doc = parseJson(status) as unknown as StatusJson;
      assert.deepEqual(doc.migrations.map((m) => [m.id, m.state]), [[id, 'pending']]);
      assert.equal(doc.migrations[0]?.description, 'Add user profile', 'the description is the name in words, not the slug');
      assert.match(source, /description: "Add user profile",/);

      const up = await run(['up']);
      exits(up, 0, 'up of the generated migration');
      assert.deepEqual(await states(db), { [id]: 'applied' });
    });
  });

  void it('create --js writes a .js migration that runs', async () => {
    await withCliProject('create_js', async ({ project, db, run }) => {
      const result = await run(['create', '--js', 'Seed Default Roles']);
      exits(result, 0, 'create --js');
      const match = /^migrations\/(\d{14}-seed-default-roles)\.js$/.exec(result.stdout.trim());
      assert.ok(match !== null, `unexpected output: ${result.stdout}`);
      const id = match[1] ?? '';
      assert.deepEqual(await readdir(project.migrationsDir), [`${id}.js`]);
      const source = await readFile(join(project.migrationsDir, `${id}.js`), 'utf8');
      assert.match(source, /\bup\s*\(/);
      assert.match(source, /\bdown\s*\(/);
      const status = await run(['status']);
      exits(status, 0, 'status');
      assert.deepEqual(statusTableRows(status.stdout).map((r) => r.slice(0, 2)), [[id, 'pending']]);
      exits(await run(['up']), 0, 'up');
      assert.deepEqual(await states(db), { [id]: 'applied' });
    });
  });

  void it('create refuses names with path separators, .. or nothing usable, and writes nothing', async () => {
    const project = await createProject();
    try {
      for (const name of ['../evil', 'a/b', '!!!', 'a\\b', '..']) {
        const result = await runCli(['create', name], { cwd: project.dir });
        exits(result, 2, `create '${name}'`);
        oneLineError(result, /invalid migration name/);
        assert.equal(result.stdout, '');
      }
      const json = await runCli(['create', '../evil', '--json'], { cwd: project.dir });
      exits(json, 2, `create '../evil' --json`);
      const doc = parseJson(json);
      assert.equal(doc.ok, false);
      assert.equal((doc.error as { code: string }).code, 'USAGE');
      assert.deepEqual(await readdir(project.dir, { recursive: true }), ['migrations'], 'nothing was written anywhere');
    } finally {
      await project.remove();
    }
  });
});
