// Probes for what a server lacks where its capability table cannot tell: each creates a
// throwaway collection with the option in the test's own database and drops it again, so a
// test skips naming the feature exactly where the server refuses (or ignores) it.
import type { TestContext } from 'node:test';
import { MongoServerError, type Db, type Document } from 'mongodb';
import { probeServer } from '../../src/server/capabilities.ts';

export async function optionsOf(db: Db, name: string): Promise<Document | undefined> {
  const [entry] = await db.listCollections({ name }, { nameOnly: false }).toArray();
  return entry?.options;
}

/** Creates a collection with options the server may lack; false (after skipping the test) when it refuses or ignores them. */
export async function createOrSkip(t: TestContext, db: Db, name: string, options: Document, feature: string, reported: (options: Document | undefined) => boolean): Promise<boolean> {
  try {
    await db.createCollection(name, options);
  } catch (error) {
    if (!(error instanceof MongoServerError)) throw error;
    t.skip(`the test server lacks ${feature}: ${error.message}`);
    return false;
  }
  if (reported(await optionsOf(db, name))) return true;
  t.skip(`the test server lacks ${feature}: it created '${name}' without them`);
  return false;
}

export const JSON_SCHEMA_REQUIRED = 'the $jsonSchema keyword required';

/**
 * Whether a server that has validators refuses `required` in a `$jsonSchema` (the open-source
 * DocumentDB: "Unknown $jsonSchema keyword: required"); false on a server without validators,
 * whose tests take their own path.
 */
export async function refusesJsonSchemaRequired(db: Db): Promise<boolean> {
  if (!(await probeServer(db)).supports('validators')) return false;
  const name = 'probe_json_schema_required';
  try {
    await db.createCollection(name, { validator: { $jsonSchema: { required: ['probe'] } } });
  } catch (error) {
    if (error instanceof MongoServerError) return true;
    throw error;
  }
  await db.dropCollection(name);
  return false;
}

/** Skips the test where the server refuses `required` in a `$jsonSchema`; true when it did. */
export async function skipWithoutJsonSchemaRequired(t: TestContext, db: Db): Promise<boolean> {
  if (!(await refusesJsonSchemaRequired(db))) return false;
  t.skip(`the test server lacks ${JSON_SCHEMA_REQUIRED}`);
  return true;
}
