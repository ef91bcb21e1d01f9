/**
 * Aggregation stages over documents in memory: `$match`, `$sort`, `$skip`, `$limit`, `$project`,
 * `$addFields`/`$set`, `$unset`, `$unwind`, `$replaceWith`/`$replaceRoot`, `$group` (`$sum`,
 * `$first`, `$last`, `$min`, `$max`, `$avg`, `$push`, `$addToSet`, `$count`) and `$count`.
 * Anything else (`$lookup`, `$out`, `$merge`...) is refused as MongoDB refuses an unknown stage,
 * with code 40324. `$currentOp` and `$collStats` are answered by the command layer, which owns
 * the operations and the catalog.
 */
import { Int32, type Document } from 'mongodb';
import { fail } from './errors.ts';
import { evaluate, matches, project, setField, sortBy } from './query.ts';
import { add, compare, equal, isDocument, isNumber, keyOf, toNumber } from './values.ts';

type Accumulator = (values: unknown[]) => unknown;

const ACCUMULATORS: Record<string, Accumulator> = {
  $sum: (values) => values.filter(isNumber).reduce((sum: unknown, v) => add(sum, v), new Int32(0)),
  $first: (values) => values[0] ?? null,
  $last: (values) => values[values.length - 1] ?? null,
  $min: (values) => values.filter((v) => v !== undefined && v !== null).reduce((m: unknown, v) => (m === undefined || compare(v, m) < 0 ? v : m), undefined) ?? null,
  $max: (values) => values.filter((v) => v !== undefined && v !== null).reduce((m: unknown, v) => (m === undefined || compare(v, m) > 0 ? v : m), undefined) ?? null,
  $avg: (values) => {
    const numbers = values.filter(isNumber).map((v) => toNumber(v) ?? 0);
    return numbers.length === 0 ? null : numbers.reduce((a, b) => a + b, 0) / numbers.length;
  },
  $push: (values) => values.filter((v) => v !== undefined),
  $addToSet: (values) => values.filter((v, i) => v !== undefined && values.findIndex((w) => equal(v, w)) === i),
};

function group(documents: Document[], spec: Document): Document[] {
  const groups = new Map<string, { id: unknown; members: Document[] }>();
  for (const document of documents) {
    const id = evaluate(document, spec._id) ?? null;
    const key = keyOf(id);
    const found = groups.get(key) ?? { id, members: [] };
    found.members.push(document);
    groups.set(key, found);
  }
  return [...groups.values()].map(({ id, members }) => {
    const out: Document = { _id: id };
    for (const [field, accumulator] of Object.entries(spec)) {
      if (field === '_id') continue;
      const [operator = '', argument] = isDocument(accumulator) ? (Object.entries(accumulator)[0] ?? []) : [];
      if (operator === '$count') {
        out[field] = new Int32(members.length);
        continue;
      }
      const accumulate = ACCUMULATORS[operator] ?? fail('Location40324', `accumulator ${operator} in $group is not modelled by the scripted replica set`);
      out[field] = accumulate(members.map((m) => evaluate(m, argument)));
    }
    return out;
  });
}

function unwind(documents: Document[], spec: unknown): Document[] {
  const { path, preserveNullAndEmptyArrays } = isDocument(spec) ? spec : { path: spec, preserveNullAndEmptyArrays: false };
  if (typeof path !== 'string' || !path.startsWith('$')) fail('BadValue', '$unwind needs a field path starting with $');
  const field = path.slice(1);
  return documents.flatMap((document) => {
    const value = evaluate(document, path);
    if (Array.isArray(value) && value.length > 0) {
      return (value as unknown[]).map((element) => {
        const out = { ...document };
        setField(out, field, element);
        return out;
      });
    }
    if (Array.isArray(value) || value === undefined || value === null) return preserveNullAndEmptyArrays === true ? [document] : [];
    return [document];
  });
}

/** Runs `stages` over `documents` (stages the command layer handles must be removed first). */
export function runPipeline(documents: Document[], stages: Document[]): Document[] {
  let current = documents;
  for (const stage of stages) {
    const [name = '', spec] = Object.entries(stage)[0] ?? [];
    switch (name) {
      case '$match':
        current = current.filter((d) => matches(d, spec as Document));
        break;
      case '$sort':
        current = [...current].sort(sortBy(spec as Document));
        break;
      case '$skip':
        current = current.slice(toNumber(spec) ?? 0);
        break;
      case '$limit':
        current = current.slice(0, toNumber(spec) ?? 0);
        break;
      case '$project':
        current = current.map((d) => project(d, spec as Document));
        break;
      case '$unset':
        current = current.map((d) => project(d, Object.fromEntries((Array.isArray(spec) ? (spec as string[]) : [String(spec)]).map((f) => [f, 0]))));
        break;
      case '$addFields':
      case '$set':
        current = current.map((d) => {
          const out = { ...d };
          for (const [field, expression] of Object.entries(spec as Document)) setField(out, field, evaluate(d, expression));
          return out;
        });
        break;
      case '$replaceWith':
      case '$replaceRoot':
        current = current.map((d) => evaluate(d, name === '$replaceRoot' ? (spec as Document).newRoot : spec) as Document);
        break;
      case '$unwind':
        current = unwind(current, spec);
        break;
      case '$group':
        current = group(current, spec as Document);
        break;
      case '$count':
        current = current.length === 0 ? [] : [{ [String(spec)]: new Int32(current.length) }];
        break;
      default:
        fail('Location40324', `Unrecognized pipeline stage name: '${name}' (not modelled by the scripted replica set)`);
    }
  }
  return current;
}
