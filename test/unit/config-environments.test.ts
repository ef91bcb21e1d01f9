// Config environments and variables: `environments` merged over the defaults when chosen (flag,
// then MONGRATE_ENV), `${VAR}` / `${VAR:-default}` expanded from the environment after the
// choice, unknown keys refused in every environment, and the choice reaching the API.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { mergeConfig } from '../../src/config/resolve.ts';
import { expandString } from '../../src/config/environments.ts';
import { validateConfig } from '../../src/config/schema.ts';
import { createMigrator } from '../../src/core/migrator.ts';
import type { MongrateConfig } from '../../src/types.ts';
import { isError } from '../support/assertions.ts';

const BASE = resolve('/project');

function merge(config: MongrateConfig, options: { environment?: string; env?: NodeJS.ProcessEnv } = {}): ReturnType<typeof mergeConfig> {
  return mergeConfig(validateConfig(config, 'migrate.config.ts'), { baseDir: BASE, env: options.env ?? {}, overrides: { environment: options.environment }, configFile: 'migrate.config.ts' });
}

const PROJECT: MongrateConfig = {
  uri: 'mongodb://localhost/dev',
  database: 'dev',
  lock: { ttlSeconds: 60, waitSeconds: 5 },
  clientOptions: { serverSelectionTimeoutMS: 2000, appName: 'dev' },
  environments: {
    staging: { uri: '${STAGING_URI}', database: 'staging', lock: { waitSeconds: 300 } },
    production: { protected: true, uri: '${PROD_URI}', databases: { match: 'tenant_*' }, clientOptions: { appName: 'prod' } },
  },
};

void describe('config environments', () => {
  void it('without a choice: the config as written, no environment, other environments not expanded', () => {
    const resolved = merge(PROJECT);
    assert.equal(resolved.uri, 'mongodb://localhost/dev');
    assert.equal(resolved.database, 'dev');
    assert.equal(resolved.environment, undefined);
  });

  void it('the chosen environment merges over the defaults: scalars replaced, lock and clientOptions key by key', () => {
    const resolved = merge(PROJECT, { environment: 'staging', env: { STAGING_URI: 'mongodb://staging-host/x' } });
    assert.equal(resolved.uri, 'mongodb://staging-host/x');
    assert.equal(resolved.database, 'staging');
    assert.deepEqual(resolved.lock, { ttlSeconds: 60, waitSeconds: 300, deadRunOperations: 'wait' });
    assert.equal(resolved.clientOptions.appName, 'dev');
    assert.deepEqual(resolved.environment, { name: 'staging', protected: false });
  });

  void it('an environment that names several databases replaces the one database of the defaults; protected is reported', () => {
    const resolved = merge(PROJECT, { environment: 'production', env: { PROD_URI: 'mongodb://prod-host' } });
    assert.equal(resolved.database, '');
    assert.deepEqual(resolved.databases, { match: 'tenant_*' });
    assert.equal(resolved.clientOptions.appName, 'prod');
    assert.equal(resolved.clientOptions.serverSelectionTimeoutMS, 2000);
    assert.deepEqual(resolved.environment, { name: 'production', protected: true });
  });

  void it('MONGRATE_ENV chooses when no flag does; the flag wins over it', () => {
    const env = { MONGRATE_ENV: 'staging', STAGING_URI: 'mongodb://s', PROD_URI: 'mongodb://p' };
    assert.equal(merge(PROJECT, { env }).environment?.name, 'staging');
    assert.equal(merge(PROJECT, { env, environment: 'production' }).environment?.name, 'production');
  });

  void it('an environment the config does not have is a CONFIG error listing those it has', () => {
    assert.throws(() => merge(PROJECT, { environment: 'prod' }), isError('CONFIG', /no environment 'prod'.*'staging', 'production'/));
    assert.throws(() => merge({ database: 'x' }, { env: { MONGRATE_ENV: 'staging' } }), isError('CONFIG', /no environment 'staging'.*has no `environments`/));
  });

  void it('unknown keys and wrong types are refused in every environment, not only the chosen one', () => {
    const typo = { environments: { staging: { database: 's' }, production: { urii: 'x' } } };
    assert.throws(() => validateConfig(typo, 'cfg'), isError('CONFIG', /unknown config key 'environments\.production\.urii'/));
    assert.throws(() => validateConfig({ environments: { qa: { lock: { ttl: 1 } } } }, 'cfg'), isError('CONFIG', /'environments\.qa\.lock\.ttl'/));
    assert.throws(() => validateConfig({ environments: { qa: { protected: 'yes' } } }, 'cfg'), isError('CONFIG', /'environments\.qa\.protected' must be true or false/));
    assert.throws(() => validateConfig({ environments: { qa: { environments: {} } } }, 'cfg'), isError('CONFIG', /unknown config key 'environments\.qa\.environments'/));
    assert.throws(() => validateConfig({ environments: { qa: 'mongodb://x' } }, 'cfg'), isError('CONFIG', /'environments' must be an object of environments/));
    assert.throws(() => validateConfig({ protected: true }, 'cfg'), isError('CONFIG', /unknown config key 'protected'/));
  });
});

