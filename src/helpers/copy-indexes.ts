/**
 * The indexes copyAndRename builds on its copy: the source's, changed for the new shape with the
 * `indexes` option, checked before any document is copied, and built with a message that says
 * what to do when the new documents no longer fit a unique index.
 */
import type { Collection, IndexDescription } from 'mongodb';
import { codeNameOf, isDuplicateKey, isServerError, type DriverError } from '../driver/errors.ts';
import { MongrateError, messageOf, usageError } from '../errors.ts';
import { buildIndexesWatched } from './index-build.ts';
import { defaultIndexName, featuresNeeded, keyOf } from './indexes.ts';
import type { CopyIndexes, HelperContext } from './types.ts';

/** The index specs for the copy, named, checked and with the features they need present. */
export function copyIndexSpecs(ctx: HelperContext, source: IndexDescription[], option: CopyIndexes | undefined, what: string): IndexDescription[] {
  let specs: IndexDescription[];
  if (option === undefined) {
    specs = source;
  } else if (typeof option === 'function') {
    const given: unknown = option(source.map((spec) => ({ ...spec })));
    if (!Array.isArray(given)) throw usageError(`${what}: the indexes function must return a list of index specs`);
    specs = given as IndexDescription[];
  } else if (typeof option === 'object' && !Array.isArray(option)) {
    const unknownKey = Object.keys(option).find((key) => key !== 'drop' && key !== 'add');
    if (unknownKey !== undefined) throw usageError(`${what}: unknown indexes key '${unknownKey}' (expected drop, add)`);
    const present = source.map((spec) => spec.name);
    const missing = (option.drop ?? []).find((name) => !present.includes(name));
    if (missing !== undefined) {
      throw usageError(`${what}: indexes.drop names '${missing}', which the copy would not get anyway (the source's indexes: ${present.join(', ') || 'none'})`);
    }
    specs = [...source.filter((spec) => !(option.drop ?? []).includes(spec.name ?? '')), ...(option.add ?? [])];
  } else {
    throw usageError(`${what}: indexes must be a function or { drop, add }`);
  }
  const named = specs.map((spec) => {
    const key = keyOf(spec, `${what} indexes`);
    const name = spec.name ?? defaultIndexName(key);
    if (name === '_id_') throw usageError(`${what}: the copy always has its _id index; leave '_id_' out of indexes`);
    for (const feature of featuresNeeded(spec, key)) ctx.server.require(feature, `${what}: index '${name}'`);
    return { ...spec, key, name };
  });
  const duplicate = named.find((spec, i) => named.findIndex((other) => other.name === spec.name) !== i);
  if (duplicate !== undefined) {
    throw usageError(`${what}: two indexes of the copy are named '${duplicate.name}'; to change a source index, drop it (indexes.drop) and add the new one`);
  }
  return named;
}

/** Builds the indexes on a copy; a duplicate key names the index and the way out. */
export async function buildIndexes(ctx: HelperContext, collection: Collection, specs: IndexDescription[], what: string): Promise<void> {
  if (specs.length === 0) return;
  ctx.fence?.();
  try {
    await buildIndexesWatched(ctx, collection, specs, what);
  } catch (error) {
    if (!isServerError(error) || !(isDuplicateKey(error) || isFerretDbUniqueBuildFailure(error))) throw error;
    throw duplicateKeyError(specs, error, what);
  }
}

/**
 * FerretDB 1.x builds a unique index over repeated values into SQLite and answers InternalError
 * (code 1), not DuplicateKey: only its wrapped SQLite message tells this case from any other
 * internal failure. A quirk of one server, kept apart from `isDuplicateKey`, which reads codes only.
 */
function isFerretDbUniqueBuildFailure(error: DriverError): boolean {
  return codeNameOf(error) === 'InternalError' && /UNIQUE constraint failed/.test(error.message);
}

/**
 * The index a duplicate key belongs to: MongoDB names it (`index: email_1 dup key`) and gives its
 * key pattern; FerretDB names its SQLite index `<collection>_<hash>_<index name>`.
 */
function failingIndex(specs: IndexDescription[], error: DriverError): IndexDescription | undefined {
  const named = /index: (\S+) dup key/.exec(error.message)?.[1] ?? /index '([^']+)'/.exec(error.message)?.[1];
  if (named !== undefined) {
    const exact = specs.find((spec) => spec.name === named);
    if (exact !== undefined) return exact;
    const suffixed = specs.filter((spec) => named.endsWith(`_${spec.name ?? ''}`)).sort((a, b) => (b.name ?? '').length - (a.name ?? '').length);
    if (suffixed[0] !== undefined) return suffixed[0];
  }
  const pattern: unknown = error.keyPattern;
  if (typeof pattern === 'object' && pattern !== null) {
    const byKey = specs.find((spec) => JSON.stringify(spec.key) === JSON.stringify(pattern));
    if (byKey !== undefined) return byKey;
  }
  const unique = specs.filter((spec) => spec.unique === true);
  return unique.length === 1 ? unique[0] : undefined;
}

function duplicateKeyError(specs: IndexDescription[], error: DriverError, what: string): MongrateError {
  const index = failingIndex(specs, error);
  const name = index?.name ?? 'x';
  const which =
    index === undefined ? `one of the unique indexes ${specs.filter((s) => s.unique === true).map((s) => `'${s.name ?? ''}'`).join(', ')}` : `the unique index '${name}' (${JSON.stringify(index.key)})`;
  return new MongrateError(
    'MIGRATION_FAILED',
    `${what}: ${which} cannot be rebuilt on the copy: the copied documents repeat a value it indexes (a field the transform moved or removed is missing, so null, in each of them). Give the copy the indexes of its new shape with the indexes option, e.g. indexes: { drop: ['${name}'], add: [{ key: { '<new path>': 1 }, unique: true }] }; nothing was swapped (server: ${messageOf(error)})`,
    { cause: error },
  );
}
