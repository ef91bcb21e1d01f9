// Shared set-up for the migrator integration tests: one database and one project folder per test.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  createMigrator,
  MongrateError,
  type ErrorCode,
  type Migrator,
  type ResultError,
  type MongrateConfig,
} from '../../src/index.ts';
import type { ChangelogRecord, HistoryRecord } from '../../src/changelog/contract.ts';
import { withTestDb, type TestDbContext } from './database.ts';
import { createProject, type TestProject } from './project.ts';

export interface Env extends TestDbContext {
  project: TestProject;
  /** A migrator on this test's database and project; closed at the end. */
  migrator: Migrator;
  /** Another migrator (its own run identity) on the same database and project; closed at the end. */
  newMigrator(extra?: Partial<MongrateConfig>): Migrator;
  /** Changelog documents, by id. */
  changelog(): Promise<ChangelogRecord[]>;
  /** History documents, in insertion order. */
  history(): Promise<HistoryRecord[]>;
  /** The `mark` of every document in `marks`, sorted. */
  marks(): Promise<string[]>;
  /** `<mark>:<up|down>` of every tracked migration run, in the order they ran. */
  trail(): Promise<string[]>;
}

export async function withEnv(label: string, fn: (env: Env) => Promise<void>): Promise<void> {
  await withTestDb(label, async (ctx) => {
    const project = await createProject();
    const migrators: Migrator[] = [];
    const newMigrator = (extra: Partial<MongrateConfig> = {}): Migrator => {
      const migrator = createMigrator({ uri: ctx.uri, database: ctx.dbName, migrationsDir: project.migrationsDir, ...extra });
      migrators.push(migrator);
      return migrator;
    };
    try {
      await fn({
        ...ctx,
        project,
        migrator: newMigrator(),
        newMigrator,
        changelog: () => ctx.db.collection<ChangelogRecord>('mongrate_changelog').find({}).sort({ _id: 1 }).toArray(),
        history: () => ctx.db.collection<HistoryRecord>('mongrate_history').find({}, { projection: { _id: 0 } }).sort({ at: 1 }).toArray(),
        marks: async () => {
          const docs = await ctx.db.collection<{ mark: string }>('marks').find({}).toArray();
          return docs.map((d) => d.mark).sort();
        },
        trail: async () => {
          const docs = await ctx.db.collection<{ n: number; mark: string; ev: string }>('trail').find({}).sort({ n: 1 }).toArray();
          return docs.map((d) => `${d.mark}:${d.ev}`);
        },
      });
    } finally {
      for (const migrator of migrators) await migrator.close();
      await project.remove();
    }
  });
}

/**
 * A migration that appends `{ n, mark, ev }` to `trail` (n = position), so tests see in which
 * order ups and downs ran. `down: false` makes it irreversible.
 */
export function trackedMigration(mark: string, options: { down?: boolean; description?: string } = {}): string {
  const step = (ev: string): string => `async ${ev}({ db }) {
    const trail = db.collection('trail');
    await trail.insertOne({ n: await trail.countDocuments(), mark: ${JSON.stringify(mark)}, ev: '${ev}' });
  },`;
  return `import { defineMigration } from 'mongrate';
export default defineMigration({
  description: ${JSON.stringify(options.description ?? `track ${mark}`)},
  ${step('up')}
  ${options.down === false ? '' : step('down')}
});
`;
}

/** A source file that cannot be parsed. */
export const SYNTAX_ERROR_SOURCE = `export async function up({ db ) {\n  await db.collection('marks').insertOne({ mark: 'never' };\n}\n`;

/** Awaits a command and checks that its result's `error` has `code` (the one error channel); returns that error. */
export async function failsWithCode(promise: Promise<{ error?: ResultError | undefined }>, code: ErrorCode): Promise<ResultError> {
  const { error } = await promise;
  assert.ok(error !== undefined, `expected an error with code ${code}, got none`);
  assert.equal(error.code, code, `wrong code; message: ${error.message}`);
  return error;
}

/** Awaits `promise` and checks that it rejects with a MongrateError of `code` (invalid arguments, programmer errors); returns the error. */
export async function rejectsWithCode(promise: Promise<unknown>, code: ErrorCode): Promise<MongrateError> {
  let outcome: unknown;
  try {
    outcome = await promise;
  } catch (error) {
    assert.ok(error instanceof MongrateError, `expected a MongrateError, got ${String(error)}`);
    assert.equal(error.code, code, `wrong code; message: ${error.message}`);
    return error;
  }
  assert.fail(`expected a rejection with code ${code}, got ${JSON.stringify(outcome)}`);
}

/** The contract's checksum of a file: sha256 of its bytes, CRLF normalised to LF. */
export async function checksumOfFile(path: string): Promise<string> {
  const text = (await readFile(path, 'utf8')).replace(/\r\n/g, '\n');
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

export function migrationPath(env: Env, name: string): string {
  return join(env.project.migrationsDir, name);
}

/** Ids with their step status, e.g. `['001-a:success', '002-b:not-run']`. */
export function stepSummary(result: { steps: { id: string; direction: string; status: string }[] }): string[] {
  return result.steps.map((s) => `${s.id}:${s.direction}:${s.status}`);
}
