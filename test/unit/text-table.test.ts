// The terminal tables (src/cli/text-table.ts) keep console-table-printer's layout, which mongrate
// printed with before: the same tables rendered by both, compared character for character, over
// the cells `status` and the across-databases tables hold (colour codes, wrapped descriptions,
// wide and combining characters, empty columns), plus a seeded random sweep of them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Table } from 'console-table-printer';
import { displayWidth, renderTable, type TableColumn } from '../../src/cli/text-table.ts';

const bold = (text: string): string => `\x1b[1m${text}\x1b[22m`;
const green = (text: string): string => `\x1b[32m${text}\x1b[39m`;

/** The same table as console-table-printer renders it, configured as mongrate configured it. */
function reference(columns: TableColumn[], rows: string[][]): string {
  const table = new Table({
    shouldDisableColors: true,
    columns: columns.map((c, i) => ({ name: `c${i}`, title: c.title, alignment: 'left' as const, ...(c.maxWidth === undefined ? {} : { maxLen: c.maxWidth }) })),
  });
  for (const row of rows) table.addRow(Object.fromEntries(columns.map((_, i) => [`c${i}`, row[i] ?? ''])));
  return table.render();
}

function same(columns: TableColumn[], rows: string[][]): void {
  assert.equal(renderTable(columns, rows), reference(columns, rows));
}

/** A tiny seeded generator (mulberry32), so a failure names a case that runs again. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ['add', 'email_1', 'index', 'on', 'users', '20250101000001-add-users', 'applied', 'failed (down, interrupted)', '名前を追加', 'café', 'e\u0301', '🙂', '', 'x'];

void describe('text tables', () => {
  void it('a status table: wrapped descriptions, coloured states, widths from the terminal', () => {
    const columns = ['Migration', 'State', 'Applied at', 'Duration', 'Description'].map((name, i) => ({ title: bold(name), maxWidth: [20, 9, 10, 8, 24][i] }));
    const rows = [
      ['20250101000001-add-', green('applied'), '2026-12-08 02:49:14Z', '3 ms', 'Adds the users collection and its unique email index'],
      ['20250101000002-backfill', `\x1b[31mfailed (down, interrupted)\x1b[39m`, '', '1.2 s', ''],
      ['3', green('pending'), '', '', 'short'],
    ];
    same(columns, rows);
  });

  void it('tables sized by their cells: the across-databases counts and summaries', () => {
    same(
      ['Database', 'Result', 'Applied', 'Duration'].map((name) => ({ title: bold(name) })),
      [
        ['tenant_a', green('ok'), '3', '12 ms'],
        ['tenant_b', '\x1b[31mfailed\x1b[39m', '', '1.0 s'],
      ],
    );
    same([{ title: 'Only' }], []);
    same([{ title: '' }, { title: 'B' }], [['', 'b']]);
  });

  void it('wide and combining characters take their display width', () => {
    assert.equal(displayWidth('名前'), 4);
    assert.equal(displayWidth('e\u0301'), 1);
    assert.equal(displayWidth(green('ok')), 2);
    same([{ title: 'Name' }, { title: 'Description', maxWidth: 6 }], [['名前を追加', 'ajoute le café'], ['🙂', 'e\u0301 e\u0301 e\u0301']]);
  });

  void it('a cell of several lines is as wide as its widest line, and every line of the table as wide as the rest', () => {
    const lines = renderTable([{ title: 'Database' }, { title: 'Note' }], [['tenant_a', 'unreachable: connect ECONNREFUSED\nafter 30 s']]).split('\n');
    assert.equal(lines.length, 6);
    assert.ok(lines.every((line) => displayWidth(line) === displayWidth(lines[0] ?? '')), lines.join('\n'));
    assert.match(lines[3] ?? '', /│ tenant_a │ unreachable: connect ECONNREFUSED │/);
  });

  void it('a seeded sweep of random tables renders as console-table-printer rendered them', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const next = random(seed);
      const pick = (): string => WORDS[Math.floor(next() * WORDS.length)] ?? '';
      const sentence = (): string => Array.from({ length: Math.floor(next() * 6) }, pick).join(' ');
      const columns: TableColumn[] = Array.from({ length: 1 + Math.floor(next() * 5) }, () => ({
        title: next() < 0.5 ? bold(pick() || 'T') : sentence(),
        ...(next() < 0.5 ? { maxWidth: Math.floor(next() * 25) } : {}),
      }));
      const rows = Array.from({ length: Math.floor(next() * 6) }, () => columns.map(() => (next() < 0.3 ? green(sentence()) : sentence())));
      assert.equal(renderTable(columns, rows), reference(columns, rows), `seed ${seed}`);
    }
  });
});
