// Groups 1 and 2: in-place changes of the same documents (flat -> nested, and the schema version
// bump), each way side by side. Each case runs once on the monitored client (its commands and
// bytes) and then `runs` times on the plain client (wall time, client CPU), interleaved: run 1
// of every case, then run 2, ... Every run starts from the original v1 documents (deleted and
// re-inserted, untimed) and ends with a check that every document has the new shape, so no case
// can be fast by doing nothing.
import type { AnyBulkWriteOperation, Collection, Db, Document, Filter, WithId } from 'mongodb';
import { page } from '../../src/helpers/batches.ts';
import { plannedWrite } from '../../src/helpers/page-writes.ts';
import { WRITE_OPTIONS } from '../../src/helpers/typed.ts';
import { DEFAULT_BATCH_SIZE, bumpSchemaVersion, reshape, runWithHelperContext, type HelperPlan, type ReshapeSpec } from '../../src/helpers/index.ts';
import type { ServerInfo } from '../../src/server/capabilities.ts';
import {
  bumpSpec,
  bumpWithUpdateMany,
  bumpedShapeFilter,
  bumpedUser,
  createUsers,
  nestSpec,
  nestSpecsSplit,
  nestWithUpdateMany,
  nestedShapeFilter,
  nestedUser,
  restoreSlice,
  slice,
  type FlatUser,
  type Slice,
} from '../data.ts';
import { timed, workMicros, type TrafficMeter, type Traffic } from '../meter.ts';
import { caseResult, type CaseResult, type Group, type SampleInfo } from '../report.ts';

/** The batch sizes `reshape_fn*` run with: the default first, then the others of 100, 1000, 10,000. */
export const BATCH_SIZES = [DEFAULT_BATCH_SIZE, ...[100, 1000, 10_000].filter((size) => size !== DEFAULT_BATCH_SIZE)];
/** naive, fn per batch size, driver only, decl, decl split, updateMany. */
export const RESHAPE_CASES = 1 + BATCH_SIZES.length + 4;
export const BUMP_CASES = 4;

export interface UpdateEnv {
  /** The bench database on the plain client (timed runs) and on the monitored one (counted run). */
  db: Db;
  meter: TrafficMeter;
  server: ServerInfo;
  /** The users collection's name; it holds exactly the documents of `range`. */
  collection: string;
  range: Slice;
  sample: SampleInfo;
  runs: number;
  /** This process's CPU per ms of wall while idle (meter.ts): taken off each timed run's CPU. */
  idleMicrosPerMs: number;
  progress: (line: string) => void;
}

interface UpdateCase {
  key: string;
  label: string;
  note: string | null;
  /** The documents the case changes, when not all of env.range. */
  range?: Slice;
  /** Timed runs only (no counted run). */
  timedOnly?: boolean;
  /** Untimed, right before each run (counted or timed): what the run sends, built in advance. */
  prepare?: (users: Collection<FlatUser>, now: Date) => Promise<unknown>;
  run: (users: Collection<FlatUser>, now: Date, prepared?: unknown) => Promise<void>;
}

/** How the helper would run a call (its own dry-run answer): 'server-side updateMany' or 'in batches of N'. */
async function helperPlan(env: UpdateEnv, call: () => Promise<unknown>): Promise<string> {
  const plans: HelperPlan[] = [];
  await runWithHelperContext({ db: env.db, server: env.server, dryRun: true, onPlan: (plan) => plans.push(plan) }, call);
  return plans.map((plan) => plan.note ?? 'no plan').join(' + ');
}

async function checkShape(users: Collection<FlatUser>, shape: Filter<Document>, documents: number, key: string): Promise<void> {
  const good = await (users as unknown as Collection).countDocuments(shape);
  if (good !== documents) throw new Error(`${key}: ${good} of the ${documents} documents have the new shape afterwards`);
}

