/**
 * What copyAndRename refuses before it copies anything, because a copy of the documents cannot
 * carry it over faithfully:
 * - Atlas Search and Vector Search indexes: not in `listIndexes`, so the copy would not get them
 *   and the swap would drop them; listed with `$listSearchIndexes` where the server has it, and
 *   the copy refused naming them (dropping and recreating them is the user's call: they take
 *   time to build and serve queries meanwhile);
 * - the Stable API strict before MongoDB 8.1: the swap is a `renameCollection`, which API
 *   version 1 took in only in 8.1; the server would refuse it after the whole copy was made;
 * - client-side field level encryption: a client whose `autoEncryption` names the collection
 *   (`schemaMap`, `encryptedFieldsMap`, or a `$jsonSchema` validator with `encrypt` read as the
 *   remote schema) reads its fields decrypted and would write them in plaintext into the
 *   temporary collection, which no map names. (Queryable Encryption's `encryptedFields` collection
 *   option is refused with the collection's other options.)
 */
import type { Collection, Db, Document } from 'mongodb';
import { isServerError, serverCode } from '../driver/errors.ts';
import { MongrateError, messageOf, usageError } from '../errors.ts';
import { withSession } from './context.ts';
import type { HelperContext } from './types.ts';

/** Unauthorized: the user may not list them, so whether there are any is not known. */
const UNAUTHORIZED = 13;

/** The names of the collection's search indexes; none where the server has no `$listSearchIndexes`. */
async function searchIndexNames(ctx: HelperContext, collection: Collection, what: string): Promise<string[]> {
  try {
    const listed = await collection.aggregate<{ name?: unknown; type?: unknown }>([{ $listSearchIndexes: {} }], withSession(ctx)).toArray();
    return listed.map((index) => `${String(index.name)}${index.type === 'vectorSearch' ? ' (vector search)' : ''}`);
  } catch (error) {
    // an unknown stage, or a server without a search process: there are no search indexes
    if (!isServerError(error)) throw error;
    if (serverCode(error) === UNAUTHORIZED) {
      ctx.warn?.(`${what}: could not check '${collection.collectionName}' for Atlas Search indexes (${messageOf(error)}); a copy would not get them`);
    }
    return [];
  }
}

export async function refuseSearchIndexes(ctx: HelperContext, source: Collection, to: string, what: string): Promise<void> {
  const names = await searchIndexNames(ctx, source, what);
  if (names.length === 0) return;
  throw new MongrateError(
    'MIGRATION_FAILED',
    `${what}: '${source.collectionName}' has Atlas Search indexes (${names.join(', ')}), which are not in listIndexes: the copy would not get them and the swap would drop them. Nothing was copied; drop them (dropSearchIndex), run the migration, and create them again on '${to}' (createSearchIndex)`,
  );
}

function hasEncryptKeyword(schema: unknown): boolean {
  if (Array.isArray(schema)) return schema.some(hasEncryptKeyword);
  if (typeof schema !== 'object' || schema === null) return false;
  return Object.entries(schema).some(([key, value]) => key === 'encrypt' || hasEncryptKeyword(value));
}

export function refuseClientEncryption(db: Db, names: (string | undefined)[], validator: Document | undefined, temp: string, what: string): void {
  // typed as always there, but undefined unless the client was made with it
  const { autoEncryption: auto } = db.client.options as unknown as { autoEncryption?: { schemaMap?: Document; encryptedFieldsMap?: Document } | null };
  if (auto === undefined || auto === null) return;
  const maps = [auto.schemaMap, auto.encryptedFieldsMap].filter((map): map is Document => map !== undefined);
  const named = names.filter((name): name is string => name !== undefined).find((name) => maps.some((map) => Object.hasOwn(map, `${db.databaseName}.${name}`)));
  const remote = hasEncryptKeyword(validator?.$jsonSchema);
  if (named === undefined && !remote) return;
  const how = named === undefined ? `its $jsonSchema validator has encrypt keywords` : `the client's autoEncryption names '${db.databaseName}.${named}'`;
  throw usageError(
    `${what}: client-side field level encryption: ${how}, so the copy would read the encrypted fields decrypted and write them in plaintext into '${temp}'. Copy it with a client without autoEncryption (the encrypted values are then copied as they are)`,
  );
}

/** The swap's renameCollection is outside the Stable API version 1 before MongoDB 8.1 (see the file header). */
export function refuseOutsideStableApi(ctx: HelperContext, what: string): void {
  if (!ctx.server.apiStrict) return;
  const [major = 0, minor = 0] = ctx.server.mongodbVersion.split('.').map((part) => Number.parseInt(part, 10));
  if (major > 8 || (major === 8 && minor >= 1)) return;
  throw new MongrateError(
    'MIGRATION_FAILED',
    `${what} needs renameCollection, which is outside the Stable API version 1 before MongoDB 8.1 (this server: ${ctx.server.mongodbVersion}), and the client declares serverApi strict: true; ` +
      'give mongrate clientOptions.serverApi with strict: false (or no serverApi) for this migration. Nothing was copied',
  );
}
