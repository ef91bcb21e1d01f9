// commitWithRetry against commit failures the shim injects (on a real replica set the recording
// proxy injects them the same way): which ones it commits again, which it hands back at once.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { MongoClient, MongoError } from 'mongodb';
import { commitWithRetry, isTransientTransactionError } from '../../src/core/transactions.ts';
import { uniqueDbName } from '../support/database.ts';
import type { Failure, TransactionShim } from '../support/transaction-shim.ts';
import { venueIt, type Gateway } from '../support/transaction-venue.ts';

interface Attempt {
  /** What commitWithRetry threw, if anything. */
  error: unknown;
  /** Every commitTransaction of the transaction, as the shim saw it. */
  commits: { answeredBy: string; writeConcern: unknown }[];
}

/** One transaction (an insert) through the gateway, its commits failing `times` times with `failure`. */
async function commitFailing(gateway: Gateway, failure: Failure, times: number): Promise<Attempt> {
  const shim: TransactionShim | undefined = gateway.shim;
  assert.ok(shim !== undefined);
  const client = new MongoClient(gateway.uri, { serverSelectionTimeoutMS: 5000 });
  const db = client.db(uniqueDbName('commit'));
  try {
    await client.connect();
    await db.createCollection('docs'); // outside the transaction, before it
    const session = client.startSession();
    try {
      session.startTransaction();
      await db.collection('docs').insertOne({ n: 1 }, { session });
      shim.inject(failure, (c) => c.name === 'commitTransaction', times);
      const error = await commitWithRetry(session).then(() => undefined, (thrown: unknown) => thrown);
      const insert = shim.commands.find((c) => c.collection === 'docs' && c.inTransaction);
      assert.ok(insert !== undefined);
      const commits = shim.transactionOf(insert).filter((c) => c.name === 'commitTransaction');
      return { error, commits: commits.map((c) => ({ answeredBy: c.answeredBy, writeConcern: c.command.writeConcern as unknown })) };
    } finally {
      await session.endSession();
    }
  } finally {
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  }
}

const committed = (gateway: Gateway): string => (gateway.real ? 'server' : 'shim');
const labels = (error: unknown): string[] => (error instanceof MongoError ? [...error.errorLabels] : []);

void describe('commitWithRetry', () => {
  venueIt('commits again after an UnknownTransactionCommitResult (replication timed out), with w: majority', { commands: true }, async (gateway) => {
    const { error, commits } = await commitFailing(gateway, 'unknown-commit-result', 1);
    assert.equal(error, undefined);
    assert.deepEqual(commits.map((c) => c.answeredBy), ['injected failure', committed(gateway)]);
    assert.equal((commits[1]?.writeConcern as { w?: unknown } | undefined)?.w, 'majority', 'MongoDB asks for majority when a commit is retried');
  });

  venueIt('gives up after three commits whose result stays unknown, handing back the labelled error', { commands: true }, async (gateway) => {
    const { error, commits } = await commitFailing(gateway, 'unknown-commit-result', Infinity);
    assert.ok(error instanceof MongoError, String(error));
    assert.ok(labels(error).includes('UnknownTransactionCommitResult'), labels(error).join());
    assert.equal(commits.length, 3);
  });

  venueIt('hands a TransientTransactionError back at once: the whole transaction is the caller\'s to run again', { commands: true }, async (gateway) => {
    const { error, commits } = await commitFailing(gateway, 'transient', 1);
    assert.ok(isTransientTransactionError(error), String(error));
    assert.equal(commits.length, 1);
  });

  venueIt('a commit whose connection drops is retried by the driver itself, and succeeds', { commands: true }, async (gateway) => {
    const { error, commits } = await commitFailing(gateway, 'network', 1);
    assert.equal(error, undefined, String(error));
    assert.deepEqual(commits.map((c) => c.answeredBy), ['injected failure', committed(gateway)]);
  });
});
