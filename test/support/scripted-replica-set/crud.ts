/**
 * The data commands: reads (`find`, `count`, `distinct`, `aggregate`) over a State, writes
 * (`insert`, `update`, `delete`, `findAndModify`) into a Draft. Handlers are synchronous and know
 * nothing of members, sessions or replication: the caller hands them what the command may see
 * (a member's copy, or a transaction's snapshot with its own writes), commits or discards what
 * they wrote, and turns thrown CommandErrors into error replies. Write errors of individual
 * statements come back in `writeErrors`, `ordered` stopping at the first, as MongoDB reports them.
 */
import { Int32, Long, ObjectId, type Document } from 'mongodb';
import { runPipeline } from './aggregate.ts';
import { CommandError, fail } from './errors.ts';
import { matches, project, resolve, sortBy } from './query.ts';
import { checkUnique, documentsOf, isView, type CollectionData, type Draft, type State } from './store.ts';
import { applyUpdate, upsertDocument } from './update.ts';
import { copy, decode, encode, equal, isDocument, isRegex, keyOf, toNumber } from './values.ts';

export interface ReadContext {
  db: string;
  command: Document;
  /** What the command may read. */
  view: State;
  inTransaction: boolean;
  /** The transaction's snapshot (what existed before it started), inside one. */
  snapshot: State | undefined;
  /** The cursors of the member that runs the command. */
  cursors: Cursors;
}

export interface WriteContext extends ReadContext {
  draft: Draft;
}

/**
 * `read`: a primary, or a secondary when the client allows it (readPreference, secondaryOk);
 * `write`: the primary only; `any`: wherever it is sent (cursor upkeep).
 */
export type Handler =
  | { access: 'read' | 'any'; inTransaction: boolean; run(context: ReadContext): Document }
  | { access: 'write'; inTransaction: boolean; run(context: WriteContext): Document };

/** One member's open cursors: the documents still to send, by cursor id. */
export class Cursors {
  private readonly byId = new Map<string, { namespace: string; documents: Document[] }>();
  private nextId = 1;

  /** A cursor reply: the first `batchSize` documents now, the rest through getMore. */
  open(namespace: string, documents: Document[], batchSize: number): Document {
    let id = 0;
    if (documents.length > batchSize) {
      id = this.nextId++;
      this.byId.set(String(id), { namespace, documents: documents.slice(batchSize) });
    }
    return { cursor: { firstBatch: documents.slice(0, batchSize), id: Long.fromNumber(id), ns: namespace }, ok: 1 };
  }

  more(id: unknown, batchSize: number | undefined): Document {
    const cursor = this.byId.get(String(toNumber(id))) ?? fail('CursorNotFound', `cursor id ${String(toNumber(id))} not found`);
    const batch = cursor.documents.splice(0, batchSize === undefined || batchSize <= 0 ? cursor.documents.length : batchSize);
    const exhausted = cursor.documents.length === 0;
    if (exhausted) this.byId.delete(String(toNumber(id)));
    return { cursor: { nextBatch: batch, id: Long.fromNumber(exhausted ? 0 : (toNumber(id) ?? 0)), ns: cursor.namespace }, ok: 1 };
  }

  kill(ids: unknown[]): Document {
    const [killed, notFound] = [[] as unknown[], [] as unknown[]];
    for (const id of ids) (this.byId.delete(String(toNumber(id))) ? killed : notFound).push(id);
    return { cursorsKilled: killed, cursorsNotFound: notFound, cursorsAlive: [], cursorsUnknown: [], ok: 1 };
  }
}

const stringArgument = (command: Document, name: string): string => {
  const value: unknown = command[name];
  return typeof value === 'string' ? value : fail('BadValue', `collection name has invalid type ${typeof value}`);
};

const documentArgument = (command: Document, field: string): Document | undefined => {
  const value: unknown = command[field];
  return isDocument(value) ? value : undefined;
};

/** A collection's documents; a view's are its pipeline over its source's. */
export function readCollection(view: State, db: string, name: string): Document[] {
  const collection = view.get(db)?.get(name);
  if (collection === undefined || !isView(collection)) return documentsOf(collection);
  return runPipeline(readCollection(view, db, String(collection.options.viewOn)), (collection.options.pipeline as Document[] | undefined) ?? []);
}

function writable(context: WriteContext, name: string): CollectionData | undefined {
  const collection = context.draft.get(context.db, name);
  if (collection !== undefined && isView(collection)) fail('IllegalOperation', `Namespace ${context.db}.${name} is a view, not a collection`);
  if (collection?.options.capped === true && context.inTransaction) {
    fail('OperationNotSupportedInTransaction', `Collection '${context.db}.${name}' is a capped collection. Writes in transactions are not allowed on capped collections.`);
  }
  return collection;
}

