/**
 * Where a helper finds its migration: the bound context of `createHelpers`, or the context the
 * runner stored with `runWithHelperContext` (so `import { reshape } from 'mongrate'` works inside
 * `up`), or, for a driver Collection used outside any migration, defaults with a lazily probed server.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Collection, Document, MongoClient } from 'mongodb';
import { defaultDriver } from '../driver/drivers.ts';
import { MongrateError, usageError } from '../errors.ts';
import { probeServer, type ServerInfo } from '../server/capabilities.ts';
import type { CollectionRef, HelperBson, HelperContext, HelperProgress } from './types.ts';

/**
 * One store per process, shared by every copy of this module: a migration's `import 'mongrate'`
 * may load a second copy (from source under a TypeScript loader, or a second installed mongrate),
 * and its helpers must still find the running migration.
 */
const STORE_KEY = Symbol.for('mongrate.helperContext');
const holder = globalThis as typeof globalThis & { [STORE_KEY]?: AsyncLocalStorage<HelperContext> };
const storage = (holder[STORE_KEY] ??= new AsyncLocalStorage<HelperContext>());

/** Runs fn with ctx as the context of every helper called inside it (across awaits). */
export function runWithHelperContext<R>(ctx: HelperContext, fn: () => R): R {
  return storage.run(ctx, fn);
}

/** The context stored by `runWithHelperContext`, if any. */
export function currentHelperContext(): HelperContext | undefined {
  return storage.getStore();
}

/**
 * The BSON library helpers encode and decode with: the one of the driver the migration's client
 * was made with (`ctx`'s, else that of the migration running now), else the cwd's driver's.
 */
export function bsonOf(ctx?: HelperContext): HelperBson {
  return ctx?.bson ?? storage.getStore()?.bson ?? defaultDriver().mongodb.BSON;
}

const probes = new WeakMap<MongoClient, Promise<ServerInfo>>();

/** One probe per client: the server does not change under a connection. */
function serverInfoFor(collection: Collection): Promise<ServerInfo> {
  const client = collection.db.client;
  let probe = probes.get(client);
  if (probe === undefined) {
    probe = probeServer(collection.db);
    probe.catch(() => probes.delete(client));
    probes.set(client, probe);
  }
  return probe;
}

/** The context for a standalone helper call. */
export async function ambientContext(collection: CollectionRef, helper: string): Promise<HelperContext> {
  const stored = storage.getStore();
  if (stored !== undefined) return stored;
  if (typeof collection === 'string') {
    throw usageError(
      `${helper}('${collection}'): a collection name needs a migration to resolve it; call ${helper} inside up/down, or pass a driver Collection`,
    );
  }
  return { db: collection.db, server: await serverInfoFor(collection), dryRun: false };
}

/** Accepts typed collections and names; helpers work on plain documents. */
export function resolveCollection<T extends Document>(ctx: HelperContext, collection: CollectionRef<T>): Collection {
  if (typeof collection === 'string') {
    if (collection === '') throw usageError('a collection name must not be empty');
    return ctx.db.collection(collection);
  }
  return collection as unknown as Collection;
}

/** Session option for every driver call: present only when the migration runs in one. */
export function withSession(ctx: HelperContext): { session?: NonNullable<HelperContext['session']> } {
  return ctx.session === undefined ? {} : { session: ctx.session };
}

/** Stops between batches (or commands) once the run was interrupted; `total` undefined: not known. */
export function throwIfAborted(ctx: HelperContext, what: string, done: number, total: number | undefined, detail?: string): void {
  if (ctx.signal?.aborted === true) {
    const of = total === undefined ? '' : ` of ${Math.max(total, done)}`;
    throw new MongrateError('INTERRUPTED', `${what} interrupted after ${done}${of} documents; ${detail ?? 'the finished batches are written'}`);
  }
}

/**
 * Counts work and reports progress after each batch. The total may be a count still running
 * beside the work: the first report waits for it (by then it has almost always answered).
 */
export class ProgressMeter {
  private readonly started = performance.now();
  done = 0;
  total: number | undefined;
  private readonly counting: Promise<void> | undefined;

  constructor(
    private readonly ctx: HelperContext,
    private readonly helper: string,
    private readonly collection: string,
    total: number | Promise<number>,
  ) {
    if (typeof total === 'number') this.total = total;
    else {
      this.counting = total.then(
        (value) => {
          this.total = value;
        },
        () => undefined,
      );
    }
  }

  async add(count: number): Promise<void> {
    this.done += count;
    await this.report(this.done);
  }

  /** Part of the batch under way (`fraction` of its `count` documents) is done; `done` moves on with `add`. */
  async within(count: number, fraction: number): Promise<void> {
    await this.report(this.done + Math.floor(count * Math.min(1, Math.max(0, fraction))));
  }

  private async report(done: number): Promise<void> {
    if (this.total === undefined) await this.counting;
    const seconds = (performance.now() - this.started) / 1000;
    const progress: HelperProgress = {
      helper: this.helper,
      collection: this.collection,
      done,
      // a failed count leaves no total: the documents done so far stand in
      total: Math.max(this.total ?? 0, done),
      docsPerSecond: seconds > 0 ? Math.round(done / seconds) : 0,
    };
    this.ctx.onProgress?.(progress);
  }
}

/**
 * A count for progress that runs beside the work instead of before it: on a server without an
 * index for the filter it is a pass over the collection. Never rejects unhandled; `settled()`
 * waits for it (so nothing is left in flight when the helper returns). Inside a transaction the
 * count runs first, as before: one transaction takes one command at a time.
 */
export async function countBeside(
  ctx: HelperContext,
  count: () => Promise<number>,
): Promise<{ counting: Promise<number>; settled: () => Promise<void> }> {
  if (ctx.session !== undefined) {
    const total = await count();
    return { counting: Promise.resolve(total), settled: () => Promise.resolve() };
  }
  const counting = count();
  counting.catch(() => undefined);
  return {
    counting,
    settled: () =>
      counting.then(
        () => undefined,
        () => undefined,
      ),
  };
}
