/**
 * A migration's `db` and `client`, and everything reached through them (databases, `admin()`,
 * collections from `collection()`, `collections()`, `createCollection()`, `rename()`, cursors,
 * bulk operations), bound to the step they belong to. Rules kept here:
 * - Every write passes the guard first: the lease fence in a real run (a runner whose lease was
 *   lost, or whose own deadline passed, throws before the write leaves), the dry-run stop in a
 *   simulation. A bulk operation is guarded when executed, an aggregation with $out/$merge when its
 *   cursor is made.
 * - In a transaction every operation carries the transaction's session: added where the call's
 *   options have none (each method's options position is in the tables below), kept where the call
 *   passes one. A session of the migration's own (`startSession`, `withSession`) is refused: its
 *   operations would run outside the transaction and be sent again each time it is retried.
 * - In a transaction every server error an operation meets is recorded on the attempt (the
 *   migration may catch it; the runner still reads it), and an operation that cannot be part of a
 *   transaction (the server's OperationNotSupportedInTransaction, a change stream, an Atlas Search
 *   index command) poisons the attempt: it and every later operation throw the same
 *   TransactionLimitError and send nothing.
 * - Outside a transaction, a call the server throttled (Azure Cosmos DB RU's 16500, which did
 *   nothing) is sent again after a pause, on the schedule of mongrate's own documents, with one
 *   line per step: a read, or a single-document write. Not a write of many documents (`insertMany`,
 *   `updateMany`, `bulkWrite`...), which a throttled answer may leave part-done, nor a cursor's
 *   reads (a migration's loop owns its cursor): those are the migration's to retry.
 * Methods not in the tables, and properties, pass through to the driver's object.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClientSession, Db, MongoClient } from 'mongodb';
import { isThrottled } from '../driver/errors.ts';
import { THROTTLED_ATTEMPTS, throttledPause } from '../driver/own-documents.ts';
import { messageOf, MongrateError, TransactionLimitError } from '../errors.ts';
import type { TransactionAttempt } from './transaction-attempt.ts';

/** Called with the operation's name before a write is sent; throws to refuse it. */
export type WriteGuard = (operation: string) => void;

export interface Binding {
  guard: WriteGuard;
  /** The step runs in a transaction: its session, and the attempt under way. */
  transaction?: { session: ClientSession; attempt: TransactionAttempt };
  /** A simulation: a session of the migration's own is a write it cannot simulate. */
  dryRun: boolean;
  /** Where the step's line about throttling goes. */
  log?: (line: string) => void;
}

/** A dry run: the migration's first direct write ends its simulation. */
export class DryRunWriteStop extends Error {
  constructor(readonly operation: string) {
    super(`dry run: stopped at a direct write (${operation}); direct writes are not simulated`);
    this.name = 'DryRunWriteStop';
  }
}

export const stopAtWrite: WriteGuard = (operation) => {
  throw new DryRunWriteStop(operation);
};

type Args = unknown[];
type Kind = 'client' | 'db' | 'admin' | 'collection' | 'cursor' | 'bulk';

interface Rule {
  /**
   * The position of the call's options argument; `local`: it only hands out another handle (no
   * command); `none`: it sends a command that takes no session, so it cannot be part of a transaction.
   */
  options: number | 'local' | 'none' | ((args: Args) => number);
  /** It writes (the guard runs first); a function decides from the call's arguments. */
  writes?: boolean | ((args: Args) => boolean);
  /** What it returns (or resolves to) that is bound too. */
  returns?: Kind | 'collections';
}

const WRITE = { writes: true } as const;

/** Commands that only read: a migration may run them in a dry run, and they pass the lease fence. */
const READ_COMMANDS = new Set([
  'ping',
  'hello',
  'ismaster',
  'buildinfo',
  'listcollections',
  'listindexes',
  'listdatabases',
  'count',
  'find',
  'distinct',
  'collstats',
  'dbstats',
  'serverstatus',
  'connectionstatus',
  'getparameter',
  'explain',
]);

function writesInPipeline(pipeline: unknown): boolean {
  return Array.isArray(pipeline) && pipeline.some((stage) => typeof stage === 'object' && stage !== null && ('$out' in stage || '$merge' in stage));
}

const commandName = (args: Args): string => (typeof args[0] === 'object' && args[0] !== null ? (Object.keys(args[0])[0] ?? '') : '');

function commandWrites(args: Args): boolean {
  const name = commandName(args).toLowerCase();
  if (name === 'aggregate') return writesInPipeline((args[0] as { pipeline?: unknown }).pipeline);
  return !READ_COMMANDS.has(name);
}

