// `npm run bench` (issues #5, #11): the helpers against the naive loops of the reference material,
// against hand-written server-side updates and against the floor of a client-side transform; the
// throttle; memory; and the CLI beside a bare driver script and beside migrate-mongo. Side by side
// in one run, on one server, in units that transfer to MongoDB (commands, bytes, client CPU per
// document, memory) with wall times labelled by the server that produced them. See bench/README.md.
//
//   npm run bench -- [--quick] [--n <N>] [--sample <M>] [--runs <R>] [--only reshape,bump,copy,floor,throttle,rss,cli]
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
import { copyChecksGroup } from './cases/copy-checks.ts';
import { copyGroup } from './cases/copy.ts';
import { floorGroup } from './cases/floor.ts';
import { rssGroup } from './cases/rss.ts';
import { throttleGroup } from './cases/throttle.ts';
import { BATCH_SIZES, bumpGroup, reshapeGroup, type UpdateEnv } from './cases/updates.ts';
import { createUsers, slice, userId, type FlatUser } from './data.ts';
import { TrafficMeter, idleCpuMicrosPerMs } from './meter.ts';
import { missNote, serverLabel, type NoteFacts } from './notes.ts';
import { parseOptions, type BenchOptions } from './options.ts';
import { casesTable, median, num, ratioText, ratiosTable, RATIOS, computeRatios, writeResults, type BenchResults, type CaseResult, type Group, type ServerProfile } from './report.ts';

/** FerretDB 1.24: documents of the update cases (each changed document costs it a pass over the collection). */
const FERRETDB_UPDATE_DOCS = { quick: 100, full: 400 };
/** FerretDB: the copy case's documents (inserts are cheap there; the naive loop's one insert per document is not). */
const FERRETDB_COPY_DOCS = 20_000;
/** FerretDB: the memory case's n (10 x n is read in keyset pages, each a pass over 10 x n documents). */
const FERRETDB_RSS_N = { quick: 1000, full: 2000 };
/** The throttle cases' documents, at most (ten batches of a tenth each). */
const THROTTLE_DOCS = 50;

const out = (line = ''): void => void process.stdout.write(`${line}\n`);
const progress = (line: string): void => void process.stderr.write(`  ${line}\n`);
const fmt = (value: number): string => value.toLocaleString('en-US');
const seconds = (ms: number): string => (ms >= 120_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 1000).toFixed(1)} s`);
const load = (values: number[]): string => values.map((l) => l.toFixed(2)).join(' ');

interface Sizes {
  update: number;
  copy: number;
  throttle: number;
  rssN: number;
  /** Why the sizes differ from N, for the notes; empty on a server where they do not. */
  reasons: string[];
}

function sizesFor(options: BenchOptions, server: ServerInfo): Sizes {
  const ferret = server.flavour === 'ferretdb';
  const pick = (given: number | undefined, onFerret: number): number => given ?? (ferret ? Math.min(options.n, onFerret) : options.n);
  const update = pick(options.sample, options.quick ? FERRETDB_UPDATE_DOCS.quick : FERRETDB_UPDATE_DOCS.full);
  const copy = pick(undefined, FERRETDB_COPY_DOCS);
  const rssN = pick(options.rssN, options.quick ? FERRETDB_RSS_N.quick : FERRETDB_RSS_N.full);
  const reasons: string[] = [];
  const on = server.describe();
  if (update < options.n) reasons.push(`the update cases (reshape, bump) run on a collection of ${fmt(update)} documents, all changed: on ${on} every document an update changes costs a pass over the collection, and a conditional write (a filter naming more than _id) a decode of all of it, so commands, bytes and CPU per document are measured on fewer documents, the same on both sides of every ratio`);
  if (copy < options.n) reasons.push(`the copy cases copy ${fmt(copy)} documents: the naive loop's one insert per document is the slow side`);
  if (rssN < options.n) reasons.push(`the memory case reads n = ${fmt(rssN)} and 10 x n: on ${on} every keyset page is a pass over the collection`);
  return { update, copy, throttle: Math.min(update, THROTTLE_DOCS), rssN, reasons };
}

async function medianMs(times: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    await fn(i);
    samples.push(performance.now() - started);
  }
  return median(samples);
}

