// Checks the CLI tests share: exit codes with the whole output on failure, the state column of a
// status table, and waiting until a spawned CLI has reached a given changelog state.
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

/** The State column of `id` in a status table. */
export function tableState(stdout: string, id: string): string | undefined {
  const row = stdout
    .split('\n')
    .filter((line) => line.startsWith('│'))
    .map((line) => line.split('│').slice(1, -1).map((cell) => cell.trim()))
    .find((cells) => cells[0] === id);
  return row?.[1];
}

/** Polls the changelog until `id`'s record satisfies `reached`; fails if the CLI exits first or `timeoutMs` pass. */
export async function waitForRecord(
  db: Db,
  id: string,
  done: Promise<CliResult>,
  reached: (record: ChangelogDoc | null) => boolean,
  timeoutMs = 20_000,
): Promise<void> {
  let exited: CliResult | undefined;
  void done.then((result) => (exited = result));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (reached(await changelogRecord(db, id))) return;
    if (exited !== undefined) assert.fail(`the CLI exited before ${id} got there: ${show(exited)}`);
    if (Date.now() > deadline) assert.fail(`${id} did not get there within ${timeoutMs / 1000} s`);
    await sleep(50);
  }
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
