// Shared by the transaction tests of the API: a database and project per test, a migrator that
// connects through the test's gateway (shim, recording proxy or the server itself), every event
// it emits, and readers for the commands the shim saw.
import assert from 'node:assert/strict';
import type { Db } from 'mongodb';
import { createMigrator, type Migrator, type MongrateConfig } from '../../src/index.ts';
import type { ChangelogRecord, HistoryRecord } from '../../src/changelog/contract.ts';
import { withTestDb } from './database.ts';
import { createProject, type TestProject } from './project.ts';
import type { SeenCommand, TransactionShim } from './transaction-shim.ts';
import type { Gateway } from './transaction-venue.ts';

export interface TransactionEnv {
  /** The test's database, reached directly (never through the shim). */
  db: Db;
  project: TestProject;
  migrator: Migrator;
  /** `<event> <id>[: <detail>]` of every event the migrator emitted, in order. */
  events: string[];
}

export async function withTransactionEnv(
  gateway: Gateway,
  label: string,
  config: Partial<MongrateConfig>,
  fn: (env: TransactionEnv) => Promise<void>,
): Promise<void> {
  await withTestDb(label, async ({ db, dbName }) => {
    const project = await createProject();
    const migrator = createMigrator({ uri: gateway.uri, database: dbName, migrationsDir: project.migrationsDir, ...config });
    const events: string[] = [];
    migrator.on('migrating', ({ id, direction }) => events.push(`migrating ${id} ${direction}`));
    migrator.on('migrated', ({ id, direction }) => events.push(`migrated ${id} ${direction}`));
    migrator.on('reverting', ({ id, direction }) => events.push(`reverting ${id} ${direction}`));
    migrator.on('reverted', ({ id, direction }) => events.push(`reverted ${id} ${direction}`));
    migrator.on('failed', ({ id, error }) => events.push(`failed ${id}: ${error}`));
    migrator.on('log', ({ id, message }) => events.push(`log ${id}: ${message}`));
    migrator.on('warning', ({ id, message }) => events.push(`warning ${id ?? '-'}: ${message}`));
    try {
      await fn({ db, project, migrator, events });
    } finally {
      await migrator.close();
      await project.remove();
    }
  });
}

/** The shim of a test that needs one. */
export function shimOf(gateway: Gateway): TransactionShim {
  assert.ok(gateway.shim !== undefined, 'this test reads commands: it needs the shim or the recording proxy');
  return gateway.shim;
}

/** Connection upkeep the driver sends on its own: not part of what a command did. */
const UPKEEP = new Set(['hello', 'ismaster', 'isMaster', 'ping', 'buildInfo', 'endSessions', 'saslStart', 'saslContinue']);

/** The commands mongrate and the migrations sent (from the `from`th seen on), without the driver's connection upkeep. */
export function sent(shim: TransactionShim, from = 0): SeenCommand[] {
  return shim.commands.slice(from).filter((c) => !UPKEEP.has(c.name));
}

/** `insert marks`, `commitTransaction`...: a command as a short word pair. */
export const named = (c: SeenCommand): string => (c.collection === undefined ? c.name : `${c.name} ${c.collection}`);

/** The first command matching, failing the test when there is none. */
export function first(commands: SeenCommand[], what: string, match: (c: SeenCommand) => boolean): SeenCommand {
  const found = commands.find(match);
  assert.ok(found !== undefined, `no ${what} among:\n${commands.map(named).join('\n')}`);
  return found;
}

/** Writes to a collection (`insert`, `update`, `delete`, `findAndModify`), inside or outside transactions. */
export const writesTo = (commands: SeenCommand[], collection: string): SeenCommand[] =>
  commands.filter((c) => c.collection === collection && ['insert', 'update', 'delete', 'findAndModify'].includes(c.name));

/** `n` users `{ _id: i, email, schema_version: 1 }`. */
export async function seedUsers(db: Db, n: number): Promise<void> {
  const users = Array.from({ length: n }, (_, i) => ({ _id: i, email: `u${i}@example.com`, schema_version: 1 }));
  await db.collection<{ _id: number; email: string; schema_version: number }>('users').insertMany(users);
}

/** How many users have each schema_version, e.g. `{ 1: 30 }`. */
export async function versions(db: Db): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const user of await db.collection<{ schema_version: number }>('users').find({}).toArray()) {
    counts[String(user.schema_version)] = (counts[String(user.schema_version)] ?? 0) + 1;
  }
  return counts;
}

/** Inserts a mark in the transaction (passing its session, as a migration may), logs. */
export const MARK_IN_TRANSACTION = `import { defineMigration } from 'mongrate';
export default defineMigration({
  description: 'a mark, in the transaction',
  async up({ db, session, log }) {
    await db.collection('marks').insertOne({ mark: 'a' }, { session });
    log('marked a');
  },
  async down({ db, session, log }) {
    await db.collection('marks').deleteOne({ mark: 'a' }, { session });
    log('unmarked a');
  },
});
`;

/** How many times a migration inserting marks ran, from the commands the shim saw (a rollback cannot hide them). */
export const attempts = (shim: TransactionShim, from = 0): number => sent(shim, from).filter((c) => c.name === 'insert' && c.collection === 'marks').length;

type WithDb = Pick<TransactionEnv, 'db'>;

export const changelog = (env: WithDb): Promise<ChangelogRecord[]> => env.db.collection<ChangelogRecord>('mongrate_changelog').find({}).sort({ _id: 1 }).toArray();

/** `[id, state]` of every changelog record. */
export const states = async (env: WithDb): Promise<string[][]> => (await changelog(env)).map((r) => [r._id, r.state]);

export const history = (env: WithDb): Promise<HistoryRecord[]> =>
  env.db.collection<HistoryRecord>('mongrate_history').find({}, { projection: { _id: 0 } }).sort({ at: 1 }).toArray();

/** `[migrationId, event]` of every history entry, in order. */
export const events = async (env: WithDb): Promise<string[][]> => (await history(env)).map((h) => [h.migrationId, h.event]);

export const marks = async (env: WithDb): Promise<string[]> => (await env.db.collection<{ mark: string }>('marks').find({}).toArray()).map((m) => m.mark).sort();

