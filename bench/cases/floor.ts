// The floor of a client-side transform: the update cases' documents decoded, transformed and
// encoded in this process, with no server and no driver. What reshape, bumpSchemaVersion and
// copyAndRename spend per document on the client cannot go below this. Client CPU per document
// (process.cpuUsage), over enough passes for at least MIN_CPU_MS a measurement.
import { BSON, type Document, type WithId } from 'mongodb';
import { bumpedUser, flatUser, nestedUser, type FlatUser } from '../data.ts';
import { caseResult, type CaseResult, type SampleInfo } from '../report.ts';

const MIN_CPU_MS = 50;

export interface FloorEnv {
  /** seq of the first document and how many: the update cases' documents. */
  from: number;
  sample: SampleInfo;
  runs: number;
  progress: (line: string) => void;
}

/** CPU microseconds per document of one decode -> transform -> encode over every document. */
function perDocument(raw: Uint8Array[], transform: (doc: WithId<FlatUser>) => Document): number {
  let passes = 0;
  let micros = 0;
  const started = process.cpuUsage();
  while (micros < MIN_CPU_MS * 1000 || passes === 0) {
    for (const bytes of raw) BSON.serialize(transform(BSON.deserialize(bytes) as WithId<FlatUser>));
    passes += 1;
    const used = process.cpuUsage(started);
    micros = used.user + used.system;
  }
  return micros / (passes * raw.length);
}

export function floorGroup(env: FloorEnv): Record<string, CaseResult> {
  const raw = Array.from({ length: env.sample.documents }, (_, i) => BSON.serialize(flatUser(env.from + i)));
  const now = new Date();
  const floors: { key: string; label: string; transform: (doc: WithId<FlatUser>) => Document }[] = [
    { key: 'floor_nest', label: 'floor: decode, flat -> nested, encode (no server)', transform: (doc) => nestedUser(doc, now) },
    { key: 'floor_bump', label: 'floor: decode, schema bump, encode (no server)', transform: (doc) => bumpedUser(doc, now) },
  ];
  const results: Record<string, CaseResult> = {};
  for (const floor of floors) perDocument(raw, floor.transform); // warm-up: JIT both
  const values = new Map<string, number[]>(floors.map((f) => [f.key, []]));
  for (let run = 1; run <= env.runs; run++) {
    for (const floor of floors) {
      const micros = perDocument(raw, floor.transform);
      values.get(floor.key)?.push(micros);
      env.progress(`[floor ${run}/${env.runs}] ${floor.label}: ${micros.toFixed(1)} µs/doc`);
    }
  }
  for (const floor of floors) {
    const v = values.get(floor.key) ?? [];
    results[floor.key] = caseResult('floor', floor.label, 'µs/doc', v, { sample: env.sample, cpuMicrosPerDoc: v, note: `client CPU, at least ${MIN_CPU_MS} ms of it per run` });
  }
  return results;
}
