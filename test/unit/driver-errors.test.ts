// Driver errors are told apart by class names, codes and labels, never by `instanceof`: an error
// thrown by a second copy of the driver (the project's own `mongodb`, beside the one mongrate
// bundles) is classified exactly as one of the bundled copy. The second copy here is the real
// driver loaded again apart from the first (its classes are not the first copy's). No server.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { sep } from 'node:path';
import { describe, it } from 'node:test';
import * as bundled from 'mongodb';
import {
  DUPLICATE_KEY_CODES,
  hasErrorLabel,
  hasServerCode,
  isConnectionLoss,
  isDriverError,
  isDriverErrorNamed,
  isDuplicateKey,
  isServerError,
  isServerTooOldForDriver,
  isThrottled,
  isUnsupportedCommand,
} from '../../src/driver/errors.ts';
import { MongrateError } from '../../src/errors.ts';

/** The driver loaded a second time, as the project's own copy would be: same code, other classes. */
function secondCopy(): typeof import('mongodb') {
  const require = createRequire(import.meta.url);
  const ours = (file: string): boolean => file.includes(`${sep}node_modules${sep}mongodb${sep}`) || file.includes(`${sep}node_modules${sep}bson${sep}`);
  const saved = Object.entries(require.cache).filter(([file]) => ours(file));
  for (const [file] of saved) Reflect.deleteProperty(require.cache, file);
  try {
    return require('mongodb') as typeof import('mongodb');
  } finally {
    for (const [file] of Object.entries(require.cache)) if (ours(file)) Reflect.deleteProperty(require.cache, file);
    for (const [file, module] of saved) require.cache[file] = module;
  }
}

const other = secondCopy();

void describe('driver errors from either copy of the driver', () => {
  void it('the second copy really is another copy: instanceof fails across them', () => {
    assert.notEqual(other.MongoServerError, bundled.MongoServerError);
    assert.equal(new other.MongoServerError({ message: 'x', code: 11000 }) instanceof bundled.MongoServerError, false);
  });

  for (const [label, driver] of [
    ['bundled', bundled],
    ['second copy', other],
  ] as const) {
    void it(`${label}: a duplicate key is recognised by its code (11000, 11001), whatever the message says`, () => {
      for (const code of DUPLICATE_KEY_CODES) assert.equal(isDuplicateKey(new driver.MongoServerError({ message: 'refused', code })), true, `code ${code}`);
      assert.equal(isDuplicateKey(new driver.MongoServerError({ message: 'E11000 duplicate key error', code: 2 })), false, 'the message is never read');
      assert.equal(isDuplicateKey(new Error('E11000 duplicate key error')), false);
    });

    void it(`${label}: server errors, their codes and labels`, () => {
      const error = new driver.MongoServerError({ message: 'conflict', code: 112, codeName: 'WriteConflict', errorLabels: ['TransientTransactionError'] });
      assert.equal(isDriverError(error), true);
      assert.equal(isServerError(error), true);
      assert.equal(hasServerCode(error, 26, 112), true);
      assert.equal(hasErrorLabel(error, 'TransientTransactionError'), true);
      assert.equal(hasErrorLabel(error, 'UnknownTransactionCommitResult'), false);
    });

    void it(`${label}: a lost connection, through subclasses and a wrapping error`, () => {
      assert.equal(isConnectionLoss(new driver.MongoNetworkTimeoutError('timed out')), true, 'a subclass of MongoNetworkError');
      assert.equal(isConnectionLoss(new driver.MongoTopologyClosedError()), true);
      assert.equal(isConnectionLoss(new driver.MongoNotConnectedError('not connected')), true);
      assert.equal(isConnectionLoss(new driver.MongoServerError({ message: 'going away', code: 91 })), true, 'ShutdownInProgress');
      assert.equal(isConnectionLoss(new Error('helper failed', { cause: new driver.MongoNetworkError('closed') })), true);
      assert.equal(isConnectionLoss(new driver.MongoServerError({ message: 'bad', code: 2 })), false);
      assert.equal(isDriverErrorNamed(new driver.MongoParseError('bad uri'), 'MongoParseError'), true);
    });

    void it(`${label}: a failover means the server went away, never that the migration failed`, () => {
      const replies = [
        { code: 10107, codeName: 'NotWritablePrimary' },
        { code: 189, codeName: 'PrimarySteppedDown' },
        { code: 13435, codeName: 'NotPrimaryNoSecondaryOk' },
        { code: 13436, codeName: 'NotPrimaryOrSecondary' },
        { code: 11602, codeName: 'InterruptedDueToReplStateChange' },
        { code: 10058, codeName: 'LegacyNotPrimary' },
      ];
      for (const reply of replies) assert.equal(isConnectionLoss(new driver.MongoServerError({ message: 'x', ...reply })), true, reply.codeName);
      // any code, once labelled retryable by the server or the driver
      const labelled = new driver.MongoServerError({ message: 'operation exceeded time limit', code: 262, errorLabels: ['RetryableWriteError'] });
      assert.equal(isConnectionLoss(labelled), true, 'RetryableWriteError');
      assert.equal(isConnectionLoss(new driver.MongoServerError({ message: 'operation exceeded time limit', code: 262 })), false, 'the same code without the label');
      assert.equal(isConnectionLoss(new driver.MongoServerError({ message: 'write conflict', code: 112, errorLabels: ['TransientTransactionError'] })), false, 'a transaction retry is not a failover');
      // how a bulkWrite reports that no primary was found in time (a helper's batch, mid-election)
      const selection = new driver.MongoNetworkError('Server selection timed out after 30000 ms');
      assert.equal(isConnectionLoss(Object.assign(new driver.MongoServerError({ message: 'bulk' }), { errorResponse: selection })), true, 'a bulk write error over a lost server');
    });

    void it(`${label}: Cosmos DB's throttling, unsupported commands, a server too old for the driver`, () => {
      assert.equal(isThrottled(new driver.MongoServerError({ message: 'Request rate is large', code: 16500, codeName: 'TooManyRequests' })), true);
      assert.equal(isThrottled(new driver.MongoServerError({ message: 'x', code: 50 })), false);
      assert.equal(isUnsupportedCommand(new driver.MongoServerError({ message: 'Command hello not supported', code: 115 })), true);
      assert.equal(isUnsupportedCommand(new driver.MongoServerError({ message: "no such command: 'hello'", code: 59 })), true);
      assert.equal(isUnsupportedCommand(new driver.MongoServerError({ message: 'not authorized', code: 13 })), false);
      const incompatible = new driver.MongoCompatibilityError('reports maximum wire version 7');
      assert.equal(isServerTooOldForDriver(incompatible), true);
      assert.equal(isServerTooOldForDriver(new driver.MongoNetworkError('timed out')), false);
      // the driver reports it as a selection timeout caused by the compatibility error (the real one is in test/scripted/)
      assert.equal(isServerTooOldForDriver(new driver.MongoNetworkError('timed out', { cause: incompatible })), true);
    });
  }

  void it('errors that are not the driver’s are not driver errors', () => {
    for (const [index, error] of [new Error('MongoError'), new MongrateError('MIGRATION_FAILED', 'x'), undefined, null, 'MongoServerError', { name: 'x', code: 11000 }].entries()) {
      assert.equal(isDriverError(error), false, `case ${index}`);
      assert.equal(isDuplicateKey(error), false);
      assert.equal(isConnectionLoss(error), false);
    }
  });
});