const COLLECTION_RULES: Record<string, Rule> = {
  insertOne: { options: 1, ...WRITE },
  insertMany: { options: 1, ...WRITE },
  bulkWrite: { options: 1, ...WRITE },
  updateOne: { options: 2, ...WRITE },
  updateMany: { options: 2, ...WRITE },
  replaceOne: { options: 2, ...WRITE },
  deleteOne: { options: 1, ...WRITE },
  deleteMany: { options: 1, ...WRITE },
  findOneAndDelete: { options: 1, ...WRITE },
  findOneAndReplace: { options: 2, ...WRITE },
  findOneAndUpdate: { options: 2, ...WRITE },
  rename: { options: 1, ...WRITE, returns: 'collection' },
  drop: { options: 0, ...WRITE },
  // createIndex(spec, options) or createIndex(spec, indexOptions, commandOptions)
  createIndex: { options: (args) => (args[2] == null ? 1 : 2), ...WRITE },
  createIndexes: { options: 1, ...WRITE },
  dropIndex: { options: 1, ...WRITE },
  dropIndexes: { options: 0, ...WRITE },
  // the session given here is the one every batch of the bulk operation is sent with
  initializeOrderedBulkOp: { options: 0, returns: 'bulk' },
  initializeUnorderedBulkOp: { options: 0, returns: 'bulk' },
  createSearchIndex: { options: 'none', ...WRITE },
  createSearchIndexes: { options: 'none', ...WRITE },
  dropSearchIndex: { options: 'none', ...WRITE },
  updateSearchIndex: { options: 'none', ...WRITE },
  listSearchIndexes: { options: 'none' },
  find: { options: 1, returns: 'cursor' },
  aggregate: { options: 1, writes: (args) => writesInPipeline(args[0]), returns: 'cursor' },
  listIndexes: { options: 0, returns: 'cursor' },
  findOne: { options: 1 },
  countDocuments: { options: 1 },
  count: { options: 1 },
  estimatedDocumentCount: { options: 0 },
  distinct: { options: 2 },
  indexes: { options: 0 },
  indexExists: { options: 1 },
  indexInformation: { options: 0 },
  options: { options: 0 },
  isCapped: { options: 0 },
  watch: { options: 'none' },
  // driver 4.x, which migrate-mongo files of a project on it are given (never in a transaction)
  insert: { options: 1, ...WRITE },
  update: { options: 2, ...WRITE },
  remove: { options: 1, ...WRITE },
};

const DB_RULES: Record<string, Rule> = {
  collection: { options: 'local', returns: 'collection' },
  admin: { options: 'local', returns: 'admin' },
  createCollection: { options: 1, ...WRITE, returns: 'collection' },
  renameCollection: { options: 2, ...WRITE, returns: 'collection' },
  dropCollection: { options: 1, ...WRITE },
  dropDatabase: { options: 0, ...WRITE },
  createIndex: { options: 2, ...WRITE },
  removeUser: { options: 1, ...WRITE },
  setProfilingLevel: { options: 1, ...WRITE },
  command: { options: 1, writes: commandWrites },
  runCursorCommand: { options: 1, writes: commandWrites, returns: 'cursor' },
  aggregate: { options: 1, writes: (args) => writesInPipeline(args[0]), returns: 'cursor' },
  listCollections: { options: 1, returns: 'cursor' },
  collections: { options: 0, returns: 'collections' },
  stats: { options: 0 },
  profilingLevel: { options: 0 },
  indexInformation: { options: 1 },
  watch: { options: 'none' },
};

const ADMIN_RULES: Record<string, Rule> = {
  command: { options: 1, writes: commandWrites },
  removeUser: { options: 1, ...WRITE },
  buildInfo: { options: 0 },
  serverInfo: { options: 0 },
  serverStatus: { options: 0 },
  ping: { options: 0 },
  replSetGetStatus: { options: 0 },
  listDatabases: { options: 0 },
  validateCollection: { options: 1 },
};

const CLIENT_RULES: Record<string, Rule> = {
  db: { options: 'local', returns: 'db' },
  bulkWrite: { options: 1, ...WRITE },
  watch: { options: 'none' },
};

const RULES: Record<Kind, Record<string, Rule>> = {
  client: CLIENT_RULES,
  db: DB_RULES,
  admin: ADMIN_RULES,
  collection: COLLECTION_RULES,
  cursor: {},
  bulk: { execute: { options: 0, ...WRITE } },
};

