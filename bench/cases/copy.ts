// Group 3: copy-and-rename of the users into the nested shape (reference pattern 2 as the tutorial
// does it): a cursor and one insertOne per document into a new collection, then drop and rename,
// against `copyAndRename`. One monitored run of each (commands, bytes), then the timed runs,
// interleaved; each starts from a freshly inserted source.
import type { Db } from 'mongodb';
import { copyAndRename } from '../../src/helpers/index.ts';
import type { ServerInfo } from '../../src/server/capabilities.ts';
import { createUsers, nestedShapeFilter, nestedUser, type FlatUser } from '../data.ts';
import { timed, workMicros, type Traffic, type TrafficMeter } from '../meter.ts';
import { caseResult, type CaseResult, type SampleInfo } from '../report.ts';

const SOURCE = 'copy_users';
const NAIVE_TARGET = 'copy_users_new';

export interface CopyEnv {
  db: Db;
  meter: TrafficMeter;
  server: ServerInfo;
  n: number;
  sample: SampleInfo;
  runs: number;
  /** This process's CPU per ms of wall while idle: taken off each timed run's CPU. */
  idleMicrosPerMs: number;
  progress: (line: string) => void;
}

export async function copyGroup(env: CopyEnv): Promise<Record<string, CaseResult>> {
  const { n } = env;
  const allowBriefGap = !env.server.supports('renameDropTarget');
  const gapNote = allowBriefGap ? `allowBriefGap: true (${env.server.describe()} has no renameCollection dropTarget)` : 'atomic rename (dropTarget)';
  const cases: { key: string; label: string; note: string; run: (db: Db, now: Date) => Promise<void> }[] = [
    {
      key: 'copy_naive',
      label: 'naive: cursor + insertOne per doc, drop, rename',
      note: 'drops the source before the rename, as the tutorial does',
      run: async (db, now) => {
        const target = db.collection(NAIVE_TARGET);
        for await (const doc of db.collection<FlatUser>(SOURCE).find()) await target.insertOne(nestedUser(doc, now));
        await target.createIndex({ seq: 1 }, { name: 'seq_1' }, undefined);
        await db.collection(SOURCE).drop();
        await db.renameCollection(NAIVE_TARGET, SOURCE);
      },
    },
    {
      key: 'copy_helper',
      label: 'copyAndRename, transform fn',
      note: gapNote,
      run: async (db, now) => {
        await copyAndRename(db.collection<FlatUser>(SOURCE), { transform: (doc) => nestedUser(doc, now), allowBriefGap });
      },
    },
  ];
  const plain = env.db;
  const counted = env.meter.client.db(plain.databaseName);
  const prepare = async (): Promise<Date> => {
    await plain.collection(NAIVE_TARGET).drop().catch(() => false);
    await createUsers(plain.collection<FlatUser>(SOURCE), n);
    return new Date();
  };
  const check = async (key: string, now: Date): Promise<void> => {
    const good = await plain.collection(SOURCE).countDocuments(nestedShapeFilter({}, now));
    if (good !== n) throw new Error(`${key}: ${good} of the ${n} documents of '${SOURCE}' have the new shape afterwards`);
  };
  const traffic = new Map<string, Traffic>();
  for (const c of cases) {
    const now = await prepare();
    traffic.set(c.key, await env.meter.count(() => c.run(counted, now)));
    await check(c.key, now);
    env.progress(`[copy counted] ${c.label}: ${traffic.get(c.key)?.commands ?? '?'} commands`);
  }
  const rates = new Map<string, number[]>(cases.map((c) => [c.key, []]));
  const cpu = new Map<string, number[]>(cases.map((c) => [c.key, []]));
  for (let run = 1; run <= env.runs; run++) {
    for (const c of cases) {
      const now = await prepare();
      const measured = await timed(() => c.run(plain, now));
      await check(c.key, now);
      const perDoc = workMicros(measured, env.idleMicrosPerMs) / n;
      rates.get(c.key)?.push(n / (measured.ms / 1000));
      cpu.get(c.key)?.push(perDoc);
      env.progress(`[copy ${run}/${env.runs}] ${c.label}: ${n} docs in ${(measured.ms / 1000).toFixed(2)} s (CPU ${perDoc.toFixed(0)} µs/doc)`);
    }
  }
  await plain.collection(SOURCE).drop().catch(() => false);
  return Object.fromEntries(
    cases.map((c) => [c.key, caseResult('copy', c.label, 'docs/s', rates.get(c.key) ?? [], { sample: env.sample, traffic: traffic.get(c.key) ?? null, cpuMicrosPerDoc: cpu.get(c.key) ?? null, note: c.note })]),
  );
}
