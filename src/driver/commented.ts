/**
 * A database handle whose every operation carries a `comment` (`$currentOp`, the profiler and the
 * server's slow-query log show it), so that whoever looks at the server can tell mongrate's work,
 * and which run sent it, from the application's; a runner that took over a dead one finds the dead
 * run's operations still in progress by it (core/dead-run-operations.ts).
 *
 * The driver has no option that operations inherit a comment from, so the handle wraps the Db and
 * what it hands out (collections, the collections a rename or `createCollection` returns): each
 * method in the tables below gets `comment` in its options argument (at the position given) when
 * the call names none; `command()` gets it in the command document. Cursors send it with every
 * getMore. Everything else passes through to the driver's objects, and `comment()` returning
 * undefined (a server that takes no comment) sends nothing extra.
 */
import type { Db, Document } from 'mongodb';

type Args = unknown[];

/** Where each method takes its options, counted from 0. */
const COLLECTION_OPTIONS: Readonly<Record<string, number>> = {
  insertOne: 1,
  insertMany: 1,
  bulkWrite: 1,
  updateOne: 2,
  updateMany: 2,
  replaceOne: 2,
  deleteOne: 1,
  deleteMany: 1,
  findOneAndDelete: 1,
  findOneAndReplace: 2,
  findOneAndUpdate: 2,
  find: 1,
  findOne: 1,
  aggregate: 1,
  countDocuments: 1,
  count: 1,
  estimatedDocumentCount: 0,
  distinct: 2,
  createIndex: 1,
  createIndexes: 1,
  dropIndex: 1,
  dropIndexes: 0,
  listIndexes: 0,
  indexes: 0,
  indexExists: 1,
  indexInformation: 0,
  options: 0,
  isCapped: 0,
  drop: 0,
  rename: 1,
  initializeOrderedBulkOp: 0,
  initializeUnorderedBulkOp: 0,
};

const DB_OPTIONS: Readonly<Record<string, number>> = {
  createCollection: 1,
  dropCollection: 1,
  renameCollection: 2,
  listCollections: 1,
  aggregate: 1,
  collections: 0,
  stats: 0,
  dropDatabase: 0,
  indexInformation: 1,
  createIndex: 2,
};

/** Methods whose result (or resolved value) is a collection to wrap too. */
const RETURNS_COLLECTION = new Set(['collection', 'createCollection', 'renameCollection', 'rename']);

function withComment(args: Args, index: number, comment: string): Args {
  const copy = [...args];
  while (copy.length < index) copy.push(undefined);
  const options: unknown = copy[index];
  if (options === undefined || options === null) copy[index] = { comment };
  else if (typeof options === 'object' && !('comment' in options)) copy[index] = { ...options, comment };
  return copy;
}

type Wrap = <T>(value: T) => T;

function wrapped(target: object, table: Readonly<Record<string, number>>, comment: () => string | undefined, wrapResult: Wrap): object {
  return new Proxy(target, {
    get(object, prop) {
      const value: unknown = Reflect.get(object, prop, object);
      if (typeof prop !== 'string' || typeof value !== 'function') return value;
      const method = value as (...args: Args) => unknown;
      const index = table[prop];
      const returnsCollection = RETURNS_COLLECTION.has(prop);
      if (index === undefined && prop !== 'command' && !returnsCollection) return method.bind(object);
      return (...args: Args): unknown => {
        const text = comment();
        let call = args;
        if (text !== undefined && index !== undefined) call = withComment(args, index, text);
        else if (text !== undefined && prop === 'command' && typeof args[0] === 'object' && args[0] !== null && !('comment' in args[0])) {
          call = [{ ...(args[0] as Document), comment: text }, ...args.slice(1)];
        }
        const result = method.apply(object, call);
        if (!returnsCollection) return result;
        return result instanceof Promise ? result.then(wrapResult) : wrapResult(result);
      };
    },
  });
}

/**
 * `db`, with every operation through it (and its collections) carrying `comment()`; its `client`
 * hands out databases that do the same (the server probe asks `db.client.db('admin')`).
 */
export function commentedDb(db: Db, comment: () => string | undefined): Db {
  const collection = <T>(value: T): T => (typeof value === 'object' && value !== null ? (wrapped(value, COLLECTION_OPTIONS, comment, collection) as T) : value);
  const client = new Proxy(db.client, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      const method = value as (...args: Args) => unknown;
      if (prop === 'db') return (...args: Args) => commentedDb(method.apply(target, args) as Db, comment);
      return method.bind(target);
    },
  });
  const handle = wrapped(db, DB_OPTIONS, comment, collection);
  return new Proxy(handle, { get: (target, prop): unknown => (prop === 'client' ? client : Reflect.get(target, prop)) }) as Db;
}
