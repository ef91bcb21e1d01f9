// Unit tests of migrate-mongo's conventions: changelog ids from its file names, its template, and
// how its files are called.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isMigrateMongoSample, migrateMongoDefinition } from '../../src/compat/migrate-mongo/calls.ts';
import { idOfFileName } from '../../src/compat/migrate-mongo/changelog.ts';
import { defineMigration } from '../../src/define.ts';
import type { MigrationContext } from '../../src/types.ts';

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