/** The counted run of every case, then the timed runs, interleaved. */
async function measure(group: Group, env: UpdateEnv, cases: UpdateCase[], shape: (range: Slice, now: Date) => Filter<Document>): Promise<Record<string, CaseResult>> {
  const plain = env.db.collection<FlatUser>(env.collection);
  const counted = env.meter.client.db(env.db.databaseName).collection<FlatUser>(env.collection);
  const rangeOf = (c: UpdateCase): Slice => c.range ?? env.range;
  const documentsOf = (c: UpdateCase): number => rangeOf(c).to - rangeOf(c).from;
  const traffic = new Map<string, Traffic>();
  for (const c of cases.filter((k) => k.timedOnly !== true)) {
    await restoreSlice(plain, env.range);
    const now = new Date();
    const prepared = await c.prepare?.(plain, now);
    traffic.set(c.key, await env.meter.count(() => c.run(counted, now, prepared)));
    await checkShape(plain, shape(rangeOf(c), now), documentsOf(c), c.key);
    env.progress(`[${group} counted] ${c.label}: ${traffic.get(c.key)?.commands ?? '?'} commands`);
  }
  const rates = new Map<string, number[]>(cases.map((c) => [c.key, []]));
  const cpu = new Map<string, number[]>(cases.map((c) => [c.key, []]));
  for (let run = 1; run <= env.runs; run++) {
    for (const c of cases) {
      await restoreSlice(plain, env.range);
      const now = new Date();
      const documents = documentsOf(c);
      const prepared = await c.prepare?.(plain, now);
      const measured = await timed(() => c.run(plain, now, prepared));
      await checkShape(plain, shape(rangeOf(c), now), documents, c.key);
      const rate = documents / (measured.ms / 1000);
      const perDoc = workMicros(measured, env.idleMicrosPerMs) / documents;
      rates.get(c.key)?.push(rate);
      cpu.get(c.key)?.push(perDoc);
      env.progress(`[${group} ${run}/${env.runs}] ${c.label}: ${documents} docs in ${(measured.ms / 1000).toFixed(2)} s (${rate.toFixed(1)} docs/s, CPU ${perDoc.toFixed(0)} µs/doc)`);
    }
  }
  await restoreSlice(plain, env.range);
  return Object.fromEntries(
    cases.map((c) => {
      const sample = c.range === undefined ? env.sample : { ...env.sample, documents: documentsOf(c), reason: `the first half of the ${env.sample.documents}` };
      return [c.key, caseResult(group, c.label, 'docs/s', rates.get(c.key) ?? [], { sample, traffic: traffic.get(c.key) ?? null, cpuMicrosPerDoc: cpu.get(c.key) ?? null, note: c.note })];
    }),
  );
}

/**
 * The declarative reshape's commands on a tenth of the documents, counted once: how its commands
 * grow with the collection (server-side: not at all). Its one run is the monitored one.
 */
async function tenthCases(env: UpdateEnv, specs: { key: string; label: string; run: (users: Collection<FlatUser>, filter: Filter<FlatUser>, now: Date) => Promise<void> }[]): Promise<Record<string, CaseResult>> {
  const documents = Math.max(1, Math.floor((env.range.to - env.range.from) / 10));
  const name = `${env.collection}_tenth`;
  const plain = env.db.collection<FlatUser>(name);
  await createUsers(plain, documents);
  const range = slice(0, documents);
  const counted = env.meter.client.db(env.db.databaseName).collection<FlatUser>(name);
  const results: Record<string, CaseResult> = {};
  try {
    for (const spec of specs) {
      await restoreSlice(plain, range);
      const now = new Date();
      let ms = 0;
      const traffic = await env.meter.count(async () => (ms = (await timed(() => spec.run(counted, range.filter, now))).ms));
      await checkShape(plain, nestedShapeFilter(range.rawFilter, now), documents, spec.key);
      env.progress(`[reshape counted] ${spec.label}: ${traffic.commands} commands`);
      const sample = { documents, of: documents, reason: `a tenth of the ${env.range.to - env.range.from} documents of ${spec.key.replace(/_tenth$/, '')}` };
      results[spec.key] = caseResult('reshape', spec.label, 'docs/s', [documents / (ms / 1000)], { sample, traffic, note: 'commands only: its one run is the monitored one' });
    }
  } finally {
    await plain.drop().catch(() => false);
  }
  return results;
}

/**
 * `extra.marginalCpuMicrosPerDoc` of a case measured at two sizes: the client CPU one more document
 * adds, (all - half) / (documents - half documents) from the medians, free of what a call costs
 * once (its count, the end of the walk, first use), which a large run on any server amortises.
 */
