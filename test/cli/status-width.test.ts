// `mongrate status` fits the terminal, run as a user would against the test server: with long ids,
// descriptions and a 400-character multi-line error, every line fits COLUMNS (cells wrap, ids
// break at '-'); errors are listed under the table, not in the description column; "Applied at"
// is set for applied migrations only.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exits, withCliProject } from '../support/cli.ts';
import { failingMigration, markerMigration } from '../support/project.ts';

const LONG_ID = '20250102090000-users-flat-to-nested-with-settings-and-profile';
const DESCRIPTION = 'Users flat -> nested profile/settings, copied and renamed over users, with the original kept for down';
const ERROR = `E11000 duplicate key error collection: app.users index: email_unique dup key: { email: "someone@example.com" }\n  ${'while copying the users into their new shape, '.repeat(7)}the end`;

/** Every line of `text` at most `columns` characters (box-drawing characters count one each). */
function assertFits(text: string, columns: number, what: string): void {
  // the table's box-drawing characters are one UTF-16 unit each, like everything else printed here
  const wide = text.split('\n').filter((line) => line.length > columns);
  assert.deepEqual(wide, [], `${what}: lines wider than ${columns} columns:\n${text}`);
}

/** A row of the table by the start of its id, its wrapped lines joined back cell by cell. */
function rowOf(stdout: string, prefix: string): string[] {
  const cells = (line: string): string[] => line.split('│').slice(1, -1).map((cell) => cell.trim());
  const lines = stdout.split('\n').filter((line) => line.startsWith('│')).map(cells);
  const start = lines.findIndex((row) => row[0]?.startsWith(prefix) === true);
  assert.notEqual(start, -1, `no row for ${prefix} in:\n${stdout}`);
  // a row's next lines continue it until the next id (every id here starts with its timestamp)
  const next = lines.findIndex((row, index) => index > start && /^\d{14}-/.test(row[0] ?? ''));
  const parts = lines.slice(start, next === -1 ? undefined : next);
  return (parts[0] ?? []).map((_, column) => parts.map((row) => row[column] ?? '').filter((cell) => cell !== '').join(' '));
}

void describe('status fits the terminal', () => {
  void it('with long ids, descriptions and errors, every line fits COLUMNS; the error is under the table', () =>
    withCliProject('status_width', async ({ project, run }) => {
      await project.write(`${LONG_ID}.ts`, markerMigration('a', { description: DESCRIPTION }));
      await project.write('20250103090000-fails.js', failingMigration(ERROR));
      await project.write('20250104090000-pending.ts', markerMigration('p', { description: DESCRIPTION }));
      exits(await run(['up']), 1, 'up with a failing migration');

      for (const columns of [72, 80, 100, 160]) {
        const result = await run(['status'], { COLUMNS: String(columns) });
        exits(result, 0, `status with COLUMNS=${columns}`);
        assertFits(result.stdout, columns, `COLUMNS=${columns}`);
        const applied = rowOf(result.stdout, '20250102090000-');
        assert.equal(applied[0]?.replace(/ /g, ''), LONG_ID, `the id, wrapped at '-', reads whole (COLUMNS=${columns})`);
        assert.equal(applied[1], 'applied');
        assert.match(applied[2] ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/, 'applied-at of an applied migration');
        // a word cut to fit its column comes back with a space: compare without them
        assert.equal(applied[4]?.replace(/ /g, ''), DESCRIPTION.replace(/ /g, ''), 'the description, wrapped, reads whole');
        const failed = rowOf(result.stdout, '20250103090000-');
        assert.equal(failed[1], 'failed');
        assert.equal(failed[2], '', 'a failed migration has no applied-at');
        assert.doesNotMatch(result.stdout.split('└')[0] ?? '', /E11000/, 'the error is not inside the table');
        const below = result.stdout.split('┘')[1] ?? '';
        assert.match(below, /^20250103090000-fails \(failed\): E11000 duplicate key/m, 'the error, under the table');
        assert.equal(below.replace(/\s+/g, ' ').includes(ERROR.replace(/\s+/g, ' ')), true, `the whole error, wrapped:\n${below}`);
      }
      // no terminal and no COLUMNS: a wide default, still bounded
      const plain = await run(['status']);
      assertFits(plain.stdout, 120, 'no COLUMNS, no terminal');
    }));
});
