/**
 * Every index build a helper starts (`ensureIndexes`, the copy's indexes in `copyAndRename`), so
 * that none can hang a run:
 * - `commitQuorum`: MongoDB's default (all voting data-bearing members) never commits with one
 *   of them down or in maintenance, and neither does `'majority'` on a primary-secondary-arbiter
 *   set (a majority of its two data-bearing members is both). mongrate's default is `1`, the
 *   primary alone: a secondary still building when the commit arrives finishes first (it lags
 *   meanwhile), but nothing waits on a member that is down. `commitQuorum` in the config changes
 *   it. Sent only where the server takes it (MongoDB 4.4+ on a replica set or sharded cluster,
 *   outside a transaction).
 * - progress: while the build runs, its `$currentOp` entry is read now and then and its progress
 *   (`done`/`total`, where the server reports it) logged when it changed. A server that does not
 *   list operations (FerretDB, Cosmos DB RU, the Stable API strict) gets no progress lines.
 * - a build that meets a failover (or Cosmos DB's throttling) is sent again once a primary is
 *   back, saying so: `createIndexes` of an index that now exists answers ok (failover-retry.ts).
 * - an interrupt ends the wait: the build is stopped with `dropIndexes` of the indexes it was
 *   building (how MongoDB 4.4+ aborts a build in progress) and the helper throws INTERRUPTED.
 */
import type { Collection, Db, Document, IndexDescription } from 'mongodb';
import { MongrateError } from '../errors.ts';
import { withSession } from './context.ts';
import { resending } from './failover-retry.ts';
import type { HelperContext } from './types.ts';

/** The default commitQuorum (see the file header). */
export const DEFAULT_COMMIT_QUORUM = 1;

/** The first pause before the build's progress is read (doubling up to MAX_POLL_MS). */
const FIRST_POLL_MS = 1000;
const MAX_POLL_MS = 10_000;

function takesCommitQuorum(ctx: HelperContext): boolean {
  const { server } = ctx;
  if (server.flavour !== 'mongodb' || server.topology === 'standalone') return false;
  const [major = 0, minor = 0] = server.mongodbVersion.split('.').map((part) => Number.parseInt(part, 10));
  return major > 4 || (major === 4 && minor >= 4);
}

/** The build's progress as `done/total (percent)`, when the server lists it; undefined otherwise. */
async function progressOf(db: Db, collection: string, names: readonly string[]): Promise<string | undefined> {
  let ops: Document[];
  try {
    ops = await db.client
      .db('admin')
      .aggregate([{ $currentOp: {} }, { $match: { ns: `${db.databaseName}.${collection}`, 'command.createIndexes': collection } }])
      .toArray();
  } catch {
    // not listed (or no primary during an election): no line now; the build's own answer tells the rest
    return undefined;
  }
  for (const op of ops) {
    const progress = op.progress as { done?: unknown; total?: unknown } | undefined;
    const done = Number(progress?.done);
    const total = Number(progress?.total);
    if (!Number.isFinite(done) || !Number.isFinite(total) || total <= 0) continue;
    return `building ${names.join(', ')}: ${done}/${total} (${Math.floor((done / total) * 100)}%)`;
  }
  return undefined;
}

/** Resolves true after `ms`, false at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve(false);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Builds `specs` on `collection` (see the file header); `what` names the helper in messages. */
export async function buildIndexesWatched<T extends Document>(ctx: HelperContext, collection: Collection<T>, specs: IndexDescription[], what: string): Promise<void> {
  const inTransaction = ctx.session?.inTransaction() === true;
  const quorum = !inTransaction && takesCommitQuorum(ctx) ? { commitQuorum: ctx.commitQuorum ?? DEFAULT_COMMIT_QUORUM } : {};
  const send = (): Promise<string[]> => collection.createIndexes(specs, { ...withSession(ctx), ...quorum });
  // inside a transaction the build is part of it: nothing to watch or stop, nor to send again
  if (inTransaction) {
    await send();
    return;
  }
  // after a failover (or throttling) the build is sent again: an index that now exists answers ok
  const build = resending(ctx, what, 'index build', send);
  const names = specs.map((spec) => spec.name ?? '').filter((name) => name !== '');
  const finished = build.then(
    () => 'finished' as const,
    () => 'finished' as const,
  );
  let wait = FIRST_POLL_MS;
  let said: string | undefined;
  for (;;) {
    const next = await Promise.race([finished, pause(wait, ctx.signal).then((elapsed) => (elapsed ? ('poll' as const) : ('interrupted' as const)))]);
    if (next === 'finished') {
      await build;
      return;
    }
    if (next === 'interrupted') {
      await collection.db.command({ dropIndexes: collection.collectionName, index: names }).catch(() => undefined);
      throw new MongrateError('INTERRUPTED', `${what}: interrupted while the server built ${names.join(', ')}; the build was stopped (dropIndexes), nothing of it is left`);
    }
    const line = await progressOf(collection.db, collection.collectionName, names);
    if (line !== undefined && line !== said) {
      said = line;
      ctx.log?.(`${what}: ${line}`);
    }
    wait = Math.min(MAX_POLL_MS, wait * 2);
  }
}