function addMarginalCpu(all: CaseResult | undefined, half: CaseResult | undefined): void {
  if (all?.cpuMicrosPerDoc == null || half?.cpuMicrosPerDoc == null || all.sample === null || half.sample === null) return;
  const extra = all.sample.documents - half.sample.documents;
  if (extra <= 0) return;
  const marginal = (all.cpuMicrosPerDoc * all.sample.documents - half.cpuMicrosPerDoc * half.sample.documents) / extra;
  all.extra = { ...all.extra, marginalCpuMicrosPerDoc: Math.max(0, marginal) };
}

/** One page as reshape reads it (after the last `_id` of the one before) and the updates reshape sends for it. */
interface PreparedPage {
  after: unknown;
  writes: AnyBulkWriteOperation[];
}

/**
 * reshape_fn's reads and writes, built before the run with the helper's own functions (pages of
 * the default batch size, the conditional diff of each document): a run that only sends them
 * costs the client what the driver costs for reshape's commands.
 */
async function preparedPages(users: Collection, filter: Filter<Document>, now: Date): Promise<PreparedPage[]> {
  const raw = (await users.find(filter, { sort: { _id: 1 }, raw: true }).toArray()) as unknown as Uint8Array[];
  const pages: PreparedPage[] = [];
  let after: unknown;
  for (let start = 0; start < raw.length; start += DEFAULT_BATCH_SIZE) {
    const read = page(raw.slice(start, start + DEFAULT_BATCH_SIZE));
    const writes: AnyBulkWriteOperation[] = [];
    for (const [index, doc] of read.docs.entries()) {
      const stored = read.stored[index];
      const bytes = read.raw[index];
      if (stored === undefined || bytes === undefined) continue;
      const write = plannedWrite(doc, stored, bytes, nestedUser(doc as WithId<FlatUser>, now), 'reshape(users)');
      if (write !== undefined) writes.push(write.operation);
    }
    pages.push({ after, writes });
    after = read.docs.at(-1)?._id;
  }
  return pages;
}

/** Group 1: flat -> nested (reference pattern 2, done in place). */
export async function reshapeGroup(env: UpdateEnv): Promise<Record<string, CaseResult>> {
  const { range } = env;
  const planned = env.db.collection<FlatUser>(env.collection);
  const declPlan = await helperPlan(env, () => reshape(planned, { filter: range.filter, transform: nestSpec(new Date()) }));
  const splitPlans = await Promise.all(nestSpecsSplit(new Date()).map((spec) => helperPlan(env, () => reshape(planned, { filter: range.filter, transform: spec }))));
  const fnCase = (batchSize: number): UpdateCase => ({
    key: batchSize === DEFAULT_BATCH_SIZE ? 'reshape_fn' : `reshape_fn_b${batchSize}`,
    label: `reshape, transform fn, batch ${batchSize}${batchSize === DEFAULT_BATCH_SIZE ? ' (default)' : ''}`,
    note: null,
    run: async (users, now) => {
      await reshape(users, { filter: range.filter, transform: (doc) => nestedUser(doc, now), ...(batchSize === DEFAULT_BATCH_SIZE ? {} : { batchSize }) });
    },
  });
  const decl = (users: Collection<FlatUser>, filter: Filter<FlatUser>, now: Date): Promise<unknown> => reshape(users, { filter, transform: nestSpec(now) });
  const split = async (users: Collection<FlatUser>, filter: Filter<FlatUser>, now: Date): Promise<void> => {
    for (const spec of nestSpecsSplit(now)) await reshape(users, { filter, transform: spec });
  };
  const cases: UpdateCase[] = [
    {
      key: 'reshape_naive',
      label: 'naive: cursor + awaited replaceOne per doc',
      note: null,
      run: async (users, now) => {
        const raw = users as unknown as Collection;
        for await (const doc of users.find(range.filter)) await raw.replaceOne({ _id: doc._id }, nestedUser(doc, now));
      },
    },
    ...BATCH_SIZES.map(fnCase),
    {
      // the driver's share of reshape_fn: the same pages read and the same conditional updates sent, with nothing built in the run
      key: 'reshape_driver',
      label: "driver only: reshape's page reads and its updates, built in advance",
      note: 'keyset find (raw) per 1000 + bulkWrite of the prepared statements',
      prepare: (users, now) => preparedPages(users as unknown as Collection, range.rawFilter, now),
      run: async (users, _now, prepared) => {
        const raw = users as unknown as Collection;
        const perCommand = Math.max(1, env.server.maxUpdatesPerCommand);
        for (const { after, writes } of prepared as PreparedPage[]) {
          const query: Filter<Document> = after === undefined ? range.rawFilter : { $and: [range.rawFilter, { _id: { $gt: after } } as Filter<Document>] };
          await raw.find(query, { sort: { _id: 1 }, limit: DEFAULT_BATCH_SIZE, batchSize: DEFAULT_BATCH_SIZE, raw: true }).toArray();
          for (let start = 0; start < writes.length; start += perCommand) await raw.bulkWrite(writes.slice(start, start + perCommand), { ordered: false, ...WRITE_OPTIONS });
        }
      },
    },
    { key: 'reshape_decl', label: 'reshape, one declarative spec', note: declPlan, run: async (users, now) => {
        await decl(users, range.filter, now);
      } },
    { key: 'reshape_decl_split', label: 'reshape, two specs (defaults, then move)', note: splitPlans.join('; '), run: (users, now) => split(users, range.filter, now) },
    {
      key: 'reshape_updatemany',
      label: 'hand-written updateMany (3 defaults + 1)',
      note: 'server-side',
      run: (users, now) => nestWithUpdateMany(users as unknown as Collection, range.rawFilter, now),
    },
  ];
  // the same as reshape_fn on half the documents: with it, the CPU a document adds, without the per-call part
  const half = slice(range.from, Math.max(1, Math.floor((range.to - range.from) / 2)));
  cases.push({ ...fnCase(DEFAULT_BATCH_SIZE), key: 'reshape_fn_half', label: 'reshape, transform fn, batch 1000, half the documents (timed only)', range: half, timedOnly: true, run: async (users, now) => {
    await reshape(users, { filter: half.filter, transform: (doc) => nestedUser(doc, now) });
  } });
  const measured = await measure('reshape', env, cases, (part, now) => nestedShapeFilter(part.rawFilter, now));
  addMarginalCpu(measured.reshape_fn, measured.reshape_fn_half);
  const tenths = await tenthCases(env, [
    { key: 'reshape_decl_tenth', label: 'reshape, one declarative spec, a tenth of the documents', run: async (users, filter, now) => {
        await decl(users, filter, now);
      } },
    { key: 'reshape_decl_split_tenth', label: 'reshape, two specs, a tenth of the documents', run: split },
  ]);
  return { ...measured, ...tenths };
}

