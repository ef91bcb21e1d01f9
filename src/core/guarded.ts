/**
 * A migration's `db` and `client`, wrapped so that every write goes through one guard first.
 * Reads pass straight through.
 * - A real run: the guard is the lease fence. A runner whose lease was lost (or whose own lease
 *   deadline passed, e.g. during a stalled event loop) throws before the write leaves, whether
 *   or not the migration ever reads `ctx.signal`.
 * - `--dry-run`: the guard stops the migration's simulation at its first direct write with
 *   `DryRunWriteStop` ("direct writes (not simulated)"); helpers check `dryRun` and only count.
 * The guard sees the call, not the command: a bulk operation is guarded when it is started.
 */
import type { Db, MongoClient } from 'mongodb';

const COLLECTION_WRITES = new Set([
  'insertOne',
  'insertMany',
  'updateOne',
  'updateMany',
  'replaceOne',
  'deleteOne',
  'deleteMany',
  'bulkWrite',
  'findOneAndUpdate',
  'findOneAndReplace',
  'findOneAndDelete',
  'createIndex',
  'createIndexes',
  'dropIndex',
  'dropIndexes',
  'drop',
  'rename',
  'initializeOrderedBulkOp',
  'initializeUnorderedBulkOp',
  'createSearchIndex',
  'createSearchIndexes',
  'dropSearchIndex',
  'updateSearchIndex',
  // driver 4.x, which migrate-mongo files of a project on it are given
  'insert',
  'update',
  'remove',
]);

const DB_WRITES = new Set(['createCollection', 'dropCollection', 'renameCollection', 'dropDatabase', 'createIndex', 'removeUser']);

/** Commands a migration may run in a dry run: they only read. */
const READ_COMMANDS = new Set([
  'ping',
  'hello',
  'ismaster',
  'buildinfo',
  'listcollections',
  'listindexes',
  'count',
  'find',
  'distinct',
  'collstats',
  'dbstats',
  'serverstatus',
  'connectionstatus',
]);

export class DryRunWriteStop extends Error {
  constructor(readonly operation: string) {
    super(`dry run: stopped at a direct write (${operation}); direct writes are not simulated`);
    this.name = 'DryRunWriteStop';
  }
}

function writesInPipeline(pipeline: unknown): boolean {
  return Array.isArray(pipeline) && pipeline.some((stage) => typeof stage === 'object' && stage !== null && ('$out' in stage || '$merge' in stage));
}

/** A proxy whose members come from `intercept` when it returns something, else from the target (methods bound). */
function wrap<T extends object>(target: T, intercept: (prop: string, value: unknown) => unknown): T {
  return new Proxy(target, {
    get(object, prop, receiver) {
      const value: unknown = Reflect.get(object, prop, receiver);
      if (typeof prop !== 'string') return value;
      const replaced = intercept(prop, value);
      if (replaced !== undefined) return replaced;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(object) : value;
    },
  });
}

/** Called with the operation's name before it runs; throws to refuse it. */
export type WriteGuard = (operation: string) => void;

function guarded(guard: WriteGuard, operation: string, run: () => unknown): unknown {
  guard(operation);
  return run();
}

export function guardDb(db: Db, guard: WriteGuard): Db {
  return wrap(db, (prop, value) => {
    if (typeof value !== 'function') return undefined;
    const method = value as (...a: unknown[]) => unknown;
    if (DB_WRITES.has(prop)) return (...args: unknown[]) => guarded(guard, `db.${prop}`, () => method.apply(db, args));
    if (prop === 'collection') {
      return (...args: unknown[]) => {
        const collection = method.apply(db, args) as object;
        const collectionName = String(args[0]);
        return wrap(collection, (name, member) => {
          if (typeof member !== 'function') return undefined;
          const fn = member as (...a: unknown[]) => unknown;
          if (COLLECTION_WRITES.has(name)) return (...a: unknown[]) => guarded(guard, `${collectionName}.${name}`, () => fn.apply(collection, a));
          if (name === 'aggregate') {
            return (pipeline: unknown, ...rest: unknown[]) => {
              if (writesInPipeline(pipeline)) guard(`${collectionName}.aggregate with $out/$merge`);
              return fn.apply(collection, [pipeline, ...rest]);
            };
          }
          return undefined;
        });
      };
    }
    if (prop === 'command') {
      return (command: Record<string, unknown>, ...rest: unknown[]) => {
        const name = Object.keys(command)[0]?.toLowerCase() ?? '';
        const isRead = READ_COMMANDS.has(name) || (name === 'aggregate' && !writesInPipeline(command.pipeline));
        if (!isRead) guard(`db.command(${Object.keys(command)[0] ?? ''})`);
        return method.apply(db, [command, ...rest]);
      };
    }
    return undefined;
  });
}

/** The client's `db()` hands out guarded databases; `sessions: false` also refuses sessions (a dry run). */
export function guardClient(client: MongoClient, guard: WriteGuard, options: { sessions: boolean }): MongoClient {
  return wrap(client, (prop, value) => {
    if (prop === 'db' && typeof value === 'function') {
      return (...args: unknown[]) => guardDb((value as (...a: unknown[]) => Db).apply(client, args), guard);
    }
    if (!options.sessions && (prop === 'startSession' || prop === 'withSession')) return () => guard(`client.${prop}`);
    return undefined;
  });
}

const stopAtWrite: WriteGuard = (operation) => {
  throw new DryRunWriteStop(operation);
};

/** `--dry-run`: the first direct write stops the migration's simulation. */
export function readOnlyDb(db: Db): Db {
  return guardDb(db, stopAtWrite);
}

export function readOnlyClient(client: MongoClient): MongoClient {
  return guardClient(client, stopAtWrite, { sessions: false });
}
