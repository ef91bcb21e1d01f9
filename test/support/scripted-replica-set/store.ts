/**
 * The data: databases → collections → documents, as immutable states. A `State` is never changed
 * once made; a `Draft` edits a copy of the collections it touches (copy on write) and yields a new
 * State. So one version per committed write is cheap, a secondary's copy is just an older State,
 * and a transaction's snapshot is the State it started from.
 *
 * Documents are kept as BSON bytes (every type exactly as the client sent it) under the key of
 * their `_id` (`keyOf`: 1, 1.0 and Long 1 are one `_id`), with the opTime of the write that made
 * them, which is how a transaction detects that a document changed after its snapshot. Unique
 * indexes (`_id_` and those created `unique`) are enforced with MongoDB's E11000 error; other
 * index options are stored and listed but not used (no TTL expiry, no validation).
 */
import { UUID, type Binary, type Document } from 'mongodb';
import { fail } from './errors.ts';
import { matches, resolve } from './query.ts';
import { decode, encode, inspect, keyOf } from './values.ts';

export interface StoredDocument {
  readonly bytes: Uint8Array;
  /** The opTime of the write that made this version; 0 inside an uncommitted transaction. */
  readonly at: number;
}

export interface CollectionData {
  readonly uuid: Binary;
  /** As given to `create` (capped, validator, viewOn...), changed by `collMod`. */
  readonly options: Readonly<Document>;
  /** Full specs as `listIndexes` reports them; none for a view. */
  readonly indexes: readonly Document[];
  readonly documents: ReadonlyMap<string, StoredDocument>;
}

interface EditableCollection extends CollectionData {
  options: Document;
  indexes: Document[];
  documents: Map<string, StoredDocument>;
}

export type State = ReadonlyMap<string, ReadonlyMap<string, CollectionData>>;
export const EMPTY_STATE: State = new Map();

export const ID_INDEX: Document = { v: 2, key: { _id: 1 }, name: '_id_' };

export const isView = (collection: CollectionData): boolean => typeof collection.options.viewOn === 'string';

/** The documents of a collection, each freshly decoded (callers may change them). */
export function documentsOf(collection: CollectionData | undefined): Document[] {
  return collection === undefined ? [] : [...collection.documents.values()].map((d) => decode(d.bytes));
}

export class Draft {
  /** Collections edited here, by database; undefined: dropped. */
  private readonly edits = new Map<string, Map<string, EditableCollection | undefined>>();
  /** The documents written, by namespace: what a transaction locks, and what an outside write waits for. */
  readonly touched = new Map<string, Set<string>>();

  constructor(
    readonly base: State,
    /** Stamped on the documents written. */
    readonly opTime: number,
  ) {}

  get changed(): boolean {
    return this.edits.size > 0;
  }

  get(db: string, name: string): CollectionData | undefined {
    const edited = this.edits.get(db);
    return edited?.has(name) === true ? edited.get(name) : this.base.get(db)?.get(name);
  }

  collectionNames(db: string): string[] {
    const names = new Set([...(this.base.get(db)?.keys() ?? []), ...(this.edits.get(db)?.keys() ?? [])]);
    return [...names].filter((name) => this.get(db, name) !== undefined);
  }

  private put(db: string, name: string, collection: EditableCollection | undefined): void {
    const edited = this.edits.get(db) ?? new Map<string, EditableCollection | undefined>();
    edited.set(name, collection);
    this.edits.set(db, edited);
  }

  /** The collection, made editable (copied once per draft). */
  edit(db: string, name: string): EditableCollection {
    const edited = this.edits.get(db)?.get(name);
    if (edited !== undefined) return edited;
    const current = this.get(db, name) ?? fail('NamespaceNotFound', `ns not found: ${db}.${name}`);
    const copy: EditableCollection = { uuid: current.uuid, options: { ...current.options }, indexes: [...current.indexes], documents: new Map(current.documents) };
    this.put(db, name, copy);
    return copy;
  }

  create(db: string, name: string, options: Document = {}, uuid: Binary = new UUID()): EditableCollection {
    const collection: EditableCollection = { uuid, options, indexes: typeof options.viewOn === 'string' ? [] : [ID_INDEX], documents: new Map() };
    this.put(db, name, collection);
    return collection;
  }

