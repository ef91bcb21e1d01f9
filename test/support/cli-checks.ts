// Checks the CLI tests share: exit codes with the whole output on failure, the one-line error,
// the rows of a status table, and waiting until a spawned CLI has got somewhere.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from 'mongodb';
import type { CliResult } from './cli.ts';
import { changelogRecord, type ChangelogDoc, type StartedCli } from './cli-project.ts';

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

/** Polls until `check` holds; fails if the CLI run `done` exits first or `timeoutMs` pass. */
export async function waitFor(what: string, check: () => Promise<boolean>, done: Promise<CliResult>, timeoutMs = 20_000): Promise<void> {
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
  timeoutMs = 20_000,
): Promise<void> {
  return waitFor(`${id} got there`, async () => reached(await changelogRecord(db, id)), done, timeoutMs);
}

/** Polls the changelog until `id` is recorded as running. */
export function waitUntilRunning(db: Db, id: string, done: Promise<CliResult>, timeoutMs = 20_000): Promise<void> {
  return waitFor(`${id} was recorded as running`, async () => (await changelogRecord(db, id))?.state === 'running', done, timeoutMs);
}

/**
 * Resolves with the output so far once `stream` of a running CLI has printed something matching
 * `pattern`; fails if the CLI exits first or `timeoutMs` pass.
 */
export function waitForOutput(started: StartedCli, stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs = 20_000): Promise<string> {
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
