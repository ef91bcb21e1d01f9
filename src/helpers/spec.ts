/**
 * The declarative reshape spec: checked once, then either turned into `updateMany` commands
 * (when the server can do it in one pass per operator group) or applied to each document in JS.
 * Both give the same documents: rename, then unset, then set, then defaults where missing.
 */
import type { Document, Filter, UpdateFilter } from 'mongodb';
import { usageError } from '../errors.ts';
import { isPlainObject } from '../util/objects.ts';
import type { ReshapeSpec } from './types.ts';

const SPEC_KEYS = new Set(['set', 'setDefaults', 'rename', 'unset']);

export function isReshapeSpec(value: unknown): value is ReshapeSpec {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkPath(path: string, what: string): void {
  const segments = path.split('.');
  if (path === '' || segments.some((s) => s === '')) throw usageError(`${what}: '${path}' is not a field path`);
  if (segments.some((s) => s.startsWith('$'))) throw usageError(`${what}: '${path}' has a segment starting with '$'`);
  if (segments[0] === '_id') throw usageError(`${what}: '${path}' would change _id, which a document cannot change`);
}

/** Throws a usage error naming what is wrong with the spec. */
export function checkSpec(spec: ReshapeSpec, what: string): void {
  for (const key of Object.keys(spec)) {
    if (!SPEC_KEYS.has(key)) throw usageError(`${what}: unknown spec key '${key}' (expected set, setDefaults, rename, unset)`);
  }
  for (const path of Object.keys(spec.set ?? {})) checkPath(path, `${what} set`);
  for (const path of Object.keys(spec.setDefaults ?? {})) checkPath(path, `${what} setDefaults`);
  for (const path of spec.unset ?? []) checkPath(path, `${what} unset`);
  for (const [from, to] of Object.entries(spec.rename ?? {})) {
    checkPath(from, `${what} rename`);
    if (typeof to !== 'string') throw usageError(`${what} rename: the new name of '${from}' must be a string`);
    checkPath(to, `${what} rename`);
    if (from === to) throw usageError(`${what} rename: '${from}' is renamed to itself`);
  }
}

/** Two paths conflict when one is the other or lies inside it. */
function conflict(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);
}

function anyConflict(paths: string[]): boolean {
  return paths.some((a, i) => paths.slice(i + 1).some((b) => conflict(a, b)));
}

/** Field paths a filter reads, or undefined when it reads fields in ways not listed here ($expr...). */
function filterPaths(filter: Document): string[] | undefined {
  const paths: string[] = [];
  for (const [key, value] of Object.entries(filter)) {
    if (key === '$and' || key === '$or' || key === '$nor') {
      if (!Array.isArray(value)) return undefined;
      for (const part of value as unknown[]) {
        if (typeof part !== 'object' || part === null) return undefined;
        const inner = filterPaths(part);
        if (inner === undefined) return undefined;
        paths.push(...inner);
      }
    } else if (key === '$comment') {
      continue;
    } else if (key.startsWith('$')) {
      return undefined;
    } else {
      paths.push(key);
    }
  }
  return paths;
}

export interface ServerStep {
  filter: Filter<Document>;
  update: UpdateFilter<Document>;
}

export interface ServerPlan {
  /** One `updateMany` per default: sets the field where it is missing. Run first. */
  defaults: ServerStep[];
  /** One `updateMany` per rename into a sub-document, on the documents that have its source (see serverPlan). Run next. */
  moves: ServerStep[];
  /** The other renames + unset + set in one update, so each document changes atomically. */
  main: UpdateFilter<Document> | undefined;
}

function andFilter(filter: Filter<Document>, path: string, condition: Document): Filter<Document> {
  if (!(path in filter)) return { ...filter, [path]: condition };
  return { $and: [filter, { [path]: condition }] };
}

/**
 * The `updateMany` commands equivalent to applying the spec to each document, or undefined when
 * order matters (overlapping paths, or a filter that reads a defaulted field) and JS must apply it.
 *
 * One overlap has an exact server-side form, and is what a user writes to nest a field that may be
 * missing: a default on a rename's target (`rename: { theme: 'settings.theme' }, setDefaults:
 * { 'settings.theme': 'light' }`). Applied in order, the default lands where neither the source nor
 * the target was there; so it is set on the source, where both are missing, before the rename
 * moves it. (The source already there is moved as it is; a target already there without the
 * source stays.) Only for a top-level source, whose parent cannot be a value the default fails on.
 *
 * A rename into a sub-document (`bio` -> `profile.bio`) in one update with other changes creates
 * the parent even where the source is missing on DocumentDB (`profile: {}`), while MongoDB,
 * FerretDB and applySpec create nothing; so each such rename runs as its own update, on the
 * documents that have its source (unless the filter reads its paths: then JS applies the spec).
 */