  /** The collection, created (as MongoDB does on a first write) when missing. */
  ensure(db: string, name: string): EditableCollection {
    return this.get(db, name) === undefined ? this.create(db, name) : this.edit(db, name);
  }

  drop(db: string, name: string): void {
    this.put(db, name, undefined);
  }

  /** renameCollection: the same collection (uuid, options, indexes, documents) under another name. */
  move(fromDb: string, from: string, toDb: string, to: string): void {
    const collection = this.edit(fromDb, from);
    this.drop(fromDb, from);
    this.put(toDb, to, collection);
  }

  /** Writes (or with undefined, deletes) the document stored under `key`. */
  write(db: string, name: string, key: string, document: Document | undefined): void {
    const collection = this.edit(db, name);
    if (document === undefined) collection.documents.delete(key);
    else collection.documents.set(key, { bytes: encode(document), at: this.opTime });
    const touched = this.touched.get(`${db}.${name}`) ?? new Set<string>();
    touched.add(key);
    this.touched.set(`${db}.${name}`, touched);
  }

  result(): State {
    if (!this.changed) return this.base;
    const state = new Map(this.base);
    for (const [db, edits] of this.edits) {
      const collections = new Map(this.base.get(db));
      for (const [name, collection] of edits) {
        if (collection === undefined) collections.delete(name);
        else collections.set(name, collection);
      }
      if (collections.size === 0) state.delete(db);
      else state.set(db, collections);
    }
    return state;
  }
}

/** The key of a document under an index: its values for the index's fields (missing: null). */
function indexKey(document: Document, key: Document): { values: Document; missing: boolean } {
  const values: Document = {};
  let missing = true;
  for (const field of Object.keys(key)) {
    const [value] = resolve(document, field.split('.'));
    if (value !== undefined) missing = false;
    values[field] = value ?? null;
  }
  return { values, missing };
}

/**
 * Fails with MongoDB's duplicate key error if `document`, to be stored under `key`, breaks a
 * unique index (`_id_` only for an insert: an update keeps its `_id`). An index whose fields kept
 * their values since `previous` (the stored version) is not checked again.
 */
export function checkUnique(db: string, name: string, collection: CollectionData, key: string, document: Document, inserting: boolean, previous?: Document): void {
  for (const index of collection.indexes) {
    const indexName = String(index.name);
    const pattern = index.key as Document;
    const isId = indexName === '_id_';
    if (isId ? !inserting : index.unique !== true) continue;
    const partial = index.partialFilterExpression as Document | undefined;
    if (partial !== undefined && !matches(document, partial)) continue;
    const mine = indexKey(document, pattern);
    if (index.sparse === true && mine.missing) continue;
    if (previous !== undefined && keyOf(indexKey(previous, pattern).values) === keyOf(mine.values) && (partial === undefined || matches(previous, partial))) continue;
    const clash = isId
      ? collection.documents.has(key)
      : [...collection.documents].some(([otherKey, other]) => {
          if (otherKey === key) return false;
          const theirs = decode(other.bytes);
          return (partial === undefined || matches(theirs, partial)) && keyOf(indexKey(theirs, pattern).values) === keyOf(mine.values);
        });
    if (clash) {
      const dupKey = Object.entries(mine.values)
        .map(([field, value]) => `${field}: ${inspect(value)}`)
        .join(', ');
      fail('DuplicateKey', `E11000 duplicate key error collection: ${db}.${name} index: ${indexName} dup key: { ${dupKey} }`, {
        keyPattern: pattern,
        keyValue: mine.values,
      });
    }
  }
}

/** Fails as building the unique index `spec` over duplicates fails. */
export function checkIndexBuild(db: string, name: string, collection: CollectionData, spec: Document): void {
  if (spec.unique !== true) return;
  const built = new Map<string, StoredDocument>();
  const probe: CollectionData = { ...collection, indexes: [spec], documents: built };
  for (const [key, stored] of collection.documents) {
    checkUnique(db, name, probe, key, decode(stored.bytes), false);
    built.set(key, stored);
  }
}
