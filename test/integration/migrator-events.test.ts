// The Migrator's events through the API, against the test server: umzug's pairs (`migrating` /
// `migrated` for up, `reverting` / `reverted` for down) each with its direction, `failed` for
// either, the lock's `lockWait` (naming the holder) and `lockTakeover`, and the README's example.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Db } from 'mongodb';
import type { LockInfo, Migrator } from '../../src/index.ts';
import { insertForeignLock, releaseForeignLock } from '../support/lock-cli.ts';
import { failingMigration } from '../support/project.ts';
import { withEnv } from '../support/migrator.ts';

const LOGGING = `import { defineMigration } from 'mongrate';
export default defineMigration({
  async up({ db, log, id }) { log('hello from ' + id); await db.collection('marks').insertOne({ mark: id }); },
  async down({ db, log, id }) { log('bye from ' + id); await db.collection('marks').deleteOne({ mark: id }); },
});
`;

const FAILING_DOWN = `export async function up() {}
export async function down() { throw new Error('no way back'); }
`;

/** Every run event as `<event> <id> <direction>` (log lines as `log <id> <message>`), in order. */
function record(migrator: Migrator): string[] {
  const seen: string[] = [];
  migrator.on('migrating', (e) => seen.push(`migrating ${e.id} ${e.direction}`));
  migrator.on('migrated', (e) => seen.push(`migrated ${e.id} ${e.direction}`));
  migrator.on('reverting', (e) => seen.push(`reverting ${e.id} ${e.direction}`));
  migrator.on('reverted', (e) => seen.push(`reverted ${e.id} ${e.direction}`));
  migrator.on('failed', (e) => seen.push(`failed ${e.id} ${e.direction}: ${e.error}`));
  migrator.on('log', (e) => seen.push(`log ${e.id} ${e.message}`));
  return seen;
}

/** The lock as its holder wrote it, without the document's `_id`: what the events carry. */
async function foreignLock(db: Db, inMs: number): Promise<LockInfo> {
  const { _id: _key, ...lock } = await insertForeignLock(db, inMs);
  return lock;
}

void describe('migrator events', { concurrency: 2 }, () => {
  void it('up: migrating/migrated; down: reverting/reverted; redo: both; each with its direction', () =>
    withEnv('ev_pairs', async (env) => {
      await env.project.write('001-a.ts', LOGGING);
      await env.project.write('002-b.ts', LOGGING);
      const seen = record(env.migrator);

      await env.migrator.up();
      assert.deepEqual(seen.splice(0), [
        'migrating 001-a up',
        'log 001-a hello from 001-a',
        'migrated 001-a up',
        'migrating 002-b up',
        'log 002-b hello from 002-b',
        'migrated 002-b up',
      ]);
      await env.migrator.down();
      assert.deepEqual(seen.splice(0), ['reverting 002-b down', 'log 002-b bye from 002-b', 'reverted 002-b down'], 'a down never says migrated');
      await env.migrator.redo();
      assert.deepEqual(seen.splice(0), [
        'reverting 001-a down',
        'log 001-a bye from 001-a',
        'reverted 001-a down',
        'migrating 001-a up',
        'log 001-a hello from 001-a',
        'migrated 001-a up',
      ]);
      assert.deepEqual(await env.marks(), ['001-a']);
    }));

  void it("failed carries the direction: 'up' for an up, 'down' for a down", () =>
    withEnv('ev_failed', async (env) => {
      await env.project.write('001-oneway.ts', FAILING_DOWN);
      await env.project.write('002-fails.js', failingMigration('boom'));
      const seen = record(env.migrator);
      await env.migrator.up();
      assert.deepEqual(seen.splice(0), ['migrating 001-oneway up', 'migrated 001-oneway up', 'migrating 002-fails up', 'failed 002-fails up: boom']);
      // the failed up blocks no down: the newest applied one is reverted, and its down fails
      await env.migrator.down();
      assert.deepEqual(seen.splice(0), ['reverting 001-oneway down', 'failed 001-oneway down: no way back']);
    }));

  void it('lockWait names the holder while a command waits; lockTakeover names the expired lease it took over', () =>
    withEnv('ev_lock', async (env) => {
      await env.project.write('001-a.ts', LOGGING);
      const waits: { holder: LockInfo; waitSeconds: number }[] = [];
      const takeovers: LockInfo[] = [];
      env.migrator.on('lockWait', (e) => waits.push(e));
      env.migrator.on('lockTakeover', (e) => takeovers.push(e.previous));

      // a live lock, released by its holder once the command waits for it: then it runs
      const live = await foreignLock(env.db, 30_000);
      let releasing: Promise<void> = Promise.resolve();
      env.migrator.once('lockWait', () => {
        releasing = releaseForeignLock(env.db);
      });
      const result = await env.migrator.up({ lockWait: 20 });
      await releasing;
      assert.equal(result.error, undefined);
      assert.equal(waits.length, 1, 'one lockWait, however long it waits');
      assert.deepEqual({ ...waits[0]?.holder, waitSeconds: waits[0]?.waitSeconds }, { ...live, waitSeconds: 20 });
      assert.deepEqual(takeovers, [], 'a released lock is taken, not taken over');

      // an expired lock (its runner died): taken over, and said so
      const expired = await foreignLock(env.db, -5_000);
      const down = await env.migrator.down({ lockWait: 5 });
      assert.equal(down.error, undefined);
      assert.deepEqual(takeovers, [expired]);
      assert.equal(waits.length, 1, 'an expired lock is no reason to wait');
    }));

  void it("the README's example prints 'applied' for up steps only", () =>
    withEnv('ev_readme', async (env) => {
      await env.project.write('001-a.ts', LOGGING);
      const printed: string[] = [];
      env.migrator.on('migrated', ({ id, durationMs }) => printed.push(`applied ${id} in ${durationMs} ms`));
      env.migrator.on('reverted', ({ id, durationMs }) => printed.push(`reverted ${id} in ${durationMs} ms`));
      await env.migrator.up();
      await env.migrator.down();
      assert.deepEqual(
        printed.map((line) => line.replace(/\d+ ms$/, 'N ms')),
        ['applied 001-a in N ms', 'reverted 001-a in N ms'],
      );
    }));
});
