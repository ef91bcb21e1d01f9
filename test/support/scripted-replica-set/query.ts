/**
 * The query language subset migrations use, with MongoDB's semantics: a condition on a dotted
 * path holds when it holds for any value the path reaches (through arrays of documents, and for
 * an array's elements as well as the array itself); `{ f: null }` also matches a missing field;
 * comparisons only compare values of the same kind of type. Sort uses MongoDB's type order (an
 * array sorts by its smallest element ascending, its largest descending). Not modelled: `$expr`,
 * `$where`, `$text`, geo operators, the positional projection, collations.
 */
import type { Document } from 'mongodb';
import { fail } from './errors.ts';
import { TYPE_NUMBERS, add, compare, equal, isDocument, isNumber, isRegex, toNumber, toRegExp, typeOf } from './values.ts';

/** Every value `path` reaches in `value`; empty when the field is missing. */
export function resolve(value: unknown, parts: readonly string[]): unknown[] {
  if (parts.length === 0) return [value];
  const [head = '', ...rest] = parts;
  if (Array.isArray(value)) {
    const reached: unknown[] = [];
    if (/^\d+$/.test(head) && Number(head) < value.length) reached.push(...resolve(value[Number(head)], rest));
    for (const element of value as unknown[]) if (isDocument(element)) reached.push(...resolve(element, parts));
    return reached;
  }
  return isDocument(value) && Object.hasOwn(value, head) ? resolve(value[head], rest) : [];
}

const list = (value: unknown, operator: string): Document[] => {
  if (!Array.isArray(value)) fail('BadValue', `${operator} must be an array`);
  return value as Document[];
};

/** Whether `document` matches `filter`. */
export function matches(document: unknown, filter: Document): boolean {
  return Object.entries(filter).every(([key, condition]) => {
    switch (key) {
      case '$and':
        return list(condition, key).every((f) => matches(document, f));
      case '$or':
        return list(condition, key).some((f) => matches(document, f));
      case '$nor':
        return !list(condition, key).some((f) => matches(document, f));
      case '$comment':
        return true;
      default:
        if (key.startsWith('$')) fail('BadValue', `unknown top level operator: ${key} (not modelled by the scripted replica set)`);
        return conditionHolds(resolve(document, key.split('.')), condition);
    }
  });
}

const isOperatorObject = (value: unknown): value is Document => isDocument(value) && Object.keys(value)[0]?.startsWith('$') === true;

/** The values a condition is tested against: each value, and the elements of array values. */
const leaves = (values: unknown[]): unknown[] => values.flatMap((v) => (Array.isArray(v) ? [v, ...(v as unknown[])] : [v]));

function equalsAny(values: unknown[], wanted: unknown): boolean {
  if (wanted === null) return values.length === 0 || leaves(values).some((v) => v === null || v === undefined);
  return leaves(values).some((v) => equal(v, wanted));
}

const regexMatches = (values: unknown[], regex: RegExp): boolean => leaves(values).some((v) => (typeof v === 'string' && regex.test(v)) || (isRegex(v) && equal(v, regex)));

function conditionHolds(values: unknown[], condition: unknown): boolean {
  if (isRegex(condition)) return regexMatches(values, toRegExp(condition));
  if (!isOperatorObject(condition)) return equalsAny(values, condition);
  return Object.entries(condition).every(([operator, argument]) => operatorHolds(values, operator, argument, condition));
}

/** `$gt`-style comparison: only values whose type sorts with the argument's (numbers with numbers...). */
function comparesAny(values: unknown[], argument: unknown, accept: (order: number) => boolean): boolean {
  const kind = (v: unknown): string => (isNumber(v) ? 'number' : typeOf(v) === 'symbol' ? 'string' : typeOf(v));
  return leaves(values).some((v) => kind(v) === kind(argument) && accept(compare(v, argument)));
}

function typeMatches(value: unknown, wanted: unknown): boolean {
  const type = typeOf(value);
  if (wanted === 'number') return isNumber(value);
  return typeof wanted === 'string' ? wanted === type : toNumber(wanted) === TYPE_NUMBERS[type];
}

