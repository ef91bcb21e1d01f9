// Results of `npm run bench`: statistics, the JSON written to bench/results/, and the printed tables
// (in the plain style of bench/lock.ts). Every key written here is documented in bench/README.md.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Traffic } from './meter.ts';

export type Group = 'reshape' | 'bump' | 'copy' | 'floor' | 'throttle' | 'rss' | 'cli';
export const GROUPS: readonly Group[] = ['reshape', 'bump', 'copy', 'floor', 'throttle', 'rss', 'cli'];
export type Unit = 'docs/s' | 'ms' | 'MB' | 'µs/doc';

/** Which documents a case touched, of how many in its collection. */
export interface SampleInfo {
  /** Documents the case processed per run. */
  documents: number;
  /** Documents in the collection. */
  of: number;
  /** Why the case runs on this many (the server's costs), or 'all documents'. */
  reason: string;
}

export interface CaseResult {
  group: Group;
  label: string;
  unit: Unit;
  /** 'higher' for docs/s, 'lower' for ms, MB and µs/doc. */
  better: 'higher' | 'lower';
  /** Of the timed runs, in `unit`: wall time for docs/s and ms, on the server the run names. */
  median: number;
  min: number;
  max: number;
  /** One value per timed run, in run order. */
  values: number[];
  sample: SampleInfo | null;
  /** Commands and bytes of one monitored run of the case (driver command monitoring); null where not counted. */
  traffic: Traffic | null;
  /** traffic.commands per 1000 documents of the case. */
  commandsPer1000: number | null;
  /** Client CPU (process.cpuUsage, user + system) per document: median of the timed runs. */
  cpuMicrosPerDoc: number | null;
  cpuMicrosPerDocValues: number[] | null;
  /** Peak RSS of the process that ran the case, where measured on its own (the rss cases); else null. */
  peakRssMB: number | null;
  /** Figures particular to the case (see bench/README.md), or null. */
  extra: Record<string, number> | null;
  note: string | null;
}

export type Target =
  | { comparator: '>=' | '<='; threshold: number }
  | { comparator: 'within'; low: number; high: number };

export interface RatioResult {
  /** numerator / denominator (or the numerator alone); null when a case it needs did not run. */
  value: number | null;
  /** `<case>.<measure>`: median, commands, commandsPer1000, cpuMicrosPerDoc, bytesSent, bytesReceived or extra.<name>. */
  numerator: string;
  denominator: string | null;
  target: string;
  /** null without a target or a value. */
  pass: boolean | null;
  note: string | null;
}

export interface ServerProfile {
  /** Documents in the collection the costs were measured on (N). */
  documents: number;
  /** countDocuments with a filter on an unindexed field: one pass over the collection. */
  fullScanMs: number;
  findByIdMs: number;
  insertMs: number;
  updateByIdMs: number;
  /** updateOne whose filter names `_id` and another field (the helpers' diff writes, the changelog's outcome). */
  conditionalUpdateMs: number;
}

export interface BenchResults {
  version: 2;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  node: string;
  platform: string;
  cpus: number;
  /** os.loadavg() (1, 5, 15 min) when the run started and ended: other load on the machine skews timings. */
  loadAverage: { start: number[]; end: number[] };
  server: {
    /** How the bench got its server: MONGODB_URI ('external'), 'mongod' or 'ferretdb'. */
    source: string;
    flavour: string;
    version: string;
    mongodbVersion: string;
    topology: string;
    description: string;
  };
  settings: {
    n: number;
    /** Documents of the update cases (groups reshape and bump). */
    updateDocuments: number;
    copyDocuments: number;
    throttleDocuments: number;
    runs: number;
    /** This process's CPU per ms of wall while idle, taken off the data cases' CPU. */
    idleCpuMicrosPerMs: number;
    quick: boolean;
    rssN: number;
    cliFiles: number;
    cliApply: number;
    batchSizes: number[];
    groups: Group[];
  };
  serverProfile: ServerProfile | null;
  cases: Record<string, CaseResult>;
  ratios: Record<string, RatioResult>;
  notes: string[];
  benchPeakRssMB: number;
}

export function quantile(samples: readonly number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  const lowValue = sorted[low] ?? Number.NaN;
  const highValue = sorted[high] ?? Number.NaN;
  return lowValue + (highValue - lowValue) * (position - low);
}

export const median = (samples: readonly number[]): number => quantile(samples, 0.5);

