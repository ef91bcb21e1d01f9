// Unit tests of what copyAndRename creates its copies with, from listCollections entries as MongoDB
// reports them (most of these options cannot be created on the FerretDB test server).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Db, Document } from 'mongodb';
import { copyOptions } from '../../src/helpers/collection-options.ts';
import { refuseClientEncryption } from '../../src/helpers/copy-refusals.ts';
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

void describe('refuseClientEncryption()', () => {
  /** A Db of a client made with these autoEncryption options (never connected: the check reads only its options). */
  const dbWith = (autoEncryption: Document | undefined): Db => ({ databaseName: 'shop', client: { options: { autoEncryption } } }) as unknown as Db;
  const names = ['users', 'people', undefined];

  void it('refuses a collection the client encrypts automatically: its fields would land decrypted in the temporary collection', () => {
    for (const map of ['schemaMap', 'encryptedFieldsMap']) {
      assert.throws(
        () => refuseClientEncryption(dbWith({ [map]: { 'shop.users': {} } }), names, undefined, '_mongrate_tmp_people', what),
        isError('USAGE', /client-side field level encryption: the client's autoEncryption names 'shop\.users', so the copy would read the encrypted fields decrypted and write them in plaintext into '_mongrate_tmp_people'/),
      );
    }
    // the target named in the map: its encrypted fields would be written by the rename unencrypted
    assert.throws(() => refuseClientEncryption(dbWith({ schemaMap: { 'shop.people': {} } }), names, undefined, 't', what), isError('USAGE', /names 'shop\.people'/));
    // a remote schema: the validator has encrypt keywords, which an auto-encrypting client reads
    const validator = { $jsonSchema: { properties: { ssn: { encrypt: { bsonType: 'string' } } } } };
    assert.throws(() => refuseClientEncryption(dbWith({}), names, validator, 't', what), isError('USAGE', /its \$jsonSchema validator has encrypt keywords/));
  });

  void it('lets through a client without autoEncryption (encrypted values are copied as they are), or one whose maps name other collections', () => {
    refuseClientEncryption(dbWith(undefined), names, { $jsonSchema: { properties: { ssn: { encrypt: {} } } } }, 't', what);
    refuseClientEncryption(dbWith({ schemaMap: { 'shop.orders': {}, 'other.users': {} } }), names, undefined, 't', what);
  });
});
