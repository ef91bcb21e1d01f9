// Groups 1 and 2: in-place changes of the same slice of `users` (flat -> nested, and the schema
// version bump), each way side by side. Every repetition starts from the original v1 documents
// (the slice is deleted and re-inserted, untimed) and ends with a check that every document of
// the slice has the new shape, so no case can be fast by doing nothing.
import { performance } from 'node:perf_hooks';
import type { Collection, Db, Document, Filter } from 'mongodb';
import { DEFAULT_BATCH_SIZE, bumpSchemaVersion, reshape, runWithHelperContext, type HelperPlan, type ReshapeSpec } from '../../src/helpers/index.ts';
import type { ServerInfo } from '../../src/server/capabilities.ts';
import {
  bumpSpec,
  bumpWithUpdateMany,
  bumpedShapeFilter,
  bumpedUser,
  nestSpec,
  nestSpecsSplit,
  nestWithUpdateMany,
  nestedShapeFilter,
  nestedUser,
  restoreSlice,
  type FlatUser,
  type Slice,
} from '../data.ts';
import { caseResult, type CaseResult, type Group, type SampleInfo } from '../report.ts';

/** The batch sizes `reshape_fn*` run with: the default first, then the others of 100, 1000, 10,000. */
export const BATCH_SIZES = [DEFAULT_BATCH_SIZE, ...[100, 1000, 10_000].filter((size) => size !== DEFAULT_BATCH_SIZE)];
/** naive, fn per batch size, decl, decl split, updateMany. */
export const RESHAPE_CASES = 1 + BATCH_SIZES.length + 3;
export const BUMP_CASES = 4;

export interface UpdateEnv {
  db: Db;
  server: ServerInfo;
  users: Collection<FlatUser>;
  range: Slice;
  sample: SampleInfo;
  runs: number;
  progress: (line: string) => void;
}

interface UpdateCase {
  key: string;
  label: string;
  note: string | null;
  run: (now: Date) => Promise<void>;
}

/** How the helper would run a call (its own dry-run answer): 'server-side updateMany' or 'in batches of N'. */
async function helperPlan(env: UpdateEnv, call: () => Promise<unknown>): Promise<string> {
  const plans: HelperPlan[] = [];
  await runWithHelperContext({ db: env.db, server: env.server, dryRun: true, onPlan: (plan) => plans.push(plan) }, call);
  return plans.map((plan) => plan.note ?? 'no plan').join(' + ');
}

/** Runs every case `runs` times, interleaved (run 1 of each case, then run 2, ...) so drift hits all alike. */
async function measure(group: Group, env: UpdateEnv, cases: UpdateCase[], shape: (now: Date) => Filter<Document>): Promise<Record<string, CaseResult>> {
  const raw = env.users as unknown as Collection;
  const values = new Map<string, number[]>(cases.map((c) => [c.key, []]));
  const documents = env.range.to - env.range.from;
  for (let run = 1; run <= env.runs; run++) {
    for (const c of cases) {
      await restoreSlice(env.users, env.range);
      const now = new Date();
      const started = performance.now();
      await c.run(now);
      const seconds = (performance.now() - started) / 1000;
      const good = await raw.countDocuments(shape(now));
      if (good !== documents) throw new Error(`${c.key}: ${good} of the ${documents} documents have the new shape afterwards`);
      const rate = documents / seconds;
      values.get(c.key)?.push(rate);
      env.progress(`[${group} ${run}/${env.runs}] ${c.label}: ${documents} docs in ${seconds.toFixed(2)} s (${rate.toFixed(1)} docs/s)`);
    }
  }
  await restoreSlice(env.users, env.range);
  return Object.fromEntries(cases.map((c) => [c.key, caseResult(group, c.label, 'docs/s', values.get(c.key) ?? [], { sample: env.sample, note: c.note })]));
}