function operatorHolds(values: unknown[], operator: string, argument: unknown, condition: Document): boolean {
  switch (operator) {
    case '$eq':
      return equalsAny(values, argument);
    case '$ne':
      return !equalsAny(values, argument);
    case '$gt':
      return comparesAny(values, argument, (o) => o > 0);
    case '$gte':
      return argument === null ? equalsAny(values, null) : comparesAny(values, argument, (o) => o >= 0);
    case '$lt':
      return comparesAny(values, argument, (o) => o < 0);
    case '$lte':
      return argument === null ? equalsAny(values, null) : comparesAny(values, argument, (o) => o <= 0);
    case '$in':
      return list(argument, operator).some((a) => (isRegex(a) ? regexMatches(values, toRegExp(a)) : equalsAny(values, a)));
    case '$nin':
      return !list(argument, operator).some((a) => (isRegex(a) ? regexMatches(values, toRegExp(a)) : equalsAny(values, a)));
    case '$all':
      return list(argument, operator).every((a) => equalsAny(values, a));
    case '$exists':
      return (values.length > 0) === Boolean(argument);
    case '$not':
      return !conditionHolds(values, argument);
    case '$regex':
      return regexMatches(values, toRegExp(argument, typeof condition.$options === 'string' ? condition.$options : ''));
    case '$options':
      return true;
    case '$type':
      return leaves(values).some((v) => (Array.isArray(argument) ? (argument as unknown[]) : [argument]).some((t) => typeMatches(v, t)));
    case '$size':
      return values.some((v) => Array.isArray(v) && v.length === toNumber(argument));
    case '$mod': {
      const [divisor, remainder] = (argument as unknown[]).map(toNumber);
      return leaves(values).some((v) => isNumber(v) && (toNumber(v) ?? 0) % (divisor ?? 1) === remainder);
    }
    case '$elemMatch':
      if (!isDocument(argument)) fail('BadValue', '$elemMatch needs an Object');
      return values.some(
        (v) => Array.isArray(v) && (v as unknown[]).some((e) => (isOperatorObject(argument) ? conditionHolds([e], argument) : isDocument(e) && matches(e, argument))),
      );
    default:
      return fail('BadValue', `unknown operator: ${operator} (not modelled by the scripted replica set)`);
  }
}

/** The value a sort reads: the smallest (ascending) or largest (descending) the path reaches; null when missing. */
function sortValue(document: Document, path: string, direction: number): unknown {
  const reached = resolve(document, path.split('.')).flatMap((v) => (Array.isArray(v) && v.length > 0 ? (v as unknown[]) : [v]));
  if (reached.length === 0) return null;
  return reached.reduce((best, v) => (compare(v, best) * direction < 0 ? v : best));
}

/** A comparator for a sort specification `{ field: 1 | -1 }`. */
export function sortBy(sort: Document): (a: Document, b: Document) => number {
  const keys = Object.entries(sort).map(([path, direction]) => {
    if (isDocument(direction)) fail('BadValue', `$meta sort is not modelled by the scripted replica set`);
    return [path, (toNumber(direction) ?? 1) < 0 ? -1 : 1] as const;
  });
  return (a, b) => {
    for (const [path, direction] of keys) {
      const order = compare(sortValue(a, path, direction), sortValue(b, path, direction)) * direction;
      if (order !== 0) return order;
    }
    return 0;
  };
}

const selects = (spec: unknown): boolean => spec === true || (isNumber(spec) && toNumber(spec) !== 0);
const isExpression = (spec: unknown): boolean => spec !== undefined && !(typeof spec === 'boolean' || isNumber(spec));

