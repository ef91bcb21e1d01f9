// Group 3: copy-and-rename of all N users into the nested shape (reference pattern 2 as the
// tutorial does it): a cursor and one insertOne per document into a new collection, then drop
// and rename, against `copyAndRename`. Each repetition starts from a freshly inserted source.
import { performance } from 'node:perf_hooks';
import type { Db } from 'mongodb';
import { copyAndRename } from '../../src/helpers/index.ts';
import type { ServerInfo } from '../../src/server/capabilities.ts';
import { createUsers, nestedShapeFilter, nestedUser, type FlatUser } from '../data.ts';
import { caseResult, type CaseResult } from '../report.ts';

const SOURCE = 'copy_users';
const NAIVE_TARGET = 'copy_users_new';

export interface CopyEnv {
  db: Db;
  server: ServerInfo;
  n: number;
  runs: number;
  progress: (line: string) => void;
}

export async function copyGroup(env: CopyEnv): Promise<Record<string, CaseResult>> {
  const { db, n } = env;
  const source = db.collection<FlatUser>(SOURCE);
  const allowBriefGap = !env.server.supports('renameDropTarget');
  const gapNote = allowBriefGap ? `allowBriefGap: true (${env.server.describe()} has no renameCollection dropTarget)` : 'atomic rename (dropTarget)';
  const cases: { key: string; label: string; note: string; run: (now: Date) => Promise<void> }[] = [
    {
      key: 'copy_naive',
      label: 'naive: cursor + insertOne per doc, drop, rename',
      note: 'drops the source before the rename, as the tutorial does',
      run: async (now) => {
        const target = db.collection(NAIVE_TARGET);
        for await (const doc of source.find()) await target.insertOne(nestedUser(doc, now));
        await target.createIndex({ seq: 1 }, { name: 'seq_1' }, undefined);
        await source.drop();
        await db.renameCollection(NAIVE_TARGET, SOURCE);
      },
    },
    {
      key: 'copy_helper',
      label: 'copyAndRename, transform fn',
      note: gapNote,
      run: async (now) => {
        await copyAndRename(source, { transform: (doc) => nestedUser(doc, now), allowBriefGap });
      },
    },
  ];
  const values = new Map<string, number[]>(cases.map((c) => [c.key, []]));
  for (let run = 1; run <= env.runs; run++) {
    for (const c of cases) {
      await db.collection(NAIVE_TARGET).drop().catch(() => false);
      await createUsers(source, n);
      const now = new Date();
      const started = performance.now();
      await c.run(now);
      const seconds = (performance.now() - started) / 1000;
      const good = await db.collection(SOURCE).countDocuments(nestedShapeFilter({}, now));
      if (good !== n) throw new Error(`${c.key}: ${good} of the ${n} documents of '${SOURCE}' have the new shape afterwards`);
      const rate = n / seconds;
      values.get(c.key)?.push(rate);
      env.progress(`[copy ${run}/${env.runs}] ${c.label}: ${n} docs in ${seconds.toFixed(2)} s (${rate.toFixed(1)} docs/s)`);
    }
  }
  await source.drop().catch(() => false);
  const sample = { documents: n, of: n, reason: 'all documents' };
  return Object.fromEntries(cases.map((c) => [c.key, caseResult('copy', c.label, 'docs/s', values.get(c.key) ?? [], { sample, note: c.note })]));
}