export interface CaseExtras {
  sample?: SampleInfo | null;
  traffic?: Traffic | null;
  cpuMicrosPerDoc?: number[] | null;
  peakRssMB?: number | null;
  extra?: Record<string, number> | null;
  note?: string | null;
}

export function caseResult(group: Group, label: string, unit: Unit, values: number[], extras: CaseExtras = {}): CaseResult {
  const sample = extras.sample ?? null;
  const traffic = extras.traffic ?? null;
  const cpu = extras.cpuMicrosPerDoc ?? null;
  return {
    group,
    label,
    unit,
    better: unit === 'docs/s' ? 'higher' : 'lower',
    median: median(values),
    min: Math.min(...values),
    max: Math.max(...values),
    values,
    sample,
    traffic,
    commandsPer1000: traffic === null || sample === null ? null : (traffic.commands * 1000) / sample.documents,
    cpuMicrosPerDoc: cpu === null ? null : median(cpu),
    cpuMicrosPerDocValues: cpu,
    peakRssMB: extras.peakRssMB ?? null,
    extra: extras.extra ?? null,
    note: extras.note ?? null,
  };
}

interface RatioSpec {
  numerator: string;
  denominator: string | null;
  target: Target | null;
  /** 'ratio' prints as 2.5x; 'count' (a figure per unit, not a ratio) as 2.5. */
  kind: 'ratio' | 'count';
}

const at = (threshold: number, comparator: '>=' | '<='): Target => ({ comparator, threshold });

/**
 * The targets of issue #11, then ratios for context (wall times on this server; CPU of the other
 * helpers against the floor). Commands and CPU are of the same documents on both sides.
 */
