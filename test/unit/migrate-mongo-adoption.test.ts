// Unit tests of what makes a migrate-mongo project run as it is found: its legacy client options,
// one precedence rule for the target (the environment is not migrate-mongo's), an undefined url
// refused, migrate-mongo's file order, where `import` writes a config per source, and a file in
// migrate-mongo's style refused outside compat mode with the way in. No server.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { migrateMongoOrder, refuseMigrateMongoStyle } from '../../src/compat/migrate-mongo/calls.ts';
import type { MigrateMongoSettings } from '../../src/compat/migrate-mongo/config.ts';
import { configTargetFor, migrateMongoConfigTemplate } from '../../src/compat/migrate-mongo/config-template.ts';
import { mergeConfig } from '../../src/config/resolve.ts';
import { validateConfig } from '../../src/config/schema.ts';
import { computeStatus, planUp } from '../../src/core/plan.ts';
import { defineMigration } from '../../src/define.ts';
import { clientOptionsFor } from '../../src/driver/client-options.ts';
import type { ChangelogRecord } from '../../src/changelog/contract.ts';
import { appliedRecord } from '../support/records.ts';
import type { ListedMigration } from '../../src/types.ts';
import { isError } from '../support/assertions.ts';

const merge = (config: Record<string, unknown>, options: { overrides?: Record<string, string>; env?: Record<string, string> } = {}): ReturnType<typeof mergeConfig> =>
  mergeConfig(validateConfig(config, 'test'), { baseDir: '/app', configFile: '/app/migrate.config.ts', ...options });

const compat = { uri: 'mongodb://mm-host:27017', database: 'app', compat: 'migrate-mongo' };

void describe("migrate-mongo's config options", () => {
  void it('useNewUrlParser and useUnifiedTopology are dropped with one notice; the rest is kept', () => {
    const resolved = merge({ ...compat, clientOptions: { useNewUrlParser: true, useUnifiedTopology: true, maxPoolSize: 5 } });
    assert.deepEqual(resolved.clientOptions, { serverSelectionTimeoutMS: 30_000, maxPoolSize: 5 });
    assert.deepEqual(resolved.notices, [
      'ignored the client options useNewUrlParser, useUnifiedTopology (/app/migrate.config.ts): they have had no effect since the mongodb driver 4.0, and 7.x refuses them',
    ]);
    assert.deepEqual(merge({ ...compat, clientOptions: { maxPoolSize: 5 } }).notices, []);
  });

  void it("options written for the driver 4.x/5.x are translated for mongrate's 6.x/7.x client, and left alone for 4.x/5.x", () => {
    const legacy = { keepAlive: true, sslValidate: false, sslCA: '/certs/ca.pem', sslPass: 'secret', maxPoolSize: 5 };
    assert.deepEqual(clientOptionsFor(legacy, 7), { tlsAllowInvalidCertificates: true, tlsCAFile: '/certs/ca.pem', passphrase: 'secret', maxPoolSize: 5 });
    assert.deepEqual(clientOptionsFor(legacy, 4), legacy);
  });
});

