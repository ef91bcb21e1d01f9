/**
 * Whether migrations run in transactions. Support is read from the server's `hello` reply
 * (a replica set or mongos) and then proven by starting one, since compatible servers answer
 * `hello` like a replica set without implementing transactions.
 */
import type { Db, Document, MongoClient } from 'mongodb';
import { configError, messageOf } from '../errors.ts';
import type { TransactionMode } from '../types.ts';

export interface TransactionSupport {
  supported: boolean;
  /** Why not, in words a user can act on. */
  reason: string;
}

/** From a recorded or live `hello` reply: only replica sets and sharded clusters have transactions. */
export function topologyFromHello(hello: Document): 'replicaset' | 'sharded' | 'standalone' {
  if (hello.msg === 'isdbgrid') return 'sharded';
  if (typeof hello.setName === 'string') return 'replicaset';
  return 'standalone';
}

export async function detectTransactionSupport(client: MongoClient, db: Db): Promise<TransactionSupport> {
  const hello = await db.admin().command({ hello: 1 });
  if (topologyFromHello(hello) === 'standalone') {
    return { supported: false, reason: 'the server is a standalone (transactions need a replica set or a sharded cluster)' };
  }
  const session = client.startSession();
  try {
    session.startTransaction();
    await db.collection('mongrate_transaction_probe').findOne({}, { session });
    await session.commitTransaction();
    return { supported: true, reason: 'supported' };
  } catch (error) {
    if (session.inTransaction()) await session.abortTransaction().catch(() => undefined);
    return { supported: false, reason: `the server refused to start a transaction (${messageOf(error)})` };
  } finally {
    await session.endSession();
  }
}

/**
 * Turns the config's mode and the server's support into a per-migration decision.
 * `always` without support is a configuration error raised before anything runs.
 */
export function transactionDecider(
  mode: TransactionMode,
  support: TransactionSupport,
): (migration: { id: string; definition: { transaction?: boolean } }) => boolean {
  if (mode === 'always' && !support.supported) {
    throw configError(`transactions: 'always' but ${support.reason}; use 'auto' or 'never'`);
  }
  return (migration) => mode !== 'never' && support.supported && migration.definition.transaction !== false;
}
