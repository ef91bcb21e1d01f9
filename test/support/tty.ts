// The built CLI on a pseudo-terminal (util-linux `script`), for what it does only on a terminal:
// ask a y/N question. Tests that need it skip, saying so, where `script` is not installed.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { BIN } from './cli.ts';
import { testUri } from './database.ts';

export const HAVE_SCRIPT = ['/usr/bin/script', '/bin/script'].some((p) => existsSync(p));

/** Runs the CLI on a pseudo-terminal and types `answer` at its y/N prompt (if it asks). */
export async function runOnTty(args: string[], cwd: string, answer: string, extraEnv: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, BIN, ...args].map(quote).join(' ');
  const env: NodeJS.ProcessEnv = { ...process.env, MONGODB_URI: testUri(), NO_COLOR: '1', ...extraEnv };
  for (const key of ['MONGODB_DATABASE', 'CI', 'FORCE_COLOR', 'MONGRATE_TEST_URI']) delete env[key];
  const child = spawn('script', ['-qec', command, '/dev/null'], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  let answered = false;
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
    if (!answered && output.includes('[y/N]')) {
      answered = true;
      child.stdin.write(`${answer}\n`);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (exitCode) => resolve(exitCode));
  });
  clearTimeout(timer);
  return { code, output };
}