/** Stored documents matching `filter`, with their keys, in natural (insertion) order; an `_id` equality is a lookup. */
function matching(collection: CollectionData | undefined, filter: Document): { key: string; document: Document; bytes: Uint8Array }[] {
  if (collection === undefined) return [];
  const id: unknown = filter._id;
  const byId = id !== undefined && !isRegex(id) && !(isDocument(id) && Object.keys(id)[0]?.startsWith('$') === true);
  const candidates = byId ? [[keyOf(id), collection.documents.get(keyOf(id))] as const] : [...collection.documents];
  return candidates.flatMap(([key, stored]) => {
    if (stored === undefined) return [];
    const document = decode(stored.bytes);
    return matches(document, filter) ? [{ key, document, bytes: stored.bytes }] : [];
  });
}

/** Runs each statement, collecting write errors; `ordered` stops at the first. */
function statements(context: WriteContext, list: unknown, run: (statement: Document, index: number) => void): Document[] {
  const writeErrors: Document[] = [];
  const items = Array.isArray(list) ? (list as Document[]) : fail('BadValue', 'the statements must be an array');
  for (const [index, statement] of items.entries()) {
    try {
      run(statement, index);
    } catch (error) {
      if (!(error instanceof CommandError)) throw error;
      writeErrors.push({ index, code: error.code, errmsg: error.message, ...error.extra });
      if (context.command.ordered !== false) break;
    }
  }
  return writeErrors;
}

const withWriteErrors = (reply: Document, writeErrors: Document[]): Document => ({ ...reply, ...(writeErrors.length > 0 ? { writeErrors } : {}), ok: 1 });

function insertOne(context: WriteContext, name: string, document: Document): Document {
  const stored = document._id === undefined ? { _id: new ObjectId(), ...document } : document;
  if (Array.isArray(stored._id) || (isDocument(stored._id) && Object.keys(stored._id)[0]?.startsWith('$') === true)) fail('BadValue', `can't use an array or an operator for _id`);
  const key = keyOf(stored._id);
  writable(context, name);
  checkUnique(context.db, name, context.draft.ensure(context.db, name), key, stored, true);
  context.draft.write(context.db, name, key, stored);
  return stored;
}

/** Writes `updated` over the stored version; whether it changed anything. */
function replaceStored(context: WriteContext, name: string, target: { key: string; bytes: Uint8Array }, updated: Document): boolean {
  if (Buffer.compare(Buffer.from(encode(updated)), Buffer.from(target.bytes)) === 0) return false;
  checkUnique(context.db, name, context.draft.edit(context.db, name), target.key, updated, false, decode(target.bytes));
  context.draft.write(context.db, name, target.key, updated);
  return true;
}

interface UpdateStatement {
  q: Document;
  u: Document | Document[];
  upsert?: boolean;
  multi?: boolean;
  arrayFilters?: Document[];
}

