// The built CLI under a real terminal (a pty from util-linux `script`), where spinners are on (a
// TTY, CI unset): a pty that reports 0 columns, or one narrowed to 0 mid-run, must neither hang nor
// flood the terminal, and SIGTERM must stop the run the documented way (exit 130, recorded failed).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Db } from 'mongodb';
import { BIN, changelogRecord, withCliProject } from '../support/cli.ts';
import { testUri } from '../support/database.ts';

/**
 * Reshapes 60 documents in six one-batch steps with a pause after each: about 3 s of spinner,
 * progress and log lines. After the first batch it creates the file $FIRST_BATCH and waits for
 * the test's file $GO_ON (or an interrupt): the test acts while the run is surely under way,
 * whatever the server's speed. An interrupt stops it at the next batch (the helpers check the
 * signal). Outside a transaction, so that batch is written whatever the server.
 */
const SLOW_RESHAPE = `import { existsSync, writeFileSync } from 'node:fs';
import { defineMigration } from 'mongrate';
export default defineMigration({
  description: 'slow reshape',
  transaction: false,
  async up({ helpers, log, signal }) {
    log('starting');
    for (let step = 0; step < 6; step++) {
      const filter = { n: { $gte: step * 10, $lt: step * 10 + 10 } };
      await helpers.reshape('items', { filter, batchSize: 10, transform: (doc) => ({ ...doc, seen: true }) });
      if (step === 0) {
        writeFileSync(process.env.FIRST_BATCH, '');
        while (!existsSync(process.env.GO_ON) && !signal.aborted) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    log('finished');
  },
  async down() {},
});
`;

/** The files SLOW_RESHAPE signals through, in the project folder. */
function signalFiles(dir: string): { FIRST_BATCH: string; GO_ON: string } {
  return { FIRST_BATCH: join(dir, 'first-batch'), GO_ON: join(dir, 'go-on') };
}
const ITEMS = 60;
const BATCH = 10;

/** With the bug, ora wrote ~17 MB of cursor movements in 8 s; a healthy run writes a few KB. */
const MAX_OUTPUT_BYTES = 64 * 1024;
const SPINNER_FRAME = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/;

interface PtyResult {
  code: number | null;
  /** What the terminal received, without escape sequences (spinner frames stay). */
  output: string;
  bytes: number;
  ms: number;
  killedByWatchdog: boolean;
}

interface PtyRun {
  /** The CLI's own pid (the shell execs it), read from the first line of output. */
  pid: Promise<number>;
  done: Promise<PtyResult>;
  /** SIGKILLs the CLI and `script`: a failed test leaves nothing running. */
  kill(): void;
}

const quote = (arg: string): string => `'${arg.replace(/'/g, `'\\''`)}'`;

/** A clean environment with spinners possible: no CI, a real TERM, the test server's URI. */
function terminalEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, MONGODB_URI: testUri(), TERM: 'xterm-256color', ...extra };
  for (const key of ['CI', 'MONGODB_DATABASE', 'FORCE_COLOR', 'NO_COLOR', 'MONGRATE_TEST_URI']) delete env[key];
  return env;
}

/**
 * Runs the CLI in a pty of `cols` columns. `script -e` returns the CLI's exit code (128 + n when
 * a signal killed it). A watchdog SIGKILLs the CLI itself after `timeoutMs`: a CLI stuck in a
 * synchronous loop ignores SIGTERM, and `script` would wait for it forever.
 */
function startInPty(args: string[], options: { cwd: string; cols: number; timeoutMs: number; env?: Record<string, string> }): PtyRun {
  const command = `stty cols ${options.cols} rows ${options.cols === 0 ? 0 : 24}; echo "pid=$$"; exec ${[process.execPath, BIN, ...args].map(quote).join(' ')}`;
  const started = Date.now();
  const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: options.cwd, env: terminalEnv(options.env ?? {}), stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  let bytes = 0;
  let resolvePid: (pid: number) => void = () => undefined;
  let rejectPid: (error: Error) => void = () => undefined;
  const pid = new Promise<number>((resolve, reject) => {
    resolvePid = resolve;
    rejectPid = reject;
  });
  pid.catch(() => undefined);
  let cliPid: number | undefined;
  const collect = (chunk: Buffer): void => {
    bytes += chunk.length;
    // keep the start only: a flood must not exhaust the test's memory
    if (bytes < 4 * MAX_OUTPUT_BYTES) chunks.push(chunk);
    if (cliPid === undefined) {
      const match = /pid=(\d+)/.exec(Buffer.concat(chunks).toString('utf8'));
      if (match?.[1] !== undefined) resolvePid((cliPid = Number(match[1])));
    }
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  let killedByWatchdog = false;
  const kill = (): void => {
    if (cliPid !== undefined) {
      try {
        process.kill(cliPid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    child.kill('SIGKILL');
  };
  const watchdog = setTimeout(() => {
    killedByWatchdog = true;
    kill();
  }, options.timeoutMs);
  const done = new Promise<PtyResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(watchdog);
      rejectPid(new Error(`script exited without printing the CLI's pid`));
      resolve({ code, output: stripVTControlCharacters(Buffer.concat(chunks).toString('utf8')), bytes, ms: Date.now() - started, killedByWatchdog });
    });
  });
  return { pid, done, kill };
}

