/**
 * Update documents as MongoDB applies them: a replacement (keeping `_id`), operators (`$set`,
 * `$unset`, `$inc`, `$mul`, `$min`, `$max`, `$setOnInsert`, `$push` with `$each`, `$addToSet`,
 * `$pull`, `$pullAll`, `$pop`, `$rename`, `$currentDate`) on dotted paths, including `$[]` and
 * `$[<id>]` with `arrayFilters`, or a pipeline of `$set`/`$unset`/`$project`/`$replaceWith`
 * stages. The positional `$` is not modelled. `_id` cannot change (66, ImmutableField).
 * Documents are edited in place: callers pass a fresh copy.
 */
import { ObjectId, Timestamp, type Document } from 'mongodb';
import { runPipeline } from './aggregate.ts';
import { fail } from './errors.ts';
import { matches, resolve } from './query.ts';
import { MULTIPLY, add, compare, equal, inspect, isDocument, isNumber, toNumber, typeOf } from './values.ts';

type Container = Document | unknown[];

const childOf = (container: Container, key: string): unknown => (Array.isArray(container) ? container[Number(key)] : container[key]);

function setChild(container: Container, key: string, value: unknown): void {
  if (!Array.isArray(container)) {
    container[key] = value;
    return;
  }
  const index = Number(key);
  if (!Number.isInteger(index)) fail('PathNotViable', `Cannot create field '${key}' in an array`);
  while (container.length < index) container.push(null);
  container[index] = value;
}

/** The container that holds the last part of `parts`, created on the way when `create`. */
function parentOf(document: Document, parts: string[], create: boolean): Container | undefined {
  let at: Container = document;
  for (const [i, part] of parts.slice(0, -1).entries()) {
    let next = childOf(at, part);
    if (next === undefined || next === null) {
      if (!create) return undefined;
      next = {};
      setChild(at, part, next);
    } else if (!isDocument(next) && !Array.isArray(next)) {
      if (!create) return undefined;
      fail('PathNotViable', `Cannot create field '${parts[i + 1] ?? ''}' in element {${part}: ${inspect(next)}}`);
    }
    at = next as Container;
  }
  return at;
}

const lastOf = (parts: string[]): string => parts[parts.length - 1] ?? '';
const getPath = (document: Document, parts: string[]): unknown => {
  const parent = parentOf(document, parts, false);
  return parent === undefined ? undefined : childOf(parent, lastOf(parts));
};
const setPath = (document: Document, parts: string[], value: unknown): void => setChild(parentOf(document, parts, true) as Container, lastOf(parts), value);
function unsetPath(document: Document, parts: string[]): void {
  const parent = parentOf(document, parts, false);
  if (Array.isArray(parent)) setChild(parent, lastOf(parts), null);
  else if (parent !== undefined) delete parent[lastOf(parts)];
}

/** `a.$[].b` and `a.$[x].b` made concrete: one path per array element selected. */
function expand(document: Document, parts: string[], arrayFilters: Document[]): string[][] {
  const at = parts.findIndex((p) => p.startsWith('$['));
  if (at < 0) {
    if (parts.includes('$')) fail('BadValue', 'the positional operator $ is not modelled by the scripted replica set');
    return [parts];
  }
  const array = getPath(document, parts.slice(0, at));
  if (!Array.isArray(array)) return [];
  const id = (parts[at] ?? '').slice(2, -1);
  const filter = arrayFilters.find((f) => Object.keys(f).some((k) => k === id || k.startsWith(`${id}.`)));
  if (id !== '' && filter === undefined) fail('BadValue', `No array filter found for identifier '${id}'`);
  return (array as unknown[]).flatMap((element, index) =>
    id === '' || matches({ [id]: element }, filter as Document) ? expand(document, [...parts.slice(0, at), String(index), ...parts.slice(at + 1)], arrayFilters) : [],
  );
}

function arrayAt(document: Document, parts: string[], operator: string): unknown[] {
  const value = getPath(document, parts);
  if (value === undefined) {
    const created: unknown[] = [];
    setPath(document, parts, created);
    return created;
  }
  if (!Array.isArray(value)) fail('BadValue', `The field '${parts.join('.')}' must be an array but is of type ${typeOf(value)} (${operator})`);
  return value as unknown[];
}

const eachOf = (argument: unknown): unknown[] => (isDocument(argument) && Array.isArray(argument.$each) ? (argument.$each as unknown[]) : [argument]);

function numeric(document: Document, parts: string[], argument: unknown, operator: string, op?: (x: number, y: number) => number): void {
  const current = getPath(document, parts);
  if (!isNumber(argument)) fail('TypeMismatch', `Cannot ${operator} with non-numeric argument: {${parts.join('.')}: ${inspect(argument)}}`);
  if (current !== undefined && !isNumber(current)) fail('TypeMismatch', `Cannot apply ${operator} to a value of non-numeric type. {_id: ${inspect(document._id)}} has the field '${parts.join('.')}' of non-numeric type ${typeOf(current)}`);
  setPath(document, parts, add(current ?? (op === MULTIPLY ? 0 : argument), current === undefined && op !== MULTIPLY ? 0 : argument, op));
}