export const CRUD: Record<string, Handler> = {
  getMore: {
    access: 'any',
    inTransaction: true,
    run: ({ command, cursors }) => cursors.more(command.getMore, toNumber(command.batchSize)),
  },
  killCursors: {
    access: 'any',
    inTransaction: true,
    run: ({ command, cursors }) => cursors.kill(Array.isArray(command.cursors) ? (command.cursors as unknown[]) : []),
  },
  find: {
    access: 'read',
    inTransaction: true,
    run(context) {
      const { command } = context;
      const name = stringArgument(command, 'find');
      let documents = readCollection(context.view, context.db, name).filter((d) => matches(d, documentArgument(command, 'filter') ?? {}));
      const sort = documentArgument(command, 'sort');
      if (sort !== undefined) documents.sort(sortBy(sort));
      const limit = Math.abs(toNumber(command.limit) ?? 0);
      documents = documents.slice(toNumber(command.skip) ?? 0, limit === 0 ? undefined : (toNumber(command.skip) ?? 0) + limit);
      const projection = documentArgument(command, 'projection');
      const batchSize = command.singleBatch === true || (toNumber(command.limit) ?? 0) < 0 ? documents.length : (toNumber(command.batchSize) ?? 101);
      return context.cursors.open(`${context.db}.${name}`, documents.map((d) => project(d, projection)), batchSize);
    },
  },
  count: {
    access: 'read',
    inTransaction: false,
    run(context) {
      const { command } = context;
      const documents = readCollection(context.view, context.db, stringArgument(command, 'count')).filter((d) => matches(d, documentArgument(command, 'query') ?? {}));
      const limit = toNumber(command.limit) ?? 0;
      const skipped = documents.slice(toNumber(command.skip) ?? 0);
      return { n: limit === 0 ? skipped.length : Math.min(Math.abs(limit), skipped.length), ok: 1 };
    },
  },
  distinct: {
    access: 'read',
    inTransaction: true,
    run(context) {
      const { command } = context;
      const documents = readCollection(context.view, context.db, stringArgument(command, 'distinct')).filter((d) => matches(d, documentArgument(command, 'query') ?? {}));
      const values = documents.flatMap((d) => resolve(d, String(command.key).split('.')).flatMap((v) => (Array.isArray(v) ? (v as unknown[]) : [v])));
      return { values: values.filter((v, i) => values.findIndex((w) => equal(v, w)) === i), ok: 1 };
    },
  },
  aggregate: {
    access: 'read',
    inTransaction: true,
    run(context) {
      const { command, db } = context;
      const name: unknown = command.aggregate;
      const pipeline = Array.isArray(command.pipeline) ? (command.pipeline as Document[]) : fail('BadValue', "'pipeline' option must be specified as an array");
      const [first, ...rest] = pipeline;
      if (typeof name !== 'string') fail('InvalidOptions', `{aggregate: 1} with ${Object.keys(first ?? {})[0] ?? 'no stage'} is not modelled by the scripted replica set`);
      let input: Document[];
      if (first !== undefined && '$collStats' in first) {
        const collection = context.view.get(db)?.get(name) ?? fail('NamespaceNotFound', `Unable to retrieve count in $collStats stage :: caused by :: Collection [${db}.${name}] not found.`);
        input = [{ ns: `${db}.${name}`, localTime: new Date(), count: new Int32(collection.documents.size) }];
        input = runPipeline(input, rest);
      } else {
        input = runPipeline(readCollection(context.view, db, name), pipeline);
      }
      const cursor = documentArgument(command, 'cursor') ?? fail('FailedToParse', "The 'cursor' option is required, except for aggregate with the explain argument");
      return context.cursors.open(`${db}.${name}`, input, toNumber(cursor.batchSize) ?? 101);
    },
  },
  insert: {
    access: 'write',
    inTransaction: true,
    run(context) {
      const name = stringArgument(context.command, 'insert');
      let n = 0;
      const writeErrors = statements(context, context.command.documents, (document) => {
        insertOne(context, name, document);
        n += 1;
      });
      return withWriteErrors({ n }, writeErrors);
    },
  },
  update: {
    access: 'write',
    inTransaction: true,
    run(context) {
      const name = stringArgument(context.command, 'update');
      let [n, nModified] = [0, 0];
      const upserted: Document[] = [];
      const writeErrors = statements(context, context.command.updates, (document, index) => {
        const statement = document as UpdateStatement;
        const targets = matching(writable(context, name), statement.q);
        if (targets.length === 0 && statement.upsert === true) {
          const inserted = insertOne(context, name, upsertDocument(statement.q, statement.u, statement.arrayFilters));
          n += 1;
          upserted.push({ index, _id: inserted._id as unknown });
          return;
        }
        for (const target of statement.multi === true ? targets : targets.slice(0, 1)) {
          const updated = applyUpdate(target.document, statement.u, { inserting: false, arrayFilters: statement.arrayFilters });
          n += 1;
          if (replaceStored(context, name, target, updated)) nModified += 1;
        }
      });
      return withWriteErrors({ n, nModified, ...(upserted.length > 0 ? { upserted } : {}) }, writeErrors);
    },
  },
  delete: {
    access: 'write',
    inTransaction: true,
    run(context) {
      const name = stringArgument(context.command, 'delete');
      let n = 0;
      const writeErrors = statements(context, context.command.deletes, (statement) => {
        const targets = matching(writable(context, name), statement.q as Document);
        for (const target of toNumber(statement.limit) === 1 ? targets.slice(0, 1) : targets) {
          context.draft.write(context.db, name, target.key, undefined);
          n += 1;
        }
      });
      return withWriteErrors({ n }, writeErrors);
    },
  },
  findAndModify: {
    access: 'write',
    inTransaction: true,
    run(context) {
      const { command } = context;
      const name = stringArgument(command, 'findAndModify');
      const fields = documentArgument(command, 'fields') ?? documentArgument(command, 'projection');
      const targets = matching(writable(context, name), documentArgument(command, 'query') ?? {});
      const sort = documentArgument(command, 'sort');
      if (sort !== undefined) targets.sort((a, b) => sortBy(sort)(a.document, b.document));
      const [target] = targets;
      const shown = (document: Document | undefined): Document | null => (document === undefined ? null : project(document, fields));
      if (command.remove === true) {
        if (target !== undefined) context.draft.write(context.db, name, target.key, undefined);
        return { lastErrorObject: { n: target === undefined ? 0 : 1 }, value: shown(target?.document), ok: 1 };
      }
      const update = (command.update ?? fail('FailedToParse', 'Either an update or remove=true must be specified')) as Document | Document[];
      const arrayFilters = command.arrayFilters as Document[] | undefined;
      if (target !== undefined) {
        const before = copy(target.document);
        const updated = applyUpdate(target.document, update, { inserting: false, arrayFilters });
        replaceStored(context, name, target, updated);
        return { lastErrorObject: { n: 1, updatedExisting: true }, value: shown(command.new === true ? updated : before), ok: 1 };
      }
      if (command.upsert !== true) return { lastErrorObject: { n: 0, updatedExisting: false }, value: null, ok: 1 };
      const inserted = insertOne(context, name, upsertDocument(documentArgument(command, 'query') ?? {}, update, arrayFilters));
      return { lastErrorObject: { n: 1, updatedExisting: false, upserted: inserted._id as unknown }, value: command.new === true ? shown(inserted) : null, ok: 1 };
    },
  },
};
