// The client CPU that writing a changed document as a diff costs, against the whole-document
// replacement it replaced. No server: for the same N documents (decoded as the helpers decode a
// page) and the same transform outcome, each way builds the write and encodes the statement as
// the driver would send it. CPU per document from process.cpuUsage() (user + system), median of
// several runs, the two ways interleaved so drift hits both alike.
//
//   node --import tsx bench/cases/diff-cpu.ts [--n <documents>] [--runs <count>]
import { BSON, type Document, type WithId } from 'mongodb';
import { page, type Page } from '../../src/helpers/batches.ts';
import { plannedWrite, replacementFor } from '../../src/helpers/page-writes.ts';
import { keepTypes, sameBytes, storedValues } from '../../src/helpers/typed.ts';
import { bumpedUser, flatUser, nestedUser, type FlatUser } from '../data.ts';
import { median, num, table } from '../report.ts';

const WHAT = 'reshape(users)';
const NOW = new Date('2024-06-01T00:00:00Z');

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  const value = at === -1 ? fallback : Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} needs a positive integer`);
  return value;
}

/** The update statement as the driver puts it in an `update` command. */
const statement = (q: Document, u: Document): Uint8Array => BSON.serialize({ q, u, upsert: false, multi: false });

/** The write as it was built before diffs: the whole document, what the transform left alone with its BSON types. */
function replacementStatement(doc: WithId<Document>, raw: Uint8Array, outcome: Document): Uint8Array | undefined {
  const stored = storedValues(raw);
  const replacement = keepTypes(replacementFor(outcome, doc, WHAT), stored).value as Document;
  const encoded = BSON.serialize(replacement);
  if (sameBytes(encoded, raw)) return undefined;
  return statement({ _id: stored._id }, replacement);
}

/** The write as the helpers build it now (the production code path), from the stored values decoded as above. */
function diffStatement(doc: WithId<Document>, raw: Uint8Array, outcome: Document): Uint8Array | undefined {
  const write = plannedWrite(doc, storedValues(raw), raw, outcome, WHAT);
  if (write === undefined || !('updateOne' in write.operation)) return undefined;
  const { filter, update } = write.operation.updateOne;
  return statement(filter, update);
}

type Build = typeof diffStatement;

/** CPU microseconds per document for one pass of build over the page, and the statement bytes. */
function pass(documents: Page, outcomes: Document[], build: Build): { micros: number; bytes: number } {
  let bytes = 0;
  const started = process.cpuUsage();
  for (const [index, doc] of documents.docs.entries()) {
    const encoded = build(doc, documents.raw[index] ?? new Uint8Array(), outcomes[index] ?? doc);
    bytes += encoded?.length ?? 0;
  }
  const used = process.cpuUsage(started);
  return { micros: (used.user + used.system) / documents.docs.length, bytes: bytes / documents.docs.length };
}

function cpuOf(fn: () => void, count: number): number {
  const started = process.cpuUsage();
  fn();
  const used = process.cpuUsage(started);
  return (used.user + used.system) / count;
}

const n = option('--n', 10_000);
const runs = option('--runs', 7);
const raw = Array.from({ length: n }, (_, seq) => BSON.serialize(flatUser(seq)));
const transforms: [string, string, (doc: WithId<FlatUser>) => Document][] = [
  ['bump', 'schema_version 1 -> 2: 3-4 fields set, 1 removed, 8-10 untouched', (doc) => bumpedUser(doc, NOW)],
  ['nest', 'flat -> nested: every field but _id, seq, email, name rewritten', (doc) => nestedUser(doc, NOW)],
];

process.stdout.write(`diff-cpu: ${n.toLocaleString('en-US')} flat users, node ${process.version}; client CPU per document (user + system), median of ${runs} runs\n\n`);
const rows: string[][] = [];
page(raw);
const decodeMicros = median(Array.from({ length: runs }, () => cpuOf(() => page(raw), n)));
for (const [key, description, transform] of transforms) {
  const documents = page(raw);
  const outcomes = documents.docs.map((doc) => transform(doc as WithId<FlatUser>));
  // warm-up: let the JIT settle both paths before measuring
  pass(documents, outcomes, replacementStatement);
  pass(documents, outcomes, diffStatement);
  const old: number[] = [];
  const diff: number[] = [];
  const transformed: number[] = [];
  let bytes = { old: 0, diff: 0 };
  for (let run = 0; run < runs; run++) {
    const a = pass(documents, outcomes, replacementStatement);
    const b = pass(documents, outcomes, diffStatement);
    old.push(a.micros);
    diff.push(b.micros);
    transformed.push(cpuOf(() => documents.docs.map((doc) => transform(doc as WithId<FlatUser>)), n));
    bytes = { old: a.bytes, diff: b.bytes };
  }
  const ratio = median(diff) / median(old);
  rows.push([key, description, `${num(median(old))} µs`, `${num(median(diff))} µs`, `${ratio.toFixed(2)}x`, `${num(bytes.old)} -> ${num(bytes.diff)} B`, `${num(median(transformed))} µs`]);
}
process.stdout.write(
  `${table(['transform', 'change', 'replaceOne (before)', 'diff updateOne (now)', 'diff / replace', 'statement size', 'the transform itself'], rows, [2, 3, 4, 5, 6])}\n`,
);
process.stdout.write(`\nfor scale: decoding a page for the transform costs ${num(decodeMicros)} µs per document (the stored values of a written one are decoded again)\n`);
