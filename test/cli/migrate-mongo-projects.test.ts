// migrate-mongo projects as they are found, through the built CLI: a MONGODB_URI naming another
// application's database is used by no command (import, status and up all target migrate-mongo's
// config, and say so); a `url` whose environment variable is unset is a config error naming it,
// never localhost; several migrate-mongo configs side by side each get a mongrate config and the
// command that runs it; and the errors of a project not adopted yet lead to the import.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Db } from 'mongodb';
import { type CliResult, exits, oneLineError, runCli, runNode } from '../support/cli.ts';
import { testUri, uniqueDbName, withTestDb } from '../support/database.ts';
import { createProject, type TestProject } from '../support/project.ts';

const MIGRATE_MONGO = fileURLToPath(new URL('../../node_modules/.bin/migrate-mongo', import.meta.url));

/** The test server's connection string with `db` as its path (the query, if any, kept). */
function uriWithDatabase(uri: string, db: string): string {
  const start = uri.indexOf('://') + 3;
  const rest = uri.slice(start);
  const query = rest.includes('?') ? rest.slice(rest.indexOf('?')) : '';
  const hosts = rest.slice(0, rest.length - query.length).split('/')[0] ?? '';
  return `${uri.slice(0, start)}${hosts}/${db}${query}`;
}

/**
 * A migrate-mongo config; `url` is code (a string literal, or `process.env.X`). Its legacy client
 * options are another test's (migrate-mongo-oracle): each test here fails on its own cause.
 */
function migrateMongoConfig(url: string, options: { databaseName?: string; migrationsDir?: string } = {}): string {
  const database = options.databaseName === undefined ? '' : ` databaseName: ${JSON.stringify(options.databaseName)},`;
  return `module.exports = {
  mongodb: { url: ${url},${database} options: {} },
  migrationsDir: ${JSON.stringify(options.migrationsDir ?? 'migrations')},
  changelogCollectionName: 'changelog',
  migrationFileExtension: '.js',
  useFileHash: false,
};
`;
}

const markFile = (mark: string): string => `module.exports = {
  async up(db) { await db.collection('marks').insertOne({ mark: ${JSON.stringify(mark)} }); },
  async down(db) { await db.collection('marks').deleteOne({ mark: ${JSON.stringify(mark)} }); },
};
`;

async function marks(db: Db): Promise<string[]> {
  return (await db.collection<{ mark: string }>('marks').find({}).toArray()).map((m) => m.mark).sort();
}

async function withProject(fn: (project: TestProject) => Promise<void>): Promise<void> {
  const project = await createProject();
  try {
    await project.writeFile('package.json', '{ "name": "legacy-app", "private": true }\n');
    await fn(project);
  } finally {
    await project.remove();
  }
}

const mongrate = (project: TestProject, args: string[], env?: Record<string, string>): Promise<CliResult> => runCli(args, { cwd: project.dir, ...(env === undefined ? {} : { env }) });

