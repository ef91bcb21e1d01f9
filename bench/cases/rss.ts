// Group 4: does `reshape` stream? Peak RSS of a child process that reshapes (reads all, writes
// nothing) a collection of n documents, against one of 10 x n. Each measurement is its own process,
// so the peak belongs to that run alone.
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Db } from 'mongodb';
import type { RssChildReport } from '../rss-child.ts';
import { createUsers, type FlatUser } from '../data.ts';
import { caseResult, type CaseResult } from '../report.ts';

const CHILD = path.join(import.meta.dirname, '..', 'rss-child.ts');
const REPO = path.join(import.meta.dirname, '..', '..');
const CHILD_TIMEOUT_MS = 6 * 60 * 60 * 1000;
/** Reshapes of the small collection each child runs before the measured one (see rss-child.ts). */
const WARM_PASSES = 3;

export interface RssEnv {
  db: Db;
  uri: string;
  /** The smaller size; the other is 10 x rssN. */
  rssN: number;
  /** The bench's N, for the note when rssN is smaller. */
  n: number;
  /** Why rssN differs from N, when it does. */
  reason: string;
  runs: number;
  progress: (line: string) => void;
}

function runChild(uri: string, database: string, collection: string, warm: string): Promise<RssChildReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, database, collection, warm, String(WARM_PASSES)], {
      cwd: REPO,
      env: { ...process.env, BENCH_URI: uri },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || line === '') {
        reject(new Error(`rss-child ${collection} exited ${code ?? signal ?? 'oddly'}: ${stderr.trim() || stdout.trim()}`));
        return;
      }
      resolve(JSON.parse(line) as RssChildReport);
    });
  });
}

export async function rssGroup(env: RssEnv): Promise<Record<string, CaseResult>> {
  const sizes = [
    { key: 'rss_n', collection: 'rss_n', documents: env.rssN },
    { key: 'rss_10n', collection: 'rss_10n', documents: env.rssN * 10 },
  ];
  for (const size of sizes) await createUsers(env.db.collection<FlatUser>(size.collection), size.documents);
  const values = new Map<string, number[]>(sizes.map((s) => [s.key, []]));
  const seconds = new Map<string, number[]>(sizes.map((s) => [s.key, []]));
  for (let run = 1; run <= env.runs; run++) {
    for (const size of sizes) {
      const report = await runChild(env.uri, env.db.databaseName, size.collection, 'rss_n');
      if (report.matched !== size.documents || report.modified !== 0) {
        throw new Error(`rss-child ${size.collection}: matched ${report.matched} (expected ${size.documents}), modified ${report.modified} (expected 0)`);
      }
      const mb = report.maxRssKB / 1024;
      values.get(size.key)?.push(mb);
      seconds.get(size.key)?.push(report.ms / 1000);
      env.progress(`[rss ${run}/${env.runs}] reshape over ${size.documents} docs: peak RSS ${mb.toFixed(1)} MB, ${(report.ms / 1000).toFixed(2)} s`);
    }
  }
  for (const size of sizes) await env.db.collection(size.collection).drop().catch(() => false);
  return Object.fromEntries(
    sizes.map((size) => {
      const mbs = values.get(size.key) ?? [];
      const secs = seconds.get(size.key) ?? [];
      const slowest = Math.max(...secs);
      const note = `reshape (transform -> null) read ${size.documents} docs in ${(secs.reduce((a, b) => a + b, 0) / secs.length).toFixed(1)} s on average (max ${slowest.toFixed(1)} s)`;
      const result = caseResult('rss', `peak RSS, reshape over ${size.documents} docs`, 'MB', mbs, {
        sample: { documents: size.documents, of: size.documents, reason: env.reason },
        peakRssMB: Math.max(...mbs),
        note: `${note}, after ${WARM_PASSES} warm-up passes over the ${env.rssN} documents`,
      });
      return [size.key, result];
    }),
  );
}
