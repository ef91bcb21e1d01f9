// What the run lock costs, and whether it holds under a race.
//
//   npm run build && node --import tsx bench/lock.ts [--repeat 20] [--runs 15] [--lock-wait <s>]
//
// Starts a throwaway server the way the tests do (MONGODB_URI, else mongod, else FerretDB) and stops
// it at the end. Builds nothing: part 2 spawns bin/mongrate.js, which needs `npm run build` done.
//   1. In process, with the programmatic API: median wall time of a no-op `migrator.up()` (10
//      migrations, all applied) against `migrator.status()` on the same project, and a Lease
//      acquire + release pair timed alone (median and p95 of each half; the server's clock is
//      measured once beforehand, as a migrator does).
//   2. The 8-process race, --repeat times: 8 `mongrate up` at once on a fresh database with 5
//      migrations that each bump a counter; per repetition whether every migration ran exactly
//      once, and the histogram of exit codes.
import { median, quantile } from './report.ts';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { MongoClient, type Db } from 'mongodb';
import { createMigrator, type Migrator } from '../src/index.ts';
import { Lease } from '../src/core/lease.ts';
import { MongoLockStore } from '../src/lock/mongo-lock-store.ts';
import { measureServerClock } from '../src/server/clock.ts';
import { newRunIdentity } from '../src/util/identity.ts';
import { startCli } from '../test/support/cli.ts';
import { createProject, markerMigration, type TestProject } from '../test/support/project.ts';
import { redactUri, startServer, type TestServer } from '../test/support/server.ts';

const RACERS = 8;
const RACE_IDS = ['001-one', '002-two', '003-three', '004-four', '005-five'];
const LOCK_SAMPLES = 50;

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  if (index === -1) return fallback;
  const value = process.argv[index + 1] ?? '';
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    process.stderr.write(`${name} takes a whole number >= 1, got '${value}'\n`);
    process.exit(2);
  }
  return Number(value);
}

const repeat = option('--repeat', 20);
const runs = option('--runs', 15);
const lockWait = process.argv.includes('--lock-wait') ? option('--lock-wait', 0) : undefined;

const out = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

const ms = (value: number): string => `${value.toFixed(2)} ms`;

