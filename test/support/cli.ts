// The CLI tests' fixtures, in one module: the built CLI run exactly as a user runs it
// (`node bin/mongrate.js ...` in a project folder, and other Node scripts the same way: the
// benchmark and its bare driver script), or in this process through main()'s injectable I/O where a
// behaviour needs no process of its own; one throwaway project folder and database per test, with
// readers for what the CLI recorded; and the checks the CLI tests share (exit codes with the whole
// output on failure, the one-line error, status rows, waiting until a spawned CLI got somewhere).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { PassThrough, Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Db } from 'mongodb';
import { main } from '../../src/cli/main.ts';
import { testUri, withTestDb } from './database.ts';
import { createProject, type TestProject } from './project.ts';

export const BIN = fileURLToPath(new URL('../../bin/mongrate.js', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd: string;
  /** Added to a clean environment (no MONGODB_URI / MONGODB_DATABASE / CI from the parent unless given). */
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
}

function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of ['MONGODB_URI', 'MONGODB_DATABASE', 'CI', 'FORCE_COLOR', 'NO_COLOR', 'MONGRATE_TEST_URI']) delete env[key];
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/** Starts `node <args>` (this Node) in a clean environment and collects its output. */
export function startNode(args: string[], options: CliOptions): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, args, { cwd: options.cwd, env: cleanEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, done };
}

export function runNode(args: string[], options: CliOptions): Promise<CliResult> {
  return startNode(args, options).done;
}

/** Starts the CLI and returns the child, for tests that signal it mid-run. */
export function startCli(args: string[], options: CliOptions): { child: ChildProcess; done: Promise<CliResult> } {
  return startNode([BIN, ...args], options);
}

export function runCli(args: string[], options: CliOptions): Promise<CliResult> {
  return startCli(args, options).done;
}

/**
 * Runs the CLI in this process: main() with the same arguments, a clean environment and captured
 * output. No build, no child process: for behaviours that end before any process-level matter
 * (signals, the terminal, the exit itself) is involved, such as usage errors and --help.
 */
export async function runCliInProcess(args: string[], options: CliOptions): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const stdin = Readable.from([]);
  const code = await main([process.execPath, BIN, ...args], { stdout, stderr, stdin, env: cleanEnv(options.env), cwd: options.cwd });
  // the streams' last chunks are delivered before the result is read
  await new Promise((resolve) => setImmediate(resolve));
  return { code, signal: null, stdout: out, stderr: err };
}

/** Parses the single JSON document a `--json` run prints on stdout. */
export function parseJson(result: CliResult): Record<string, unknown> {
  const lines = result.stdout.trim().split('\n');
  if (lines.length !== 1) throw new Error(`expected one JSON line on stdout, got ${lines.length}:\n${result.stdout}\nstderr:\n${result.stderr}`);
  return JSON.parse(lines[0] ?? '') as Record<string, unknown>;
}

// one project and database per test

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

// checks