export const RATIOS: Readonly<Record<string, RatioSpec>> = {
  reshape_roundtrips_per_1000: { numerator: 'reshape_fn.commandsPer1000', denominator: null, target: at(3, '<='), kind: 'count' },
  reshape_roundtrips_vs_naive: { numerator: 'reshape_naive.commands', denominator: 'reshape_fn.commands', target: at(300, '>='), kind: 'ratio' },
  bump_roundtrips_vs_naive: { numerator: 'bump_naive.commands', denominator: 'bump_fn.commands', target: at(300, '>='), kind: 'ratio' },
  copy_roundtrips_vs_naive: { numerator: 'copy_naive.commands', denominator: 'copy_helper.commands', target: at(300, '>='), kind: 'ratio' },
  reshape_decl_roundtrips_10n_vs_n: { numerator: 'reshape_decl.commands', denominator: 'reshape_decl_tenth.commands', target: at(1, '<='), kind: 'ratio' },
  reshape_cpu_vs_floor: { numerator: 'reshape_fn.cpuMicrosPerDoc', denominator: 'floor_nest.median', target: at(3, '<='), kind: 'ratio' },
  rss_10n_vs_n: { numerator: 'rss_10n.median', denominator: 'rss_n.median', target: at(1.2, '<='), kind: 'ratio' },
  status_vs_bare: { numerator: 'cli_status.median', denominator: 'cli_bare.median', target: at(1.5, '<='), kind: 'ratio' },
  status_vs_migrate_mongo: { numerator: 'cli_status.median', denominator: 'mm_status.median', target: at(1, '<='), kind: 'ratio' },
  noop_up_vs_bare: { numerator: 'cli_noop_up.median', denominator: 'cli_bare.median', target: at(1.5, '<='), kind: 'ratio' },
  apply50_vs_migrate_mongo: { numerator: 'cli_apply.median', denominator: 'mm_apply.median', target: at(1.2, '<='), kind: 'ratio' },
  // issue #21: at most two commands of mongrate's own per applied migration, with or without a transaction
  roundtrips_per_applied_migration: { numerator: 'cli_apply.extra.ownCommandsPerMigration', denominator: null, target: at(2, '<='), kind: 'count' },
  roundtrips_per_applied_migration_no_transaction: { numerator: 'cli_apply.extra.ownCommandsPerMigrationNoTransaction', denominator: null, target: at(2, '<='), kind: 'count' },
  throttle_on_vs_limit: { numerator: 'throttle_on.median', denominator: 'throttle_on.extra.limitDocsPerSecond', target: { comparator: 'within', low: 0.9, high: 1.1 }, kind: 'ratio' },
  // a limit the reshape never reaches costs it nothing: the pacer never waits (milliseconds per run, median)
  throttle_unbound_wait_ms: { numerator: 'throttle_unbound.extra.waitedMs', denominator: null, target: at(1, '<='), kind: 'count' },
  // context
  // the same, as wall time: on FerretDB within its run-to-run variation, so context only
  throttle_unbound_vs_off: { numerator: 'throttle_unbound.median', denominator: 'throttle_off.median', target: null, kind: 'ratio' },
  reshape_decl_split_roundtrips_10n_vs_n: { numerator: 'reshape_decl_split.commands', denominator: 'reshape_decl_split_tenth.commands', target: null, kind: 'ratio' },
  cli_version_ms: { numerator: 'cli_version.median', denominator: null, target: null, kind: 'count' },
  // issue #21: reshape's own client work, with no server, at most twice the floor
  reshape_work_vs_floor: { numerator: 'reshape_work.median', denominator: 'floor_nest.median', target: at(2, '<='), kind: 'ratio' },
  reshape_cpu_vs_driver: { numerator: 'reshape_fn.cpuMicrosPerDoc', denominator: 'reshape_driver.cpuMicrosPerDoc', target: null, kind: 'ratio' },
  driver_cpu_vs_floor: { numerator: 'reshape_driver.cpuMicrosPerDoc', denominator: 'floor_nest.median', target: null, kind: 'ratio' },
  reshape_marginal_cpu_vs_floor: { numerator: 'reshape_fn.extra.marginalCpuMicrosPerDoc', denominator: 'floor_nest.median', target: null, kind: 'ratio' },
  reshape_bytes_sent_vs_naive: { numerator: 'reshape_fn.bytesSent', denominator: 'reshape_naive.bytesSent', target: null, kind: 'ratio' },
  bump_cpu_vs_floor: { numerator: 'bump_fn.cpuMicrosPerDoc', denominator: 'floor_bump.median', target: null, kind: 'ratio' },
  copy_cpu_vs_floor: { numerator: 'copy_helper.cpuMicrosPerDoc', denominator: 'floor_nest.median', target: null, kind: 'ratio' },
  apply50_cpu_vs_migrate_mongo: { numerator: 'cli_apply.extra.cpuMs', denominator: 'mm_apply.extra.cpuMs', target: null, kind: 'ratio' },
  reshape_fn_vs_naive: { numerator: 'reshape_fn.median', denominator: 'reshape_naive.median', target: null, kind: 'ratio' },
  reshape_decl_vs_updatemany: { numerator: 'reshape_decl.median', denominator: 'reshape_updatemany.median', target: null, kind: 'ratio' },
  reshape_fn_vs_updatemany: { numerator: 'reshape_fn.median', denominator: 'reshape_updatemany.median', target: null, kind: 'ratio' },
  reshape_decl_split_vs_updatemany: { numerator: 'reshape_decl_split.median', denominator: 'reshape_updatemany.median', target: null, kind: 'ratio' },
  bump_vs_naive: { numerator: 'bump_fn.median', denominator: 'bump_naive.median', target: null, kind: 'ratio' },
  bump_spec_vs_updatemany: { numerator: 'bump_spec.median', denominator: 'bump_updatemany.median', target: null, kind: 'ratio' },
  bump_fn_vs_updatemany: { numerator: 'bump_fn.median', denominator: 'bump_updatemany.median', target: null, kind: 'ratio' },
  copy_vs_naive: { numerator: 'copy_helper.median', denominator: 'copy_naive.median', target: null, kind: 'ratio' },
};

export function targetText(target: Target | null, kind: RatioSpec['kind'] = 'ratio'): string {
  if (target === null) return 'none';
  const x = kind === 'ratio' ? 'x' : '';
  if (target.comparator === 'within') return `${target.low}${x}..${target.high}${x}`;
  return `${target.comparator} ${target.threshold}${x}`;
}

export function meets(target: Target, value: number): boolean {
  if (target.comparator === 'within') return value >= target.low && value <= target.high;
  return target.comparator === '>=' ? value >= target.threshold : value <= target.threshold;
}

/** `<case>.<measure>` of the cases, or null when that case did not run or has no such figure. */
export function measureOf(cases: Record<string, CaseResult>, ref: string): number | null {
  const [key = '', measure = '', name] = ref.split('.');
  const c = cases[key];
  if (c === undefined) return null;
  switch (measure) {
    case 'median':
      return c.median;
    case 'commands':
      return c.traffic?.commands ?? null;
    case 'bytesSent':
      return c.traffic?.bytesSent ?? null;
    case 'bytesReceived':
      return c.traffic?.bytesReceived ?? null;
    case 'commandsPer1000':
      return c.commandsPer1000;
    case 'cpuMicrosPerDoc':
      return c.cpuMicrosPerDoc;
    case 'extra':
      return c.extra?.[name ?? ''] ?? null;
    default:
      return null;
  }
}

