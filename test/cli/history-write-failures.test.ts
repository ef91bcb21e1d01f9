// A history entry that could not be written never changes a run's outcome: it is a warning, seen
// from the terminal. The built CLI.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { changelogRecord as record, exits, marks, parseJson, withCliProject } from '../support/cli.ts';
import { markerMigration } from '../support/project.ts';

void describe('history writes never change the outcome', () => {
  void it('a history entry that cannot be written is a warning: the migration stays applied, exit 0, and is not run again', async () => {
    await withCliProject('history_fails', async ({ project, db, run }) => {
      // a unique index on `event` that the first entry already uses: every later 'up' entry is refused
      await db.collection('mongrate_history').createIndexes([{ key: { event: 1 }, name: 'one_per_event', unique: true }]);
      await db.collection('mongrate_history').insertOne({ migrationId: '(seed)', event: 'up', at: new Date() });
      await project.write('001-a.ts', markerMigration('a'));
      await project.write('002-b.ts', markerMigration('b'));

      const up = await run(['up']);
      exits(up, 0, 'up whose history entries are refused');
      assert.match(up.stderr, /warning: could not append the 'up' history entry of 001-a/);
      assert.match(up.stderr, /warning: could not append the 'up' history entry of 002-b/);
      assert.match(up.stdout, /applied +001-a/);
      assert.equal((await record(db, '001-a'))?.state, 'applied');
      assert.equal((await record(db, '002-b'))?.state, 'applied');

      const retry = await run(['up', '--retry-failed', '--json']);
      exits(retry, 0, 'up --retry-failed');
      assert.deepEqual((parseJson(retry).steps as unknown[]).length, 0, 'nothing is run again');
      assert.deepEqual(await marks(db), ['a', 'b']);

      await project.write('003-c.ts', markerMigration('c'));
      const json = parseJson(await run(['up', '--json']));
      assert.equal(json.ok, true);
      assert.equal((json.warnings as string[]).length, 1, JSON.stringify(json));
      assert.match((json.warnings as string[])[0] ?? '', /003-c/);
    });
  });
});
