// Unit tests of the helpers' write decisions: the diff a changed document is written as, the
// conditions of its update and of a delete, and the transaction size limit.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BSON, Double, Long, ObjectId, type Document } from 'mongodb';
import { TransactionLimitError } from '../../src/errors.ts';
import { CONDITION_BUDGET, deleteFilter, diffWrite, holdsTarget } from '../../src/helpers/diff.ts';
import { storedValues } from '../../src/helpers/typed.ts';
import { DEFAULT_TRANSACTION_DOCUMENT_LIMIT, refuseOversizedTransaction, transactionOverflow } from '../../src/helpers/transaction-limit.ts';
import type { HelperContext } from '../../src/helpers/types.ts';
import { isError } from '../support/assertions.ts';

const id = new ObjectId('66f1a2b3c4d5e6f708192a3b');

/** The two decodings the helpers hold of one stored document: as the transform sees it (read) and with every BSON type (original). */
function decodings(doc: Document): { read: Document; original: Document } {
  const bytes = BSON.serialize(doc);
  return { read: BSON.deserialize(bytes), original: storedValues(bytes) };
}

void describe('diffWrite()', () => {
  void it('sets changed and added fields, unsets removed ones, conditional on each as read', () => {
    const { original } = decodings({ _id: id, name: 'a', score: new Double(2.5), profile: { bio: 'x' }, old: 1, double: new Double(2), long: Long.fromNumber(5) });
    const next = { _id: id, name: 'b', score: 3, profile: { bio: 'y' }, created: 'now', double: 2, long: 5 };
    const diff = diffWrite(original, next, 'reshape(users)');
    assert.deepEqual(diff?.update, { $set: { name: 'b', score: 3, profile: { bio: 'y' }, created: 'now' }, $unset: { old: '' } });
    assert.deepEqual(diff.filter, {
      _id: id,
      name: { $eq: 'a' },
      // the condition carries the stored type: a Double is what the server holds
      score: { $eq: new Double(2.5) },
      profile: { $eq: { bio: 'x' } },
      created: { $exists: false },
      old: { $eq: original.old as unknown },
    });
    // a Double 2.0 and a Long 5, read as 2 and 5 and given back so, are not written: they keep their types
    for (const key of ['double', 'long']) assert.ok(!(key in diff.filter) && !(key in diff.set), key);
  });

  void it('keeps the stored types inside a field it changed, and removes a field set to undefined', () => {
    const { read, original } = decodings({ _id: id, top: Long.fromNumber(7), profile: { logins: Long.fromNumber(5), score: new Double(2), name: 'a' }, legacy: 'x' });
    const diff = diffWrite(original, { ...read, profile: { ...(read.profile as Document), name: 'b' }, legacy: undefined }, 'w');
    assert.deepEqual(Object.keys(diff?.set ?? {}), ['profile'], 'top, untouched, is not written');
    const profile = diff?.set.profile as Document;
    assert.ok(profile.logins instanceof Long && profile.score instanceof Double, 'nested Long and Double kept');
    assert.deepEqual(diff?.unset, ['legacy'], 'undefined removes the field, never sets null');
  });

  void it('a changed field larger than CONDITION_BUDGET is checked, not carried: the statement stays small', () => {
    const { original } = decodings({ _id: id, blob: 'a'.repeat(2 * CONDITION_BUDGET), n: 1 });
    const diff = diffWrite(original, { _id: id, blob: 'b'.repeat(2 * CONDITION_BUDGET), n: 1 }, 'w');
    assert.deepEqual(diff?.checked, ['blob']);
    assert.deepEqual(diff.filter, { _id: id });
  });

  void it('is undefined when only the field order changed; the _id is never written', () => {
    const { original } = decodings({ _id: id, a: 1, b: [1, 2] });
    assert.equal(diffWrite(original, { b: [1, 2], _id: id, a: 1 }, 'w'), undefined);
  });

  void it('a null read is conditioned to exist, since $eq null also matches a missing field', () => {
    const { original } = decodings({ _id: id, a: null });
    assert.deepEqual(diffWrite(original, { _id: id, a: 1 }, 'w')?.filter, { _id: id, a: { $eq: null, $exists: true } });
  });

  void it('refuses to write a top-level field whose name $set would read as a path or an operator', () => {
    const { original } = decodings({ _id: id, 'a.b': 1, ok: 1 });
    assert.throws(() => diffWrite(original, { _id: id, 'a.b': 2, ok: 1 }, 'reshape(users)'), isError('USAGE', /changes the field 'a\.b' of .* contains '\.'/));
    // untouched, such a field is fine: it is not written
    assert.deepEqual(diffWrite(original, { _id: id, 'a.b': 1, ok: 2 }, 'w')?.update, { $set: { ok: 2 } });
  });
});