export function serverPlan(spec: ReshapeSpec, filter: Filter<Document>): ServerPlan | undefined {
  const set = spec.set ?? {};
  const defaults = spec.setDefaults ?? {};
  const rename = spec.rename ?? {};
  const unset = spec.unset ?? [];
  // only a top-level source: setting a dotted one could meet a parent that is not a sub-document
  const sourceOf = new Map(Object.entries(rename).filter(([from]) => !from.includes('.')).map(([from, to]) => [to, from]));
  const onTargets = Object.keys(defaults).filter((path) => sourceOf.has(path));
  const plain = Object.keys(defaults).filter((path) => !sourceOf.has(path));
  // a default on a rename's target is no conflict (see above); every other overlap is
  const paths = [...Object.keys(set), ...plain, ...Object.entries(rename).flat(), ...unset];
  if (anyConflict(paths)) return undefined;
  const read = filterPaths(filter);
  // what the default steps write (a source, for a default on its target) and test, before the main update runs
  const touched = [...plain, ...onTargets.flatMap((path) => [path, sourceOf.get(path) ?? path])];
  if (touched.length > 0 && (read === undefined || read.some((r) => touched.some((d) => conflict(r, d))))) return undefined;

  const nested = Object.entries(rename).filter(([, to]) => to.includes('.'));
  const moved = Object.keys(set).length + unset.length + Object.keys(rename).length > 1 ? nested : [];
  if (moved.length > 0 && (read === undefined || read.some((r) => moved.some(([from, to]) => conflict(r, from) || conflict(r, to))))) return undefined;
  const stays = Object.entries(rename).filter(([from]) => !moved.some(([other]) => other === from));

  const main: Document = {};
  if (stays.length > 0) main.$rename = Object.fromEntries(stays);
  if (unset.length > 0) main.$unset = Object.fromEntries(unset.map((path) => [path, '']));
  if (Object.keys(set).length > 0) main.$set = { ...set };
  return {
    defaults: Object.entries(defaults).map(([path, value]) => {
      const source = sourceOf.get(path);
      if (source === undefined) return { filter: andFilter(filter, path, { $exists: false }), update: { $set: { [path]: value } } };
      return { filter: andFilter(andFilter(filter, source, { $exists: false }), path, { $exists: false }), update: { $set: { [source]: value } } };
    }),
    moves: moved.map(([from, to]) => ({ filter: andFilter(filter, from, { $exists: true }), update: { $rename: { [from]: to } } })),
    main: Object.keys(main).length > 0 ? main : undefined,
  };
}

function lookup(doc: Record<string, unknown>, path: string): { found: boolean; value: unknown } {
  let current: unknown = doc;
  for (const segment of path.split('.')) {
    if (!isPlainObject(current) || !(segment in current)) return { found: false, value: undefined };
    current = current[segment];
  }
  return { found: true, value: current };
}

function assign(doc: Record<string, unknown>, path: string, value: unknown): void {
  const segments = path.split('.');
  const leaf = segments.pop() ?? path;
  let current = doc;
  for (const segment of segments) {
    const next = current[segment];
    if (next === undefined) {
      const created: Record<string, unknown> = {};
      current[segment] = created;
      current = created;
    } else if (isPlainObject(next)) {
      current = next;
    } else {
      // MongoDB refuses the same: "Cannot create field ... in element"
      throw usageError(`cannot set '${path}': '${segment}' holds ${Array.isArray(next) ? 'an array' : 'a value'}, not a sub-document`);
    }
  }
  current[leaf] = value;
}

function remove(doc: Record<string, unknown>, path: string): void {
  const segments = path.split('.');
  const leaf = segments.pop() ?? path;
  let current: unknown = doc;
  for (const segment of segments) {
    if (!isPlainObject(current)) return;
    current = current[segment];
  }
  if (isPlainObject(current)) delete current[leaf];
}

/** Sets a (dotted) path on a document in place. */
export function setPath(doc: Document, path: string, value: unknown): void {
  assign(doc, path, value);
}

/** The spec applied to a copy of the document, in the order rename, unset, set, setDefaults. */
export function applySpec(spec: ReshapeSpec, original: Document): Document {
  const doc = structuredCopy(original);
  for (const [from, to] of Object.entries(spec.rename ?? {})) {
    const { found, value } = lookup(doc, from);
    if (!found) continue;
    remove(doc, from);
    assign(doc, to, value);
  }
  for (const path of spec.unset ?? []) remove(doc, path);
  for (const [path, value] of Object.entries(spec.set ?? {})) assign(doc, path, value);
  for (const [path, value] of Object.entries(spec.setDefaults ?? {})) {
    if (!lookup(doc, path).found) assign(doc, path, value);
  }
  return doc;
}

/** Copies plain objects down the tree (what the spec may change); BSON values are kept as they are. */
function structuredCopy(doc: Document): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(doc)) copy[key] = isPlainObject(value) ? structuredCopy(value) : value;
  return copy;
}
