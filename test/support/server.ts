// Finds or starts a MongoDB-compatible server for the test suite:
// MONGODB_URI if given, else a throwaway `mongod` replica set, else FerretDB (SQLite backend).
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { constants as fsConstants, closeSync, openSync, rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { MongoClient } from 'mongodb';

export type ServerFlavour = 'external' | 'mongod' | 'ferretdb';

export interface TestServer {
  uri: string;
  flavour: ServerFlavour;
  description: string;
  stop(): Promise<void>;
  /** Kills the server at once (SIGKILL: no graceful close of client connections), where it is ours. */
  kill?(): Promise<void>;
}

type Log = (line: string) => void;

const FERRETDB_VERSION = 'v1.24.2';
const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;
const execFileAsync = promisify(execFile);
const defaultLog: Log = (line) => process.stderr.write(`${line}\n`);

export async function startServer(options?: { log?: Log }): Promise<TestServer> {
  const log = options?.log ?? defaultLog;
  const external = process.env.MONGODB_URI;
  if (external !== undefined && external !== '') {
    return { uri: external, flavour: 'external', description: 'MONGODB_URI', stop: () => Promise.resolve() };
  }
  const mongod = await findOnPath('mongod');
  if (mongod !== undefined) return startMongod(mongod);
  return startFerretDb(await ensureFerretDbBinary(log));
}

/**
 * A server of this test's own, whatever MONGODB_URI says: for tests that stop the server under a
 * running command. A `mongod` on PATH, else FerretDB (built with Go); undefined when neither can be had.
 */
export async function startPrivateServer(options?: { log?: Log }): Promise<TestServer | undefined> {
  const mongod = await findOnPath('mongod');
  if (mongod !== undefined) return startMongod(mongod);
  try {
    return await startFerretDb(await ensureFerretDbBinary(options?.log ?? defaultLog));
  } catch {
    return undefined;
  }
}

/** Hides the password of a connection string so it can be printed. */
export function redactUri(uri: string): string {
  return uri.replace(/^([a-z+]+:\/\/[^:@/]*):[^@/]*@/i, '$1:***@');
}

async function startMongod(binary: string): Promise<TestServer> {
  const tmpDir = await fs.mkdtemp(path.join(os.tmpdir(), 'mongrate-mongod-'));
  const dbPath = path.join(tmpDir, 'db');
  await fs.mkdir(dbPath);
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const proc = launch(binary, tmpDir, 'mongod.log', [
    '--port', String(port), '--bind_ip', '127.0.0.1', '--replSet', 'rs0', '--quiet', '--dbpath', dbPath,
  ]);
  try {
    // Before the replica set exists only a direct connection can reach the node.
    const direct = `mongodb://${host}/?directConnection=true`;
    await waitUntil(proc, 'mongod did not accept connections', () => ping(direct));
    const version = await withClient(direct, async (client) => {
      const admin = client.db('admin');
      // A single-member replica set is the smallest setup that supports transactions.
      await admin.command({ replSetInitiate: { _id: 'rs0', members: [{ _id: 0, host }] } });
      const info = await admin.command({ buildInfo: 1 });
      return typeof info.version === 'string' ? info.version : 'unknown version';
    });
    await waitUntil(proc, 'mongod did not become primary', () =>
      withClient(direct, async (client) => (await client.db('admin').command({ hello: 1 })).isWritablePrimary === true),
    );
    return { uri: `mongodb://${host}/?replicaSet=rs0`, flavour: 'mongod', description: `mongod ${version} (replica set rs0)`, stop: proc.stop, kill: proc.kill };
  } catch (error) {
    await proc.stop();
    throw error;
  }
}

async function startFerretDb(binary: string): Promise<TestServer> {
  const tmpDir = await fs.mkdtemp(path.join(os.tmpdir(), 'mongrate-ferretdb-'));
  const port = await freePort();
  const proc = launch(binary, tmpDir, 'ferretdb.log', [
    '--handler=sqlite',
    `--sqlite-url=file:${tmpDir}/`, // trailing slash: FerretDB wants a directory, one file per database
    `--state-dir=${tmpDir}`,
    `--listen-addr=127.0.0.1:${port}`,
    '--debug-addr=-', // no debug HTTP listener: it would need a second free port
    '--telemetry=disable',
    '--log-level=warn',
  ]);
  const uri = `mongodb://127.0.0.1:${port}/`;
  try {
    await waitUntil(proc, 'FerretDB did not accept connections', () => ping(uri));
  } catch (error) {
    await proc.stop();
    throw error;
  }
  return { uri, flavour: 'ferretdb', description: `FerretDB ${FERRETDB_VERSION.slice(1)} (sqlite)`, stop: proc.stop, kill: proc.kill };
}

/**
 * Returns the path of a cached FerretDB binary, building it with Go on first use.
 * A plain `go install` binary panics at start because the module lacks the generated
 * build/version/version.txt, so we build from a writable copy of the module with that file added.
 */
export async function ensureFerretDbBinary(log: Log = defaultLog): Promise<string> {
  const cacheRoot = process.env.MONGRATE_CACHE_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'mongrate');
  const binDir = path.join(cacheRoot, `ferretdb-${FERRETDB_VERSION}`);
  const binary = path.join(binDir, 'ferretdb');
  if (await isExecutable(binary)) return binary;

  const go = await findOnPath('go');
  if (go === undefined) {
    throw new Error('no test server: set MONGODB_URI to a MongoDB you can use, put `mongod` on PATH, or install Go >= 1.22 so FerretDB 1.24.2 can be built');
  }
  log(`building FerretDB ${FERRETDB_VERSION.slice(1)} into ${binary} (first run only, a few minutes on 2 cores)`);
  const { stdout } = await execFileAsync(go, ['mod', 'download', '-json', `github.com/FerretDB/FerretDB@${FERRETDB_VERSION}`], { cwd: os.tmpdir() });
  const moduleDir = (JSON.parse(stdout) as { Dir?: unknown }).Dir;
  if (typeof moduleDir !== 'string') throw new Error(`go mod download gave no module directory: ${stdout}`);

  const workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'mongrate-ferretdb-src-'));
  try {
    await fs.cp(moduleDir, workDir, { recursive: true });
    await makeWritable(workDir); // the module cache is read-only, and cp keeps the modes
    await fs.writeFile(path.join(workDir, 'build', 'version', 'version.txt'), `${FERRETDB_VERSION}\n`);
    await fs.mkdir(binDir, { recursive: true });
    // Build next to the final path and rename: concurrent runs never see half a binary.
    const partial = path.join(binDir, `ferretdb.tmp-${process.pid}`);
    await execFileAsync(go, ['build', '-o', partial, './cmd/ferretdb'], { cwd: workDir, maxBuffer: 16 * 1024 * 1024 });
    await fs.rename(partial, binary);
  } finally {
    await fs.rm(workDir, { recursive: true, force: true });
  }
  return binary;
}

