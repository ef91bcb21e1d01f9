// Reading the history back through the API: `history()` lists every event in the words users read
// (applied, reverted, failed, interrupted, repaired, baselined, imported, unlocked), with who, when,
// how long and the tool version, filtered by migration, date and count; `show(id)` tells one
// migration's story: state, checksum now and as applied, description, every event. Neither takes
// the lock or writes anything.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { rm, writeFile } from 'node:fs/promises';
import { failingMigration, markerMigration } from '../support/project.ts';
import { snapshotDb } from '../support/snapshot.ts';
import { checksumOfFile, failsWithCode, migrationPath, rejectsWithCode, withEnv } from '../support/migrator.ts';
import { type HistoryEntry, TOOL_VERSION } from '../../src/index.ts';

const summary = (entries: HistoryEntry[]): string[] => entries.map((e) => `${e.id ?? '(lock)'}:${e.event}${e.direction === undefined ? '' : `:${e.direction}`}`);

void describe('history()', { concurrency: 2 }, () => {
  void it('lists every event oldest first, in the vocabulary, with who, when, how long and the version; writes nothing', () =>
    withEnv('history_all', async (env) => {
      await env.project.write('001-a.ts', markerMigration('a'));
      await env.project.write('002-b.ts', markerMigration('b'));
      await env.project.write('003-bad.js', failingMigration('boom at 003'));
      await env.migrator.up();
      await env.migrator.repair();
      await env.project.write('003-bad.js', markerMigration('fixed'));
      await env.migrator.up();
      await env.migrator.down({ step: 1 });

      const before = await snapshotDb(env.db);
      const { entries, error } = await env.migrator.history();
      assert.equal(error, undefined);
      assert.deepEqual(summary(entries), ['001-a:applied', '002-b:applied', '003-bad:failed:up', '003-bad:repaired', '003-bad:applied', '003-bad:reverted:down']);
      assert.deepEqual(await snapshotDb(env.db), before, 'reading the history wrote nothing');

      const [first] = entries;
      assert.ok(first !== undefined);
      assert.equal(first.host, hostname());
      assert.equal(first.pid, process.pid);
      assert.equal(typeof first.user, 'string');
      assert.equal(first.toolVersion, TOOL_VERSION);
      assert.ok(first.at instanceof Date);
      assert.equal(typeof first.durationMs, 'number');
      assert.equal(first.checksum, await checksumOfFile(migrationPath(env, '001-a.ts')));
      const failed = entries.find((e) => e.event === 'failed');
      assert.match(failed?.outcome ?? '', /boom at 003/);
      assert.match(entries.find((e) => e.event === 'repaired')?.outcome ?? '', /remove the failed record/);
    }));

  void it('filters: one migration, from a date on, the newest n; baselined and unlocked events too', () =>
    withEnv('history_filter', async (env) => {
      await env.project.write('001-a.ts', markerMigration('a'));
      await env.project.write('002-b.ts', markerMigration('b'));
      await env.project.write('003-c.ts', markerMigration('c'));
      await env.migrator.baseline('001-a');
      await env.migrator.up({ step: 1 });
      const all = (await env.migrator.history()).entries;
      const second = all[1];
      assert.ok(second !== undefined);
      await env.migrator.up();
      await env.db.collection('mongrate_lock').insertOne({ _id: 'mongrate' as never, owner: 'gone', host: 'h', pid: 1, command: 'up', acquiredAt: new Date(0), expiresAt: new Date(0) });
      assert.equal((await env.migrator.unlock()).released, true);

      assert.deepEqual(summary((await env.migrator.history()).entries), ['001-a:baselined', '002-b:applied', '003-c:applied', '(lock):unlocked']);
      assert.deepEqual(summary((await env.migrator.history({ id: '002-b' })).entries), ['002-b:applied']);
      assert.deepEqual(summary((await env.migrator.history({ limit: 2 })).entries), ['003-c:applied', '(lock):unlocked']);
      assert.deepEqual(summary((await env.migrator.history({ since: second.at })).entries), ['002-b:applied', '003-c:applied', '(lock):unlocked']);
      assert.match((await env.migrator.history({ limit: 1 })).entries[0]?.outcome ?? '', /released lock of h pid 1 \(expired\)/);
    }));

  void it('an entry a run that died left on its changelog record is appended by the next run that takes the lock, once, and cleared from the record', () =>
    withEnv('history_recover', async (env) => {
      await env.project.write('001-a.ts', markerMigration('a'));
      await env.project.write('002-b.ts', markerMigration('b'));
      assert.equal((await env.migrator.up()).error, undefined);
      const records = env.db.collection<{ _id: string; pendingHistory?: unknown }>('mongrate_changelog');
      const history = env.db.collection<{ _id: string }>('mongrate_history');
      assert.equal(await records.countDocuments({ pendingHistory: { $exists: true } }), 0, 'a finished run keeps no entry on its records');
      // as a run that died leaves them: 001-a's entry never reached the history, 002-b's did but was not cleared
      const dead = (n: number, migrationId: string): Record<string, unknown> => ({
        _id: `dead-run/00000${n}`, migrationId, event: 'up', at: new Date(), runId: 'dead-run', host: 'gone', pid: 1, user: 'u', toolVersion: '0.0.0', durationMs: 1,
      });
      await records.updateOne({ _id: '001-a' }, { $set: { pendingHistory: dead(1, '001-a') } });
      await records.updateOne({ _id: '002-b' }, { $set: { pendingHistory: dead(2, '002-b') } });
      await history.insertOne(dead(2, '002-b') as never);

      await env.project.write('003-c.ts', markerMigration('c'));
      assert.equal((await env.migrator.up()).error, undefined);
      assert.equal(await history.countDocuments({ _id: 'dead-run/000001' }), 1, 'the lost entry is appended');
      assert.equal(await history.countDocuments({ _id: 'dead-run/000002' }), 1, 'the one already there is not appended twice');
      assert.equal(await records.countDocuments({ pendingHistory: { $exists: true } }), 0, 'no record keeps an entry');
      assert.deepEqual(summary((await env.migrator.history()).entries).sort(), ['001-a:applied', '001-a:applied', '002-b:applied', '002-b:applied', '003-c:applied']);
    }));

  void it('bad options are programmer errors (thrown); an empty database has no events', () =>
    withEnv('history_args', async (env) => {
      await rejectsWithCode(Promise.resolve().then(() => env.migrator.history({ limit: 0 })), 'USAGE');
      await rejectsWithCode(Promise.resolve().then(() => env.migrator.history({ since: new Date('nope') })), 'USAGE');
      assert.deepEqual(await env.migrator.history(), { entries: [] });
      assert.deepEqual(await snapshotDb(env.db), [], 'no collection was created');
    }));
});

