/**
 * The catalog commands: `create` (options stored and listed; a view with `viewOn`, `pipeline` and
 * `collation`), `drop`, `dropDatabase`, `renameCollection` (with `dropTarget`), `collMod`
 * (validator, validation level/action; a view's `viewOn` and `pipeline`, both at once; an index's
 * `hidden`/`expireAfterSeconds`, by name or key pattern), `createIndexes` (idempotent for an
 * identical spec, MongoDB's conflicts otherwise; a unique index over duplicates fails with
 * E11000), `dropIndexes`, `listIndexes`, `listCollections` (filter, nameOnly; type `view`),
 * `listDatabases` and `collStats`. A view has no indexes: the index commands refuse it (166), and
 * `collMod` refuses a view's options on a collection and a collection's on a view, as MongoDB does.
 * Inside a transaction MongoDB allows only `create` of a new collection and `createIndexes` on a
 * collection the transaction created: the rest are refused (263) by the caller, from each
 * handler's `inTransaction` flag.
 */
import { Int32, type Document } from 'mongodb';
import { fail } from './errors.ts';
import { matches } from './query.ts';
import { ID_INDEX, checkIndexBuild, isView, type CollectionData, type Draft, type State } from './store.ts';
import { equal, isDocument, keyOf, toNumber } from './values.ts';
import type { Handler, WriteContext } from './crud.ts';

/** Command fields that are not options of the command itself. */
const GENERIC_FIELDS = new Set([
  '$db', 'lsid', 'txnNumber', 'autocommit', 'startTransaction', 'writeConcern', 'readConcern', 'comment', '$readPreference',
  '$clusterTime', 'maxTimeMS', 'apiVersion', 'apiStrict', 'apiDeprecationErrors',
]);

const optionsOf = (command: Document, name: string): Document => Object.fromEntries(Object.entries(command).filter(([key]) => key !== name && !GENERIC_FIELDS.has(key)));

const nameArgument = (command: Document, name: string): string => {
  const value: unknown = command[name];
  return typeof value === 'string' ? value : fail('BadValue', `collection name has invalid type ${typeof value}`);
};

function existing(draft: Draft, db: string, name: string): CollectionData {
  return draft.get(db, name) ?? fail('NamespaceNotFound', `ns does not exist: ${db}.${name}`);
}

/** Index commands on a view fail as MongoDB's do. */
function notAView(collection: CollectionData | undefined, db: string, name: string): void {
  if (collection !== undefined && isView(collection)) fail('CommandNotSupportedOnView', `Namespace ${db}.${name} is a view, not a collection`);
}

/** A view's definition: `viewOn` a name and `pipeline` an array of stages. */
function checkViewDefinition(options: Document): void {
  if (typeof options.viewOn !== 'string' || options.viewOn === '') fail('TypeMismatch', "'viewOn' option must be a non-empty string");
  if (!Array.isArray(options.pipeline) && options.pipeline !== undefined) fail('TypeMismatch', "'pipeline' option must be specified as an array");
}

/** `db.collection` of renameCollection. */
function namespaceArgument(value: unknown): [string, string] {
  const text = typeof value === 'string' ? value : '';
  const dot = text.indexOf('.');
  if (dot <= 0) fail('InvalidOptions', `Invalid namespace specified '${text}'`);
  return [text.slice(0, dot), text.slice(dot + 1)];
}

function createIndexes(context: WriteContext): Document {
  const { db, command, draft } = context;
  const name = nameArgument(command, 'createIndexes');
  const before = draft.get(db, name);
  notAView(before, db, name);
  if (context.inTransaction && before !== undefined && (context.snapshot?.get(db)?.has(name) === true || before.documents.size > 0)) {
    fail('OperationNotSupportedInTransaction', `Cannot create new indexes on existing collection ${db}.${name} in a multi-document transaction.`);
  }
  const collection = draft.ensure(db, name);
  const numIndexesBefore = collection.indexes.length;
  const specs = Array.isArray(command.indexes) ? (command.indexes as Document[]) : fail('BadValue', "'indexes' must be an array");
  for (const requested of specs) {
    if (!isDocument(requested.key) || typeof requested.name !== 'string') fail('BadValue', 'an index spec needs a key document and a name');
    const spec: Document = { v: 2, ...requested };
    // MongoDB keeps `hidden` only when true
    if (spec.hidden === false) delete spec.hidden;
    const sameName = collection.indexes.find((i) => i.name === spec.name);
    const sameKey = collection.indexes.find((i) => equal(i.key, spec.key));
    if (sameName !== undefined && !equal(sameName.key, spec.key)) {
      fail('IndexKeySpecsConflict', `An existing index has the same name as the requested index. When index names are not specified, they are auto generated and can cause conflicts. Please refer to our documentation. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(sameName)}`);
    }
    if (sameKey !== undefined) {
      if (sameKey.name !== spec.name) fail('IndexOptionsConflict', `Index already exists with a different name: ${String(sameKey.name)}`);
      if (keyOf({ ...sameKey, v: 2 }) !== keyOf(spec)) fail('IndexOptionsConflict', `An equivalent index already exists with the same name but different options. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(sameKey)}`);
      continue;
    }
    checkIndexBuild(db, name, collection, spec);
    collection.indexes.push(spec);
  }
  return {
    createdCollectionAutomatically: before === undefined,
    numIndexesBefore,
    numIndexesAfter: collection.indexes.length,
    ...(numIndexesBefore === collection.indexes.length && before !== undefined ? { note: 'all indexes already exist' } : {}),
    ok: 1,
  };
}