/** Runs `interact` with the CLI's pid while it runs, then waits for its end; kills it if `interact` fails. */
async function whileRunning(run: PtyRun, interact: (pid: number) => Promise<void>): Promise<PtyResult> {
  try {
    await interact(await run.pid);
  } catch (error) {
    run.kill();
    await run.done;
    throw error;
  }
  return run.done;
}

async function seedItems(db: Db): Promise<void> {
  await db.collection<{ _id: number; n: number }>('items').insertMany(Array.from({ length: ITEMS }, (_, i) => ({ _id: i, n: i })));
}

const seen = (db: Db): Promise<number> => db.collection('items').countDocuments({ seen: true });

/** Polls until the reshape says it has written its first batch; fails if the CLI exits first or 20 s pass. */
async function waitForFirstBatch(file: string, done: Promise<PtyResult>): Promise<void> {
  let exited: PtyResult | undefined;
  void done.then((result) => (exited = result));
  const deadline = Date.now() + 20_000;
  while (!existsSync(file)) {
    if (exited !== undefined) assert.fail(`the CLI exited (${String(exited.code)}) before the first batch:\n${exited.output}`);
    if (Date.now() > deadline) assert.fail('the reshape wrote no batch within 20 s');
    await sleep(50);
  }
}

/** Signal files for a run that goes on without waiting for the test. */
async function goingOn(dir: string): Promise<Record<string, string>> {
  const files = signalFiles(dir);
  await writeFile(files.GO_ON, '');
  return files;
}

function assertHealthy(result: PtyResult, code: number, what: string): void {
  assert.equal(result.killedByWatchdog, false, `${what}: hung, killed after ${result.ms} ms having written ${result.bytes} bytes`);
  assert.equal(result.code, code, `${what}: exit ${String(result.code)} after ${result.ms} ms\n${result.output.slice(0, 4000)}`);
  assert.ok(result.bytes < MAX_OUTPUT_BYTES, `${what}: wrote ${result.bytes} bytes`);
}