/** Group 2: schema_version 1 -> 2 (reference pattern 1). */
export async function bumpGroup(env: UpdateEnv): Promise<Record<string, CaseResult>> {
  const { range } = env;
  const planned = env.db.collection<FlatUser>(env.collection);
  const spec: ReshapeSpec = bumpSpec(new Date());
  const specPlan = await helperPlan(env, () => bumpSchemaVersion(planned, { to: 2, filter: range.filter, transform: spec }));
  const fnPlan = await helperPlan(env, () => bumpSchemaVersion(planned, { to: 2, filter: range.filter, transform: (doc) => bumpedUser(doc, new Date()) }));
  const cases: UpdateCase[] = [
    {
      key: 'bump_naive',
      label: 'naive: cursor + awaited replaceOne per doc',
      note: null,
      run: async (users, now) => {
        const raw = users as unknown as Collection;
        for await (const doc of users.find({ $and: [range.filter, { schema_version: { $ne: 2 } }] })) await raw.replaceOne({ _id: doc._id }, bumpedUser(doc, now));
      },
    },
    {
      key: 'bump_fn',
      label: 'bumpSchemaVersion, transform fn',
      note: fnPlan,
      run: async (users, now) => {
        await bumpSchemaVersion(users, { to: 2, filter: range.filter, transform: (doc) => bumpedUser(doc, now) });
      },
    },
    {
      key: 'bump_spec',
      label: 'bumpSchemaVersion, declarative spec',
      note: specPlan,
      run: async (users, now) => {
        await bumpSchemaVersion(users, { to: 2, filter: range.filter, transform: bumpSpec(now) });
      },
    },
    {
      key: 'bump_updatemany',
      label: 'hand-written updateMany (2 defaults + 1)',
      note: 'server-side',
      run: (users, now) => bumpWithUpdateMany(users as unknown as Collection, range.rawFilter, now),
    },
  ];
  return measure('bump', env, cases, (part, now) => bumpedShapeFilter(part.rawFilter, now));
}
