// Unit tests of what copyAndRename creates its copies with, from listCollections entries as MongoDB
// reports them (most of these options cannot be created on the FerretDB test server).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { copyOptions } from '../../src/helpers/collection-options.ts';
import type { HelperContext } from '../../src/helpers/types.ts';
import { isError } from '../support/assertions.ts';

function context(): { ctx: HelperContext; warnings: string[] } {
  const warnings: string[] = [];
  return { ctx: { warn: (message: string) => warnings.push(message) } as unknown as HelperContext, warnings };
}

const what = 'copyAndRename(users)';

void describe('copyOptions()', () => {
  void it('copies what defines the collection; a clustered index loses only its format version', () => {
    const { ctx, warnings } = context();
    const options = {
      capped: true,
      size: 4096,
      max: 10,
      validator: { $jsonSchema: { required: ['a'] } },
      validationLevel: 'moderate',
      validationAction: 'warn',
      collation: { locale: 'en', strength: 2, version: '57.1' },
      clusteredIndex: { v: 2, key: { _id: 1 }, name: 'by_id', unique: true },
      expireAfterSeconds: 60,
      changeStreamPreAndPostImages: { enabled: true },
      storageEngine: { wiredTiger: { configString: 'block_compressor=zstd' } },
      indexOptionDefaults: { storageEngine: { wiredTiger: {} } },
    };
    const copied = copyOptions(ctx, { name: 'users', type: 'collection', options, info: { uuid: 'x' } }, what);
    assert.deepEqual(copied.options, { ...options, clusteredIndex: { key: { _id: 1 }, name: 'by_id', unique: true } });
    assert.equal(copied.capped, true);
    assert.equal(copied.validated, true);
    assert.deepEqual(warnings, []);
  });

  void it('a plain collection gets no options; an empty validator is no validator', () => {
    const { ctx } = context();
    assert.deepEqual(copyOptions(ctx, { name: 'users', type: 'collection', options: {} }, what), { options: {}, capped: false, collation: undefined, validated: false });
    assert.equal(copyOptions(ctx, { name: 'users', options: { validator: {} } }, what).validated, false);
  });

  void it('leaves out legacy and internal options silently, and unknown ones with a notice', () => {
    const { ctx, warnings } = context();
    const copied = copyOptions(ctx, { name: 'users', type: 'collection', options: { autoIndexId: true, flags: 1, recordPreImages: true, temp: true, someFutureOption: 1 } }, what);
    assert.deepEqual(copied.options, {});
    assert.deepEqual(warnings, ["copyAndRename(users): the copy does not get the option someFutureOption of 'users' (not known to mongrate); set it again after the migration if needed"]);
  });

  void it('refuses a view, a time-series collection and a Queryable Encryption collection, naming what they are', () => {
    const { ctx } = context();
    assert.throws(() => copyOptions(ctx, { name: 'v', type: 'view', options: { viewOn: 'users', pipeline: [] } }, what), isError('USAGE', /'v' is a view \(of 'users'\), not a collection/));
    assert.throws(() => copyOptions(ctx, { name: 't', type: 'timeseries', options: { timeseries: { timeField: 'at' } } }, what), isError('USAGE', /'t' is a time-series collection/));
    assert.throws(() => copyOptions(ctx, { name: 'e', type: 'collection', options: { encryptedFields: { fields: [] } } }, what), isError('USAGE', /'e' uses Queryable Encryption \(encryptedFields\)/));
  });
});
