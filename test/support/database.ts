// Helpers for tests: each test gets its own throwaway database on the server run-tests.ts started.
import { randomBytes } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';

export interface TestDbContext {
  client: MongoClient;
  db: Db;
  dbName: string;
  uri: string;
}

export function testUri(): string {
  const uri = process.env.MONGRATE_TEST_URI;
  if (uri === undefined || uri === '') {
    throw new Error('MONGRATE_TEST_URI is not set: run the tests with `npm test`, which starts a server');
  }
  return uri;
}

/** 'mgt_<label>_<8 hex>', at most 33 chars: short enough for every server's name limits, unique per call. */
export function uniqueDbName(label: string): string {
  const clean = label.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 20);
  return `mgt_${clean}_${randomBytes(4).toString('hex')}`;
}

/** Runs fn against a fresh database, then drops it and closes the client whatever happened. */
export async function withTestDb<T>(label: string, fn: (ctx: TestDbContext) => Promise<T>): Promise<T> {
  const uri = testUri();
  const dbName = uniqueDbName(label);
  const client = new MongoClient(uri);
  try {
    await client.connect();
    const db = client.db(dbName);
    try {
      return await fn({ client, db, dbName, uri });
    } finally {
      // A failed drop must not hide the test's own result.
      await db.dropDatabase().catch(() => undefined);
    }
  } finally {
    await client.close();
  }
}

export function testServerFlavour(): string {
  return process.env.MONGRATE_TEST_SERVER_FLAVOUR ?? 'unknown';
}