void describe('${VAR} in config values', () => {
  const variables = { HOST: 'db.example.com', EMPTY: '', PASSWORD: 'p@ss' };

  void it('expands ${VAR} and ${VAR:-default} (the default also for an empty variable); $${ is a literal ${', () => {
    assert.equal(expandString('mongodb://${HOST}:27017', variables, 'uri', 'cfg'), 'mongodb://db.example.com:27017');
    assert.equal(expandString('${MISSING:-fallback}/${HOST:-x}', variables, 'uri', 'cfg'), 'fallback/db.example.com');
    assert.equal(expandString('${EMPTY:-default}|${EMPTY}', variables, 'uri', 'cfg'), 'default|');
    assert.equal(expandString('$${HOST} costs $5', variables, 'uri', 'cfg'), '${HOST} costs $5');
  });

  void it('an unset variable without a default is a CONFIG error naming it and the key; a malformed reference too', () => {
    assert.throws(() => expandString('mongodb://${DB_HOST}', variables, 'uri', 'cfg'), isError('CONFIG', /cfg: config key 'uri' uses \$\{DB_HOST\}, and the environment variable DB_HOST is not set/));
    assert.throws(() => expandString('${HOST', variables, 'uri', 'cfg'), isError('CONFIG', /malformed reference '\$\{HOST'/));
    assert.throws(() => expandString('${1X}', variables, 'uri', 'cfg'), isError('CONFIG', /malformed/));
  });

  void it('expands every string of the config after the choice, nested keys named in full, never inline migrations', () => {
    const up = (): Promise<void> => Promise.resolve();
    const config: MongrateConfig = {
      database: '${DB:-app}',
      clientOptions: { appName: 'svc-${HOST}' },
      migrations: [{ id: '001', up, source: 'const x = `${HOST}`;' }],
      environments: { production: { uri: '${PROD_URI}' } },
    };
    const resolved = merge(config, { env: variables });
    assert.equal(resolved.database, 'app');
    assert.equal(resolved.clientOptions.appName, 'svc-db.example.com');
    assert.deepEqual(resolved.migrations, config.migrations, 'in-code migrations are left as given');
    assert.throws(() => merge(config, { env: variables, environment: 'production' }), isError('CONFIG', /PROD_URI is not set/));
    assert.throws(() => merge({ database: 'x', clientOptions: { auth: { username: '${USER_X}' } } }, { env: {} }), isError('CONFIG', /'clientOptions\.auth\.username' uses \$\{USER_X\}/));
  });

  void it('a value a variable left empty is refused like a written empty value', () => {
    assert.throws(() => merge({ uri: '${EMPTY:-}', database: 'x' }, { env: variables }), isError('CONFIG', /'uri' must be a non-empty string/));
  });
});

void describe('environments from the API', () => {
  void it('createMigrator(config, { environment }) merges it in; ${VAR} read from the process environment', async () => {
    process.env.MONGRATE_TEST_ENV_HOST = 'api-host';
    try {
      const migrator = createMigrator({ ...PROJECT, environments: { qa: { protected: true, uri: 'mongodb://${MONGRATE_TEST_ENV_HOST}', database: 'qa' } } }, { environment: 'qa' });
      assert.equal(migrator.config.uri, 'mongodb://api-host');
      assert.equal(migrator.config.database, 'qa');
      assert.deepEqual(migrator.config.environment, { name: 'qa', protected: true });
      await migrator.close();
    } finally {
      delete process.env.MONGRATE_TEST_ENV_HOST;
    }
  });

  void it('a protected environment refuses unconfirmed down of everything, unlock --force and repair before connecting', async () => {
    // nothing listens on port 9: a refusal that connected would come back UNREACHABLE instead
    const migrator = createMigrator(
      { uri: 'mongodb://127.0.0.1:9', database: 'x', migrations: [], clientOptions: { serverSelectionTimeoutMS: 200 }, environments: { production: { protected: true } } },
      { environment: 'production' },
    );
    try {
      const down = await migrator.down({ all: true });
      assert.equal(down.error?.code, 'USAGE');
      assert.match(down.error.message, /environment 'production' is protected: reverting every applied migration needs confirming/);
      assert.deepEqual(down.error.hints, [{ options: { confirmed: true }, purpose: 'confirm reverting every applied migration in production' }]);
      assert.equal((await migrator.unlock({ force: true })).error?.code, 'USAGE');
      assert.equal((await migrator.repair()).error?.code, 'USAGE');
      // confirmed, or not destructive: they go ahead (and find no server)
      assert.equal((await migrator.down({ all: true, confirmed: true })).error?.code, 'UNREACHABLE');
      assert.equal((await migrator.down({ step: 1 })).error?.code, 'UNREACHABLE');
      assert.equal((await migrator.repair({ dryRun: true })).error?.code, 'UNREACHABLE');
    } finally {
      await migrator.close();
    }
  });
});