void describe('deleteFilter()', () => {
  void it('conditions a delete on every top-level field as read, leaving out names a filter cannot express', () => {
    const { original } = decodings({ _id: id, a: 'x', n: null, 'dotted.name': 1 });
    assert.deepEqual(deleteFilter(original), { filter: { _id: id, a: { $eq: 'x' }, n: { $eq: null, $exists: true } }, checked: [] });
  });

  void it('carries at most CONDITION_BUDGET bytes of values; larger fields are left to a check by re-reading', () => {
    const big = 'x'.repeat(CONDITION_BUDGET);
    const { original } = decodings({ _id: id, small: 1, huge: big, other: 'y'.repeat(CONDITION_BUDGET / 2) });
    const { filter, checked } = deleteFilter(original);
    assert.deepEqual(checked, ['huge']);
    assert.deepEqual(filter, { _id: id, small: { $eq: original.small as unknown }, other: { $eq: original.other as unknown } });
  });
});

void describe('holdsTarget()', () => {
  const { original } = decodings({ _id: id, a: 1, gone: true });
  const diff = diffWrite(original, { _id: id, a: 2, big: Long.fromNumber(3) }, 'w');

  void it('is true when the document holds exactly what the update sets and lacks what it unsets', () => {
    assert.ok(diff !== undefined);
    assert.equal(holdsTarget(decodings({ _id: id, a: 2, big: Long.fromNumber(3), other: 'x' }).original, diff), true);
  });

  void it('is false for another value, another BSON type of the same number, or a field still there', () => {
    assert.ok(diff !== undefined);
    assert.equal(holdsTarget(decodings({ _id: id, a: 3, big: Long.fromNumber(3) }).original, diff), false);
    assert.equal(holdsTarget(decodings({ _id: id, a: 2, big: 3 }).original, diff), false);
    assert.equal(holdsTarget(decodings({ _id: id, a: 2, big: Long.fromNumber(3), gone: true }).original, diff), false);
  });
});

void describe('transaction size', () => {
  void it('transactionOverflow() says why more documents than the limit do not fit; up to the limit they do', () => {
    assert.equal(DEFAULT_TRANSACTION_DOCUMENT_LIMIT, 1000);
    assert.equal(transactionOverflow(1000), undefined);
    assert.equal(transactionOverflow(0, 0), undefined);
    assert.equal(transactionOverflow(1001), 'it would touch 1001 documents, more than transactionDocumentLimit (1000)');
    assert.equal(transactionOverflow(3, 2), 'it would touch 3 documents, more than transactionDocumentLimit (2)');
  });

  const session = (inTransaction: boolean): HelperContext => ({ session: { inTransaction: () => inTransaction } }) as unknown as HelperContext;

  void it('refuseOversizedTransaction() throws TransactionLimitError only inside a transaction, with the context limit', async () => {
    await refuseOversizedTransaction(session(false), 'reshape(users)', Promise.resolve(5000));
    await refuseOversizedTransaction(session(true), 'reshape(users)', Promise.resolve(1000));
    await assert.rejects(
      refuseOversizedTransaction({ ...session(true), transactionDocumentLimit: 10 }, 'bumpSchemaVersion(users)', Promise.resolve(11)),
      (error: unknown) =>
        error instanceof TransactionLimitError &&
        error.code === 'TRANSACTION_LIMIT' &&
        error.message === 'bumpSchemaVersion(users) cannot run inside a transaction: it would touch 11 documents, more than transactionDocumentLimit (10)',
    );
  });

  void it('outside a transaction it does not wait for the count (which runs beside the work there)', async () => {
    await refuseOversizedTransaction(session(false), 'reshape(users)', new Promise<number>(() => undefined));
  });
});