/** Renders rows as a plain table with a header rule; numeric columns (named in `right`) right-aligned. */
function table(head: string[], rows: string[][], right: number[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (right.includes(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

const dbName = (label: string): string => `bench_${label}_${randomBytes(4).toString('hex')}`;

interface LockCost {
  up: number[];
  status: number[];
  acquire: number[];
  release: number[];
}

/** Part 1: a no-op up vs status, alternated so drift hits both; then Lease acquire/release alone. */
async function lockCost(server: TestServer, client: MongoClient): Promise<LockCost> {
  const project = await createProject();
  const database = dbName('noop');
  let migrator: Migrator | undefined;
  try {
    for (let i = 1; i <= 10; i++) await project.write(`${String(i).padStart(3, '0')}-mark.ts`, markerMigration(`m${i}`));
    migrator = createMigrator({ uri: server.uri, database, migrationsDir: project.migrationsDir });
    const applied = await migrator.up();
    if (applied.error !== undefined || applied.steps.length !== 10) throw new Error(`setup up() failed: ${JSON.stringify(applied.error)}`);
    const m = migrator;
    for (let i = 0; i < 3; i++) {
      await m.up();
      await m.status();
    }
    const up: number[] = [];
    const status: number[] = [];
    for (let i = 0; i < runs; i++) {
      up.push(
        await timed(async () => {
          const result = await m.up();
          if (result.steps.length !== 0 || result.error !== undefined) throw new Error('the no-op up did something');
        }),
      );
      status.push(await timed(() => m.status()));
    }

    const db: Db = client.db(database);
    const acquire: number[] = [];
    const release: number[] = [];
    const store = new MongoLockStore(db, 'mongrate_lock');
    const clock = await measureServerClock(db);
    for (let i = 0; i < LOCK_SAMPLES + 3; i++) {
      const lease = new Lease({ store, clock, identity: newRunIdentity(), command: 'bench', ttlSeconds: 120, waitSeconds: 0 });
      const a = await timed(() => lease.acquire());
      const r = await timed(async () => {
        const outcome = await lease.release();
        if (!outcome.released) throw new Error(`release failed: ${outcome.warning ?? 'not held'}`);
      });
      if (i >= 3) {
        acquire.push(a);
        release.push(r);
      }
    }
    return { up, status, acquire, release };
  } finally {
    await migrator?.close();
    await client.db(database).dropDatabase().catch(() => undefined);
    await project.remove();
  }
}

function counterMigration(id: string): string {
  return `export async function up({ db }) {
  await db.collection('counter').updateOne({ _id: 'counter' }, { $inc: { ${JSON.stringify(id)}: 1 } }, { upsert: true });
  await new Promise((resolve) => setTimeout(resolve, 100));
}
export async function down() {}
`;
}

interface RaceResult {
  exactlyOnce: boolean;
  detail: string;
  codes: Map<string, number>;
  wallMs: number;
}

/** Part 2, one repetition: 8 `mongrate up` at once on a fresh database. */
async function race(server: TestServer, client: MongoClient, project: TestProject): Promise<RaceResult> {
  const database = dbName('race');
  const db = client.db(database);
  try {
    const args = ['--db', database, 'up', ...(lockWait === undefined ? [] : ['--lock-wait', String(lockWait)])];
    const t0 = performance.now();
    const runners = Array.from({ length: RACERS }, () => startCli(args, { cwd: project.dir, env: { MONGODB_URI: server.uri }, timeoutMs: 120_000 }));
    const results = await Promise.all(runners.map((r) => r.done));
    const wallMs = performance.now() - t0;

    const codes = new Map<string, number>();
    for (const r of results) {
      const key = r.code === null ? String(r.signal) : String(r.code);
      codes.set(key, (codes.get(key) ?? 0) + 1);
    }
    const records = await db.collection<{ _id: string; state: string }>('mongrate_changelog').find({}).toArray();
    const counter = await db.collection<{ _id: string } & Record<string, unknown>>('counter').findOne({ _id: 'counter' });
    const problems: string[] = [];
    for (const id of RACE_IDS) {
      const state = records.find((r) => r._id === id)?.state ?? 'none';
      const raw = counter?.[id];
      const count = typeof raw === 'number' ? raw : 0;
      if (state !== 'applied' || count !== 1) problems.push(`${id}: ${state}, ran ${count}x`);
    }
    if (records.length !== RACE_IDS.length) problems.push(`${records.length} changelog records`);
    if ((await db.collection<{ _id: string }>('mongrate_lock').findOne({ _id: 'mongrate' })) !== null) problems.push('lock left behind');
    const unexpected = results.filter((r) => r.code !== 0 && r.code !== 3);
    for (const r of unexpected) problems.push(`exit ${String(r.code)}: ${r.stderr.trim().split('\n')[0] ?? ''}`);
    return { exactlyOnce: problems.length === 0, detail: problems.join('; '), codes, wallMs };
  } finally {
    await db.dropDatabase().catch(() => undefined);
  }
}

async function main(): Promise<number> {
  const startedAt = performance.now();
  const server = await startServer({ log: (line) => process.stderr.write(`${line}\n`) });
  const stop = (): void => {
    void server.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const client = new MongoClient(server.uri);
  try {
    await client.connect();
    out(`mongrate lock benchmark: ${server.description} at ${redactUri(server.uri)}; node ${process.version}`);
    out();

    out(`1. Cost of the lock on a no-op up (10 applied migrations, ${runs} runs each, in process)`);
    const cost = await lockCost(server, client);
    const upMedian = median(cost.up);
    const statusMedian = median(cost.status);
    const pairMedian = median(cost.acquire.map((a, i) => a + (cost.release[i] ?? 0)));
    out(
      table(
        ['measure', 'median', 'p95', 'min', 'max', 'samples'],
        [
          ['migrator.up() (nothing to do)', cost.up],
          ['migrator.status()', cost.status],
          ['Lease.acquire()', cost.acquire],
          ['Lease.release()', cost.release],
          ['acquire + release', cost.acquire.map((a, i) => a + (cost.release[i] ?? 0))],
        ].map(([name, samples]) => {
          const s = samples as number[];
          return [name as string, ms(median(s)), ms(quantile(s, 0.95)), ms(Math.min(...s)), ms(Math.max(...s)), String(s.length)];
        }),
        [1, 2, 3, 4, 5],
      ),
    );
    out(`   up - status (medians): ${ms(upMedian - statusMedian)}; a lock acquire + release pair alone: ${ms(pairMedian)}`);
    out();

    out(`2. ${RACERS} \`mongrate up\` processes at once, ${repeat} repetitions (5 migrations, ~100 ms each${lockWait === undefined ? '' : `, --lock-wait ${lockWait}`})`);
    const project = await createProject();
    const rows: string[][] = [];
    const totals = new Map<string, number>();
    let good = 0;
    const walls: number[] = [];
    try {
      for (const id of RACE_IDS) await project.write(`${id}.ts`, counterMigration(id));
      for (let i = 1; i <= repeat; i++) {
        const result = await race(server, client, project);
        if (result.exactlyOnce) good++;
        walls.push(result.wallMs);
        for (const [code, count] of result.codes) totals.set(code, (totals.get(code) ?? 0) + count);
        const histogram = [...result.codes].sort(([a], [b]) => a.localeCompare(b)).map(([code, count]) => `exit ${code} x${count}`).join(', ');
        rows.push([String(i), result.exactlyOnce ? 'yes' : `NO (${result.detail})`, histogram, `${(result.wallMs / 1000).toFixed(2)} s`]);
        process.stderr.write(`  race ${i}/${repeat} done\n`);
      }
    } finally {
      await project.remove();
    }
    out(table(['rep', 'every migration exactly once', 'exit codes', 'wall'], rows, [0, 3]));
    out();
    const histogram = [...totals].sort(([a], [b]) => a.localeCompare(b)).map(([code, count]) => `exit ${code} x${count}`).join(', ');
    const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
    out(
      `summary: no-op up ${ms(upMedian)} vs status ${ms(statusMedian)} (lock pair ${ms(pairMedian)}, acquire p95 ${ms(quantile(cost.acquire, 0.95))}, release p95 ${ms(quantile(cost.release, 0.95))}); ` +
        `race exactly-once ${good}/${repeat}, exit codes ${histogram}, median race ${(median(walls) / 1000).toFixed(2)} s; total ${seconds} s`,
    );
    return good === repeat ? 0 : 1;
  } finally {
    await client.close();
    await server.stop();
  }
}

process.exitCode = await main();
