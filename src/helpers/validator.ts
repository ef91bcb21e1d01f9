/**
 * `setValidator`: a `$jsonSchema` validator via `collMod`, or `create` when the collection is
 * missing. A server that has validators may still lack a keyword (the open-source DocumentDB
 * refuses `required`); its refusal becomes MIGRATION_FAILED naming the helper, the keyword and
 * the server, with the server's own words.
 */
import type { Document } from 'mongodb';
import { serverCode } from '../driver/errors.ts';
import { MongrateError, messageOf } from '../errors.ts';
import { resolveCollection, withSession } from './context.ts';
import { refuseMissingPrivileges } from './privileges.ts';
import { refuseInTransaction } from './transaction-limit.ts';
import { needing } from './unsupported.ts';
import type { CollectionRef, HelperContext, SetValidatorOptions, SetValidatorResult } from './types.ts';

const FAILED_TO_PARSE = 9;
/** DocumentDB: "Unknown $jsonSchema keyword: required"; MongoDB: "$jsonSchema keyword 'format' is not currently supported". */
const REFUSED_KEYWORD = /\$jsonSchema keyword:? '?([$\w]+)'?/;

/** The server's refusal of a `$jsonSchema` keyword as the error naming it; any other error as it is. */
function keywordRefusal(ctx: HelperContext, error: unknown, what: string): unknown {
  if (serverCode(error) !== FAILED_TO_PARSE) return error;
  const keyword = REFUSED_KEYWORD.exec(messageOf(error))?.[1];
  if (keyword === undefined) return error;
  return new MongrateError(
    'MIGRATION_FAILED',
    `${what}: ${ctx.server.describe()} does not support the $jsonSchema keyword '${keyword}' (it answered: ${messageOf(error)})`,
    { cause: error },
  );
}

/** Accepts the schema itself or a whole `{ $jsonSchema }` validator; `null` removes the validator. */
function validatorOf(schema: Document | null): Document {
  if (schema === null) return {};
  const keys = Object.keys(schema);
  return keys.length === 1 && keys[0] === '$jsonSchema' ? schema : { $jsonSchema: schema };
}

export async function setValidatorWith<T extends Document>(
  ctx: HelperContext,
  ref: CollectionRef<T>,
  schema: Document | null,
  options: SetValidatorOptions = {},
): Promise<SetValidatorResult> {
  const collection = resolveCollection(ctx, ref);
  const name = collection.collectionName;
  const what = `setValidator(${name})`;
  refuseInTransaction(ctx, what);
  ctx.server.require('validators', what);
  const validator = validatorOf(schema);
  const settings: Document = {
    ...(options.level === undefined ? {} : { validationLevel: options.level }),
    ...(options.action === undefined ? {} : { validationAction: options.action }),
  };
  // matched by name: some compatible servers ignore the filter and list every collection
  const exists = (await collection.db.listCollections({ name }, { ...withSession(ctx), nameOnly: true }).toArray()).some((entry) => entry.name === name);
  // removing the validator of a collection that does not exist: already true
  if (!exists && schema === null) return { created: false };
  await refuseMissingPrivileges(collection.db, exists ? { collMod: 'changing the validator' } : { createCollection: 'the collection with its validator' }, what, name);
  if (ctx.dryRun) {
    const action = schema === null ? 'remove the validator' : exists ? 'set the $jsonSchema validator' : 'create the collection with the $jsonSchema validator';
    ctx.onPlan?.({ helper: 'setValidator', collection: name, action, ...(exists ? { note: 'collMod' } : {}) });
    return { created: !exists, dryRun: true };
  }
  ctx.fence?.();
  try {
    // a server whose table grants validators may still have them switched off (the open-source
    // DocumentDB's `documentdb.enableSchemaValidation`, off by default: "validator not supported yet")
    await needing(ctx, 'validators', what, async () => {
      if (exists) await collection.db.command({ collMod: name, validator, ...settings }, withSession(ctx));
      else await collection.db.createCollection(name, { validator, ...settings, ...withSession(ctx) });
    });
  } catch (error) {
    throw keywordRefusal(ctx, error, what);
  }
  ctx.log?.(`${what}: ${schema === null ? 'validator removed' : exists ? 'validator replaced' : 'collection created with validator'}`);
  return { created: !exists };
}