/** Cursor methods that talk to the server. */
const CURSOR_IO = new Set(['toArray', 'next', 'tryNext', 'hasNext', 'forEach', 'explain']);

/** The call's arguments with `session` in its options, unless they name one already. */
function withSession(args: Args, index: number, session: ClientSession): Args {
  const copy = [...args];
  while (copy.length < index) copy.push(undefined);
  const options: unknown = copy[index];
  if (options === undefined || options === null) copy[index] = { session };
  else if (typeof options === 'object' && (options as { session?: unknown }).session == null) copy[index] = { ...options, session };
  return copy;
}

const isPromise = (value: unknown): value is Promise<unknown> => value instanceof Promise;

/** Writes of one document: a throttled one did nothing, and is sent again (see the file header). */
const SINGLE_DOCUMENT_WRITES = new Set(['insertOne', 'updateOne', 'replaceOne', 'deleteOne', 'findOneAndDelete', 'findOneAndReplace', 'findOneAndUpdate']);

/** Binds the handles of one step: every handle one hands out is bound the same way. */
class Binder {
  /** The step said it was throttled (once per step). */
  private saidThrottled = false;

  constructor(private readonly binding: Binding) {}

  /** `label` names the handle in messages: `users`, `db`, `admin`, `client`. */
  bind<T extends object>(target: T, kind: Kind, label: string): T {
    const rules = RULES[kind];
    const proxy: T = new Proxy(target, {
      get: (object, prop) => {
        const value: unknown = Reflect.get(object, prop);
        if (prop === Symbol.asyncIterator && kind === 'cursor' && typeof value === 'function') {
          return () => this.iterator((value as () => AsyncIterator<unknown>).call(object), label);
        }
        if (typeof prop !== 'string') return typeof value === 'function' ? (value as (...args: Args) => unknown).bind(object) : value;
        // what the helpers reach through a collection or database: bound too
        if (prop === 'db' && kind === 'collection' && typeof value === 'object' && value !== null) return this.bind(value, 'db', 'db');
        if (prop === 'client' && kind === 'db' && typeof value === 'object' && value !== null) return this.bind(value, 'client', 'client');
        if (typeof value !== 'function') return value;
        const method = value as (...args: Args) => unknown;
        const rule = rules[prop];
        if (rule !== undefined) return (...args: Args) => this.call({ object, proxy, method, args, rule, label, name: prop, what: operationName(label, prop, args) });
        if (kind === 'client' && (prop === 'startSession' || prop === 'withSession')) return (...args: Args) => this.ownSession(object, method, args, `${label}.${prop}`);
        if (kind === 'cursor' && prop === 'clone') return () => this.cloneCursor(object, method, label);
        if (kind === 'cursor' && CURSOR_IO.has(prop)) return (...args: Args) => this.settle(() => method.apply(object, args), `${label} cursor.${prop}`);
        if (kind === 'bulk' && prop === 'find') return (...args: Args) => chained(method.apply(object, args) as object, object, proxy);
        // builder methods (sort, limit, map, insert...) return the driver's object: hand out the proxy
        return (...args: Args) => {
          const result = method.apply(object, args);
          return result === object ? proxy : result;
        };
      },
    });
    return proxy;
  }

  private call(call: { object: object; proxy: object; method: (...args: Args) => unknown; args: Args; rule: Rule; label: string; name: string; what: string }): unknown {
    const { object, proxy, method, args, rule, label, name, what } = call;
    const { transaction, guard } = this.binding;
    if (rule.options === 'local') return this.handOut(method.apply(object, args), rule, label);
    if (transaction !== undefined && rule.options === 'none') {
      transaction.attempt.throwIfPoisoned();
      throw transaction.attempt.poison(new TransactionLimitError(what, 'it cannot be part of a transaction'));
    }
    const writes = typeof rule.writes === 'function' ? rule.writes(args) : rule.writes === true;
    if (writes) guard(what);
    const position = typeof rule.options === 'function' ? rule.options(args) : rule.options;
    const sent = transaction === undefined || position === 'none' ? args : withSession(args, position, transaction.session);
    const send = (): unknown => this.settle(() => method.apply(object, sent), what);
    let result = send();
    if (result === object) return proxy;
    if (transaction === undefined && isPromise(result) && rule.returns !== 'cursor' && (!writes || SINGLE_DOCUMENT_WRITES.has(name))) {
      result = this.resendThrottled(result, send, what);
    }
    return isPromise(result) ? result.then((value) => this.handOut(value, rule, label)) : this.handOut(result, rule, label);
  }

