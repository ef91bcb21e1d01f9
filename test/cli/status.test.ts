// `status`, run exactly as a user would: the built bin in a throwaway project folder, against the
// test server, one fresh database per test.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { changelog, exits, parseJson, type StatusJson, statusTableRows, withCliProject } from '../support/cli.ts';
import { failingMigration, markerMigration, THREE, writeThree } from '../support/project.ts';

const { A, B, C } = THREE;

void describe('status', { concurrency: 4 }, () => {
  void it('the table and --json agree on ids, states and descriptions; --check exits 4', async () => {
    await withCliProject('status', async ({ project, db, run }) => {
      await project.write(`${A}.ts`, markerMigration('a', { description: 'first alpha' }));
      await project.write(`${B}.ts`, markerMigration('b', { description: 'second beta' }));
      await project.write('003-fails.ts', failingMigration('boom three\n  on a second line'));
      exits(await run(['up']), 1, 'up with a failing third migration');
      // changed: edit an applied file; missing: delete an applied file; pending: a new file
      await project.write(`${A}.ts`, markerMigration('a', { description: 'first alpha, edited' }));
      await rm(join(project.migrationsDir, `${B}.ts`));
      await project.write('004-delta.ts', markerMigration('d', { description: 'fourth delta' }));
      const before = await changelog(db);

      const table = await run(['status']);
      exits(table, 0, 'status');
      const rows = statusTableRows(table.stdout);
      const expected: [string, string][] = [
        [A, 'changed'],
        [B, 'missing'],
        ['003-fails', 'failed'],
        ['004-delta', 'pending'],
      ];
      assert.deepEqual(rows.map((r) => [r[0], r[1]]), expected);
      assert.match(rows[0]?.[4] ?? '', /first alpha, edited/);
      assert.match(rows[1]?.[4] ?? '', /second beta/);
      assert.doesNotMatch(rows[2]?.[4] ?? '', /boom/, 'the error is not in the description column');
      assert.match(table.stdout, /^003-fails \(failed\): boom three on a second line$/m, 'a multi-line error is one line under the table');
      const widths = new Set(table.stdout.split('\n').filter((line) => /^[│┌├└]/.test(line)).map((line) => line.length));
      assert.equal(widths.size, 1, `every line of the table is as wide as the others:\n${table.stdout}`);
      assert.match(rows[3]?.[4] ?? '', /fourth delta/);
      assert.match(rows[0]?.[2] ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/, 'applied-at of an applied migration');
      assert.equal(rows[3]?.[2], '', 'a pending migration has no applied-at');

      const json = await run(['status', '--json']);
      exits(json, 0, 'status --json');
      const doc = parseJson(json) as unknown as StatusJson;
      assert.equal(doc.ok, true);
      assert.equal(doc.command, 'status');
      assert.deepEqual(doc.migrations.map((m) => [m.id, m.state]), expected, 'the JSON carries the same facts as the table');
      assert.equal(doc.migrations.find((m) => m.id === '004-delta')?.description, 'fourth delta');

      const check = await run(['status', '--check']);
      exits(check, 4, 'status --check');
      for (const [id] of expected) assert.ok(check.stdout.includes(id), `--check output names ${id}`);
      assert.match(check.stdout + check.stderr, /check failed/);

      const checkJson = await run(['status', '--check', '--json']);
      exits(checkJson, 4, 'status --check --json');
      const checkDoc = parseJson(checkJson) as unknown as StatusJson;
      assert.equal(checkDoc.ok, false);
      assert.equal(checkDoc.error?.code, 'CHECK_FAILED');
      assert.deepEqual(await changelog(db), before, 'status changes nothing');
    });
  });

  void it('--check exits 4 on only one pending migration and 0 when everything is applied', async () => {
    await withCliProject('status_ok', async ({ project, run }) => {
      await writeThree(project);
      const empty = await run(['status', '--check']);
      exits(empty, 4, 'status --check with pending migrations');
      exits(await run(['up']), 0, 'up');
      const all = await run(['status', '--check']);
      exits(all, 0, 'status --check with everything applied');
      assert.deepEqual(statusTableRows(all.stdout).map((r) => [r[0], r[1], r[4]]), [
        [A, 'applied', 'first alpha'],
        [B, 'applied', 'second beta'],
        [C, 'applied', 'third gamma'],
      ]);
      const json = await run(['status', '--check', '--json']);
      exits(json, 0, 'status --check --json');
      const doc = parseJson(json) as unknown as StatusJson;
      assert.equal(doc.ok, true);
      assert.equal(doc.problems, 0);
      await project.write('004-delta.ts', markerMigration('d'));
      const one = await run(['status', '--check']);
      exits(one, 4, 'status --check with one new migration');
      assert.match(one.stdout, /004-delta/);
    });
  });

  void it('an empty project says so', async () => {
    await withCliProject('status_empty', async ({ dbName, run }) => {
      const result = await run(['status']);
      exits(result, 0, 'status');
      assert.match(result.stdout, /No migrations/);
      assert.ok(result.stdout.includes(dbName));
      exits(await run(['status', '--check']), 0, 'status --check with nothing at all');
    });
  });
});
