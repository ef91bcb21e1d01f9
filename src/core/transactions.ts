/**
 * Whether migrations run in transactions: decided from the server probe (a replica set or mongos
 * that really committed a trivial transaction; see `probeServer`), the config's mode and the
 * migration's own `transaction: false`.
 */
import { configError } from '../errors.ts';
import type { ServerInfo } from '../server/capabilities.ts';
import type { TransactionMode } from '../types.ts';

export interface TransactionSupport {
  supported: boolean;
  /** Why not, in words a user can act on. */
  reason: string;
}

export function transactionSupportOf(server: Pick<ServerInfo, 'supports' | 'topology' | 'describe'>): TransactionSupport {
  if (server.supports('transactions')) return { supported: true, reason: 'supported' };
  if (server.topology === 'standalone') {
    return { supported: false, reason: `${server.describe()} is a standalone (transactions need a replica set or a sharded cluster)` };
  }
  return { supported: false, reason: `${server.describe()} refused to commit a transaction` };
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