void describe('show(id)', { concurrency: 2 }, () => {
  void it("one migration: its status, its checksum now and as applied, description, every event", () =>
    withEnv('show_one', async (env) => {
      await env.project.write('001-a.ts', markerMigration('a', { description: 'Add the a marker' }));
      await env.migrator.up();
      await env.migrator.redo();
      const applied = await checksumOfFile(migrationPath(env, '001-a.ts'));

      const shown = await env.migrator.show('001-a');
      assert.equal(shown.error, undefined);
      assert.equal(shown.status?.state, 'applied');
      assert.equal(shown.status.description, 'Add the a marker');
      assert.deepEqual(shown.checksum, { now: applied, applied });
      assert.deepEqual(summary(shown.events), ['001-a:applied', '001-a:reverted:down', '001-a:applied']);

      await writeFile(migrationPath(env, '001-a.ts'), markerMigration('a', { description: 'Edited since' }));
      const changed = await env.migrator.show('001-a');
      assert.equal(changed.status?.state, 'changed');
      assert.equal(changed.checksum.applied, applied);
      assert.notEqual(changed.checksum.now, applied);
    }));

  void it('a pending migration has no events; one reverted and deleted is known by its history; an unknown id is USAGE', () =>
    withEnv('show_gone', async (env) => {
      await env.project.write('001-a.ts', markerMigration('a'));
      const pending = await env.migrator.show('001-a');
      assert.equal(pending.status?.state, 'pending');
      assert.deepEqual(pending.events, []);
      assert.equal(pending.checksum.applied, undefined);

      await env.migrator.up();
      await env.migrator.down();
      await rm(migrationPath(env, '001-a.ts'));
      const gone = await env.migrator.show('001-a');
      assert.equal(gone.error, undefined);
      assert.equal(gone.status, undefined);
      assert.deepEqual(summary(gone.events), ['001-a:applied', '001-a:reverted:down']);

      const unknown = await failsWithCode(env.migrator.show('999-nothing'), 'USAGE');
      assert.match(unknown.message, /no migration '999-nothing'/);
    }));
});