function dropIndexes(context: WriteContext): Document {
  const { db, command, draft } = context;
  const name = nameArgument(command, 'dropIndexes');
  notAView(existing(draft, db, name), db, name);
  const collection = draft.edit(db, name);
  const nIndexesWas = collection.indexes.length;
  const wanted: unknown = command.index;
  const names = wanted === '*' ? collection.indexes.filter((i) => i.name !== '_id_').map((i) => String(i.name)) : Array.isArray(wanted) ? (wanted as string[]) : [wanted];
  for (const target of names) {
    const index = collection.indexes.find((i) => (typeof target === 'string' ? i.name === target : equal(i.key, target)));
    if (index === undefined) fail('IndexNotFound', `index not found with name [${typeof target === 'string' ? target : JSON.stringify(target)}]`);
    if (index.name === '_id_') fail('InvalidOptions', 'cannot drop _id index');
    collection.indexes = collection.indexes.filter((i) => i !== index);
  }
  return { nIndexesWas, ok: 1 };
}

const VIEW_OPTIONS = new Set(['viewOn', 'pipeline']);

function collMod(context: WriteContext): Document {
  const { db, command, draft } = context;
  const name = nameArgument(command, 'collMod');
  const view = isView(existing(draft, db, name));
  const options = optionsOf(command, 'collMod');
  const viewOptions = Object.keys(options).filter((option) => VIEW_OPTIONS.has(option));
  if (!view && viewOptions.length > 0) fail('InvalidOptions', `ns ${db}.${name} is a collection, not a view`);
  if (view && viewOptions.length === 1) fail('InvalidOptions', `collmod.${viewOptions[0] ?? ''} requires collmod.${viewOptions[0] === 'viewOn' ? 'pipeline' : 'viewOn'}`);
  if (view && Object.keys(options).some((option) => !VIEW_OPTIONS.has(option))) fail('InvalidOptions', `option not supported on a view: ${Object.keys(options).filter((o) => !VIEW_OPTIONS.has(o)).join(', ')}`);
  if (viewOptions.length > 0) checkViewDefinition(options);
  const collection = draft.edit(db, name);
  const reply: Document = { ok: 1 };
  for (const [option, value] of Object.entries(options) as [string, unknown][]) {
    if (option === 'index') Object.assign(reply, modifyIndex(collection, value as Document, `${db}.${name}`));
    else collection.options[option] = value;
  }
  return reply;
}

/** collMod's `index`: its `hidden`/`expireAfterSeconds` changed; the reply's `*_old`/`*_new` where one changed. */
function modifyIndex(collection: { indexes: Document[] }, change: Document, ns: string): Document {
  const index = collection.indexes.find((i) => (typeof change.name === 'string' ? i.name === change.name : equal(i.key, change.keyPattern)));
  if (index === undefined) fail('IndexNotFound', `cannot find index ${JSON.stringify(change.name ?? change.keyPattern)} for ns ${ns}`);
  if (change.hidden !== undefined && index.name === '_id_') fail('BadValue', "can't hide _id index");
  if (change.expireAfterSeconds !== undefined && index.expireAfterSeconds === undefined) fail('InvalidOptions', `no expireAfterSeconds field to update in index ${String(index.name)}`);
  const reply: Document = {};
  const updated = { ...index };
  for (const field of ['hidden', 'expireAfterSeconds'] as const) {
    const wanted: unknown = change[field];
    const was: unknown = index[field] ?? (field === 'hidden' ? false : undefined);
    if (wanted === undefined || equal(was, wanted)) continue;
    reply[`${field}_old`] = was;
    reply[`${field}_new`] = wanted;
    updated[field] = wanted;
    if (field === 'hidden' && wanted === false) delete updated.hidden;
  }
  collection.indexes = collection.indexes.map((i) => (i === index ? updated : i));
  return reply;
}

