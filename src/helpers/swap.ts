/**
 * The collection-level steps of copyAndRename: the swap of the finished copy over the target, and
 * the drops and look-ups around it. Every rename and drop checks the fence first.
 */
import type { Db, Document } from 'mongodb';
import { codeNameOf, hasServerCode, SERVER_CODES } from '../driver/errors.ts';
import { MongrateError } from '../errors.ts';
import { withSession } from './context.ts';
import type { HelperContext } from './types.ts';

export interface Names {
  source: string;
  to: string;
  keep: string | undefined;
  temp: string;
  /** Where the original is copied when the swap itself destroys it (to === source with dropTarget). */
  keepTemp: string | undefined;
  /** Where the target is moved during a brief-gap swap. */
  aside: string | undefined;
}

async function rename(ctx: HelperContext, db: Db, from: string, to: string, dropTarget: boolean, what: string): Promise<void> {
  ctx.fence?.();
  try {
    await db.renameCollection(from, to, { ...withSession(ctx), ...(dropTarget ? { dropTarget: true } : {}) });
  } catch (error) {
    if (hasServerCode(error, SERVER_CODES.IllegalOperation) || codeNameOf(error) === 'IllegalOperation') {
      throw shardedError(what, from, error);
    }
    throw error;
  }
}

/** Puts the copy under the target's name: one rename with dropTarget, or two around a brief gap. */
export async function swap(ctx: HelperContext, db: Db, names: Names, atomic: boolean, what: string): Promise<void> {
  if (atomic) {
    // the copy of the original gets its name first: a crash after the swap must not lose it
    const keptCopy = names.keepTemp !== undefined && names.keep !== undefined ? names.keep : undefined;
    if (keptCopy !== undefined && names.keepTemp !== undefined) await rename(ctx, db, names.keepTemp, keptCopy, false, what);
    try {
      // FerretDB refuses dropTarget even when there is nothing to drop; atomic there means no target
      await rename(ctx, db, names.temp, names.to, ctx.server.supports('renameDropTarget'), what);
    } catch (error) {
      // the original is still in place, so this run's copy of it can go
      if (keptCopy !== undefined) await dropIfExists(ctx, db, keptCopy).catch(() => undefined);
      throw error;
    }
  } else if (names.aside !== undefined) {
    await rename(ctx, db, names.to, names.aside, false, what);
    try {
      await rename(ctx, db, names.temp, names.to, false, what);
    } catch (error) {
      // a fence that threw stops this too: the message of a missing source then says where it is
      await rename(ctx, db, names.aside, names.to, false, what).catch(() => undefined);
      throw error;
    }
    if (names.aside !== names.keep) await dropIfExists(ctx, db, names.aside);
  }
  // a copy under another name replaces the source: kept under keepOriginalAs, or gone
  if (names.to !== names.source) {
    if (names.keep !== undefined) await rename(ctx, db, names.source, names.keep, false, what);
    else await dropIfExists(ctx, db, names.source);
  }
}

/** The collection's type (`collection`, `view`, `timeseries`), or undefined when it does not exist. */
export async function collectionType(ctx: HelperContext, db: Db, name: string): Promise<string | undefined> {
  // matched by name: some compatible servers ignore the filter and list every collection
  const info = (await db.listCollections({ name }, { ...withSession(ctx), nameOnly: true }).toArray()).find((entry) => entry.name === name);
  return info === undefined ? undefined : (info.type ?? 'collection');
}

export async function dropIfExists(ctx: HelperContext, db: Db, name: string): Promise<void> {
  ctx.fence?.();
  try {
    await db.dropCollection(name, withSession(ctx));
  } catch (error) {
    if (!hasServerCode(error, SERVER_CODES.NamespaceNotFound)) throw error;
  }
}

export async function isSharded(ctx: HelperContext, db: Db, name: string): Promise<boolean> {
  const stats = await db.command({ collStats: name }, withSession(ctx)).catch(() => undefined);
  const sharded: unknown = stats?.sharded;
  if (typeof sharded === 'boolean') return sharded;
  // collStats is deprecated, and the open-source DocumentDB's has no `sharded`; the config
  // database knows too (8.0 lists unsharded ones as unsplittable; DocumentDB only sharded ones)
  const entry = await db.client
    .db('config')
    .collection('collections')
    .findOne({ _id: `${db.databaseName}.${name}` } as Document, withSession(ctx))
    .catch(() => null);
  return entry !== null && entry.dropped !== true && entry.unsplittable !== true;
}

export function shardedError(what: string, name: string, cause?: unknown): MongrateError {
  return new MongrateError(
    'MIGRATION_FAILED',
    `${what}: '${name}' is sharded, and a sharded collection cannot be replaced by renameCollection; reshape it in place (reshape/bumpSchemaVersion) instead`,
    cause === undefined ? undefined : { cause },
  );
}
