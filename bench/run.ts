// `npm run bench` (issue #5): the helpers against the naive loops of the reference material and
// against hand-written server-side updates, their memory, and the CLI's overhead, side by side in
// one run on one server and one data set. See bench/README.md for the cases, options and keys.
//
//   npm run bench -- [--quick] [--n <N>] [--sample <M>] [--runs <R>] [--only reshape,bump,copy,rss,cli]
//
// Starts a throwaway server the way the tests do (MONGODB_URI, else mongod, else FerretDB 1.24.2)
// and stops it at the end; writes bench/results/latest.json and a dated copy.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { MongoClient, type Collection, type Db } from 'mongodb';
import { bumpSchemaVersion, reshape } from '../src/helpers/index.ts';
import { probeServer, type ServerInfo } from '../src/server/capabilities.ts';
import { redactUri, startServer, type TestServer } from '../test/support/server.ts';
import { cliGroup } from './cases/cli.ts';
import { copyGroup } from './cases/copy.ts';
import { rssGroup } from './cases/rss.ts';
import { BATCH_SIZES, BUMP_CASES, RESHAPE_CASES, bumpGroup, reshapeGroup, type UpdateEnv } from './cases/updates.ts';
import { createUsers, slice, userId, type FlatUser } from './data.ts';
import { parseOptions, type BenchOptions } from './options.ts';
import {
  RATIOS,
  casesTable,
  computeRatios,
  median,
  num,
  ratioText,
  ratiosTable,
  writeResults,
  type BenchResults,
  type CaseResult,
  type Group,
  type SampleInfo,
  type ServerProfile,
} from './report.ts';

/** On FerretDB the update cases change M documents with M x N ~ this (each update costs O(N)). */
const FERRETDB_SAMPLE_WORK = 1_000_000;
const FERRETDB_SAMPLE_MIN = 50;
const FERRETDB_SAMPLE_MAX = 1000;
/**
 * FerretDB: the memory case's n. A reshape child's RSS levels off after ~5 batches of 1000 (measured
 * on FerretDB 1.24: 2,000 docs 108 MB, 5,000 127 MB, 10,000 131 MB, 20,000 128 MB), so n must be at
 * least that, and 10 x n is read in (10n / 1000) pages that each cost a pass over 10n documents.
 */
const FERRETDB_RSS_N = 5000;

const out = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};
const progress = (line: string): void => {
  process.stderr.write(`  ${line}\n`);
};
const fmt = (value: number): string => value.toLocaleString('en-US');
function seconds(ms: number): string {
  if (ms >= 2 * 3_600_000) return `${(ms / 3_600_000).toFixed(1)} h`;
  if (ms >= 120_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 1000).toFixed(1)} s`;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

async function medianMs(times: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < times; i++) samples.push(await timed(() => fn(i)));
  return median(samples);
}

function sampleSize(options: BenchOptions, server: ServerInfo): { m: number; reason: string } {
  const ferret = server.flavour === 'ferretdb';
  const m =
    options.sample ??
    (ferret ? Math.min(options.n, Math.max(FERRETDB_SAMPLE_MIN, Math.min(FERRETDB_SAMPLE_MAX, Math.round(FERRETDB_SAMPLE_WORK / options.n)))) : options.n);
  if (m === options.n) return { m, reason: 'all documents' };
  const why = ferret ? `: on ${server.describe()} every updated document costs a pass over the collection (O(N)), so all N would take hours` : '';
  return { m, reason: `per-document rates measured on ${fmt(m)} of ${fmt(options.n)} documents (${options.sample === undefined ? 'default sample' : '--sample'})${why}` };
}

function rssSize(options: BenchOptions, server: ServerInfo, profile: ServerProfile | null): { rssN: number; reason: string } {
  if (options.rssN !== undefined) {
    return { rssN: options.rssN, reason: options.rssN === options.n ? 'n = N' : `n = ${fmt(options.rssN)} (--rss-n) instead of N = ${fmt(options.n)}` };
  }
  if (server.flavour !== 'ferretdb' || options.n <= FERRETDB_RSS_N) return { rssN: options.n, reason: 'n = N' };
  const big = options.n * 10;
  const estimate = profile === null ? '' : `, ~${seconds((big / 1000) * (profile.fullScanMs / profile.documents) * big)} at 10 x N here`;
  return {
    rssN: FERRETDB_RSS_N,
    reason: `n = ${fmt(FERRETDB_RSS_N)} instead of N = ${fmt(options.n)}: on FerretDB every keyset page of 1000 is a pass over the collection, so reading 10 x n documents costs O((10n)^2 / 1000)${estimate}; ${fmt(FERRETDB_RSS_N)} (5 batches) is where a reshape child's RSS has levelled off`,
  };
}