function pick(value: Document, paths: string[][]): Document {
  const out: Document = {};
  for (const [key, field] of Object.entries(value) as [string, unknown][]) {
    const under = paths.filter((p) => p[0] === key);
    if (under.length === 0) continue;
    if (under.some((p) => p.length === 1)) out[key] = field;
    else if (isDocument(field)) out[key] = pick(field, under.map((p) => p.slice(1)));
    else if (Array.isArray(field)) out[key] = (field as unknown[]).filter(isDocument).map((e) => pick(e, under.map((p) => p.slice(1))));
  }
  return out;
}

function omit(value: Document, paths: string[][]): Document {
  const out: Document = {};
  for (const [key, field] of Object.entries(value) as [string, unknown][]) {
    const under = paths.filter((p) => p[0] === key);
    if (under.some((p) => p.length === 1)) continue;
    const rest = under.map((p) => p.slice(1));
    if (rest.length === 0) out[key] = field;
    else if (isDocument(field)) out[key] = omit(field, rest);
    else if (Array.isArray(field)) out[key] = (field as unknown[]).map((e) => (isDocument(e) ? omit(e, rest) : e));
    else out[key] = field;
  }
  return out;
}

/** A find projection or `$project` stage: inclusion (with computed fields) or exclusion; `_id` unless excluded. */
export function project(document: Document, projection: Document | undefined): Document {
  if (projection === undefined || Object.keys(projection).length === 0) return document;
  const fields = Object.entries(projection).filter(([path]) => path !== '_id');
  const idSpec: unknown = projection._id;
  const including = fields.some(([, spec]) => selects(spec) || isExpression(spec)) || (fields.length === 0 && selects(idSpec));
  if (!including) return omit(document, Object.entries(projection).filter(([, s]) => !selects(s)).map(([path]) => path.split('.')));
  const paths = fields.filter(([, spec]) => selects(spec)).map(([path]) => path.split('.'));
  if (idSpec === undefined || selects(idSpec)) paths.unshift(['_id']);
  const out = pick(document, paths);
  if (isExpression(idSpec)) out._id = evaluate(document, idSpec);
  for (const [path, spec] of fields) if (isExpression(spec)) setField(out, path, evaluate(document, spec));
  return out;
}

/** Sets a dotted path in a plain document tree, creating the documents on the way. */
export function setField(target: Document, path: string, value: unknown): void {
  const parts = path.split('.');
  let at = target;
  for (const part of parts.slice(0, -1)) {
    if (!isDocument(at[part])) at[part] = {};
    at = at[part] as Document;
  }
  at[parts[parts.length - 1] ?? path] = value;
}

/** An aggregation expression: `'$path'`, `'$$ROOT'`, literals, documents of expressions and a few operators. */
export function evaluate(document: Document, expression: unknown): unknown {
  if (typeof expression === 'string' && expression.startsWith('$')) {
    if (expression === '$$ROOT' || expression === '$$CURRENT') return document;
    if (expression.startsWith('$$')) fail('BadValue', `variable ${expression} is not modelled by the scripted replica set`);
    const reached = resolve(document, expression.slice(1).split('.'));
    return reached.length > 1 ? reached : reached[0];
  }
  if (Array.isArray(expression)) return (expression as unknown[]).map((e) => evaluate(document, e));
  if (!isDocument(expression)) return expression;
  const [operator, argument] = Object.entries(expression)[0] ?? [];
  const args = (): unknown[] => (Array.isArray(argument) ? (argument as unknown[]) : [argument]).map((a) => evaluate(document, a));
  switch (operator) {
    case '$literal':
      return argument;
    case '$ifNull':
      return args().find((v) => v !== null && v !== undefined) ?? null;
    case '$add':
      return args().reduce((sum, v) => add(sum, v));
    case '$concat':
      return args().join('');
    case '$size': {
      const [value] = args();
      return Array.isArray(value) ? value.length : fail('BadValue', 'The argument to $size must be an array');
    }
    case '$eq':
      return equal(args()[0], args()[1]);
    default:
      if (operator?.startsWith('$') === true) fail('BadValue', `expression ${operator} is not modelled by the scripted replica set`);
      return Object.fromEntries(Object.entries(expression).map(([key, e]) => [key, evaluate(document, e)]));
  }
}