function applyOperator(document: Document, operator: string, parts: string[], argument: unknown, inserting: boolean): void {
  switch (operator) {
    case '$set':
      return setPath(document, parts, argument);
    case '$setOnInsert':
      return inserting ? setPath(document, parts, argument) : undefined;
    case '$unset':
      return unsetPath(document, parts);
    case '$inc':
      return numeric(document, parts, argument, '$inc');
    case '$mul':
      return numeric(document, parts, argument, '$mul', MULTIPLY);
    case '$min':
    case '$max': {
      const current = getPath(document, parts);
      if (current === undefined || compare(argument, current) * (operator === '$min' ? 1 : -1) < 0) setPath(document, parts, argument);
      return;
    }
    case '$currentDate': {
      const timestamp = isDocument(argument) && argument.$type === 'timestamp';
      return setPath(document, parts, timestamp ? Timestamp.fromBits(0, Math.floor(Date.now() / 1000)) : new Date());
    }
    case '$push':
      arrayAt(document, parts, operator).push(...eachOf(argument));
      return;
    case '$addToSet': {
      const array = arrayAt(document, parts, operator);
      for (const value of eachOf(argument)) if (!array.some((e) => equal(e, value))) array.push(value);
      return;
    }
    case '$pull':
    case '$pullAll': {
      const array = getPath(document, parts);
      if (!Array.isArray(array)) return;
      const removes = (e: unknown): boolean =>
        operator === '$pullAll'
          ? (argument as unknown[]).some((a) => equal(e, a))
          : isDocument(argument) && Object.keys(argument)[0]?.startsWith('$') === true
            ? matches({ e }, { e: argument })
            : isDocument(argument) && isDocument(e)
              ? matches(e, argument)
              : equal(e, argument);
      return setPath(document, parts, (array as unknown[]).filter((e) => !removes(e)));
    }
    case '$pop': {
      const array = getPath(document, parts);
      if (Array.isArray(array)) setPath(document, parts, (toNumber(argument) ?? 1) < 0 ? array.slice(1) : array.slice(0, -1));
      return;
    }
    case '$rename': {
      const value = getPath(document, parts);
      if (value === undefined) return;
      unsetPath(document, parts);
      return setPath(document, String(argument).split('.'), value);
    }
    default:
      return fail('FailedToParse', `Unknown modifier: ${operator}. Expected a valid update modifier or pipeline-style update specified as an array`);
  }
}

const isModifier = (update: Document): boolean => Object.keys(update)[0]?.startsWith('$') === true;

/** `document` after `update` (`document` is changed in place and returned, or replaced). */
export function applyUpdate(document: Document, update: Document | Document[], options: { inserting: boolean; arrayFilters?: Document[] }): Document {
  const id: unknown = document._id;
  let updated: Document;
  if (Array.isArray(update)) {
    updated = runPipeline([document], update)[0] ?? {};
  } else if (!isModifier(update)) {
    updated = { _id: id, ...update };
  } else {
    updated = document;
    for (const [operator, fields] of Object.entries(update)) {
      if (!isDocument(fields)) fail('FailedToParse', `Modifiers operate on fields but we found type ${typeOf(fields)} instead`);
      for (const [path, argument] of Object.entries(fields)) {
        for (const parts of expand(updated, path.split('.'), options.arrayFilters ?? [])) applyOperator(updated, operator, parts, argument, options.inserting);
      }
    }
  }
  if (id !== undefined && (updated._id === undefined || !equal(updated._id, id))) {
    fail('ImmutableField', `Performing an update on the path '_id' would modify the immutable field '_id'`);
  }
  return updated;
}

/** The document an upsert starts from: the filter's equality conditions (top level and under `$and`). */
function seedOf(filter: Document, seed: Document = {}): Document {
  for (const [key, condition] of Object.entries(filter)) {
    if (key === '$and' && Array.isArray(condition)) for (const f of condition as Document[]) seedOf(f, seed);
    if (key.startsWith('$')) continue;
    const wanted: unknown = isDocument(condition) && Object.keys(condition)[0]?.startsWith('$') === true ? condition.$eq : condition;
    if (wanted !== undefined) setPath(seed, key.split('.'), wanted);
  }
  return seed;
}

/** The document an upsert inserts; `_id` first, a new ObjectId when neither filter nor update gives one. */
export function upsertDocument(filter: Document, update: Document | Document[], arrayFilters?: Document[]): Document {
  const seed = seedOf(filter);
  const replacing = !Array.isArray(update) && !isModifier(update);
  const built: Document = replacing ? { ...(seed._id === undefined ? {} : { _id: seed._id as unknown }), ...update } : applyUpdate(seed, update, { inserting: true, arrayFilters });
  const id: unknown = built._id ?? resolve(seed, ['_id'])[0] ?? new ObjectId();
  return { _id: id, ...built };
}
