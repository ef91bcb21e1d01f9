// The floor of a client-side transform: the update cases' documents decoded, transformed and
// encoded in this process, with no server and no driver. What reshape, bumpSchemaVersion and
// copyAndRename spend per document on the client cannot go below this. Beside it, reshape's own
// per-document work on the same documents, still with no server: what of reshape's CPU is the
// helper's algorithm and what the driver's round trips. Client CPU per document
// (process.cpuUsage), over enough passes for at least MIN_CPU_MS a measurement.
import { BSON, type Document, type WithId } from 'mongodb';
import { DEFAULT_BATCH_SIZE, page } from '../../src/helpers/batches.ts';
import { plannedWrite } from '../../src/helpers/page-writes.ts';
import { bumpedUser, flatUser, nestedUser, type FlatUser } from '../data.ts';
import { caseResult, type CaseResult, type SampleInfo } from '../report.ts';

const MIN_CPU_MS = 300;

export interface FloorEnv {
  /** seq of the first document and how many: the update cases' documents. */
  from: number;
  sample: SampleInfo;
  runs: number;
  progress: (line: string) => void;
}

/** One decode -> transform -> encode of every document: the floor. */
function decodeTransformEncode(raw: Uint8Array[], transform: (doc: WithId<FlatUser>) => Document): void {
  for (const bytes of raw) BSON.serialize(transform(BSON.deserialize(bytes) as WithId<FlatUser>));
}

/**
 * reshape's own client work on every document, with the helpers' code and no server: each page
 * (of the default batch size) decoded as they decode it (once: the stored values and the transform's copy of them), the
 * transform, the conditional diff write planned, and its update statement encoded as the driver
 * encodes it.
 */
function reshapeWork(raw: Uint8Array[], transform: (doc: WithId<FlatUser>) => Document): void {
  // a page at a time, as reshape holds them (a whole sample decoded at once would hold 10x more)
  for (let start = 0; start < raw.length; start += DEFAULT_BATCH_SIZE) {
    const documents = page(raw.slice(start, start + DEFAULT_BATCH_SIZE));
    for (const [index, doc] of documents.docs.entries()) {
      const bytes = documents.raw[index];
      const stored = documents.stored[index];
      if (bytes === undefined || stored === undefined) continue;
      const write = plannedWrite(doc, stored, bytes, transform(doc as WithId<FlatUser>), 'reshape(users)');
      if (write !== undefined && 'updateOne' in write.operation) {
        const { filter, update } = write.operation.updateOne;
        BSON.serialize({ q: filter, u: update, upsert: false, multi: false });
      }
    }
  }
}

/** CPU microseconds per document of `pass` over every document. */
function perDocument(raw: Uint8Array[], transform: (doc: WithId<FlatUser>) => Document, pass = decodeTransformEncode): number {
  let passes = 0;
  let micros = 0;
  const started = process.cpuUsage();
  while (micros < MIN_CPU_MS * 1000 || passes === 0) {
    pass(raw, transform);
    passes += 1;
    const used = process.cpuUsage(started);
    micros = used.user + used.system;
  }
  return micros / (passes * raw.length);
}

export function floorGroup(env: FloorEnv): Record<string, CaseResult> {
  const raw = Array.from({ length: env.sample.documents }, (_, i) => BSON.serialize(flatUser(env.from + i)));
  const now = new Date();
  const floors: { key: string; label: string; transform: (doc: WithId<FlatUser>) => Document; pass?: typeof reshapeWork }[] = [
    { key: 'floor_nest', label: 'floor: decode, flat -> nested, encode (no server)', transform: (doc) => nestedUser(doc, now) },
    { key: 'floor_bump', label: 'floor: decode, schema bump, encode (no server)', transform: (doc) => bumpedUser(doc, now) },
    { key: 'reshape_work', label: "reshape's own work, flat -> nested: pages decoded, diff planned and encoded (no server)", transform: (doc) => nestedUser(doc, now), pass: reshapeWork },
  ];
  const results: Record<string, CaseResult> = {};
  for (const floor of floors) perDocument(raw, floor.transform, floor.pass); // warm-up: JIT every pass
  const values = new Map<string, number[]>(floors.map((f) => [f.key, []]));
  for (let run = 1; run <= env.runs; run++) {
    for (const floor of floors) {
      const micros = perDocument(raw, floor.transform, floor.pass);
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
