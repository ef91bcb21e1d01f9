// The capability probe against the real test server: what it reports, and that the transaction
// probe reads the server's real "no transactions" answer as false rather than as an error.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { probeServer, probeTransactions } from '../../src/server/capabilities.ts';
import { testServerFlavour, withTestDb } from '../support/database.ts';

void describe('probing the test server', () => {
  void it('describes the server, and the transaction probe answers without throwing', async () => {
    await withTestDb('probe', async ({ client, db }) => {
      const info = await probeServer(db);
      const transactions = await probeTransactions(client, db);
      if (testServerFlavour() === 'ferretdb') {
        assert.equal(info.flavour, 'ferretdb');
        // FerretDB 1.24 takes startTransaction on a read and answers commitTransaction with CommandNotFound
        assert.equal(transactions, false);
      }
      if (testServerFlavour() === 'mongod') assert.equal(transactions, true, 'the test mongod is a replica set');
      // probeServer ran the same probe wherever the server's kind allowed transactions
      if (info.supports('transactions')) assert.equal(transactions, true);
    });
  });
});
