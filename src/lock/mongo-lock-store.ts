/**
 * The LockStore in a MongoDB collection: the lock is one document
 * `{ _id: 'mongrate', owner, host, pid, command, acquiredAt, expiresAt }`; claims share its shape
 * under `_id: 'takeover:<owner>:<expiresAt ms>:<round>'` in the same collection.
 *
 * Inserts are the only atomic steps on every server we support (FerretDB evaluates the filter of
 * an update or delete apart from the write), so the core relies on inserts alone for exclusion;
 * the conditional updates and deletes here only keep a runner from touching what is clearly
 * not its own. Every read and write goes to the primary with majority concerns (driver/own-documents.ts).
 */
import type { ClientSession, Collection, Db } from 'mongodb';
import { ownCollection } from '../driver/own-documents.ts';
import { isDuplicateKey } from '../driver/errors.ts';
import type { LockInfo } from '../types.ts';
import type { LeaseKey, LockStore } from './contract.ts';

export const LOCK_ID = 'mongrate';
const CLAIM_PREFIX = 'takeover:';

/** The lock document (claims share its shape under another `_id`). */
export interface LockDocument extends LockInfo {
  _id: string;
}

const claimId = (target: LeaseKey, round: number): string => `${CLAIM_PREFIX}${target.owner}:${target.expiresAt.getTime()}:${round}`;

/** Exactly the contract's fields, in the contract's order (the document shape is user-facing). */
function documentOf(_id: string, info: LockInfo): LockDocument {
  const { owner, host, pid, command, acquiredAt, expiresAt } = info;
  return { _id, owner, host, pid, command, acquiredAt, expiresAt };
}

function infoOf(document: LockDocument | null): LockInfo | null {
  if (document === null) return null;
  const { owner, host, pid, command, acquiredAt, expiresAt } = document;
  return { owner, host, pid, command, acquiredAt, expiresAt };
}

export class MongoLockStore implements LockStore {
  private readonly locks: Collection<LockDocument>;

  constructor(db: Db, collection: string) {
    this.locks = ownCollection<LockDocument>(db, collection);
  }

  private async insertUnique(document: LockDocument): Promise<boolean> {
    try {
      await this.locks.insertOne(document);
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  insertLease(lease: LockInfo): Promise<boolean> {
    return this.insertUnique(documentOf(LOCK_ID, lease));
  }

  async readLease(session?: ClientSession): Promise<LockInfo | null> {
    return infoOf(await this.locks.findOne({ _id: LOCK_ID }, session === undefined ? {} : { session }));
  }

  async extendLease(owner: string, expiresAt: Date, session?: ClientSession): Promise<boolean> {
    const result = await this.locks.updateOne({ _id: LOCK_ID, owner }, { $set: { expiresAt } }, session === undefined ? {} : { session });
    return result.matchedCount === 1;
  }

  async removeLease(owner: string, expiresAt?: Date): Promise<boolean> {
    const result = await this.locks.deleteOne({ _id: LOCK_ID, owner, ...(expiresAt === undefined ? {} : { expiresAt }) });
    return result.deletedCount === 1;
  }

  insertClaim(target: LeaseKey, round: number, claimant: LockInfo): Promise<boolean> {
    return this.insertUnique(documentOf(claimId(target, round), claimant));
  }

  async readClaim(target: LeaseKey, round: number): Promise<LockInfo | null> {
    return infoOf(await this.locks.findOne({ _id: claimId(target, round) }));
  }

  async removeClaimsExpiredBefore(before: Date): Promise<number> {
    const result = await this.locks.deleteMany({ _id: { $regex: `^${CLAIM_PREFIX}` }, expiresAt: { $lt: before } });
    return result.deletedCount;
  }
}
