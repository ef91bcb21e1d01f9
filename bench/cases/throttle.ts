// Group: the throttle (maxDocsPerSecond, DESIGN's helpers contract) side by side with the same
// reshape unthrottled. A first, untimed run finds the reshape's own rate on this server; the
// throttled case asks for half of it (so the limit, not the server, sets its pace), the "unbound"
// case for a hundred times it (a limit it never reaches must cost nothing). Batches of a tenth of
// the documents, so the pace is held over ten batches.
import type { Db } from 'mongodb';
import { createHelpers, type HelperContext } from '../../src/helpers/index.ts';
import type { ServerInfo } from '../../src/server/capabilities.ts';
import { createUsers, nestedShapeFilter, nestedUser, restoreSlice, slice, type FlatUser } from '../data.ts';
import { timed } from '../meter.ts';
import { caseResult, median, type CaseResult, type SampleInfo } from '../report.ts';

const COLLECTION = 'throttle_users';

export interface ThrottleEnv {
  db: Db;
  server: ServerInfo;
  documents: number;
  sample: SampleInfo;
  runs: number;
  progress: (line: string) => void;
}

export async function throttleGroup(env: ThrottleEnv): Promise<Record<string, CaseResult>> {
  const { db, documents } = env;
  const users = db.collection<FlatUser>(COLLECTION);
  await createUsers(users, documents);
  const range = slice(0, documents);
  const batchSize = Math.max(1, Math.round(documents / 10));
  let waited = 0;
  const ctx: HelperContext = { db, server: env.server, dryRun: false, log: (line) => (waited = Number(/waited ([\d.]+) s/.exec(line)?.[1] ?? 0) * 1000) };
  const helpers = createHelpers(ctx);
  const runOnce = async (limit: number | undefined): Promise<{ rate: number; waitedMs: number }> => {
    await restoreSlice(users, range);
    const now = new Date();
    waited = 0;
    const { ms } = await timed(() => helpers.reshape(users, { filter: range.filter, transform: (doc) => nestedUser(doc, now), batchSize, ...(limit === undefined ? {} : { maxDocsPerSecond: limit }) }));
    const good = await db.collection(COLLECTION).countDocuments(nestedShapeFilter(range.rawFilter, now));
    if (good !== documents) throw new Error(`throttle: ${good} of the ${documents} documents have the new shape afterwards`);
    return { rate: documents / (ms / 1000), waitedMs: waited };
  };
  try {
    const natural = (await runOnce(undefined)).rate;
    const cases = [
      { key: 'throttle_off', label: `reshape, batch ${batchSize}, no limit`, limit: undefined },
      { key: 'throttle_on', label: `reshape, batch ${batchSize}, maxDocsPerSecond ${natural / 2 >= 10 ? Math.round(natural / 2) : (natural / 2).toFixed(1)} (half its own rate)`, limit: natural / 2 },
      { key: 'throttle_unbound', label: `reshape, batch ${batchSize}, maxDocsPerSecond ${Math.round(natural * 100)} (100 x its own rate)`, limit: natural * 100 },
    ];
    env.progress(`[throttle] unthrottled rate here: ${natural.toFixed(1)} docs/s; throttled to ${(natural / 2).toFixed(1)}`);
    const rates = new Map<string, number[]>(cases.map((c) => [c.key, []]));
    const waits = new Map<string, number[]>(cases.map((c) => [c.key, []]));
    for (let run = 1; run <= env.runs; run++) {
      for (const c of cases) {
        const { rate, waitedMs } = await runOnce(c.limit);
        rates.get(c.key)?.push(rate);
        waits.get(c.key)?.push(waitedMs);
        env.progress(`[throttle ${run}/${env.runs}] ${c.label}: ${rate.toFixed(1)} docs/s, waited ${waitedMs.toFixed(0)} ms`);
      }
    }
    return Object.fromEntries(
      cases.map((c) => {
        const extra = { ...(c.limit === undefined ? {} : { limitDocsPerSecond: c.limit }), waitedMs: median(waits.get(c.key) ?? [0]), unthrottledDocsPerSecond: natural };
        return [c.key, caseResult('throttle', c.label, 'docs/s', rates.get(c.key) ?? [], { sample: env.sample, extra, note: c.limit === undefined ? null : `waited ${(extra.waitedMs / 1000).toFixed(1)} s per run (median)` })];
      }),
    );
  } finally {
    await users.drop().catch(() => false);
  }
}