  /**
   * Sends a promised call again while the server throttles it (see the file header); the first
   * send is the call already made.
   */
  private async resendThrottled(first: Promise<unknown>, send: () => unknown, what: string): Promise<unknown> {
    let pending = first;
    for (let attempt = 1; ; attempt++) {
      try {
        return await pending;
      } catch (error) {
        if (!isThrottled(error) || attempt >= THROTTLED_ATTEMPTS) throw error;
        if (!this.saidThrottled) {
          this.saidThrottled = true;
          this.binding.log?.(`${what}: throttled by the server (16500: ${messageOf(error)}); waiting and sending again`);
        }
        await sleep(throttledPause(attempt));
        pending = Promise.resolve().then(send);
      }
    }
  }

  /** What a call returned, bound when it is a handle. */
  private handOut(value: unknown, rule: Rule, label: string): unknown {
    if (typeof value !== 'object' || value === null || rule.returns === undefined) return value;
    switch (rule.returns) {
      case 'collections':
        return Array.isArray(value) ? (value as object[]).map((c) => this.bind(c, 'collection', collectionName(c))) : value;
      case 'collection':
        return this.bind(value, 'collection', collectionName(value));
      case 'bulk':
        return this.bind(value, 'bulk', `${label} bulk`);
      default:
        return this.bind(value, rule.returns, rule.returns === 'cursor' ? label : rule.returns);
    }
  }

  /**
   * Runs one operation. In a transaction: nothing is sent once the attempt is poisoned, and a
   * failure is recorded on the attempt (and may poison it).
   */
  private settle(run: () => unknown, what: string): unknown {
    const { transaction } = this.binding;
    if (transaction === undefined) return run();
    transaction.attempt.throwIfPoisoned();
    let result: unknown;
    try {
      result = run();
    } catch (error) {
      throw transaction.attempt.failed(error, what);
    }
    if (!isPromise(result)) return result;
    return result.catch((error: unknown) => {
      throw transaction.attempt.failed(error, what);
    });
  }

  private iterator(inner: AsyncIterator<unknown>, label: string): AsyncIterator<unknown> {
    return {
      next: () => this.settle(() => inner.next(), `${label} cursor iteration`) as Promise<IteratorResult<unknown>>,
      return: async (value?: unknown) => (inner.return === undefined ? { done: true, value } : inner.return(value)),
    };
  }

  private ownSession(client: object, method: (...args: Args) => unknown, args: Args, what: string): unknown {
    if (this.binding.transaction !== undefined) {
      throw new MongrateError(
        'MIGRATION_FAILED',
        `${what}() inside a migration that runs in a transaction: its operations would run outside that transaction (and be sent again when it is retried). ` +
          'Every operation through ctx.db and ctx.client is already in the transaction (ctx.session is its session); ' +
          'to manage sessions and transactions yourself, set `transaction: false` on this migration',
      );
    }
    if (this.binding.dryRun) this.binding.guard(what);
    return method.apply(client, args);
  }

  private cloneCursor(cursor: object, method: (...args: Args) => unknown, label: string): unknown {
    if (this.binding.transaction !== undefined) {
      // the driver's clone() leaves the session out: it would read outside the transaction
      throw new MongrateError('MIGRATION_FAILED', `cloning a ${label} cursor inside a transaction would read outside it; call find() or aggregate() again instead`);
    }
    return this.bind(method.apply(cursor, []) as object, 'cursor', label);
  }
}

/** `users.insertOne`, `db.command(collMod)`. */
function operationName(label: string, method: string, args: Args): string {
  return method === 'command' || method === 'runCursorCommand' ? `${label}.${method}(${commandName(args)})` : `${label}.${method}`;
}

/** A bulk operation's `find()` builder: whatever returns the bulk operation returns its proxy. */
function chained(builder: object, bulk: object, bulkProxy: object): object {
  return new Proxy(builder, {
    get(object, prop) {
      const value: unknown = Reflect.get(object, prop);
      if (typeof value !== 'function') return value;
      return (...args: Args) => {
        const result: unknown = (value as (...a: Args) => unknown).apply(object, args);
        return result === bulk ? bulkProxy : result;
      };
    },
  });
}

function collectionName(collection: object): string {
  const name: unknown = (collection as { collectionName?: unknown }).collectionName;
  return typeof name === 'string' ? name : 'collection';
}

/** The migration's `client` and `db`, bound as `binding` says. */
export function bindHandles(client: MongoClient, db: Db, binding: Binding): { client: MongoClient; db: Db } {
  const binder = new Binder(binding);
  return { client: binder.bind(client, 'client', 'client'), db: binder.bind(db, 'db', 'db') };
}
