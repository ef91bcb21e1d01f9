// Runs a fresh node process the way a terminal or a CI step does, with bench/cli-probe.js preloaded
// to report its own CPU time and, on a counting run, the commands it sent.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { runNode } from '../../test/support/cli.ts';

const PROBE = path.join(import.meta.dirname, '..', 'cli-probe.js');
const TIMEOUT_MS = 30 * 60 * 1000;

export interface SentCommand {
  name: string;
  /** The command's target collection, '' for database and server commands. */
  collection: string;
  /** BSON bytes of the command as sent. */
  bytes: number;
  /** From sending it to its reply (the driver's duration): the server's time and the round trip. */
  ms: number;
}

export interface NodeRun {
  /** Wall time from spawn to exit. */
  ms: number;
  /** The process's own CPU time (user + system), read at its exit. */
  cpuMs: number;
  stdout: string;
  /** Every command sent, on a counting run; else empty. */
  commands: SentCommand[];
  /** BSON bytes of every reply, on a counting run. */
  bytesReceived: number;
}

/** `node --import bench/cli-probe.js <args>` in a clean environment; fails on a non-zero exit. */
export async function timedNode(args: string[], cwd: string, env: Record<string, string>, options: { count?: boolean } = {}): Promise<NodeRun> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mongrate-bench-probe-'));
  const out = path.join(dir, 'probe.json');
  try {
    const started = performance.now();
    const { code, stdout, stderr } = await runNode(['--import', PROBE, ...args], {
      cwd,
      env: { ...env, BENCH_PROBE_OUT: out, ...(options.count === true ? { BENCH_COUNT_COMMANDS: '1' } : {}) },
      timeoutMs: TIMEOUT_MS,
    });
    const ms = performance.now() - started;
    if (code !== 0) throw new Error(`node ${args.map((a) => path.basename(a)).join(' ')} exited ${String(code)}:\n${stderr.trim() || stdout.trim()}`);
    const probe = JSON.parse(await readFile(out, 'utf8')) as { cpuMs: number; commands: SentCommand[]; bytesReceived: number };
    return { ms, cpuMs: probe.cpuMs, stdout, commands: probe.commands, bytesReceived: probe.bytesReceived };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