function collectionEntry(name: string, collection: CollectionData, nameOnly: boolean): Document {
  const type = isView(collection) ? 'view' : 'collection';
  if (nameOnly) return { name, type };
  return {
    name,
    type,
    options: collection.options,
    info: { readOnly: type === 'view', ...(type === 'view' ? {} : { uuid: collection.uuid }) },
    ...(type === 'view' ? {} : { idIndex: ID_INDEX }),
  };
}

const collectionsIn = (view: State, db: string): [string, CollectionData][] => [...(view.get(db) ?? new Map<string, CollectionData>())];

export const CATALOG: Record<string, Handler> = {
  create: {
    access: 'write',
    inTransaction: true,
    run({ db, command, draft }) {
      const name = nameArgument(command, 'create');
      if (draft.get(db, name) !== undefined) fail('NamespaceExists', `Collection ${db}.${name} already exists.`);
      const options = optionsOf(command, 'create');
      if (options.viewOn !== undefined || options.pipeline !== undefined) checkViewDefinition(options);
      draft.create(db, name, options);
      return { ok: 1 };
    },
  },
  drop: {
    access: 'write',
    inTransaction: false,
    run({ db, command, draft }) {
      const name = nameArgument(command, 'drop');
      const collection = draft.get(db, name) ?? fail('NamespaceNotFound', 'ns not found');
      draft.drop(db, name);
      return { nIndexesWas: collection.indexes.length, ns: `${db}.${name}`, ok: 1 };
    },
  },
  dropDatabase: {
    access: 'write',
    inTransaction: false,
    run({ db, draft }) {
      for (const name of draft.collectionNames(db)) draft.drop(db, name);
      return { dropped: db, ok: 1 };
    },
  },
  renameCollection: {
    access: 'write',
    inTransaction: false,
    run({ command, draft }) {
      const [fromDb, from] = namespaceArgument(command.renameCollection);
      const [toDb, to] = namespaceArgument(command.to);
      if (draft.get(fromDb, from) === undefined) fail('NamespaceNotFound', `Source collection ${fromDb}.${from} does not exist`);
      if (draft.get(toDb, to) !== undefined) {
        if (command.dropTarget !== true) fail('NamespaceExists', 'target namespace exists');
        draft.drop(toDb, to);
      }
      draft.move(fromDb, from, toDb, to);
      return { ok: 1 };
    },
  },
  collMod: { access: 'write', inTransaction: false, run: collMod },
  createIndexes: { access: 'write', inTransaction: true, run: createIndexes },
  dropIndexes: { access: 'write', inTransaction: false, run: dropIndexes },
  listIndexes: {
    access: 'read',
    inTransaction: false,
    run({ db, command, view, cursors }) {
      const name = nameArgument(command, 'listIndexes');
      const collection = view.get(db)?.get(name) ?? fail('NamespaceNotFound', `ns does not exist: ${db}.${name}`);
      notAView(collection, db, name);
      const batchSize = isDocument(command.cursor) ? toNumber(command.cursor.batchSize) : undefined;
      return cursors.open(`${db}.${name}`, [...collection.indexes], batchSize ?? 101);
    },
  },
  listCollections: {
    access: 'read',
    inTransaction: false,
    run({ db, command, view, cursors }) {
      const filter = isDocument(command.filter) ? command.filter : {};
      const nameOnly = command.nameOnly === true;
      const entries = collectionsIn(view, db)
        .map(([name, collection]) => collectionEntry(name, collection, false))
        .filter((entry) => matches(entry, filter))
        .map((entry) => (nameOnly ? { name: entry.name as string, type: entry.type as string } : entry));
      const batchSize = isDocument(command.cursor) ? toNumber(command.cursor.batchSize) : undefined;
      return cursors.open(`${db}.$cmd.listCollections`, entries, batchSize ?? 101);
    },
  },
  listDatabases: {
    access: 'read',
    inTransaction: false,
    run({ command, view }) {
      const databases = [...view.keys()]
        .map((name) => ({ name, sizeOnDisk: new Int32(collectionsIn(view, name).reduce((size, [, c]) => size + c.documents.size, 0) * 100), empty: false }))
        .filter((entry) => matches(entry, isDocument(command.filter) ? command.filter : {}));
      return command.nameOnly === true ? { databases: databases.map(({ name }) => ({ name })), ok: 1 } : { databases, totalSize: databases.length, ok: 1 };
    },
  },
  collStats: {
    access: 'read',
    inTransaction: false,
    run({ db, command, view }) {
      const name = nameArgument(command, 'collStats');
      const collection = view.get(db)?.get(name) ?? fail('NamespaceNotFound', `Collection [${db}.${name}] not found.`);
      const size = [...collection.documents.values()].reduce((total, d) => total + d.bytes.length, 0);
      return { ns: `${db}.${name}`, count: collection.documents.size, size, storageSize: size, nindexes: collection.indexes.length, capped: collection.options.capped === true, sharded: false, ok: 1 };
    },
  },
};
