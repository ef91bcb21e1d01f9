/**
 * Fitting plain text into a width. The table library wraps cells at spaces; what it cannot do,
 * and what these do, is break a word wider than its column (an id at its '-', a path at its '/')
 * and wrap a free-standing line with an indent.
 */

/** The pieces of a word no wider than `width`: cut after a '-' or '/' where one fits, else at `width`. */
function pieces(word: string, width: number): string[] {
  const out: string[] = [];
  let rest = word;
  while (rest.length > width) {
    const dash = Math.max(rest.lastIndexOf('-', width - 1), rest.lastIndexOf('/', width - 1));
    const cut = dash > 0 ? dash + 1 : width;
    out.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  if (rest !== '') out.push(rest);
  return out;
}

/**
 * `text` with every word wider than `width` split by spaces into pieces that fit. Each piece is
 * as long as it can be, so two pieces never fit one line together and no space shows up inside
 * a wrapped word.
 */
export function breakLongWords(text: string, width: number): string {
  if (width < 1) return text;
  return text
    .split(' ')
    .flatMap((word) => pieces(word, width))
    .join(' ');
}

/** `text` as lines of at most `width` characters, broken at spaces (long words cut); later lines start with `indent`. */
export function wrapLine(text: string, width: number, indent = ''): string[] {
  const lines: string[] = [];
  let line = '';
  const room = (): number => width - (lines.length === 0 ? 0 : indent.length);
  for (const word of text.split(' ').filter((w) => w !== '')) {
    for (const piece of pieces(word, Math.max(1, width - indent.length))) {
      if (line === '') line = piece;
      else if (line.length + 1 + piece.length <= room()) line += ` ${piece}`;
      else {
        lines.push(line);
        line = piece;
      }
    }
  }
  if (line !== '' || lines.length === 0) lines.push(line);
  return lines.map((l, i) => (i === 0 ? l : indent + l));
}