void describe('a terminal without a usable width', { concurrency: 2 }, () => {
  void it('control: a pty of 80 columns shows a spinner, so these runs take the spinner path', async () => {
    await withCliProject('pty_80', async ({ project, db, dbName }) => {
      await seedItems(db);
      await project.write('001-slow.ts', SLOW_RESHAPE);
      const result = await startInPty(['--db', dbName, 'up'], { cwd: project.dir, cols: 80, timeoutMs: 40_000, env: await goingOn(project.dir) }).done;
      assertHealthy(result, 0, 'up at 80 columns');
      assert.match(result.output, SPINNER_FRAME, 'a spinner was drawn');
      assert.match(result.output, /applied\s+001-slow/);
      assert.equal(await seen(db), ITEMS);
    });
  });

  void it('0 columns: plain lines, finishes in seconds with small output, exit 0', async () => {
    await withCliProject('pty_0', async ({ project, db, dbName }) => {
      await seedItems(db);
      await project.write('001-slow.ts', SLOW_RESHAPE);
      const result = await startInPty(['--db', dbName, 'up'], { cwd: project.dir, cols: 0, timeoutMs: 40_000, env: await goingOn(project.dir) }).done;
      assertHealthy(result, 0, 'up at 0 columns');
      assert.doesNotMatch(result.output, SPINNER_FRAME, 'no spinner at 0 columns');
      assert.match(result.output, /001-slow: starting/);
      assert.match(result.output, /applied\s+001-slow/);
      // "in seconds" is the watchdog's verdict (assertHealthy: not killed as hung after 40 s), not
      // a stopwatch: the bug was a spinner spinning forever, and a loaded server takes its time
      assert.equal((await changelogRecord(db, '001-slow'))?.state, 'applied');
      assert.equal(await seen(db), ITEMS);
    });
  });

  for (const cols of [0, 80]) {
    void it(`${cols} columns and SIGTERM mid-run: stops after the current batch, recorded failed (interrupted), lock released, exit 130`, async () => {
      await withCliProject(`pty_${cols}_term`, async ({ project, db, dbName }) => {
        await seedItems(db);
        await project.write('001-slow.ts', SLOW_RESHAPE);
        const files = signalFiles(project.dir);
        const run = startInPty(['--db', dbName, 'up'], { cwd: project.dir, cols, timeoutMs: 40_000, env: files });
        const result = await whileRunning(run, async (pid) => {
          await waitForFirstBatch(files.FIRST_BATCH, run.done);
          process.kill(pid, 'SIGTERM');
        });
        // SIGTERM stopped the run, proven without a stopwatch: the migration waits for $GO_ON,
        // which is never written, so only the signal can end it before the watchdog does
        assertHealthy(result, 130, `up at ${cols} columns, SIGTERM`);
        assert.match(result.output, /SIGTERM: stopping at the next safe point/);
        const record = await changelogRecord(db, '001-slow');
        assert.equal(record?.state, 'failed');
        assert.equal(record.error?.interrupted, true, JSON.stringify(record.error));
        assert.equal(await db.collection('mongrate_lock').countDocuments(), 0, 'the lock is released');
        assert.equal(await seen(db), BATCH, 'stopped after the batch under way: the first');
      });
    });
  }

  void it('narrowed to 0 columns mid-run: the spinner stops, the run finishes, exit 0', async () => {
    await withCliProject('pty_resize', async ({ project, db, dbName }) => {
      await seedItems(db);
      await project.write('001-slow.ts', SLOW_RESHAPE);
      const files = signalFiles(project.dir);
      const run = startInPty(['--db', dbName, 'up'], { cwd: project.dir, cols: 80, timeoutMs: 40_000, env: files });
      const result = await whileRunning(run, async (pid) => {
        await waitForFirstBatch(files.FIRST_BATCH, run.done);
        // the pty the CLI writes to, narrowed from outside as a terminal emulator would, then told so
        const pty = await readlink(`/proc/${pid}/fd/2`);
        await new Promise<void>((resolve, reject) => {
          spawn('stty', ['-F', pty, 'cols', '0', 'rows', '0'], { stdio: 'ignore' }).on('error', reject).on('close', () => resolve());
        });
        process.kill(pid, 'SIGWINCH');
        await writeFile(files.GO_ON, '');
      });
      assertHealthy(result, 0, 'up narrowed to 0 columns');
      assert.match(result.output, SPINNER_FRAME, 'the spinner ran before the resize');
      assert.match(result.output, /applied\s+001-slow/);
      assert.equal(await seen(db), ITEMS);
    });
  });
});

/** One reshape of the 60 items in batches of 10, ~0.3 s each (a slow transform that changes nothing). */
const BATCHED_RESHAPE = `export async function up({ helpers }) {
  await helpers.reshape('items', { batchSize: 10, transform: async () => { await new Promise((r) => setTimeout(r, 30)); return null; } });
}
export async function down() {}
`;

void describe('the spinner on a terminal', () => {
  void it('carries the progress: done/total, docs/s and the same ETA as the plain lines', async () => {
    await withCliProject('pty_eta', async ({ project, db, dbName }) => {
      await seedItems(db);
      await project.write('001-batched.js', BATCHED_RESHAPE);
      const result = await startInPty(['--db', dbName, 'up'], { cwd: project.dir, cols: 120, timeoutMs: 40_000 }).done;
      assertHealthy(result, 0, 'up at 120 columns');
      assert.match(result.output, SPINNER_FRAME, 'a spinner was drawn');
      assert.match(result.output, /applying 001-batched — reshape items: \d+\/60 \(\d+%\), \d+ docs\/s, ETA \d+ s/, 'the ETA on the spinner');
      assert.match(result.output, /applied\s+001-batched/);
    });
  });
});