export function computeRatios(cases: Record<string, CaseResult>, notes: (key: string, value: number) => string | null): Record<string, RatioResult> {
  const ratios: Record<string, RatioResult> = {};
  for (const [key, spec] of Object.entries(RATIOS)) {
    const a = measureOf(cases, spec.numerator);
    const b = spec.denominator === null ? 1 : measureOf(cases, spec.denominator);
    const value = a === null || b === null || b === 0 ? null : a / b;
    const pass = value === null || spec.target === null ? null : meets(spec.target, value);
    ratios[key] = {
      value,
      numerator: spec.numerator,
      denominator: spec.denominator,
      target: targetText(spec.target, spec.kind),
      pass,
      note: value === null || pass !== false ? null : notes(key, value),
    };
  }
  return ratios;
}

/** Renders rows as a plain table with a header rule; numeric columns (named in `right`) right-aligned. */
export function table(head: string[], rows: string[][], right: number[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (right.includes(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const grouping = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** 3 significant digits below 100, whole numbers with thousands separators above. */
export function num(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 100) return grouping.format(value);
  return Number(value.toPrecision(3)).toString();
}

export function withUnit(value: number, unit: Unit): string {
  return `${num(value)} ${unit}`;
}

export function ratioText(value: number | null, kind: 'ratio' | 'count' = 'ratio'): string {
  if (value === null) return '-';
  const text = value >= 10 ? value.toFixed(1) : value.toFixed(2);
  return kind === 'ratio' ? `${text}x` : text;
}

const kb = (bytes: number): string => (bytes >= 10_240 ? `${num(bytes / 1024)} KB` : `${grouping.format(bytes)} B`);

/** The case's server-independent figures: commands (per 1000 documents), bytes both ways, CPU per document. */
function trafficText(c: CaseResult): string {
  const parts: string[] = [];
  if (c.traffic !== null) {
    const per = c.commandsPer1000 === null ? '' : ` (${num(c.commandsPer1000)}/1000 docs)`;
    parts.push(`${grouping.format(c.traffic.commands)} cmds${per}, ${kb(c.traffic.bytesSent)} out, ${kb(c.traffic.bytesReceived)} in`);
  }
  if (c.cpuMicrosPerDoc !== null) parts.push(`CPU ${num(c.cpuMicrosPerDoc)} µs/doc`);
  return parts.join('; ');
}

export function casesTable(cases: [string, CaseResult][]): string {
  return table(
    ['case', 'median', 'min', 'max', 'runs', 'documents', 'commands, bytes, client CPU', 'note'],
    cases.map(([key, c]) => [
      `${c.label} [${key}]`,
      withUnit(c.median, c.unit),
      num(c.min),
      num(c.max),
      String(c.values.length),
      c.sample === null ? '-' : c.sample.documents === c.sample.of ? grouping.format(c.sample.of) : `${grouping.format(c.sample.documents)} of ${grouping.format(c.sample.of)}`,
      trafficText(c),
      c.note ?? '',
    ]),
    [1, 2, 3, 4, 5],
  );
}

export function ratiosTable(ratios: Record<string, RatioResult>): string {
  return table(
    ['ratio', 'value', 'target', 'result', 'measured as'],
    Object.entries(ratios).map(([key, r]) => [
      key,
      ratioText(r.value, RATIOS[key]?.kind),
      r.target,
      r.pass === null ? (r.value === null ? 'not run' : '-') : r.pass ? 'PASS' : 'MISS',
      r.denominator === null ? r.numerator : `${r.numerator} / ${r.denominator}`,
    ]),
    [1],
  );
}

/** Writes latest.json and a dated copy; returns both paths. */
export async function writeResults(dir: string, results: BenchResults): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const text = `${JSON.stringify(results, null, 2)}\n`;
  const dated = path.join(dir, `${results.startedAt.replace(/[:.]/g, '-')}.json`);
  const latest = path.join(dir, 'latest.json');
  await writeFile(dated, text);
  await writeFile(latest, text);
  return [latest, dated];
}
