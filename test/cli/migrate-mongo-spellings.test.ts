// migrate-mongo's spellings, accepted where they mean what mongrate's mean: `-f/--file` for the
// config, `down -b/--block` for `--last-run`, `init -m esm`. The built CLI, spawned as a user runs it.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { exits, marks, oneLineError, withCliProject } from '../support/cli.ts';
import { markerMigration } from '../support/project.ts';
import { testUri } from '../support/database.ts';

void describe("migrate-mongo's spellings", { concurrency: 2 }, () => {
  void it('-f / --file name the config, as --config does (one of them at most)', async () => {
    await withCliProject('mm_file', async ({ project, db, dbName, bare }) => {
      await project.writeFile('deploy.config.ts', `export default { database: '${dbName}', migrationsDir: 'changes' };\n`);
      await mkdir(join(project.dir, 'changes'));
      await project.writeFile('changes/001-a.ts', markerMigration('a'));
      const env = { MONGODB_URI: testUri() };
      exits(await bare(['-f', 'deploy.config.ts', 'up'], env), 0, '-f deploy.config.ts up');
      assert.deepEqual(await marks(db), ['a']);
      const status = await bare(['status', '--file', 'deploy.config.ts'], env);
      exits(status, 0, 'status --file deploy.config.ts');
      assert.match(status.stdout, /001-a/);
      const both = await bare(['-c', 'deploy.config.ts', '-f', 'deploy.config.ts', 'status'], env);
      exits(both, 2, '--config and --file together');
      assert.match(both.stderr, /^error: option '-c, --config <path>' cannot be used with option '-f, --file <path>'/);
    });
  });

  void it('down -b / --block revert what the newest up run applied, as --last-run does', async () => {
    await withCliProject('mm_block', async ({ project, db, run }) => {
      await project.write('001-a.ts', markerMigration('a'));
      exits(await run(['up']), 0, 'first run');
      await project.write('002-b.ts', markerMigration('b'));
      await project.write('003-c.ts', markerMigration('c'));
      exits(await run(['up']), 0, 'second run');
      const dry = await run(['down', '-b', '--dry-run']);
      exits(dry, 0, 'down -b --dry-run');
      assert.match(dry.stdout, /003-c[\s\S]*002-b/);
      assert.doesNotMatch(dry.stdout, /001-a/);
      exits(await run(['down', '--block']), 0, 'down --block');
      assert.deepEqual(await marks(db), ['a']);
      const both = await run(['down', '-b', '--all']);
      exits(both, 2, 'down -b --all');
      assert.match(both.stderr, /^error: option '-b, --block' cannot be used with option '--all'/);
    });
  });

  void it('init -m esm writes what init writes; another module system is exit 2, writing nothing', async () => {
    await withCliProject('mm_init', async ({ project, bare }) => {
      const other = await bare(['init', '-m', 'commonjs']);
      exits(other, 2, 'init -m commonjs');
      oneLineError(other, /'commonjs' is not offered/);
      assert.equal(existsSync(join(project.dir, 'migrate.config.ts')), false);
      exits(await bare(['init', '-m', 'esm']), 0, 'init -m esm');
      assert.equal(existsSync(join(project.dir, 'migrate.config.ts')), true);
    });
  });
});