/** Group 1: flat -> nested (reference pattern 2, done in place). */
export async function reshapeGroup(env: UpdateEnv): Promise<Record<string, CaseResult>> {
  const { users, range } = env;
  const raw = users as unknown as Collection;
  const declPlan = await helperPlan(env, () => reshape(users, { filter: range.filter, transform: nestSpec(new Date()) }));
  const splitPlans = await Promise.all(nestSpecsSplit(new Date()).map((spec) => helperPlan(env, () => reshape(users, { filter: range.filter, transform: spec }))));
  const fnCase = (batchSize: number): UpdateCase => ({
    key: batchSize === DEFAULT_BATCH_SIZE ? 'reshape_fn' : `reshape_fn_b${batchSize}`,
    label: `reshape, transform fn, batch ${batchSize}${batchSize === DEFAULT_BATCH_SIZE ? ' (default)' : ''}`,
    note: null,
    run: async (now) => {
      await reshape(users, { filter: range.filter, transform: (doc) => nestedUser(doc, now), ...(batchSize === DEFAULT_BATCH_SIZE ? {} : { batchSize }) });
    },
  });
  const cases: UpdateCase[] = [
    {
      key: 'reshape_naive',
      label: 'naive: cursor + awaited replaceOne per doc',
      note: null,
      run: async (now) => {
        for await (const doc of users.find(range.filter)) await raw.replaceOne({ _id: doc._id }, nestedUser(doc, now));
      },
    },
    ...BATCH_SIZES.map(fnCase),
    {
      key: 'reshape_decl',
      label: 'reshape, one declarative spec',
      note: declPlan,
      run: async (now) => {
        await reshape(users, { filter: range.filter, transform: nestSpec(now) });
      },
    },
    {
      key: 'reshape_decl_split',
      label: 'reshape, two specs (defaults, then move)',
      note: splitPlans.join('; '),
      run: async (now) => {
        for (const spec of nestSpecsSplit(now)) await reshape(users, { filter: range.filter, transform: spec });
      },
    },
    {
      key: 'reshape_updatemany',
      label: 'hand-written updateMany (3 defaults + 1)',
      note: 'server-side',
      run: (now) => nestWithUpdateMany(raw, range.rawFilter, now),
    },
  ];
  return measure('reshape', env, cases, (now) => nestedShapeFilter(range.rawFilter, now));
}

/** Group 2: schema_version 1 -> 2 (reference pattern 1). */
export async function bumpGroup(env: UpdateEnv): Promise<Record<string, CaseResult>> {
  const { users, range } = env;
  const raw = users as unknown as Collection;
  const spec: ReshapeSpec = bumpSpec(new Date());
  const specPlan = await helperPlan(env, () => bumpSchemaVersion(users, { to: 2, filter: range.filter, transform: spec }));
  const fnPlan = await helperPlan(env, () => bumpSchemaVersion(users, { to: 2, filter: range.filter, transform: (doc) => bumpedUser(doc, new Date()) }));
  const cases: UpdateCase[] = [
    {
      key: 'bump_naive',
      label: 'naive: cursor + awaited replaceOne per doc',
      note: null,
      run: async (now) => {
        for await (const doc of users.find({ $and: [range.filter, { schema_version: { $ne: 2 } }] })) {
          await raw.replaceOne({ _id: doc._id }, bumpedUser(doc, now));
        }
      },
    },
    {
      key: 'bump_fn',
      label: 'bumpSchemaVersion, transform fn',
      note: fnPlan,
      run: async (now) => {
        await bumpSchemaVersion(users, { to: 2, filter: range.filter, transform: (doc) => bumpedUser(doc, now) });
      },
    },
    {
      key: 'bump_spec',
      label: 'bumpSchemaVersion, declarative spec',
      note: specPlan,
      run: async (now) => {
        await bumpSchemaVersion(users, { to: 2, filter: range.filter, transform: bumpSpec(now) });
      },
    },
    {
      key: 'bump_updatemany',
      label: 'hand-written updateMany (2 defaults + 1)',
      note: 'server-side',
      run: (now) => bumpWithUpdateMany(raw, range.rawFilter, now),
    },
  ];
  return measure('bump', env, cases, (now) => bumpedShapeFilter(range.rawFilter, now));
}
