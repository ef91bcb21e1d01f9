// `npm test`: start a test server, run the node:test files against it, always stop the server.
// Usage: node --import tsx test/support/run-tests.ts [test files...]
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { redactUri, startServer, type TestServer } from './server.ts';

const testRoot = path.resolve(import.meta.dirname, '..');

async function findTestFiles(): Promise<string[]> {
  const entries = await fs.readdir(testRoot, { recursive: true });
  return entries
    .filter((entry) => entry.endsWith('.test.ts') && !entry.split(path.sep).includes('node_modules'))
    .map((entry) => path.relative(process.cwd(), path.join(testRoot, entry)))
    .sort();
}

// What a signal handler has to clean up, filled in as the run progresses.
const running: { server?: TestServer; child?: ChildProcess } = {};

// Installed before the server starts so an interrupted start (e.g. the first FerretDB build) also cleans up.
const onSignal = (signal: NodeJS.Signals): void => {
  running.child?.kill(signal);
  void (running.server?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

const args = process.argv.slice(2);
const files = args.length > 0 ? args : await findTestFiles();
if (files.length === 0) {
  process.stderr.write(`no *.test.ts files under ${testRoot}\n`);
  process.exit(1);
}

let server: TestServer;
try {
  server = await startServer({ log: (line) => process.stderr.write(`${line}\n`) });
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
running.server = server;
process.stderr.write(`test server: ${server.description} at ${redactUri(server.uri)}\n`);

// Tests read MONGRATE_TEST_URI; the user's environment (even MONGODB_URI) is passed through untouched.
const env = { ...process.env, MONGRATE_TEST_URI: server.uri, MONGRATE_TEST_SERVER_FLAVOUR: server.flavour };
const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...files], {
  stdio: 'inherit',
  env,
});
running.child = child;
let exitCode = 1;
try {
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  // A child killed by a signal is reported like a shell would: 128 + signal number.
  exitCode = code ?? 128 + (signal === null ? 0 : os.constants.signals[signal]);
} finally {
  await server.stop();
}
process.exit(exitCode);