/** Single-operation costs on the bench collection: the numbers the FerretDB notes explain with. */
async function serverProfile(users: Collection<FlatUser>, n: number, probeAt: number): Promise<ServerProfile> {
  const fullScanMs = await medianMs(2, () => users.countDocuments({ old_field: '-no-such-value-' }));
  const findByIdMs = await medianMs(5, (i) => users.findOne({ _id: userId(probeAt + (i % 3)) }));
  const updateByIdMs = await medianMs(3, (i) => users.updateOne({ _id: userId(probeAt + i) }, { $set: { bench_probe: i } }));
  return { documents: n, fullScanMs, findByIdMs, updateByIdMs };
}

interface NoteFacts {
  server: ServerInfo;
  n: number;
  m: number;
  profile: ServerProfile | null;
  cases: Record<string, CaseResult>;
}

const perDoc = (c: CaseResult | undefined): string => (c === undefined ? '?' : `${num(1000 / c.median)} ms/doc`);

/** Why a target was missed, from this run's own measurements; null when there is nothing to add. */
function missNote(key: string, facts: NoteFacts): string | null {
  const { server, profile, cases } = facts;
  const ferret = server.flavour === 'ferretdb';
  const scan =
    profile === null ? ''
    : `here an updateOne by _id takes ${num(profile.updateByIdMs)} ms and a pass over the ${fmt(profile.documents)} documents ${num(profile.fullScanMs)} ms, against ${num(profile.findByIdMs)} ms for a find by _id`;
  const perDocScan = `${server.describe()} scans the collection for every document an update changes (${scan}); batching saves round trips, not that scan`;
  switch (key) {
    case 'reshape_fn_vs_naive':
    case 'bump_vs_naive': {
      if (!ferret) return null;
      const [a, b] = key === 'reshape_fn_vs_naive' ? ['reshape_fn', 'reshape_naive'] : ['bump_fn', 'bump_naive'];
      return `server: ${perDocScan}, so helper (${perDoc(cases[a])}) and naive loop (${perDoc(cases[b])}) cost about the same per document; the helper's progress count (a pass here) runs beside its first page, and each of its pages is a pass where the naive loop's one cursor is one pass in all.`;
    }
    case 'reshape_decl_vs_updatemany':
    case 'reshape_fn_vs_updatemany': {
      if (!ferret) return null;
      const a = key === 'reshape_decl_vs_updatemany' ? 'reshape_decl' : 'reshape_fn';
      return `server: ${perDocScan}; ${a} runs ${cases[a]?.note ?? 'in batches'}, the hand-written updateMany (${perDoc(cases.reshape_updatemany)}) changes some documents up to 4 times; both sides pay the scan per document changed.`;
    }
    case 'copy_vs_naive': {
      if (!ferret) return null;
      const helper = cases.copy_helper;
      const passes =
        profile === null || helper === undefined ? ''
        : `; the helper reads the source once, and one pass over the ${fmt(profile.documents)} documents costs ${seconds(profile.fullScanMs)} here (FerretDB decodes every document), of the ${seconds((facts.n / helper.median) * 1000)} the whole helper run took (its inserts overlap that read)`;
      return `server: on ${server.describe()} inserts are cheap, so batching them saves only the naive loop's round trips (${perDoc(cases.copy_naive)} naive, ${perDoc(helper)} helper)${passes}.`;
    }
    case 'rss_10n_vs_n':
      return 'peak RSS grew with the collection: reshape should hold one batch at a time; check for retained documents.';
    case 'status_vs_bare':
    case 'noop_up_vs_bare': {
      const command = key === 'status_vs_bare' ? cases.cli_status : cases.cli_noop_up;
      const version = cases.cli_version;
      const bare = cases.cli_bare;
      if (command === undefined || version === undefined || bare === undefined) return null;
      return `not the server's: \`mongrate --version\` alone (start-up without the driver) takes ${num(version.median)} ms of the ${num(command.median)} ms, the whole bare script ${num(bare.median)} ms; the rest is loading the driver, config loading, reading and hashing the migration files, the server probe${key === 'noop_up_vs_bare' ? ' and the lock' : ' and rendering the table'}.`;
    }
    default:
      return null;
  }
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const startedAt = new Date();
  const loadAtStart = os.loadavg();
  const started = performance.now();
  const server: TestServer = await startServer({ log: (line) => process.stderr.write(`${line}\n`) });
  const client = new MongoClient(server.uri);
  const dbName = `bench_${randomBytes(4).toString('hex')}`;
  const stop = (signal: NodeJS.Signals): void => {
    process.stderr.write(`bench: interrupted by ${signal} after ${seconds(performance.now() - started)}; dropping ${dbName} and stopping the server\n`);
    // a server busy with a long update may not answer: give the drop a few seconds, then stop anyway
    const drop = client.db(dbName).dropDatabase().catch(() => undefined);
    void Promise.race([drop, new Promise((resolve) => setTimeout(resolve, 5000))])
      .then(() => server.stop())
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let db: Db | undefined;
  try {
    await client.connect();
    db = client.db(dbName);
    const info = await probeServer(db);
    const ferret = info.flavour === 'ferretdb';
    const { m, reason } = sampleSize(options, info);
    const range = slice(Math.floor((options.n - m) / 2), m);
    const run = (group: Group): boolean => options.groups.includes(group);

    out(
      `mongrate bench: ${info.describe()} via ${server.description} at ${redactUri(server.uri)}; node ${process.version}; ${os.cpus().length} CPUs, load average ${loadAtStart.map((l) => l.toFixed(1)).join(' ')}`,
    );
    out(`N = ${fmt(options.n)} documents, ${options.runs} runs per case (median, min-max)${run('reshape') || run('bump') ? `, update cases on M = ${fmt(m)}` : ''}`);
    if (m < options.n && (run('reshape') || run('bump'))) out(`NOTE: ${reason}; the slice is seq ${fmt(range.from)}..${fmt(range.to - 1)} of the ${fmt(options.n)}-document collection.`);
    out();

    const cases: Record<string, CaseResult> = {};
    const notes: string[] = [];
    if (m < options.n && (run('reshape') || run('bump'))) notes.push(reason);
    let profile: ServerProfile | null = null;
    const users = db.collection<FlatUser>('users');
    if (run('reshape') || run('bump') || run('copy') || run('rss')) {
      const insertMs = await timed(() => createUsers(users, options.n));
      profile = await serverProfile(users, options.n, range.from);
      out(
        `setup: ${fmt(options.n)} users inserted in ${seconds(insertMs)}; on this server at N: full pass ${num(profile.fullScanMs)} ms, find by _id ${num(profile.findByIdMs)} ms, updateOne by _id ${num(profile.updateByIdMs)} ms`,
      );
      if (run('reshape') || run('bump')) {
        const updateCases = (run('reshape') ? RESHAPE_CASES : 0) + (run('bump') ? BUMP_CASES : 0);
        const estimate = updateCases * options.runs * m * profile.updateByIdMs;
        out(`estimate: update cases ~${seconds(estimate)} (${updateCases} cases x ${options.runs} runs x ${fmt(m)} docs x ${num(profile.updateByIdMs)} ms), plus reads`);
      }
      out();
      // the standalone helpers probe the server once per client: do that before any timing
      await reshape(users, { filter: { seq: -1 }, transform: () => null });
      await bumpSchemaVersion(users, { to: 2, filter: { seq: -1 } });
    }

    const env: UpdateEnv = { db, server: info, users, range, sample: { documents: m, of: options.n, reason } satisfies SampleInfo, runs: options.runs, progress };
    if (run('reshape')) {
      Object.assign(cases, await reshapeGroup(env));
      out(`1. Reshape flat -> nested, ${m === options.n ? `all ${fmt(m)}` : `${fmt(m)} of ${fmt(options.n)}`} users (docs/s, higher is better)`);
      out(casesTable(Object.entries(cases).filter(([, c]) => c.group === 'reshape')));
      if (m < options.n) out(`   NOTE: ${reason}`);
      out();
    }
    if (run('bump')) {
      Object.assign(cases, await bumpGroup(env));
      out(`2. Schema version 1 -> 2, ${m === options.n ? `all ${fmt(m)}` : `${fmt(m)} of ${fmt(options.n)}`} users (docs/s)`);
      out(casesTable(Object.entries(cases).filter(([, c]) => c.group === 'bump')));
      if (m < options.n) out(`   NOTE: ${reason}`);
      out();
    }
    if (run('reshape') || run('bump') || run('copy') || run('rss')) await users.drop().catch(() => false);
    if (run('copy')) {
      Object.assign(cases, await copyGroup({ db, server: info, n: options.n, runs: options.runs, progress }));
      out(`3. Copy-and-rename of all ${fmt(options.n)} users into the nested shape (docs/s)`);
      out(casesTable(Object.entries(cases).filter(([, c]) => c.group === 'copy')));
      if (!info.supports('renameDropTarget')) {
        const gap = `copyAndRename ran with allowBriefGap: true: ${info.describe()} has no renameCollection dropTarget, so 'copy_users' is missing for a moment between two renames`;
        out(`   NOTE: ${gap}`);
        notes.push(gap);
      }
      out();
    }
    let rssN = options.n;
    if (run('rss')) {
      const size = rssSize(options, info, profile);
      rssN = size.rssN;
      if (size.rssN !== options.n) notes.push(`memory case: ${size.reason}`);
      Object.assign(cases, await rssGroup({ db, uri: server.uri, rssN: size.rssN, n: options.n, reason: size.reason, runs: options.runs, progress }));
      out(`4. Peak RSS of a child process running reshape (transform -> null) over n and 10 x n documents (MB, lower is better)`);
      out(casesTable(Object.entries(cases).filter(([, c]) => c.group === 'rss')));
      if (size.rssN !== options.n) out(`   NOTE: memory case at ${size.reason}`);
      out();
    }
    if (run('cli')) {
      Object.assign(cases, await cliGroup({ client, uri: server.uri, database: `${dbName}_cli`, files: options.cliFiles, apply: options.cliApply, runs: options.runs, progress }));
      out(`5. CLI wall time, a fresh \`node bin/mongrate.js\` process each (ms, lower is better)`);
      out(casesTable(Object.entries(cases).filter(([, c]) => c.group === 'cli')));
      out();
    }

    const facts: NoteFacts = { server: info, n: options.n, m, profile, cases };
    const ratios = computeRatios(cases, (key, value) => {
      const target = RATIOS[key]?.target;
      if (target === undefined) return null;
      const pass = target.comparator === '>=' ? value >= target.threshold : value <= target.threshold;
      return pass ? null : missNote(key, facts);
    });
    out('Targets');
    out(ratiosTable(ratios));
    const misses = Object.entries(ratios).filter(([, r]) => r.pass === false);
    for (const [key, r] of misses) {
      if (r.note !== null) {
        out(`   ${key} ${ratioText(r.value)} MISS: ${r.note}`);
        notes.push(`${key}: ${r.note}`);
      }
    }
    if (ferret && misses.length > 0) {
      const serverSide = misses.filter(([key]) => key !== 'status_vs_bare' && key !== 'noop_up_vs_bare').length;
      if (serverSide > 0) out(`   The misses marked "server:" come from FerretDB 1.24's costs (serverProfile in the JSON); the targets are for a server whose updates by _id are index lookups (MongoDB): run the bench there to judge them.`);
    }

    const finishedAt = new Date();
    const results: BenchResults = {
      version: 1,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationSeconds: (performance.now() - started) / 1000,
      node: process.version,
      platform: `${os.platform()} ${os.arch()}`,
      cpus: os.cpus().length,
      loadAverage: { start: loadAtStart, end: os.loadavg() },
      server: {
        source: server.flavour,
        flavour: info.flavour,
        version: info.version,
        mongodbVersion: info.mongodbVersion,
        topology: info.topology,
        description: info.describe(),
      },
      settings: {
        n: options.n,
        sample: m,
        runs: options.runs,
        quick: options.quick,
        rssN,
        cliFiles: options.cliFiles,
        cliApply: options.cliApply,
        batchSizes: BATCH_SIZES,
        groups: options.groups,
      },
      serverProfile: profile,
      cases,
      ratios,
      notes,
      benchPeakRssMB: process.resourceUsage().maxRSS / 1024,
    };
    const paths = await writeResults(options.outDir, results);
    out();
    out(`wrote ${paths.join(' and ')}; total ${seconds(results.durationSeconds * 1000)}; load average at the end ${results.loadAverage.end.map((l) => l.toFixed(1)).join(' ')}`);
    return 0;
  } finally {
    await db?.dropDatabase().catch(() => undefined);
    await client.close();
    await server.stop();
  }
}

process.exitCode = await main();
