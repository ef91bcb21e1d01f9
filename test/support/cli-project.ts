// One test of the built CLI: a throwaway project folder and database, the CLI run in that folder
// against that database, and readers for what it recorded (changelog, history, the `marks` side
// effects of markerMigration).
import type { Db } from 'mongodb';
import { runCli, startCli, type CliResult } from './cli.ts';
import { testUri, withTestDb } from './db.ts';
import { createProject, type TestProject } from './project.ts';

export type CliEnv = Record<string, string | undefined>;

/** A CLI process under way: the child, to signal it, and its result once it closes. */
export type StartedCli = ReturnType<typeof startCli>;

export interface CliProjectOptions {
  /** Written as migrate.config.ts before the test starts. */
  config?: string;
  /** Added to the environment of every run, start and bare (what a call passes itself wins). */
  env?: CliEnv;
}

export interface CliProjectContext {
  project: TestProject;
  db: Db;
  dbName: string;
  /** Runs the CLI in the project with MONGODB_URI set and `--db <this test's database>`. */
  run: (args: string[], env?: CliEnv) => Promise<CliResult>;
  /** Starts the CLI the same way as `run`, for tests that signal it or run it alongside others. */
  start: (args: string[], timeoutMs?: number, env?: CliEnv) => StartedCli;
  /** Runs the CLI in the project with only the given arguments and environment (no --db, no MONGODB_URI). */
  bare: (args: string[], env?: CliEnv) => Promise<CliResult>;
}

type CliProjectTest = (ctx: CliProjectContext) => Promise<void>;

/** A fresh project folder and database for `fn`; both removed afterwards whatever happened. */
export function withCliProject(label: string, fn: CliProjectTest): Promise<void>;
export function withCliProject(label: string, options: CliProjectOptions, fn: CliProjectTest): Promise<void>;
export function withCliProject(label: string, optionsOrFn: CliProjectOptions | CliProjectTest, maybeFn?: CliProjectTest): Promise<void> {
  const options: CliProjectOptions = typeof optionsOrFn === 'function' ? {} : optionsOrFn;
  const fn = typeof optionsOrFn === 'function' ? optionsOrFn : maybeFn;
  if (fn === undefined) throw new TypeError('withCliProject: no test function');
  const { config, env: extraEnv } = options;
  return withTestDb(label, async ({ db, dbName }) => {
    const project = await createProject(config === undefined ? {} : { config });
    const cwd = project.dir;
    const dbEnv = (env: CliEnv = {}): CliEnv => ({ MONGODB_URI: testUri(), ...extraEnv, ...env });
    try {
      await fn({
        project,
        db,
        dbName,
        run: (args, env) => runCli(['--db', dbName, ...args], { cwd, env: dbEnv(env) }),
        start: (args, timeoutMs, env) => startCli(['--db', dbName, ...args], { cwd, env: dbEnv(env), timeoutMs }),
        bare: (args, env = {}) => runCli(args, { cwd, env: { ...extraEnv, ...env } }),
      });
    } finally {
      await project.remove();
    }
  });
}

/** A changelog document, with the fields the CLI tests look at. */
export interface ChangelogDoc {
  _id: string;
  state: string;
  checksum: string;
  runId: string;
  pid: number;
  description?: string | null;
  error?: { message: string; interrupted?: boolean; direction?: string };
  claim?: { direction: string; runId: string; pid: number };
}

/** A history document; the fields a command fills in are left unknown for tests to check. */
export interface HistoryDoc {
  migrationId: string;
  event: string;
  at: unknown;
  runId: unknown;
  host: unknown;
  pid: unknown;
}

/** The changelog, in id order. */
export async function changelog(db: Db): Promise<ChangelogDoc[]> {
  return db.collection<ChangelogDoc>('mongrate_changelog').find({}).sort({ _id: 1 }).toArray();
}

/** The changelog record of one migration, or null. */
export async function changelogRecord(db: Db, id: string): Promise<ChangelogDoc | null> {
  return db.collection<ChangelogDoc>('mongrate_changelog').findOne({ _id: id });
}

/** `{ id: state }` of the changelog. */
export async function states(db: Db): Promise<Record<string, string>> {
  return Object.fromEntries((await changelog(db)).map((r) => [r._id, r.state]));
}

/** mongrate_history (of one migration when given), in the order it was written. */
export async function history(db: Db, migrationId?: string): Promise<HistoryDoc[]> {
  const filter = migrationId === undefined ? {} : { migrationId };
  return db.collection<HistoryDoc>('mongrate_history').find(filter).sort({ at: 1, _id: 1 }).toArray();
}

/** The marks markerMigration (and failingMigration) inserted, sorted. */
export async function marks(db: Db): Promise<string[]> {
  const docs = await db.collection<{ mark: string }>('marks').find({}).toArray();
  return docs.map((d) => d.mark).sort();
}
