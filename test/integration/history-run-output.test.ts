// What a run's history entries keep beyond who and when, read back through the API: the config
// environment it ran in, and what the migration and its helpers said during that run (its own
// log() lines and each helper's counts, bounded and masked), on the entry of the event that
// ended the run: applied, reverted, failed, rolled back or interrupted. No extra write: the
// lines ride on the entry the run writes anyway.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createMigrator } from '../../src/index.ts';
import { withEnv } from '../support/migrator.ts';

/** Users to schema_version 2 with a helper; logs a line of its own, with a connection string. */
const WITH_HELPER = `import { defineMigration } from 'mongrate';
export default defineMigration({
  async up({ db, helpers, log }) {
    await db.collection('users').insertMany([{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
    log('reading from mongodb://etl:hunter2@legacy.internal/app');
    const result = await helpers.bumpSchemaVersion('users', { to: 2 });
    log(\`\${result.modified} users at version 2\`);
  },
  async down({ db, log }) {
    await db.collection('users').drop();
    log('users dropped');
  },
});
`;

const FAILS_AFTER_LOGGING = `export const transaction = false;
export async function up({ log }) {
  log('about to fail');
  throw new Error('boom');
}
`;

void describe('history: environment and what the run said', { concurrency: 2 }, () => {
  void it("an applied migration's entry keeps its own lines and each helper's line, masked; a revert its own; the environment on every entry", () =>
    withEnv('history_output', async (env) => {
      await env.project.write('001-users.ts', WITH_HELPER);
      const migrator = createMigrator({ uri: env.uri, database: env.dbName, migrationsDir: env.project.migrationsDir, environments: { staging: {} } }, { environment: 'staging' });
      try {
        assert.equal((await migrator.up()).error, undefined);
        assert.equal((await migrator.down()).error, undefined);
        const { entries } = await migrator.history();
        assert.deepEqual(entries.map((e) => [e.event, e.environment]), [['applied', 'staging'], ['reverted', 'staging']]);
        const [applied, reverted] = entries;
        assert.deepEqual(applied?.output?.log, ['reading from mongodb://etl:***@legacy.internal/app', '3 users at version 2']);
        assert.equal(applied.output.helpers.length, 1);
        assert.match(applied.output.helpers[0] ?? '', /^bumpSchemaVersion\(users\): 3 matched, 3 modified, 0 deleted in /);
        assert.deepEqual(reverted?.output, { log: ['users dropped'], helpers: [] });
        const stored = JSON.stringify(await env.history());
        assert.doesNotMatch(stored, /hunter2/);
        const shown = await migrator.show('001-users');
        assert.deepEqual(shown.events.map((e) => e.output?.log.length), [2, 1]);
      } finally {
        await migrator.close();
      }
    }));

  void it('a failed run keeps what it logged before failing; no environment chosen, none recorded; a migration that said nothing stores nothing', () =>
    withEnv('history_output_failed', async (env) => {
      await env.project.write('001-quiet.ts', `export async function up() {}\n`);
      await env.project.write('002-fails.js', FAILS_AFTER_LOGGING);
      assert.equal((await env.migrator.up()).error?.code, 'MIGRATION_FAILED');
      const { entries } = await env.migrator.history();
      assert.deepEqual(entries.map((e) => [e.id, e.event, e.environment, e.output]), [
        ['001-quiet', 'applied', undefined, undefined],
        ['002-fails', 'failed', undefined, { log: ['about to fail'], helpers: [] }],
      ]);
      const [quiet] = await env.history();
      assert.equal(quiet !== undefined && 'output' in quiet, false, 'no empty output field is stored');
    }));
});
