/**
 * Whether migrations run in transactions: decided from the server probe (a replica set or mongos
 * that really committed a trivial transaction; see `probeServer`), the config's mode, the
 * migration's own `transaction: false`, and the size of the work (`transactionDocumentLimit`).
 * How a transaction starts and commits, and which of the server's answers mean "run it again".
 */
import type { ClientSession } from 'mongodb';
import { WriteConcern } from 'mongodb';
import { hasErrorLabel, hasServerCode } from '../driver/errors.ts';
import { configError } from '../errors.ts';
import type { ServerInfo } from '../server/capabilities.ts';
import type { TransactionMode } from '../types.ts';

export interface TransactionSupport {
  supported: boolean;
  /** Why not, in words a user can act on. */
  reason: string;
  /** The server has transactions, but narrower than a migration needs (Cosmos DB RU): `auto` says why it runs without. */
  narrower?: boolean;
}

export function transactionSupportOf(server: Pick<ServerInfo, 'supports' | 'whyNot' | 'topology' | 'describe'>): TransactionSupport {
  if (server.supports('transactions')) return { supported: true, reason: 'supported' };
  const why = server.whyNot('transactions');
  if (why !== undefined) return { supported: false, reason: why, narrower: true };
  if (server.topology === 'standalone') {
    return { supported: false, reason: `${server.describe()} is a standalone (transactions need a replica set or a sharded cluster)` };
  }
  return { supported: false, reason: `${server.describe()} refused to commit a transaction` };
}

/** The run's transaction rules: which migrations start in one, and what happens when one does not fit. */
export interface TransactionPolicy {
  mode: TransactionMode;
  /** Most documents a helper may touch inside a transaction. */
  documentLimit: number;
  /** Whether this migration starts in a transaction. */
  use(migration: { definition: { transaction?: boolean } }): boolean;
  /**
   * A helper found its work does not fit a transaction: true means roll back and run the
   * migration again outside one (`auto`); false means the migration fails (`always`).
   */
  rerunOutside: boolean;
  /** Said once per run: `auto` runs without the server's transactions, and why. */
  notice?: string;
}

/**
 * Turns the config's mode and the server's support into the run's policy. `always` without
 * support is a configuration error raised before anything runs.
 */
export function transactionPolicy(mode: TransactionMode, support: TransactionSupport, documentLimit: number): TransactionPolicy {
  if (mode === 'always' && !support.supported) {
    throw configError(`transactions: 'always' but ${support.reason}; use 'auto' or 'never'`);
  }
  return {
    mode,
    documentLimit,
    use: (migration) => mode !== 'never' && support.supported && migration.definition.transaction !== false,
    rerunOutside: mode === 'auto',
    ...(mode === 'auto' && support.narrower === true ? { notice: `transactions: 'auto' runs migrations without transactions here: ${support.reason}` } : {}),
  };
}

/** Attempts of one migration's transaction when the server says a retry may succeed. */
export const TRANSACTION_ATTEMPTS = 3;
const COMMIT_ATTEMPTS = 3;
const WRITE_CONFLICT = 112;
const MAJORITY = new WriteConcern('majority');

/**
 * Inside a transaction: the server's answer that the whole transaction may be run again (a write
 * conflict, an election...). DocumentDB's gateway returns a write conflict (112) without the label.
 */
export function isTransientTransactionError(error: unknown): boolean {
  return hasErrorLabel(error, 'TransientTransactionError') || hasServerCode(error, WRITE_CONFLICT);
}

/**
 * A write conflict (112): inside a transaction, the document was written by someone else since the
 * transaction's snapshot, or is held by another transaction.
 */
export function isWriteConflict(error: unknown): boolean {
  if (hasServerCode(error, WRITE_CONFLICT)) return true;
  const writeErrors: unknown = (error as { writeErrors?: unknown } | null)?.writeErrors;
  return Array.isArray(writeErrors) && writeErrors.some((w: unknown) => (w as { code?: unknown } | null)?.code === WRITE_CONFLICT);
}

/** The commit was sent but the server could not confirm it (e.g. replication timed out): it may have taken effect. */
export function isUnknownCommitResult(error: unknown): boolean {
  return hasErrorLabel(error, 'UnknownTransactionCommitResult');
}

/** How every migration's transaction runs: on the primary, committed by a majority (as the changelog is written). */
export function startMigrationTransaction(session: ClientSession): void {
  // the session may belong to the project's own driver: each driver version reads a transaction's
  // writeConcern by its fields (w, wtimeoutMS, journal), so mongrate's instance serves any of them
  session.startTransaction({ readPreference: 'primary', writeConcern: MAJORITY });
}

/**
 * Commits, retrying the commit alone while the server cannot say whether it took effect
 * (MongoDB documents commitTransaction as safe to retry for UnknownTransactionCommitResult).
 */
export async function commitWithRetry(session: ClientSession): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await session.commitTransaction();
      return;
    } catch (error) {
      if (attempt >= COMMIT_ATTEMPTS || !isUnknownCommitResult(error)) throw error;
    }
  }
}