void describe('migrate-mongo projects as they are found', { concurrency: 2 }, () => {
  void it("a MONGODB_URI naming another database is used by no command: import, status and up target migrate-mongo's, and say so", () =>
    withTestDb('mm_env_theirs', async ({ client, db, dbName }) => {
      const other = client.db(uniqueDbName('mm_env_other'));
      try {
        await withProject(async (project) => {
          // the database in the URL's path, as many migrate-mongo configs name it; another app's in the environment
          await project.writeFile('migrate-mongo-config.js', migrateMongoConfig(JSON.stringify(uriWithDatabase(testUri(), dbName))));
          await project.write('20240101000000-a.js', markFile('a'));
          const env = { MONGODB_URI: uriWithDatabase(testUri(), other.databaseName) };
          const notice = /MONGODB_URI is set but not used: with compat: 'migrate-mongo' every command targets what migrate-mongo would, the server \S+ from \S+ \(pass --uri to choose another\)/;

          const imported = await mongrate(project, ['import', 'migrate-mongo'], env);
          exits(imported, 0, 'import');
          const status = await mongrate(project, ['status'], env);
          exits(status, 0, 'status');
          exits(await mongrate(project, ['up'], env), 0, 'up');
          assert.deepEqual(await marks(db), ['a'], "applied to migrate-mongo's database");
          assert.match(imported.stdout, new RegExp(`changelog in ${dbName} at`));
          assert.match(status.stdout, new RegExp(`database ${dbName}: 1 pending`));
          for (const result of [imported, status]) assert.match(result.stderr, notice);
          assert.deepEqual(await other.listCollections().toArray(), [], 'nothing written to the other one');
        });
      } finally {
        await other.dropDatabase().catch(() => undefined);
      }
    }));

  void it("a url whose environment variable is unset is a config error naming migrate-mongo's key, for every command", () =>
    withTestDb('mm_unset_url', async ({ db, dbName }) => {
      await withProject(async (project) => {
        await project.writeFile('migrate-mongo-config.js', migrateMongoConfig('process.env.MONGO_URL', { databaseName: dbName }));
        await project.write('20240101000000-a.js', markFile('a'));
        const unset = await mongrate(project, ['import', 'migrate-mongo']);
        exits(unset, 2, 'import with MONGO_URL unset');
        oneLineError(unset, /migrate-mongo-config\.js: migrate-mongo's `mongodb\.url` is undefined \(is the environment variable it reads set\?\); migrate-mongo refuses this config too/);
        exits(await mongrate(project, ['import', 'migrate-mongo'], { MONGO_URL: testUri() }), 0, 'import with MONGO_URL set');
        for (const args of [['status'], ['up', '--dry-run'], ['up']]) {
          // a MONGODB_URI does not stand in for it either: migrate-mongo would not read it
          const result = await mongrate(project, args, { MONGODB_URI: testUri() });
          exits(result, 2, `${args.join(' ')} with MONGO_URL unset`);
          oneLineError(result, /`uri` is undefined: with compat: 'migrate-mongo' it is migrate-mongo's `mongodb\.url`, which is undefined \(is the environment variable it reads set\?\)/);
        }
        assert.deepEqual(await marks(db), [], 'nothing ran');
      });
    }));

  void it('several migrate-mongo configs side by side: each import writes its own mongrate config and prints the command that runs it', () =>
    withTestDb('mm_users', async ({ client, db: users, dbName }) => {
      const billing = client.db(uniqueDbName('mm_billing'));
      try {
        await withProject(async (project) => {
          for (const [service, database] of [['users', dbName], ['billing', billing.databaseName]] as const) {
            await project.writeFile(
              `migrate-mongo-config-${service}.js`,
              migrateMongoConfig(JSON.stringify(uriWithDatabase(testUri(), database)), { migrationsDir: `${service}/migrations` }),
            );
            await mkdir(join(project.dir, service, 'migrations'), { recursive: true });
            await writeFile(join(project.dir, service, 'migrations', `20240101000000-${service}.js`), markFile(service));
            exits(await runNode([MIGRATE_MONGO, 'up', '-f', `migrate-mongo-config-${service}.js`], { cwd: project.dir }), 0, `migrate-mongo up (${service})`);
          }
          const first = await mongrate(project, ['import', 'migrate-mongo', '--from', 'migrate-mongo-config-users.js']);
          exits(first, 0, 'import users');
          assert.match(first.stdout, /Run its migrations with: mongrate status \(then up, down, \.\.\.\)/);
          const second = await mongrate(project, ['import', 'migrate-mongo', '--from', 'migrate-mongo-config-billing.js']);
          exits(second, 0, 'import billing');
          assert.match(second.stdout, /Wrote migrate\.billing\.config\.ts \(compat: 'migrate-mongo'; it reads the connection from migrate-mongo-config-billing\.js\), beside migrate\.config\.ts, which is for another source/);
          assert.match(second.stdout, /Run its migrations with: mongrate --config migrate\.billing\.config\.ts status/);
          assert.match(await readFile(join(project.dir, 'migrate.billing.config.ts'), 'utf8'), /from "\.\/migrate-mongo-config-billing\.js"/);

          await writeFile(join(project.dir, 'billing', 'migrations', '20240102000000-billing-2.js'), markFile('billing-2'));
          exits(await mongrate(project, ['--config', 'migrate.billing.config.ts', 'up']), 0, 'up through the billing config');
          assert.deepEqual(await marks(billing), ['billing', 'billing-2']);
          const status = await mongrate(project, ['status']);
          exits(status, 0, 'status through migrate.config.ts');
          assert.match(status.stdout, new RegExp(`database ${dbName}: 1 applied`));
          assert.deepEqual(await marks(users), ['users']);

          const named = await mongrate(project, ['import', 'migrate-mongo', '--from', 'migrate-mongo-config-billing.js', '--out', 'configs/billing.ts', '--dry-run']);
          exits(named, 0, 'import --out --dry-run');
          assert.match(named.stdout, /Then run its migrations with: mongrate --config configs\/billing\.ts status/);
          assert.equal(existsSync(join(project.dir, 'configs')), false, 'a dry run writes nothing');
        });
      } finally {
        await billing.dropDatabase().catch(() => undefined);
      }
    }));

  void it('commands next to a migrate-mongo config not imported yet say to run the import; a migrate-mongo file without compat fails saying how to run it', () =>
    withTestDb('mm_not_adopted', async ({ db, dbName }) => {
      await withProject(async (project) => {
        await project.writeFile('migrate-mongo-config.js', migrateMongoConfig(JSON.stringify(uriWithDatabase(testUri(), dbName))));
        await project.write('20240101000000-a.js', markFile('a'));
        for (const args of [['status'], ['up']]) {
          const result = await mongrate(project, args, { MONGODB_URI: uriWithDatabase(testUri(), dbName) });
          exits(result, 2, args.join(' '));
          oneLineError(result, /no mongrate config here, but migrate-mongo's \(migrate-mongo-config\.js\): run `mongrate import migrate-mongo` to adopt the project/);
        }

        // a mongrate config without compat over migrate-mongo's files
        await project.writeFile('migrate.config.json', JSON.stringify({ uri: testUri(), database: dbName }));
        const up = await mongrate(project, ['up']);
        exits(up, 2, 'up without compat');
        oneLineError(up, /migration migrations\/20240101000000-a\.js is written for migrate-mongo \(up\(db, client\)\), but this config calls migrations with mongrate's context .*set compat: 'migrate-mongo' in the config \(`mongrate import migrate-mongo` adopts/);
        assert.doesNotMatch(up.stderr, /is not a function/);
        assert.deepEqual(await marks(db), []);
      });
    }));
});
