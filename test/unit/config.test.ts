// Unit tests of config validation, merging (flags > env > file > defaults) and config file loading.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { withAdvice } from '../../src/cli/advice.ts';
import { exitCodeFor } from '../../src/cli/exit-codes.ts';
import { loadConfigFile } from '../../src/config/load.ts';
import { databaseFromUri, DEFAULT_URI, mergeConfig } from '../../src/config/resolve.ts';
import { validateConfig } from '../../src/config/schema.ts';
import { MongrateError } from '../../src/errors.ts';
import type { MongrateConfig } from '../../src/types.ts';
import { isError } from '../support/assertions.ts';
import { tempFolders } from '../support/temp.ts';

const BASE = resolve('/project');
const CWD = resolve('/elsewhere');

function merge(config: MongrateConfig, options: Partial<Parameters<typeof mergeConfig>[1]> = {}): ReturnType<typeof mergeConfig> {
  return mergeConfig(config, { baseDir: BASE, cwd: CWD, env: {}, ...options });
}

void describe('validateConfig', () => {
  void it('accepts a full valid config and returns it', () => {
    const config = {
      uri: 'mongodb://127.0.0.1:27017',
      database: 'myapp',
      migrationsDir: 'migrations',
      changelogCollection: 'c',
      historyCollection: 'h',
      lockCollection: 'l',
      lock: { ttlSeconds: 120, waitSeconds: 0 },
      transactions: 'never',
      clientOptions: { serverSelectionTimeoutMS: 1000 },
    };
    assert.equal(validateConfig(config, 'test'), config);
  });

  void it('accepts an empty config', () => {
    assert.deepEqual(validateConfig({}, 'test'), {});
  });

  void it('names an unknown key and the source', () => {
    assert.throws(() => validateConfig({ migrationDir: 'x' }, 'my.config.ts'), isError('CONFIG', /my\.config\.ts.*unknown config key 'migrationDir'/));
  });

  void it('lists the known keys with an unknown one', () => {
    assert.throws(() => validateConfig({ databse: 'x' }, 'test'), isError('CONFIG', /'databse'.*migrationsDir/));
  });

  void it('names a nested unknown key as lock.foo', () => {
    assert.throws(() => validateConfig({ lock: { foo: 1 } }, 'test'), isError('CONFIG', /unknown config key 'lock\.foo'/));
  });

  void it('names a wrong type with its full key', () => {
    assert.throws(() => validateConfig({ lock: { ttlSeconds: '120' } }, 'test'), isError('CONFIG', /'lock\.ttlSeconds' must be a number >= 1/));
    assert.throws(() => validateConfig({ lock: { ttlSeconds: 0 } }, 'test'), isError('CONFIG', /'lock\.ttlSeconds'/));
    assert.throws(() => validateConfig({ lock: { ttlSeconds: 0.5 } }, 'test'), isError('CONFIG', /'lock\.ttlSeconds' must be a number >= 1/));
    assert.throws(() => validateConfig({ lock: { waitSeconds: -1 } }, 'test'), isError('CONFIG', /'lock\.waitSeconds' must be a number >= 0/));
    assert.throws(() => validateConfig({ lock: { waitSeconds: Number.NaN } }, 'test'), isError('CONFIG', /'lock\.waitSeconds'/));
    assert.throws(() => validateConfig({ lock: { deadRunOperations: 'ignore' } }, 'test'), isError('CONFIG', /'lock\.deadRunOperations'/));
    assert.throws(() => validateConfig({ commitQuorum: -1 }, 'test'), isError('CONFIG', /'commitQuorum' must be a whole number >= 0, 'majority', 'votingMembers' or a tag set's name/));
    assert.throws(() => validateConfig({ database: 42 }, 'test'), isError('CONFIG', /'database' must be a non-empty string, got number/));
    assert.throws(() => validateConfig({ uri: '' }, 'test'), isError('CONFIG', /'uri' must be a non-empty string/));
    assert.throws(() => validateConfig({ migrationsDir: null }, 'test'), isError('CONFIG', /'migrationsDir'.*got null/));
    assert.throws(() => validateConfig({ lock: 5 }, 'test'), isError('CONFIG', /'lock' must be an object/));
    assert.throws(() => validateConfig({ clientOptions: [] }, 'test'), isError('CONFIG', /'clientOptions' must be an object, got an array/));
  });

  void it('accepts waitSeconds 0 and ignores keys set to undefined', () => {
    assert.doesNotThrow(() => validateConfig({ lock: { waitSeconds: 0 }, database: undefined }, 'test'));
  });

  void it('allows only auto, always and never for transactions', () => {
    for (const mode of ['auto', 'always', 'never']) assert.doesNotThrow(() => validateConfig({ transactions: mode }, 'test'));
    assert.throws(() => validateConfig({ transactions: 'sometimes' }, 'test'), isError('CONFIG', /'transactions' must be one of 'auto', 'always', 'never', got 'sometimes'/));
    assert.throws(() => validateConfig({ transactions: true }, 'test'), isError('CONFIG', /'transactions'/));
  });

  void it('refuses a config that is not an object', () => {
    assert.throws(() => validateConfig(null, 'test'), isError('CONFIG', /must be an object, got null/));
    assert.throws(() => validateConfig([], 'test'), isError('CONFIG', /must be an object, got an array/));
    assert.throws(() => validateConfig('mongodb://x', 'test'), isError('CONFIG', /must be an object/));
    assert.throws(() => validateConfig(42, 'test'), isError('CONFIG', /must be an object, got number/));
  });

  void it('maps CONFIG to exit code 2', () => {
    assert.throws(
      () => validateConfig({ nope: 1 }, 'test'),
      (error: unknown) => error instanceof MongrateError && exitCodeFor(error.code) === 2,
    );
  });
});

void describe('databaseFromUri', () => {
  void it('reads the database from the URI path', () => {
    assert.equal(databaseFromUri('mongodb://localhost/mydb'), 'mydb');
    assert.equal(databaseFromUri('mongodb://localhost:27017/mydb'), 'mydb');
  });

  void it('handles credentials, several hosts and options', () => {
    assert.equal(databaseFromUri('mongodb://u:p@h1,h2/mydb?x=1'), 'mydb');
    assert.equal(databaseFromUri('mongodb://u:p@h1:27017,h2:27018/mydb?replicaSet=rs0&authSource=admin'), 'mydb');
  });

  void it('handles mongodb+srv', () => {
    assert.equal(databaseFromUri('mongodb+srv://user:pw@cluster0.example.net/shop?retryWrites=true'), 'shop');
    assert.equal(databaseFromUri('mongodb+srv://cluster0.example.net/shop'), 'shop');
  });

  void it('percent-decodes the name', () => {
    assert.equal(databaseFromUri('mongodb://h/my%2Ddb'), 'my-db');
  });

  void it('gives undefined without a path', () => {
    assert.equal(databaseFromUri('mongodb://localhost:27017'), undefined);
    assert.equal(databaseFromUri('mongodb://localhost:27017/'), undefined);
    assert.equal(databaseFromUri('mongodb://localhost:27017/?authSource=admin'), undefined);
    assert.equal(databaseFromUri('mongodb://u:p@h1,h2/?x=1'), undefined);
  });

  void it('never takes the path out of a password with an unescaped / or @', () => {
    assert.equal(databaseFromUri('mongodb://bob:pa/ss@h/db'), 'db');
    assert.equal(databaseFromUri('mongodb://bob:pa/ss@h/'), undefined);
    assert.equal(databaseFromUri('mongodb://bob:p@ss/w@h/db'), 'db');
    assert.equal(databaseFromUri('mongodb://bob:p@ss@h/'), undefined);
    assert.equal(databaseFromUri('mongodb://bob:pa?ss@h/db'), 'db');
    assert.equal(databaseFromUri('mongodb+srv://bob:pa/ss@cluster0.example.net/shop'), 'shop');
    // an '@' in an option value of a well-formed URI is not the end of a userinfo
    assert.equal(databaseFromUri('mongodb://u:pw@h/db?appName=me@host'), 'db');
  });

  void it('reads the path of a mistyped mongo scheme, so the driver can name the real problem', () => {
    assert.equal(databaseFromUri('mongo://bob:pw@h/app'), 'app');
    assert.equal(databaseFromUri('mongodb:/bob:pw@h/app'), 'app');
    assert.equal(databaseFromUri('bob:pw@h/app'), 'app');
  });

  void it('gives undefined for something that is not a MongoDB URI', () => {
    assert.equal(databaseFromUri('http://example.com/db'), undefined);
    assert.equal(databaseFromUri(''), undefined);
  });
});

void describe('mergeConfig', () => {
  void it('applies the defaults', () => {
    const resolved = merge({ database: 'app' });
    assert.deepEqual(resolved, {
      resolved: true,
      uri: DEFAULT_URI,
      database: 'app',
      migrationsDir: join(BASE, 'migrations'),
      changelogCollection: 'mongrate_changelog',
      historyCollection: 'mongrate_history',
      lockCollection: 'mongrate_lock',
      lock: { ttlSeconds: 120, waitSeconds: 0, deadRunOperations: 'wait' },
      transactions: 'auto',
      transactionDocumentLimit: 1000,
      commitQuorum: 1,
      clientOptions: { serverSelectionTimeoutMS: 30_000 },
      databases: undefined,
      concurrency: 1,
      compat: undefined,
      migrations: undefined,
      configFile: undefined,
      projectRoot: BASE,
      environment: undefined,
      notices: [],
    });
    assert.equal(DEFAULT_URI, 'mongodb://127.0.0.1:27017');
  });

  void it('takes the uri from the flag first, then MONGODB_URI, then the config, then the default', () => {
    const config = { uri: 'mongodb://config-host', database: 'app' };
    const env = { MONGODB_URI: 'mongodb://env-host' };
    assert.equal(merge(config, { env, overrides: { uri: 'mongodb://flag-host' } }).uri, 'mongodb://flag-host');
    assert.equal(merge(config, { env }).uri, 'mongodb://env-host');
    assert.equal(merge(config).uri, 'mongodb://config-host');
    assert.equal(merge({ database: 'app' }).uri, DEFAULT_URI);
  });

  void it('ignores an empty MONGODB_URI or --uri', () => {
    assert.equal(merge({ uri: 'mongodb://config-host', database: 'app' }, { env: { MONGODB_URI: '' }, overrides: { uri: '' } }).uri, 'mongodb://config-host');
  });

  void it('takes the database from the flag first, then MONGODB_DATABASE, then the config, then the URI path', () => {
    const config = { uri: 'mongodb://h/uridb', database: 'configdb' };
    const env = { MONGODB_DATABASE: 'envdb' };
    assert.equal(merge(config, { env, overrides: { db: 'flagdb' } }).database, 'flagdb');
    assert.equal(merge(config, { env }).database, 'envdb');
    assert.equal(merge(config).database, 'configdb');
    assert.equal(merge({ uri: 'mongodb://h/uridb' }).database, 'uridb');
  });

  void it('reads the database from the path of the URI that won', () => {
    assert.equal(merge({ uri: 'mongodb://h/configdb' }, { env: { MONGODB_URI: 'mongodb://u:p@h1,h2/envdb?x=1' } }).database, 'envdb');
    assert.equal(merge({}, { overrides: { uri: 'mongodb+srv://u:p@cluster.example.net/srvdb?retryWrites=true' } }).database, 'srvdb');
  });

  void it('ignores an empty MONGODB_DATABASE', () => {
    assert.equal(merge({ database: 'configdb' }, { env: { MONGODB_DATABASE: '' } }).database, 'configdb');
  });

  void it('refuses no database at all with USAGE, hinting at the database setting (the CLI says --db)', () => {
    assert.throws(() => merge({}), isError('USAGE', /no database given/));
    assert.throws(() => merge({ uri: 'mongodb://h:27017/?x=1' }), isError('USAGE', /no database given/));
    assert.throws(
      () => merge({}),
      (error: unknown) => error instanceof MongrateError && error.hints.some((h) => h.setting === 'database') && /--db <name>/.test(withAdvice(error.message, error.hints)),
    );
    assert.throws(
      () => merge({}),
      (error: unknown) => error instanceof MongrateError && exitCodeFor(error.code) === 2,
    );
  });

  void it('gives an empty database when none is required', () => {
    assert.equal(merge({}, { requireDatabase: false }).database, '');
  });

  void it('still resolves a database when one is given and none is required', () => {
    assert.equal(merge({ database: 'app' }, { requireDatabase: false }).database, 'app');
  });

  void it('resolves migrationsDir relative to baseDir', () => {
    assert.equal(merge({ database: 'app', migrationsDir: 'db/migrations' }).migrationsDir, join(BASE, 'db', 'migrations'));
    assert.equal(merge({ database: 'app' }).migrationsDir, join(BASE, 'migrations'));
  });

  void it('keeps an absolute migrationsDir', () => {
    const absolute = resolve('/abs/migs');
    assert.equal(merge({ database: 'app', migrationsDir: absolute }).migrationsDir, absolute);
  });

  void it('resolves --migrations-dir relative to the cwd, over the config', () => {
    const resolved = merge({ database: 'app', migrationsDir: 'from-config' }, { overrides: { migrationsDir: 'from-flag' } });
    assert.equal(resolved.migrationsDir, join(CWD, 'from-flag'));
  });

  void it('defaults serverSelectionTimeoutMS to 30000, longer than a replica-set election (~12 s at worst), and lets clientOptions override it', () => {
    const { serverSelectionTimeoutMS } = merge({ database: 'app' }).clientOptions;
    assert.equal(serverSelectionTimeoutMS, 30_000);
    // MongoDB's documented median election is under 12 s (electionTimeoutMillis 10 s + the election itself)
    assert.ok(serverSelectionTimeoutMS > 12_000 * 2, 'a write waits out an election with room to spare');
    const resolved = merge({ database: 'app', clientOptions: { serverSelectionTimeoutMS: 250, maxPoolSize: 3 } });
    assert.deepEqual(resolved.clientOptions, { serverSelectionTimeoutMS: 250, maxPoolSize: 3 });
  });

  void it('keeps the other config values', () => {
    const resolved = merge(
      {
        database: 'app',
        changelogCollection: 'cl',
        historyCollection: 'hist',
        lockCollection: 'lk',
        lock: { ttlSeconds: 30 },
        transactions: 'always',
      },
      { configFile: '/project/migrate.config.ts' },
    );
    assert.equal(resolved.changelogCollection, 'cl');
    assert.equal(resolved.historyCollection, 'hist');
    assert.equal(resolved.lockCollection, 'lk');
    assert.deepEqual(resolved.lock, { ttlSeconds: 30, waitSeconds: 0, deadRunOperations: 'wait' });
    assert.equal(resolved.transactions, 'always');
    assert.equal(resolved.configFile, '/project/migrate.config.ts');
  });

  void it('refuses invalid database names', () => {
    for (const name of ['my.db', 'my db', 'a/b', 'a\\b', 'a$b', 'a"b', 'x'.repeat(64)]) {
      assert.throws(() => merge({ database: name }), isError('USAGE', /invalid database name/), name);
    }
    assert.throws(() => merge({}, { overrides: { db: 'bad.name' } }), isError('USAGE', /bad\.name/));
    assert.throws(() => merge({ uri: 'mongodb://h/bad%20name' }), isError('USAGE', /invalid database name/));
    // a name taken from a URI never echoes the URI's password
    const uri = 'mongodb://bob:Secret99@h/Secret99.x';
    assert.throws(() => merge({ uri }), (error: unknown) => error instanceof MongrateError && /invalid database name '\*\*\*\.x'/.test(error.message));
  });

  void it('accepts a 63-byte database name', () => {
    assert.equal(merge({ database: 'x'.repeat(63) }).database, 'x'.repeat(63));
  });

  void it('refuses the same name for two of the collections', () => {
    const pattern = /three different names/;
    assert.throws(() => merge({ database: 'app', changelogCollection: 'same', historyCollection: 'same' }), isError('CONFIG', pattern));
    assert.throws(() => merge({ database: 'app', lockCollection: 'mongrate_changelog' }), isError('CONFIG', pattern));
    assert.throws(() => merge({ database: 'app', historyCollection: 'mongrate_lock' }), isError('CONFIG', pattern));
  });
});

void describe('loadConfigFile', () => {
  /** A fresh project folder with the given files. */
  const { folder: project } = tempFolders('mongrate-unit-config-');

  void it('finds nothing in an empty folder: no file, empty config', async () => {
    const dir = await project({});
    assert.deepEqual(await loadConfigFile(dir), { config: {}, file: undefined });
  });

  void it('loads migrate.config.ts with defineConfig imported from mongrate', async () => {
    const dir = await project({
      'migrate.config.ts': [
        "import { defineConfig } from 'mongrate';",
        "const ttl: number = 60;",
        'export default defineConfig({',
        "  database: 'tsdb',",
        "  migrationsDir: 'db/migrations',",
        '  lock: { ttlSeconds: ttl },',
        "  transactions: 'never',",
        '});',
        '',
      ].join('\n'),
    });
    const loaded = await loadConfigFile(dir);
    assert.equal(loaded.file, join(dir, 'migrate.config.ts'));
    assert.deepEqual(loaded.config, { database: 'tsdb', migrationsDir: 'db/migrations', lock: { ttlSeconds: 60 }, transactions: 'never' });
  });

  void it('loads .migraterc.json', async () => {
    const dir = await project({ '.migraterc.json': JSON.stringify({ database: 'jsondb', lock: { waitSeconds: 5 } }) });
    const loaded = await loadConfigFile(dir);
    assert.equal(loaded.file, join(dir, '.migraterc.json'));
    assert.deepEqual(loaded.config, { database: 'jsondb', lock: { waitSeconds: 5 } });
  });

  void it('loads .migraterc.yaml', async () => {
    const dir = await project({ '.migraterc.yaml': 'database: yamldb\nlock:\n  ttlSeconds: 30\ntransactions: always\n' });
    const loaded = await loadConfigFile(dir);
    assert.equal(loaded.file, join(dir, '.migraterc.yaml'));
    assert.deepEqual(loaded.config, { database: 'yamldb', lock: { ttlSeconds: 30 }, transactions: 'always' });
  });

  void it('loads the migrate key of package.json', async () => {
    const dir = await project({ 'package.json': JSON.stringify({ name: 'app', version: '1.0.0', migrate: { database: 'pkgdb' } }) });
    const loaded = await loadConfigFile(dir);
    assert.equal(loaded.file, join(dir, 'package.json'));
    assert.deepEqual(loaded.config, { database: 'pkgdb' });
  });

  void it('skips a package.json without a migrate key', async () => {
    const dir = await project({ 'package.json': JSON.stringify({ name: 'app', version: '1.0.0' }) });
    assert.deepEqual(await loadConfigFile(dir), { config: {}, file: undefined });
  });

  void it('loads migrate.config.cjs with module.exports', async () => {
    const dir = await project({ 'migrate.config.cjs': "module.exports = { database: 'cjsdb', migrationsDir: 'm' };\n" });
    const loaded = await loadConfigFile(dir);
    assert.equal(loaded.file, join(dir, 'migrate.config.cjs'));
    assert.deepEqual(loaded.config, { database: 'cjsdb', migrationsDir: 'm' });
  });

  void it('loads migrate.config.mjs with export default', async () => {
    const dir = await project({ 'migrate.config.mjs': "export default { database: 'mjsdb' };\n" });
    assert.deepEqual((await loadConfigFile(dir)).config, { database: 'mjsdb' });
  });

  void it('prefers migrate.config.ts over .migraterc.json and package.json', async () => {
    const dir = await project({
      'migrate.config.ts': "export default { database: 'first' };\n",
      '.migraterc.json': '{ "database": "second" }',
      'package.json': JSON.stringify({ name: 'app', migrate: { database: 'third' } }),
    });
    const loaded = await loadConfigFile(dir);
    assert.equal(loaded.file, join(dir, 'migrate.config.ts'));
    assert.deepEqual(loaded.config, { database: 'first' });
  });

  void it('loads an explicit path relative to the cwd', async () => {
    const dir = await project({ 'custom.json': '{ "database": "explicit" }' });
    const loaded = await loadConfigFile(dir, 'custom.json');
    assert.equal(loaded.file, join(dir, 'custom.json'));
    assert.deepEqual(loaded.config, { database: 'explicit' });
  });

  void it('refuses an explicit path that does not exist with CONFIG naming it', async () => {
    const dir = await project({});
    await assert.rejects(loadConfigFile(dir, 'nope.config.ts'), isError('CONFIG', /not found.*nope\.config\.ts/));
  });

  void it('turns a syntax error in a TypeScript config into a one-line CONFIG error', async () => {
    const dir = await project({ 'migrate.config.ts': "export default {\n  database: 'x',,\n  oops: [\n};\n" });
    await assert.rejects(loadConfigFile(dir), (error: unknown) => {
      assert.ok(error instanceof MongrateError);
      assert.equal(error.code, 'CONFIG');
      assert.match(error.message, /cannot load config/);
      assert.match(error.message, /migrate\.config\.ts/);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
  });

  void it('turns a syntax error in a JSON config into a one-line CONFIG error', async () => {
    const dir = await project({ '.migraterc.json': '{\n  "database": "x",\n  oops\n}\n' });
    await assert.rejects(loadConfigFile(dir), (error: unknown) => {
      assert.ok(error instanceof MongrateError);
      assert.equal(error.code, 'CONFIG');
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
  });

  void it('turns a config that throws while loading into a CONFIG error', async () => {
    const dir = await project({ 'migrate.config.js': "throw new Error('config exploded');\n" });
    await assert.rejects(loadConfigFile(dir), isError('CONFIG', /config exploded/));
  });

  void it('refuses an unknown key in a file with CONFIG naming the key and the file', async () => {
    const dir = await project({ 'migrate.config.ts': "export default { database: 'x', migrationDir: 'm' };\n" });
    await assert.rejects(loadConfigFile(dir), isError('CONFIG', /migrate\.config\.ts.*'migrationDir'/));
  });

  void it('refuses a wrong type in a file with CONFIG naming the key and the file', async () => {
    const dir = await project({ '.migraterc.yaml': 'lock:\n  ttlSeconds: soon\n' });
    await assert.rejects(loadConfigFile(dir), isError('CONFIG', /\.migraterc\.yaml.*'lock\.ttlSeconds'/));
  });

  void it('treats an empty config file as an empty config', async () => {
    const dir = await project({ '.migraterc.yaml': '' });
    // cosmiconfig's search skips empty files (ignoreEmptySearchPlaces); an explicit path loads it
    assert.deepEqual((await loadConfigFile(dir)).config, {});
    const loaded = await loadConfigFile(dir, '.migraterc.yaml');
    assert.deepEqual(loaded.config, {});
    assert.equal(loaded.file, join(dir, '.migraterc.yaml'));
  });
});
