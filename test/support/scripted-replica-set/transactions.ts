/**
 * Sessions, transactions and retryable writes with MongoDB's semantics:
 * - a transaction reads the State it started from (its snapshot) plus its own writes, and its
 *   writes reach everyone else only at commit; abort drops them;
 * - a document a transaction writes is locked by it: another transaction writing it, or this one
 *   writing a document changed since its snapshot, gets WriteConflict (112) and is aborted; a
 *   write outside any transaction waits until the lock holder commits or aborts;
 * - after its lifetime (transactionLifetimeLimitSeconds) a transaction is aborted, and later
 *   statements get NoSuchTransaction (251);
 * - a retryable write (lsid + txnNumber, no autocommit) is executed once: the same pair again
 *   gets the reply recorded the first time. Records of writes a rollback removed are dropped.
 */
import type { Document } from 'mongodb';
import { CommandError, fail } from './errors.ts';
import type { Draft, State } from './store.ts';
import { latch, type Timers } from './time.ts';

export class Transaction {
  state: 'open' | 'committed' | 'aborted' = 'open';
  /** Why it was aborted, for the message of later statements. */
  abortReason = '';
  /** The snapshot and the transaction's own writes. */
  view: State;
  /** Documents written, by namespace: its locks. */
  readonly locks = new Map<string, Set<string>>();
  private readonly ended = latch();
  cancelLifetime: () => void = () => undefined;

  constructor(
    readonly id: string,
    readonly txnNumber: number,
    readonly member: string,
    readonly snapshot: State,
    readonly snapshotOpTime: number,
  ) {
    this.view = snapshot;
  }

  get done(): Promise<void> {
    return this.ended.promise;
  }

  end(state: 'committed' | 'aborted', reason = ''): void {
    if (this.state !== 'open') return;
    this.state = state;
    this.abortReason = reason;
    this.cancelLifetime();
    this.ended.open();
  }

  holds(namespace: string, key: string): boolean {
    return this.locks.get(namespace)?.has(key) === true;
  }
}

interface Session {
  txnNumber: number;
  transaction?: Transaction;
}

export class Sessions {
  private readonly sessions = new Map<string, Session>();
  private readonly retries = new Map<string, { reply: Document; opTime: number }>();
  lifetimeLimitSeconds: number;

  constructor(
    private readonly timers: Timers,
    lifetimeLimitSeconds: number,
  ) {
    this.lifetimeLimitSeconds = lifetimeLimitSeconds;
  }

  open(): Transaction[] {
    return [...this.sessions.values()].flatMap((s) => (s.transaction?.state === 'open' ? [s.transaction] : []));
  }

  private session(lsid: string): Session {
    const session = this.sessions.get(lsid) ?? { txnNumber: -1 };
    this.sessions.set(lsid, session);
    return session;
  }

  /** Starts transaction `txnNumber` of session `lsid` on `member`, reading `snapshot`. */
  start(lsid: string, txnNumber: number, member: string, snapshot: { state: State; opTime: number }): Transaction {
    const session = this.session(lsid);
    if (txnNumber < session.txnNumber) fail('TransactionTooOld', `txnNumber ${txnNumber} is less than last txnNumber ${session.txnNumber} seen in session ${lsid}`);
    if (session.transaction?.txnNumber === txnNumber) fail('IllegalOperation', `Transaction with { txnNumber: ${txnNumber} } has already been started`);
    const transaction = new Transaction(`${lsid}:${txnNumber}`, txnNumber, member, snapshot.state, snapshot.opTime);
    transaction.cancelLifetime = this.timers.after(this.lifetimeLimitSeconds * 1000, () =>
      transaction.end('aborted', `it exceeded transactionLifetimeLimitSeconds (${this.lifetimeLimitSeconds} s)`),
    );
    session.txnNumber = txnNumber;
    session.transaction = transaction;
    return transaction;
  }

  /** The transaction a statement (`autocommit: false`, no `startTransaction`) belongs to, if it may continue. */
  continuing(lsid: string, txnNumber: number, name: string): Transaction {
    const transaction = this.sessions.get(lsid)?.transaction;
    if (transaction?.txnNumber !== txnNumber) {
      fail('NoSuchTransaction', `Given transaction number ${txnNumber} does not match any in-progress transactions.`);
    }
    if (transaction.state === 'aborted') {
      fail('NoSuchTransaction', `Transaction with { txnNumber: ${txnNumber} } has been aborted${transaction.abortReason === '' ? '' : ` because ${transaction.abortReason}`}.`);
    }
    if (transaction.state === 'committed' && name !== 'commitTransaction') {
      fail('TransactionCommitted', `Transaction with { txnNumber: ${txnNumber} } has been committed.`);
    }
    return transaction;
  }

  /** The open transaction (other than `except`) holding a lock on a document `draft` wrote. */
  lockHolder(draft: Draft, except?: Transaction): Transaction | undefined {
    return this.open().find((t) => t !== except && [...draft.touched].some(([namespace, keys]) => [...keys].some((key) => t.holds(namespace, key))));
  }

  /**
   * Takes the locks for what `draft` (a statement of `transaction`) wrote, or fails with
   * WriteConflict, aborting the transaction, when a document is locked by another transaction or
   * changed after the snapshot (its version in `head` is not the one the snapshot has).
   */
  lockFor(transaction: Transaction, draft: Draft, head: State): void {
    const conflict = (namespace: string, key: string): boolean => {
      if (transaction.holds(namespace, key)) return false;
      if (this.open().some((t) => t !== transaction && t.holds(namespace, key))) return true;
      const [db, name] = splitNamespace(namespace);
      const atNow = head.get(db)?.get(name)?.documents.get(key)?.at ?? -1;
      const atSnapshot = transaction.snapshot.get(db)?.get(name)?.documents.get(key)?.at ?? -1;
      return atNow !== atSnapshot;
    };
    for (const [namespace, keys] of draft.touched) {
      for (const key of keys) {
        if (!conflict(namespace, key)) continue;
        transaction.end('aborted', 'of a write conflict');
        throw new CommandError(
          'WriteConflict',
          'Write conflict during plan execution and yielding is disabled. :: Please retry your operation or multi-document transaction.',
        );
      }
    }
    for (const [namespace, keys] of draft.touched) transaction.locks.set(namespace, new Set([...(transaction.locks.get(namespace) ?? []), ...keys]));
  }

  recordedRetry(lsid: string, txnNumber: number): Document | undefined {
    return this.retries.get(`${lsid}:${txnNumber}`)?.reply;
  }

  recordRetry(lsid: string, txnNumber: number, reply: Document, opTime: number): void {
    const session = this.session(lsid);
    session.txnNumber = Math.max(session.txnNumber, txnNumber);
    this.retries.set(`${lsid}:${txnNumber}`, { reply, opTime });
  }

  /** After a rollback to `opTime`: writes after it never happened. */
  forgetAfter(opTime: number): void {
    for (const [key, retry] of this.retries) if (retry.opTime > opTime) this.retries.delete(key);
  }

  /** Aborts the open transactions started on `member` (it stepped down or went away). */
  abortOn(member: string, reason: string): void {
    for (const transaction of this.open()) if (transaction.member === member) transaction.end('aborted', reason);
  }
}

/** `db.collection` → [db, collection] (collection names may contain dots, database names may not). */
export function splitNamespace(namespace: string): [string, string] {
  const dot = namespace.indexOf('.');
  return [namespace.slice(0, dot), namespace.slice(dot + 1)];
}