export function show(result: CliResult): string {
  return `exit ${String(result.code)} (signal ${String(result.signal)})\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
}

export function exits(result: CliResult, code: number, what: string): void {
  assert.equal(result.code, code, `${what}: expected exit ${code}, got ${show(result)}`);
}

const STACK_LINE = /^\s+at .+[:(]/m;

/** Stderr is exactly one `error: ...` line matching every pattern, with no stack trace. */
export function oneLineError(result: CliResult, ...patterns: RegExp[]): void {
  const lines = result.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `expected a one-line error on stderr, got:\n${result.stderr}`);
  assert.match(lines[0] ?? '', /^error: /);
  for (const pattern of patterns) assert.match(lines[0] ?? '', pattern);
  assert.doesNotMatch(result.stderr, STACK_LINE, 'no stack trace');
}

/** The cells of every row of a status table (the header row first). */
function tableRows(stdout: string): string[][] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('│'))
    .map((line) => line.split('│').slice(1, -1).map((cell) => cell.trim()));
}

/** The State column of `id` in a status table. */
export function tableState(stdout: string, id: string): string | undefined {
  return tableRows(stdout).find((cells) => cells[0] === id)?.[1];
}

/** `[id, state]` of every migration row of a status table. */
export function tableStates(stdout: string): [string, string][] {
  const rows = tableRows(stdout);
  assert.equal(rows[0]?.[0], 'Migration', `no status table in:\n${stdout}`);
  return rows.slice(1).map((cells): [string, string] => [cells[0] ?? '', cells[1] ?? '']);
}

/**
 * How long the waits below give a spawned CLI to get somewhere. A bound on a hang, not on speed: a
 * run that ends first fails the wait at once; DocumentDB builds an index (the changelog's first
 * run) only once every transaction open on the server has ended, other tests' included.
 */
const WAIT_LIMIT_MS = 90_000;

/** Polls until `check` holds; fails if the CLI run `done` exits first or `timeoutMs` pass. */
export async function waitFor(what: string, check: () => Promise<boolean>, done: Promise<CliResult>, timeoutMs = WAIT_LIMIT_MS): Promise<void> {
  let exited: CliResult | undefined;
  void done.then((result) => (exited = result));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (exited !== undefined) assert.fail(`the CLI exited before ${what}: ${show(exited)}`);
    if (Date.now() > deadline) assert.fail(`not within ${timeoutMs / 1000} s: ${what}`);
    await sleep(50);
  }
}

/** Polls the changelog until `id`'s record satisfies `reached`. */
export function waitForRecord(
  db: Db,
  id: string,
  done: Promise<CliResult>,
  reached: (record: ChangelogDoc | null) => boolean,
  timeoutMs = WAIT_LIMIT_MS,
): Promise<void> {
  return waitFor(`${id} got there`, async () => reached(await changelogRecord(db, id)), done, timeoutMs);
}

/** Polls the changelog until `id` is recorded as running. */
export function waitUntilRunning(db: Db, id: string, done: Promise<CliResult>, timeoutMs = WAIT_LIMIT_MS): Promise<void> {
  return waitFor(`${id} was recorded as running`, async () => (await changelogRecord(db, id))?.state === 'running', done, timeoutMs);
}

/**
 * Resolves with the output so far once `stream` of a running CLI has printed something matching
 * `pattern`; fails if the CLI exits first or `timeoutMs` pass.
 */
export function waitForOutput(started: StartedCli, stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs = WAIT_LIMIT_MS): Promise<string> {
  const source = started.child[stream];
  if (source === null) return Promise.reject(new Error(`the CLI has no ${stream} pipe`));
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no ${String(pattern)} on ${stream} within ${timeoutMs / 1000} s:\n${seen}`)), timeoutMs);
    const onData = (chunk: Buffer | string): void => {
      seen += chunk.toString();
      if (!pattern.test(seen)) return;
      clearTimeout(timer);
      source.off('data', onData);
      resolve(seen);
    };
    source.on('data', onData);
    void started.done.then((result) => {
      clearTimeout(timer);
      if (!pattern.test(seen)) reject(new Error(`the CLI exited before ${String(pattern)} on ${stream}: ${show(result)}`));
    });
  });
}

/** Index of the first line matching `pattern` in `text` (asserting there is one). */
export function lineIndex(text: string, pattern: RegExp): number {
  const index = text.split('\n').findIndex((line) => pattern.test(line));
  assert.notEqual(index, -1, `no line matching ${String(pattern)} in:\n${text}`);
  return index;
}

/** The body rows of the status table (header excluded), cells trimmed. */
export function statusTableRows(stdout: string): string[][] {
  const rows = tableRows(stdout);
  assert.deepEqual(rows[0]?.slice(0, 5), ['Migration', 'State', 'Applied at', 'Duration', 'Description'], `no status table in:\n${stdout}`);
  return rows.slice(1);
}

/** What `status --json` prints. */
export interface StatusJson {
  command: string;
  ok: boolean;
  database: string;
  migrations: { id: string; state: string; description?: string | null }[];
  problems: number;
  error?: { code: string; message: string };
}

/** What `up --json` and `down --json` print. */
export interface RunJson {
  command: string;
  ok: boolean;
  direction: string;
  dryRun: boolean;
  steps: { id: string; direction: string; status: string; error?: string }[];
  error?: { code: string; message: string; id?: string };
}
