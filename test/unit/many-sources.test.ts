// Unit tests of the rules behind many databases, in-code migrations and migrate-mongo adoption:
// config keys and flag precedence, glob matching, the exit-code order, import planning,
// `unchecked` and changelog-only status, the in-code provider, migrate-mongo's call convention.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isMigrateMongoSample, migrateMongoDefinition } from '../../src/compat/migrate-mongo/calls.ts';
import { idOfFileName } from '../../src/compat/migrate-mongo/changelog.ts';
import { mergeConfig } from '../../src/config/resolve.ts';
import { validateConfig } from '../../src/config/schema.ts';
import { computeStatus, planImport, planRepair } from '../../src/core/plan.ts';
import { matchDatabases } from '../../src/core/select-databases.ts';
import { outcomeOfCode } from '../../src/core/fan-out.ts';
import { exitCodeOf } from '../../src/cli/exit-codes.ts';
import { defineMigration } from '../../src/define.ts';
import { inlineProvider } from '../../src/providers/inline.ts';
import { checksumOf } from '../../src/providers/discover.ts';
import type { MigrationContext } from '../../src/types.ts';
import type { ChangelogRecord } from '../../src/changelog/contract.ts';
import type { ErrorCode } from '../../src/errors.ts';
import { isError } from '../support/assertions.ts';

const merge = (config: Parameters<typeof mergeConfig>[0], overrides = {}, env = {}): ReturnType<typeof mergeConfig> =>
  mergeConfig(validateConfig(config, 'test'), { baseDir: '/app', overrides, env });

function record(id: string, checksum: string | undefined, at = 1000): ChangelogRecord {
  return {
    _id: id,
    state: 'applied',
    checksum,
    description: undefined,
    startedAt: new Date(at),
    finishedAt: new Date(at),
    durationMs: 1,
    runId: 'run',
    host: 'h',
    pid: 1,
    toolVersion: '0',
  };
}

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

void describe('status without a checksum, and without migrations', () => {
  void it('an applied migration with no source is unchecked, not a problem; repair records a source given later', () => {
    const listed = [{ id: '001', checksum: undefined, description: undefined, path: undefined }, { id: '002', checksum: 'sha256:x', description: undefined, path: undefined }];
    const status = computeStatus('db', listed, [record('001', undefined), record('002', undefined)]);
    assert.deepEqual(status.migrations.map((m) => m.state), ['unchecked', 'unchecked']);
    assert.equal(status.problems, 0);
    assert.deepEqual(planRepair(listed, [record('001', undefined), record('002', undefined)], undefined).map((a) => `${a.id}:${a.action}`), ['002:rechecksum']);
  });

  void it('with no migrations folder, records show as recorded, never missing', () => {
    const status = computeStatus('db', [], [record('001', 'sha256:a'), { ...record('002', 'sha256:b'), state: 'failed' }], undefined, 'no folder');
    assert.deepEqual(status.migrations.map((m) => `${m.id}:${m.state}`), ['001:applied', '002:failed']);
    assert.equal(status.migrationsUnavailable, 'no folder');
  });
});

void describe('planImport', () => {
  const listed = [{ id: 'a', checksum: 'sha256:a', description: undefined, path: '/m/a.js' }];
  const entries = [
    { id: 'c', appliedAt: new Date(3000), run: 'migrate-mongo-block-2' },
    { id: 'a', appliedAt: new Date(1000), run: 'migrate-mongo-block-1' },
    { id: 'b', appliedAt: new Date(2000), run: 'migrate-mongo-block-1' },
  ];

  void it('imports oldest first, a gone file as missing; skips what is recorded and what was imported before', () => {
    const planned = planImport(entries, listed, [], new Set());
    assert.deepEqual(planned.imported.map((i) => `${i.id}:${i.state}`), ['a:applied', 'b:missing', 'c:missing']);
    const again = planImport(entries, listed, [record('a', 'sha256:a')], new Set(['c']));
    assert.deepEqual(again.imported.map((i) => i.id), ['b']);
    assert.deepEqual(again.skipped, [{ id: 'a', reason: 'recorded' }, { id: 'c', reason: 'imported-before' }]);
  });
});

void describe('in-code migrations', () => {
  void it('lists in id order with the checksum of the source, reports duplicates, checks entries', async () => {
    const up = (): Promise<void> => Promise.resolve();
    const provider = inlineProvider([{ id: 'b', up, source: 'text' }, { id: 'a', up }, { id: 'c', up }, { id: 'c', up }]);
    const survey = await provider.survey();
    assert.deepEqual(survey.migrations.map((m) => [m.id, m.checksum]), [['a', undefined], ['b', checksumOf('text')]]);
    assert.deepEqual(survey.duplicates, [{ id: 'c', names: ['migrations[2]', 'migrations[3]'] }]);
    await assert.rejects(inlineProvider([{ id: '', up }]).survey(), isError('USAGE', /migrations\[0\] needs an `id`/));
    const brokenProvider = inlineProvider([{ id: 'x', up: 'nope' as unknown as typeof up }]);
    const [broken] = (await brokenProvider.survey()).migrations;
    assert.ok(broken !== undefined, 'it is listed: checked when it is about to run');
    await assert.rejects(brokenProvider.load(broken), isError('USAGE', /'x' does not export an `up`/));
  });
});

void describe('compat: migrate-mongo', () => {
  void it('ids drop its extension; its template is no migration', () => {
    assert.equal(idOfFileName('20240101-add.js', '.js'), '20240101-add');
    assert.equal(idOfFileName('20240101-add.cjs', '.cjs'), '20240101-add');
    assert.equal(idOfFileName('20240101-add.ts', '.js'), '20240101-add');
    assert.ok(isMigrateMongoSample('sample-migration.js'));
    assert.ok(!isMigrateMongoSample('20240101-sample-migration.js'));
  });

  void it('calls its files with (db, client), outside transactions; a defineMigration file keeps the context', async () => {
    const seen: unknown[] = [];
    const ctx = { db: 'the-db', client: 'the-client' } as unknown as MigrationContext;
    const legacy = migrateMongoDefinition({ up: (...args: unknown[]) => void seen.push(args) }, 'legacy.js');
    await legacy.up(ctx);
    assert.deepEqual(seen, [['the-db', 'the-client']]);
    assert.equal(legacy.transaction, false, 'its writes take no session');
    const contexts: MigrationContext[] = [];
    const modern = migrateMongoDefinition(defineMigration({ up: (c) => Promise.resolve(void contexts.push(c)) }), 'modern.ts');
    await modern.up(ctx);
    assert.deepEqual(contexts, [ctx]);
    assert.equal(modern.transaction, undefined);
  });
});