interface Launched {
  /** Why the process is gone, or undefined while it runs. */
  exitReason: () => string | undefined;
  logTail: () => Promise<string>;
  stop: () => Promise<void>;
  kill: () => Promise<void>;
}

/** Spawns a server with its output in tmpDir/logName; stop() kills it and removes tmpDir. */
function launch(binary: string, tmpDir: string, logName: string, args: string[]): Launched {
  const logPath = path.join(tmpDir, logName);
  const logFd = openSync(logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(binary, args, { stdio: ['ignore', logFd, logFd] });
  } finally {
    closeSync(logFd); // the child holds its own copy
  }
  let exitReason: string | undefined;
  child.on('error', (error) => { exitReason = `could not run ${binary}: ${error.message}`; });
  child.on('exit', (code, signal) => { exitReason = `${path.basename(binary)} exited (${signal ?? `code ${String(code)}`})`; });

  // A test run killed mid-way must not leave a server behind; only sync work is possible here.
  const onParentExit = (): void => {
    child.kill('SIGKILL');
    rmSync(tmpDir, { recursive: true, force: true });
  };
  process.on('exit', onParentExit);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      process.off('exit', onParentExit);
      await terminate(child);
      await fs.rm(tmpDir, { recursive: true, force: true });
    })();
    return stopping;
  };
  const logTail = async (): Promise<string> => {
    const text = await fs.readFile(logPath, 'utf8').catch(() => '');
    return text.trimEnd().split('\n').slice(-20).join('\n');
  };
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
    await stop();
  };
  return { exitReason: () => exitReason, logTail, stop, kill };
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(killer);
}

/** Polls check() until it returns true; fails early if the process dies, with its log tail. */
async function waitUntil(proc: Launched, what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const reason = proc.exitReason();
    if (reason !== undefined) throw new Error(`${what}: ${reason}\n${await proc.logTail()}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} within ${READY_TIMEOUT_MS / 1000} s\n${await proc.logTail()}`);
    await sleep(200);
  }
}

async function withClient<T>(uri: string, fn: (client: MongoClient) => Promise<T>): Promise<T> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 500, connectTimeoutMS: 500 });
  try {
    await client.connect();
    return await fn(client);
  } finally {
    await client.close();
  }
}

function ping(uri: string): Promise<boolean> {
  return withClient(uri, async (client) => (await client.db('admin').command({ ping: 1 })).ok === 1);
}

/** Asks the OS for an unused loopback port; the tiny race until the server binds is acceptable. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('could not get a free port');
  return address.port;
}

async function findOnPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await fs.access(file, fsConstants.X_OK);
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
}

async function makeWritable(dir: string): Promise<void> {
  await fs.chmod(dir, 0o755);
  for (const entry of await fs.readdir(dir, { recursive: true })) {
    const file = path.join(dir, entry);
    const stat = await fs.lstat(file);
    if (!stat.isSymbolicLink()) await fs.chmod(file, stat.mode | 0o200);
  }
}
