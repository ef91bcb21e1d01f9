/**
 * Box-drawn tables for the terminal: `status`, and the tables of a command across databases.
 *
 * The layout is console-table-printer's, which mongrate used until it showed up in every
 * `status`: ~20 ms to load and ~50 ms to render 500 rows on the shared 2-core machine, a tenth of
 * the command. Here a cell of plain printable ASCII is sized by its length, and only other text
 * goes to simple-wcswidth (loaded then) for its display width (wide CJK characters count 2,
 * combining marks 0). test/cli/text-table.test.ts renders the same tables with both and compares
 * them character for character.
 *
 * Layout: a column is as wide as its widest cell (a cell of several lines, its widest line), or,
 * with `maxWidth`, that width or its longest word, whichever is wider; a cell wraps at spaces (and
 * at its own line breaks) into lines of at most the column's width; colour escape codes count for
 * nothing.
 */
import { createRequire } from 'node:module';

export interface TableColumn {
  /** The header cell (it may carry colour codes). */
  title: string;
  /** Wrap the column's cells at spaces to this display width (a longer word widens the column). */
  maxWidth?: number;
}

// eslint-disable-next-line no-control-regex -- the escape character is what a colour code starts with
const COLOUR_CODE = /\x1b\[\d{1,3}(;\d{1,3})*m/g;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
/** A column that would come out 0 wide (only empty cells and title) is this wide, as before. */
const EMPTY_COLUMN_WIDTH = 20;

let wcswidth: ((text: string) => number) | undefined;

/** Columns `text` takes in a terminal, colour codes left out. */
export function displayWidth(text: string): number {
  const plain = text.includes('\x1b') ? text.replace(COLOUR_CODE, '') : text;
  if (PRINTABLE_ASCII.test(plain)) return plain.length;
  // CommonJS, through require: import() would also run Node's CommonJS export scan over it
  wcswidth ??= (createRequire(import.meta.url)('simple-wcswidth') as { wcswidth: (text: string) => number }).wcswidth;
  return wcswidth(plain);
}

const widest = (parts: string[]): number => parts.reduce((most, part) => Math.max(most, displayWidth(part)), 0);
const widestWord = (text: string): number => widest(text.split(' '));
/** console-table-printer sized such a cell as one line (and garbled the table); it is sized by its widest line. */
const widestLine = (text: string): number => widest(text.split(/[\n\r]/));

/** `text` as lines no wider than `width`, broken at spaces; a longer word gets a line of its own. */
function wrapCell(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split(/[\n\r]/)) {
    let words: string[] = [];
    // what the line takes so far, a space after each word
    let taken = 0;
    for (const word of paragraph.split(' ')) {
      const wordWidth = displayWidth(word);
      if (taken + wordWidth <= width) {
        taken += wordWidth + 1;
        words.push(word);
      } else {
        if (words.length > 0) lines.push(words.join(' '));
        words = [word];
        taken = wordWidth + 1;
      }
    }
    lines.push(words.join(' '));
  }
  return lines;
}

function columnWidth(column: TableColumn, cells: string[]): number {
  let width: number;
  if (column.maxWidth !== undefined && column.maxWidth > 0) {
    width = Math.max(column.maxWidth, widestWord(column.title));
    for (const cell of cells) width = Math.max(width, widestWord(cell));
  } else {
    width = widestLine(column.title);
    for (const cell of cells) width = Math.max(width, widestLine(cell));
  }
  return width === 0 ? EMPTY_COLUMN_WIDTH : width;
}

function border(widths: number[], left: string, middle: string, right: string): string {
  return left + widths.map((width) => '─'.repeat(width + 2)).join(middle) + right;
}

/** One row of cells as the lines it takes, each cell wrapped to its column and padded. */
function rowLines(cells: string[], widths: number[], out: string[]): void {
  const wrapped = widths.map((width, column) => wrapCell(cells[column] ?? '', width));
  const height = wrapped.reduce((most, lines) => Math.max(most, lines.length), 0);
  for (let line = 0; line < height; line++) {
    let text = '│';
    for (const [column, width] of widths.entries()) {
      const cell = wrapped[column]?.[line] ?? '';
      text += ` ${cell}${' '.repeat(Math.max(0, width - displayWidth(cell)))} │`;
    }
    out.push(text);
  }
}

/** The table of `rows` (one string per column each) under a header of the columns' titles. */
export function renderTable(columns: TableColumn[], rows: string[][]): string {
  const widths = columns.map((column, index) => columnWidth(column, rows.map((row) => row[index] ?? '')));
  const out = [border(widths, '┌', '┬', '┐')];
  rowLines(columns.map((c) => c.title), widths, out);
  out.push(border(widths, '├', '┼', '┤'));
  for (const row of rows) rowLines(row, widths, out);
  out.push(border(widths, '└', '┴', '┘'));
  return out.join('\n');
}
