/**
 * `--dry-run` runs a migration's `up` so its helpers can report what they would touch, but the
 * migration must not change anything. Its `db` and `client` are wrapped: reads pass through; the
 * first direct write stops that migration's dry run with `DryRunWriteStop`, reported as "direct
 * writes (not simulated)". Helpers check `dryRun` themselves and only count.
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

function stopper(operation: string): () => never {
  return () => {
    throw new DryRunWriteStop(operation);
  };
}

export function readOnlyDb(db: Db): Db {
  return wrap(db, (prop, value) => {
    if (DB_WRITES.has(prop)) return stopper(`db.${prop}`);
    if (prop === 'collection' && typeof value === 'function') {
      return (...args: unknown[]) => {
        const collection = (value as (...a: unknown[]) => object).apply(db, args);
        const collectionName = String(args[0]);
        return wrap(collection, (method, member) => {
          if (COLLECTION_WRITES.has(method)) return stopper(`${collectionName}.${method}`);
          if (method === 'aggregate' && typeof member === 'function') {
            return (pipeline: unknown, ...rest: unknown[]) => {
              if (writesInPipeline(pipeline)) throw new DryRunWriteStop(`${collectionName}.aggregate with $out/$merge`);
              return (member as (...a: unknown[]) => unknown).apply(collection, [pipeline, ...rest]);
            };
          }
          return undefined;
        });
      };
    }
    if (prop === 'command' && typeof value === 'function') {
      return (command: Record<string, unknown>, ...rest: unknown[]) => {
        const name = Object.keys(command)[0]?.toLowerCase() ?? '';
        const isRead = READ_COMMANDS.has(name) || (name === 'aggregate' && !writesInPipeline(command.pipeline));
        if (!isRead) throw new DryRunWriteStop(`db.command(${Object.keys(command)[0] ?? ''})`);
        return (value as (...a: unknown[]) => unknown).apply(db, [command, ...rest]);
      };
    }
    return undefined;
  });
}

/** The client's `db()` hands out read-only databases; sessions and transactions are refused. */
export function readOnlyClient(client: MongoClient): MongoClient {
  return wrap(client, (prop, value) => {
    if (prop === 'db' && typeof value === 'function') {
      return (...args: unknown[]) => readOnlyDb((value as (...a: unknown[]) => Db).apply(client, args));
    }
    if (prop === 'startSession' || prop === 'withSession') return stopper(`client.${prop}`);
    return undefined;
  });
}
