/**
 * Closing copyAndRename's last window: while the final catch-up pass and the swap run, the source
 * refuses inserts and updates (a validator no document passes, set with `collMod`, level strict,
 * action error), so a late write fails loudly in the application instead of landing in a
 * collection that is about to be replaced. Deletes are not validated and writers that bypass
 * validation are not stopped: the output says how long that moment was.
 *
 * The frozen validator holds the original inside it, `{ $and: [{ <MARK>: { $exists: true } },
 * { <MARK>_was: { $in: [level, action] } }, <original validator> ] }`, so that a run that stopped
 * while the source was frozen restores it when the migration runs again.
 */
import type { Db, Document } from 'mongodb';
import { messageOf } from '../errors.ts';
import { withSession } from './context.ts';
import type { HelperContext } from './types.ts';

const MARK = '_mongrate_frozen_for_copy';
const WAS = `${MARK}_was`;

export interface ValidationSettings {
  validator: Document;
  validationLevel: string;
  validationAction: string;
}

/** A frozen source: `restore` puts its own validation back, under the name it has by then. */
export interface Frozen {
  restore(name: string): Promise<void>;
  /** performance.now() when writes began to be refused. */
  since: number;
}

/** The collection's validation as listCollections reports it (MongoDB's defaults where unset). */
export function validationOf(options: Document | undefined): ValidationSettings {
  const validator: unknown = options?.validator;
  const level: unknown = options?.validationLevel;
  const action: unknown = options?.validationAction;
  return {
    validator: typeof validator === 'object' && validator !== null ? (validator) : {},
    validationLevel: typeof level === 'string' ? level : 'strict',
    validationAction: typeof action === 'string' ? action : 'error',
  };
}

/** The validation a frozen collection had before, or undefined when it is not frozen by mongrate. */
export function frozenOriginal(options: Document | undefined): ValidationSettings | undefined {
  const parts: unknown = (options?.validator as Document | undefined)?.$and;
  if (!Array.isArray(parts)) {
    // the plain form (see freeze) keeps nothing: the collection had no validator worth keeping, or the server refused the full form
    return typeof (options?.validator as Document | undefined)?.[MARK] === 'object' ? { validator: {}, validationLevel: 'strict', validationAction: 'error' } : undefined;
  }
  const [mark, was, original] = parts as unknown[];
  if (typeof mark !== 'object' || mark === null || !(MARK in mark)) return undefined;
  const settings = ((was as Document | undefined)?.[WAS] as Document | undefined)?.$in as unknown[] | undefined;
  return {
    validator: typeof original === 'object' && original !== null ? (original) : {},
    validationLevel: typeof settings?.[0] === 'string' ? settings[0] : 'strict',
    validationAction: typeof settings?.[1] === 'string' ? settings[1] : 'error',
  };
}

async function collMod(ctx: HelperContext, db: Db, name: string, settings: ValidationSettings): Promise<void> {
  ctx.fence?.();
  await db.command({ collMod: name, ...settings }, withSession(ctx));
}

/** Puts a collection's validation back. */
export function restoreValidation(ctx: HelperContext, db: Db, name: string, settings: ValidationSettings): Promise<void> {
  return collMod(ctx, db, name, settings);
}

/**
 * Freezes `name` (see the file header); returns why it could not where the server or the user's
 * privileges do not allow it (the copy then goes on without, and says so).
 */
export async function freeze(ctx: HelperContext, db: Db, name: string, current: ValidationSettings): Promise<Frozen | { reason: string }> {
  if (!ctx.server.supports('validators')) return { reason: `${ctx.server.describe()} cannot set a validator (collMod)` };
  const strict = { validationLevel: 'strict', validationAction: 'error' };
  const full = { validator: { $and: [{ [MARK]: { $exists: true } }, { [WAS]: { $in: [current.validationLevel, current.validationAction] } }, current.validator] }, ...strict };
  const plain = { validator: { [MARK]: { $exists: true } }, ...strict };
  let refused: unknown;
  // a lost lease stops here, never read as a refusal
  ctx.fence?.();
  for (const settings of Object.keys(current.validator).length > 0 ? [full, plain] : [plain]) {
    try {
      await db.command({ collMod: name, ...settings }, withSession(ctx));
      return { restore: (at) => collMod(ctx, db, at, current), since: performance.now() };
    } catch (error) {
      refused = error;
    }
  }
  return { reason: `the server refused a validator on '${name}' (${messageOf(refused)})` };
}