void describe('one target for every command', () => {
  void it("compat: 'migrate-mongo' targets migrate-mongo's server and database: a flag beats it, the environment does not", () => {
    const env = { MONGODB_URI: 'mongodb://other-app:27017/otherapp', MONGODB_DATABASE: 'otherapp' };
    const resolved = merge({ uri: 'mongodb://mm-host:27017/app', compat: 'migrate-mongo' }, { env });
    assert.deepEqual([resolved.uri, resolved.database], ['mongodb://mm-host:27017/app', 'app']);
    assert.equal(resolved.notices.length, 2);
    assert.match(resolved.notices[0] ?? '', /^MONGODB_URI is set but not used: with compat: 'migrate-mongo' every command targets what migrate-mongo would, the server mongodb:\/\/mm-host:27017\/app from \/app\/migrate\.config\.ts \(pass --uri to choose another\)$/);
    assert.match(resolved.notices[1] ?? '', /^MONGODB_DATABASE is set but not used: .* the database app from /);
    const flagged = merge({ uri: 'mongodb://mm-host:27017/app', compat: 'migrate-mongo' }, { env, overrides: { uri: 'mongodb://flag-host/flagged', db: 'chosen' } });
    assert.deepEqual([flagged.uri, flagged.database, flagged.notices], ['mongodb://flag-host/flagged', 'chosen', []]);
    assert.deepEqual(merge({ uri: 'mongodb://mm-host:27017/app', compat: 'migrate-mongo' }, { env: { MONGODB_URI: 'mongodb://mm-host:27017/app' } }).notices, [], 'the same value: nothing to say');
  });

  void it("compat: its database, else the URL's path, else `test` (the driver's default, where migrate-mongo wrote)", () => {
    assert.equal(merge({ uri: 'mongodb://h/app', database: 'named', compat: 'migrate-mongo' }).database, 'named');
    assert.equal(merge({ uri: 'mongodb://h/app', compat: 'migrate-mongo' }).database, 'app');
    assert.equal(merge({ uri: 'mongodb://h', compat: 'migrate-mongo' }).database, 'test');
  });

  void it('native configs keep flag > environment > config', () => {
    const resolved = merge({ uri: 'mongodb://config-host', database: 'app' }, { env: { MONGODB_URI: 'mongodb://env-host' } });
    assert.deepEqual([resolved.uri, resolved.notices], ['mongodb://env-host', []]);
  });

  void it("compat: an undefined url (its environment variable unset) is a config error naming migrate-mongo's key, never localhost", () => {
    assert.throws(() => merge({ database: 'app', compat: 'migrate-mongo' }), isError('CONFIG', /`uri` is undefined: with compat: 'migrate-mongo' it is migrate-mongo's `mongodb\.url`, which is undefined \(is the environment variable it reads set\?\)/));
    assert.throws(() => merge({ database: 'app', compat: 'migrate-mongo' }, { env: { MONGODB_URI: 'mongodb://env-host' } }), isError('CONFIG', /mongodb\.url/), 'nor the environment');
    assert.equal(merge({ database: 'app', compat: 'migrate-mongo' }, { overrides: { uri: 'mongodb://flag-host' } }).uri, 'mongodb://flag-host');
    // `create` connects to nothing: it works without one
    assert.equal(mergeConfig(validateConfig({ compat: 'migrate-mongo' }, 'test'), { baseDir: '/app', requireDatabase: false }).database, '');
  });
});

const listed = (id: string): ListedMigration => ({ id, checksum: `sha256:${id}`, description: undefined, path: `/m/${id}.js` });
const applied = (id: string, at: number): ChangelogRecord => appliedRecord(id, at);

void describe("migrate-mongo's order", () => {
  void it("sorts ids as migrate-mongo sorts file names with their extension: 'X-index' before 'X'", () => {
    const ids = ['20240101000000-users', '20240101000000-users-index', '20240102000000-a'];
    assert.deepEqual([...ids].sort(migrateMongoOrder), ['20240101000000-users-index', '20240101000000-users', '20240102000000-a']);
    const files = ids.map(listed);
    assert.deepEqual(planUp(files, [], {}, undefined, migrateMongoOrder).map((m) => m.id), ['20240101000000-users-index', '20240101000000-users', '20240102000000-a']);
    assert.deepEqual(computeStatus('db', files, [], undefined, undefined, migrateMongoOrder).migrations.map((m) => m.id), [...ids].sort(migrateMongoOrder));
    // migrate-mongo applied 'users-index' first: in its order nothing is out of order
    const status = computeStatus('db', files, [applied('20240101000000-users-index', 1)], undefined, undefined, migrateMongoOrder);
    assert.deepEqual(status.migrations.map((m) => m.state), ['applied', 'pending', 'pending']);
  });
});

void describe("import's config, one per migrate-mongo config", () => {
  const settingsFor = (file: string, migrationsDir: string): MigrateMongoSettings => ({
    file,
    url: 'mongodb://h',
    databaseName: 'app',
    options: undefined,
    migrationsDir,
    changelogCollectionName: 'changelog',
    migrationFileExtension: '.js',
    useFileHash: false,
    lockCollectionName: undefined,
    lockTtl: 0,
    moduleSystem: undefined,
  });

  void it('the first writes migrate.config.ts; another source gets a name derived from it and the --config that runs it; --out names it', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'mongrate-unit-'));
    try {
      const users = settingsFor(join(cwd, 'migrate-mongo-config-users.js'), join(cwd, 'users'));
      const billing = settingsFor(join(cwd, 'migrate-mongo-config-billing.js'), join(cwd, 'billing'));
      const first = configTargetFor(users, cwd);
      assert.deepEqual(first, { path: join(cwd, 'migrate.config.ts'), kept: false, besides: undefined, configFlag: undefined });
      await writeFile(first.path, migrateMongoConfigTemplate(users, cwd));
      assert.equal(configTargetFor(users, cwd).kept, true, 'it reads this source: kept');
      assert.deepEqual(configTargetFor(billing, cwd), {
        path: join(cwd, 'migrate.billing.config.ts'),
        kept: false,
        besides: join(cwd, 'migrate.config.ts'),
        configFlag: 'migrate.billing.config.ts',
      });
      assert.deepEqual(configTargetFor(billing, cwd, 'configs/billing.ts'), { path: join(cwd, 'configs', 'billing.ts'), kept: false, besides: undefined, configFlag: 'configs/billing.ts' });
      assert.throws(() => configTargetFor(billing, cwd, 'migrate.config.ts'), isError('USAGE', /--out migrate\.config\.ts: that file exists and does not read migrate-mongo-config-billing\.js/));
      // written in another folder: the migrations folder is baked in, relative to it (migrate-mongo resolved it from the cwd)
      assert.match(migrateMongoConfigTemplate(billing, join(cwd, 'configs'), cwd), /import migrateMongoConfig from "\.\.\/migrate-mongo-config-billing\.js";[\s\S]*migrationsDir: "\.\.\/billing",/);
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });
});

void describe('a migrate-mongo file outside compat mode', () => {
  void it('is refused when it is loaded, saying how to run it, whatever its syntax', () => {
    const styles = [
      { up: async (db: unknown, client: unknown) => Promise.resolve([db, client]) },
      { async up(db: { collection: unknown }) { return Promise.resolve(db.collection); } },
      { up: async (db: unknown) => Promise.resolve(db) },
    ];
    for (const exported of styles) {
      assert.throws(() => refuseMigrateMongoStyle(exported, 'migrations/x.js'), isError('USAGE', /migration migrations\/x\.js is written for migrate-mongo \(up\(db, client\)\), .*set compat: 'migrate-mongo' in the config \(`mongrate import migrate-mongo` adopts/));
    }
    for (const exported of [
      { async up({ db }: { db: unknown }) { return Promise.resolve(db); } },
      { up: async (ctx: unknown) => Promise.resolve(ctx) },
      defineMigration({ up: async (db) => Promise.resolve(db) }),
    ]) {
      refuseMigrateMongoStyle(exported, 'migrations/x.js');
    }
  });
});
