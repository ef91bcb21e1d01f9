// Unit tests of the rules behind running on many databases: the config keys and flag precedence,
// glob matching of database names, and the order of exit codes across databases.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mergeConfig } from '../../src/config/resolve.ts';
import { validateConfig } from '../../src/config/schema.ts';
import { matchDatabases } from '../../src/core/select-databases.ts';
import { outcomeOfCode } from '../../src/core/fan-out.ts';
import { exitCodeOf } from '../../src/cli/exit-codes.ts';
import type { ErrorCode } from '../../src/errors.ts';
import { isError } from '../support/assertions.ts';

const merge = (config: Parameters<typeof mergeConfig>[0], overrides = {}, env = {}): ReturnType<typeof mergeConfig> =>
  mergeConfig(validateConfig(config, 'test'), { baseDir: '/app', overrides, env });

void describe('config for several databases', () => {
  void it('accepts a list, { match } and a function; refuses other shapes naming the key', () => {
    assert.deepEqual(merge({ databases: ['a', 'b'] }).databases, ['a', 'b']);
    assert.deepEqual(merge({ databases: { match: 'tenant_*' } }).databases, { match: 'tenant_*' });
    assert.equal(typeof merge({ databases: () => ['a'] }).databases, 'function');
    for (const bad of [[''], { match: '' }, { glob: 'x' }, 'tenant_*', [1]]) {
      assert.throws(() => validateConfig({ databases: bad }, 'cfg'), isError('CONFIG', /'databases' must be a list of database names/));
    }
    assert.throws(() => validateConfig({ database: 'a', databases: ['b'] }, 'cfg'), isError('CONFIG', /'database' and 'databases' exclude each other/));
    assert.throws(() => validateConfig({ migrationsDir: 'm', migrations: [] }, 'cfg'), isError('CONFIG', /'migrationsDir' and 'migrations'/));
    assert.throws(() => validateConfig({ concurrency: 0 }, 'cfg'), isError('CONFIG', /'concurrency' must be a whole number >= 1/));
    assert.throws(() => validateConfig({ compat: 'umzug' }, 'cfg'), isError('CONFIG', /'compat' must be one of 'migrate-mongo'/));
    assert.throws(() => validateConfig({ migrations: 'x' }, 'cfg'), isError('CONFIG', /'migrations' must be a list of migrations, or a provider/));
  });

  void it('--db means exactly one; --databases and --databases-match select several; MONGODB_DATABASE beats the config', () => {
    const config = { databases: { match: 'tenant_*' } };
    assert.deepEqual([merge(config, { db: 'one' }).database, merge(config, { db: 'one' }).databases], ['one', undefined]);
    assert.deepEqual(merge(config, { databases: 'a, b,,a' }).databases, ['a', 'b']);
    assert.deepEqual(merge({ database: 'x' }, { databasesMatch: 'acme_*' }).databases, { match: 'acme_*' });
    assert.equal(merge(config, {}, { MONGODB_DATABASE: 'env' }).database, 'env');
    assert.deepEqual(merge(config).databases, { match: 'tenant_*' });
    assert.equal(merge(config).database, '');
    assert.throws(() => merge(config, { db: 'a', databases: 'b' }), isError('USAGE', /only one of --db and --databases/));
    assert.throws(() => merge({}, { databases: 'bad/name' }), isError('USAGE', /invalid database name/));
    assert.equal(merge(config, { concurrency: 4 }).concurrency, 4);
    assert.equal(merge({ ...config, concurrency: 3 }).concurrency, 3);
  });
});

void describe('matchDatabases', () => {
  void it('matches the glob, never admin, local or config, in id order', () => {
    const names = ['tenant_b', 'admin', 'tenant_a', 'config', 'local', 'other', 'tenant_10'];
    assert.deepEqual(matchDatabases('tenant_*', names), ['tenant_10', 'tenant_a', 'tenant_b']);
    assert.deepEqual(matchDatabases('*', names), ['other', 'tenant_10', 'tenant_a', 'tenant_b']);
    assert.deepEqual(matchDatabases('tenant_{a,b}', names), ['tenant_a', 'tenant_b']);
  });
});

void describe('the exit code across databases', () => {
  void it('is 130 if interrupted, else 1, 2, 3, 4, 5, else 0', () => {
    const of = (...codes: (ErrorCode | undefined)[]): number => exitCodeOf({ databases: codes.map((code) => ({ error: code === undefined ? undefined : { code } })) });
    assert.equal(of(undefined, 'UNREACHABLE', 'CHECK_FAILED', 'LOCK_HELD', 'MIGRATION_FAILED', 'INTERRUPTED'), 130);
    assert.equal(of('UNREACHABLE', 'CHECK_FAILED', 'LOCK_HELD', 'USAGE', 'MIGRATION_FAILED', undefined), 1);
    assert.equal(of('UNREACHABLE', 'CHECK_FAILED', 'LOCK_LOST', 'CONFIG'), 2);
    assert.equal(of('UNREACHABLE', 'CHECK_FAILED', 'LOCK_HELD', undefined), 3);
    assert.equal(of('SERVER_PROBE_FAILED', 'CHECK_FAILED', undefined), 4);
    assert.equal(of(undefined, 'UNREACHABLE'), 5);
    assert.equal(of(undefined, undefined), 0);
    assert.equal(of(), 0);
    const outcomes = (['MIGRATION_FAILED', 'USAGE', 'LOCK_HELD', 'CHECK_FAILED', 'UNREACHABLE', 'INTERRUPTED'] as const).map(outcomeOfCode);
    assert.deepEqual(outcomes, ['failed', 'failed', 'locked', 'problems', 'unreachable', 'interrupted']);
  });
});
