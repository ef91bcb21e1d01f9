// Unit tests of the `_id` order copyAndRename's catch-up walks two cursors by: MongoDB's order for
// null, numbers, strings, ObjectIds, booleans and dates; "cannot tell" for the rest.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Binary, Long, ObjectId } from 'mongodb';
import { compareIds } from '../../src/helpers/id-order.ts';

void describe('compareIds()', () => {
  void it('orders the kinds it knows as MongoDB does, within and across type brackets', () => {
    // ascending, as MongoDB sorts them
    const sorted: unknown[] = [
      null,
      Number.NaN,
      -Infinity,
      -2.5,
      0,
      1,
      2 ** 40,
      Infinity,
      '',
      'B',
      'a',
      'ab',
      'é',
      // by UTF-8 bytes, as MongoDB compares: U+FFFD (EF BF BD) before U+1F600 (F0 9F 98 80), unlike JavaScript's <
      '\uFFFD',
      '\u{1F600}',
      ObjectId.createFromTime(1),
      ObjectId.createFromTime(2),
      false,
      true,
      new Date(-1),
      new Date(0),
    ];
    for (const [i, a] of sorted.entries()) {
      for (const [j, b] of sorted.entries()) {
        const order = compareIds(a, b);
        assert.equal(Math.sign(order ?? Number.NaN), Math.sign(i - j), `${String(a)} vs ${String(b)}`);
      }
    }
  });

  void it('cannot tell for sub-documents, binaries, Longs beyond 2^53 and invalid dates', () => {
    for (const value of [{ a: 1 }, new Binary(Buffer.from('x')), Long.fromString('9007199254740993'), new Date(Number.NaN)]) {
      assert.equal(compareIds(value, 1), undefined, JSON.stringify(value));
      assert.equal(compareIds('x', value), undefined, JSON.stringify(value));
    }
  });
});