/** Single-operation costs on the update cases' collection: the numbers the FerretDB notes explain with. */
async function serverProfile(users: Collection<FlatUser>, n: number): Promise<ServerProfile> {
  const probe = users.db.collection(`${users.collectionName}_probe`);
  const fullScanMs = await medianMs(2, () => users.countDocuments({ old_field: '-no-such-value-' }));
  const findByIdMs = await medianMs(5, (i) => users.findOne({ _id: userId(i % n) }));
  const insertMs = await medianMs(5, (i) => probe.insertOne({ _id: `probe${i}`, state: 'running' } as never));
  const updateByIdMs = await medianMs(3, (i) => users.updateOne({ _id: userId(i % n) }, { $set: { bench_probe: i } }));
  const conditionalUpdateMs = await medianMs(3, (i) => users.updateOne({ _id: userId(i % n), seq: i % n }, { $set: { bench_probe: -i } }));
  await probe.drop().catch(() => false);
  await users.updateMany({ bench_probe: { $exists: true } }, { $unset: { bench_probe: '' } });
  return { documents: n, fullScanMs, findByIdMs, insertMs, updateByIdMs, conditionalUpdateMs };
}

function section(title: string, cases: Record<string, CaseResult>, group: Group): void {
  out(title);
  out(casesTable(Object.entries(cases).filter(([, c]) => c.group === group)));
  out();
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
  let meter: TrafficMeter | undefined;
  try {
    await client.connect();
    db = client.db(dbName);
    meter = await TrafficMeter.connect(server.uri);
    const info = await probeServer(db);
    const sizes = sizesFor(options, info);
    const run = (group: Group): boolean => options.groups.includes(group);
    out(`mongrate bench: ${info.describe()} via ${server.description} at ${redactUri(server.uri)}; node ${process.version}; ${os.cpus().length} CPUs, load average ${load(loadAtStart)}`);
    out(`N = ${fmt(options.n)}; update cases on ${fmt(sizes.update)}, copy ${fmt(sizes.copy)}, throttle ${fmt(sizes.throttle)}, memory n = ${fmt(sizes.rssN)}; 1 counted + ${options.runs} timed runs per case (median, min-max)`);
    out(`Wall times (docs/s, ms) are ${info.describe()}'s; commands, bytes and client CPU per document are the client's, and transfer to MongoDB.`);
    for (const reason of sizes.reasons) out(`NOTE: ${reason}.`);
    out();

    const idleMicrosPerMs = await idleCpuMicrosPerMs();
    out(`idle: this process spends ${idleMicrosPerMs.toFixed(1)} µs of CPU per ms of waiting (its clients' timers); taken off every data case's CPU over its wall time`);
    const cases: Record<string, CaseResult> = {};
    const notes = [...sizes.reasons];
    let profile: ServerProfile | null = null;
    const usersName = 'users';
    const range = slice(0, sizes.update);
    const sample = { documents: sizes.update, of: sizes.update, reason: sizes.update < options.n ? `${fmt(sizes.update)} instead of N = ${fmt(options.n)} on ${info.describe()}` : 'all documents' };
    if (run('reshape') || run('bump')) {
      const users = db.collection<FlatUser>(usersName);
      await createUsers(users, sizes.update);
      profile = await serverProfile(users, sizes.update);
      out(`on this server at ${fmt(sizes.update)} documents: full pass ${num(profile.fullScanMs)} ms, find by _id ${num(profile.findByIdMs)} ms, insert ${num(profile.insertMs)} ms, update by _id ${num(profile.updateByIdMs)} ms, conditional update ${num(profile.conditionalUpdateMs)} ms`);
      out();
      // the standalone helpers probe the server once per client: on both clients, before anything is measured
      for (const target of [users, meter.client.db(dbName).collection<FlatUser>(usersName)]) {
        await reshape(target, { filter: { seq: -1 }, transform: () => null });
        await bumpSchemaVersion(target, { to: 2, filter: { seq: -1 } });
      }
      const env: UpdateEnv = { db, meter, server: info, collection: usersName, range, sample, runs: options.runs, idleMicrosPerMs, progress };
      if (run('reshape')) {
        Object.assign(cases, await reshapeGroup(env));
        section(`1. Reshape flat -> nested, ${fmt(sizes.update)} users (docs/s on this server)`, cases, 'reshape');
      }
      if (run('bump')) {
        Object.assign(cases, await bumpGroup(env));
        section(`2. Schema version 1 -> 2, ${fmt(sizes.update)} users (docs/s on this server)`, cases, 'bump');
      }
      await users.drop().catch(() => false);
    }
    if (run('floor')) {
      Object.assign(cases, floorGroup({ from: 0, sample, runs: options.runs, progress }));
      section(`3. The floor: the same ${fmt(sizes.update)} documents decoded, transformed and encoded in-process, no server (client CPU, µs/doc)`, cases, 'floor');
    }
    if (run('copy')) {
      const copySample = { documents: sizes.copy, of: sizes.copy, reason: sizes.copy < options.n ? `${fmt(sizes.copy)} instead of N on ${info.describe()}` : 'all documents' };
      // measured again: the copy's waits are long too, and the machine's other load may have changed
      const copyIdle = await idleCpuMicrosPerMs();
      Object.assign(cases, await copyGroup({ db, meter, server: info, n: sizes.copy, sample: copySample, runs: options.runs, idleMicrosPerMs: copyIdle, progress }));
      // the checks before the swap, at a tenth of the copy and at the copy's size
      const checkSizes: [number, number] = [Math.max(100, Math.round(sizes.copy / 10)), sizes.copy];
      Object.assign(cases, await copyChecksGroup({ db, meter, server: info, sizes: checkSizes, runs: options.runs, progress }));
      section(`4. Copy-and-rename of ${fmt(sizes.copy)} users into the nested shape (docs/s on this server), and its consistency checks at two sizes (ms)`, cases, 'copy');
      if (!info.supports('renameDropTarget')) notes.push(`copyAndRename ran with allowBriefGap: true: ${info.describe()} has no renameCollection dropTarget`);
    }
    if (run('throttle')) {
      const throttleSample = { documents: sizes.throttle, of: sizes.throttle, reason: 'ten batches' };
      Object.assign(cases, await throttleGroup({ db, server: info, documents: sizes.throttle, sample: throttleSample, runs: options.runs, progress }));
      section(`5. Throttle: reshape with maxDocsPerSecond beside the same reshape without (docs/s on this server)`, cases, 'throttle');
    }
    if (run('rss')) {
      const reason = sizes.rssN < options.n ? `n = ${fmt(sizes.rssN)} instead of N on ${info.describe()}` : 'n = N';
      Object.assign(cases, await rssGroup({ db, uri: server.uri, rssN: sizes.rssN, n: options.n, reason, runs: options.runs, progress }));
      section(`6. Peak RSS of a child process running reshape (transform -> null) over n and 10 x n documents (MB)`, cases, 'rss');
    }
    if (run('cli')) {
      Object.assign(cases, await cliGroup({ client, uri: server.uri, database: `${dbName}_cli`, files: options.cliFiles, apply: options.cliApply, runs: options.runs, progress }));
      section(`7. CLI wall time, a fresh node process each (ms on this server; the note and JSON have each process's CPU time)`, cases, 'cli');
    }

    const facts: NoteFacts = { server: info, profile, cases };
    const ratios = computeRatios(cases, (key) => missNote(key, facts));
    out('Targets (and, without one, ratios for context)');
    out(ratiosTable(ratios));
    for (const [key, r] of Object.entries(ratios)) {
      // a figure only this server distorts says so beside it, met or missed (a miss's note says it too)
      const label = r.value === null || r.pass === false ? null : serverLabel(key, facts);
      if (label !== null) {
        out(`   ${key} ${ratioText(r.value, RATIOS[key]?.kind)}: ${label}`);
        notes.push(`${key}: ${label}`);
      }
      if (r.pass !== false || r.note === null) continue;
      out(`   ${key} ${ratioText(r.value, RATIOS[key]?.kind)} MISS: ${r.note}`);
      notes.push(`${key}: ${r.note}`);
    }

    const results: BenchResults = {
      version: 2,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      durationSeconds: (performance.now() - started) / 1000,
      node: process.version,
      platform: `${os.platform()} ${os.arch()}`,
      cpus: os.cpus().length,
      loadAverage: { start: loadAtStart, end: os.loadavg() },
      server: { source: server.flavour, flavour: info.flavour, version: info.version, mongodbVersion: info.mongodbVersion, topology: info.topology, description: info.describe() },
      settings: {
        n: options.n,
        updateDocuments: sizes.update,
        copyDocuments: sizes.copy,
        throttleDocuments: sizes.throttle,
        runs: options.runs,
        idleCpuMicrosPerMs: idleMicrosPerMs,
        quick: options.quick,
        rssN: sizes.rssN,
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
    out(`wrote ${paths.join(' and ')}; total ${seconds(results.durationSeconds * 1000)}; load average at the start ${load(results.loadAverage.start)}, at the end ${load(results.loadAverage.end)}`);
    return 0;
  } finally {
    await db?.dropDatabase().catch(() => undefined);
    await meter?.close();
    await client.close();
    await server.stop();
  }
}

process.exitCode = await main();
