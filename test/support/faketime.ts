// A child process whose wall clock is really minutes off: libfaketime (Debian's `faketime`
// package) preloaded into the spawned node. Only the wall clock moves (FAKETIME_DONT_FAKE_MONOTONIC):
// Date.now() is shifted by a fixed offset, performance.now() and timers are not, as on a machine
// whose clock is simply wrong. The multi-threaded build is used because node runs threads.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { arch } from 'node:os';
import { promisify } from 'node:util';
import { runNode } from './cli.ts';

const execFileAsync = promisify(execFile);

const MULTIARCH: Record<string, string> = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' };

function candidates(): string[] {
  const multiarch = MULTIARCH[arch()];
  const dirs = [
    ...(multiarch === undefined ? [] : [`/usr/lib/${multiarch}/faketime`]),
    '/usr/lib/faketime',
    '/usr/local/lib/faketime',
  ];
  return dirs.flatMap((dir) => [`${dir}/libfaketimeMT.so.1`, `${dir}/libfaketime.so.1`]);
}

export function findLibfaketime(): string | undefined {
  return candidates().find((path) => existsSync(path));
}

/**
 * The libfaketime library, installed with apt-get when it is missing and we may (root, Debian);
 * `missing` says why there is none. CI installs it in .ci/run, so this is for a developer's machine.
 */
export async function ensureLibfaketime(): Promise<{ library: string } | { missing: string }> {
  const found = findLibfaketime();
  if (found !== undefined) return { library: found };
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    return { missing: 'libfaketime is not installed (Debian/Ubuntu: apt-get install -y faketime)' };
  }
  const apt = async (...args: string[]): Promise<void> => {
    await execFileAsync('apt-get', args, { timeout: 300_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  };
  try {
    await apt('install', '-y', 'faketime').catch(async () => {
      await apt('update');
      await apt('install', '-y', 'faketime');
    });
  } catch (error) {
    return { missing: `libfaketime is not installed and apt-get install -y faketime failed: ${String(error)}` };
  }
  const installed = findLibfaketime();
  return installed === undefined ? { missing: `faketime was installed, but no library found in ${candidates().join(', ')}` } : { library: installed };
}

/** Environment for a child whose wall clock is `offset` off, e.g. '+5m' or '-5m'. */
export function skewedClockEnv(library: string, offset: string): Record<string, string> {
  return { LD_PRELOAD: library, FAKETIME: offset, FAKETIME_DONT_FAKE_MONOTONIC: '1' };
}

/**
 * Checks that a node spawned with `env` really sees Date.now() shifted by `expectedMs`, and
 * performance.now() not: a preload that silently does nothing would make a skew test meaningless.
 */
export async function assertSkewedClock(env: Record<string, string>, expectedMs: number): Promise<void> {
  const script = `const t0 = performance.now(); const wall = Date.now(); setTimeout(() => process.stdout.write(JSON.stringify({ wall, monotonic: performance.now() - t0 })), 200);`;
  const before = Date.now();
  const result = await runNode(['-e', script], { cwd: process.cwd(), env });
  const after = Date.now();
  if (result.code !== 0) throw new Error(`node with ${JSON.stringify(env)} failed: ${result.stderr}`);
  const seen = JSON.parse(result.stdout) as { wall: number; monotonic: number };
  const offset = seen.wall - before;
  if (offset < expectedMs - 2_000 || offset > expectedMs + (after - before) + 2_000) {
    throw new Error(`node with ${JSON.stringify(env)} sees Date.now() off by ${offset} ms, expected about ${expectedMs} ms`);
  }
  if (seen.monotonic < 150 || seen.monotonic > 5_000) {
    throw new Error(`node with ${JSON.stringify(env)} measured a 200 ms timer as ${seen.monotonic} ms on performance.now()`);
  }
}
