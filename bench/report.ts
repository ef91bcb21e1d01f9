// Results of `npm run bench`: statistics, the JSON written to bench/results/, and the printed tables
// (in the plain style of bench/lock.ts). Every key written here is documented in bench/README.md.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

export type Group = 'reshape' | 'bump' | 'copy' | 'rss' | 'cli';
export const GROUPS: readonly Group[] = ['reshape', 'bump', 'copy', 'rss', 'cli'];
export type Unit = 'docs/s' | 'ms' | 'MB';

/** Which documents a case touched: all of them, or a slice (FerretDB: its updates cost O(N) each). */
export interface SampleInfo {
  /** Documents the case processed per run (M). */
  documents: number;
  /** Documents in the collection (N). */
  of: number;
  /** Why M < N, or 'all documents'. */
  reason: string;
}

export interface CaseResult {
  group: Group;
  label: string;
  unit: Unit;
  /** 'higher' for docs/s, 'lower' for ms and MB. */
  better: 'higher' | 'lower';
  median: number;
  min: number;
  max: number;
  /** One value per run, in run order. */
  values: number[];
  sample: SampleInfo | null;
  /** Peak RSS of the process that ran the case, where measured on its own (the rss cases); else null. */
  peakRssMB: number | null;
  note: string | null;
}

export interface Target {
  comparator: '>=' | '<=';
  threshold: number;
}

export interface RatioResult {
  /** median(numerator) / median(denominator); null when a case did not run (--only). */
  value: number | null;
  numerator: string;
  denominator: string;
  target: string;
  /** null when the value is null. */
  pass: boolean | null;
  note: string | null;
}

export interface ServerProfile {
  /** Documents in the collection the costs were measured on (N). */
  documents: number;
  /** countDocuments with a filter on an unindexed field: one pass over the collection. */
  fullScanMs: number;
  findByIdMs: number;
  updateByIdMs: number;
}

export interface BenchResults {
  version: 1;
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
    sample: number;
    runs: number;
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

export function caseResult(
  group: Group,
  label: string,
  unit: Unit,
  values: number[],
  extra: { sample?: SampleInfo | null; peakRssMB?: number | null; note?: string | null } = {},
): CaseResult {
  return {
    group,
    label,
    unit,
    better: unit === 'docs/s' ? 'higher' : 'lower',
    median: median(values),
    min: Math.min(...values),
    max: Math.max(...values),
    values,
    sample: extra.sample ?? null,
    peakRssMB: extra.peakRssMB ?? null,
    note: extra.note ?? null,
  };
}

/** The targets of issue #5. A ratio of rates is "x times faster"; a ratio of ms or MB is "x times the cost". */
export const RATIOS: Readonly<Record<string, { numerator: string; denominator: string; target: Target }>> = {
  reshape_fn_vs_naive: { numerator: 'reshape_fn', denominator: 'reshape_naive', target: { comparator: '>=', threshold: 10 } },
  reshape_decl_vs_updatemany: { numerator: 'reshape_decl', denominator: 'reshape_updatemany', target: { comparator: '>=', threshold: 0.8 } },
  reshape_fn_vs_updatemany: { numerator: 'reshape_fn', denominator: 'reshape_updatemany', target: { comparator: '>=', threshold: 0.5 } },
  bump_vs_naive: { numerator: 'bump_fn', denominator: 'bump_naive', target: { comparator: '>=', threshold: 10 } },
  copy_vs_naive: { numerator: 'copy_helper', denominator: 'copy_naive', target: { comparator: '>=', threshold: 10 } },
  rss_10n_vs_n: { numerator: 'rss_10n', denominator: 'rss_n', target: { comparator: '<=', threshold: 1.2 } },
  status_vs_bare: { numerator: 'cli_status', denominator: 'cli_bare', target: { comparator: '<=', threshold: 1.5 } },
  noop_up_vs_bare: { numerator: 'cli_noop_up', denominator: 'cli_bare', target: { comparator: '<=', threshold: 2 } },
};

/** Ratios without a target, printed and written for context. */
export const EXTRA_RATIOS: Readonly<Record<string, { numerator: string; denominator: string }>> = {
  reshape_decl_split_vs_updatemany: { numerator: 'reshape_decl_split', denominator: 'reshape_updatemany' },
  bump_spec_vs_updatemany: { numerator: 'bump_spec', denominator: 'bump_updatemany' },
  bump_fn_vs_updatemany: { numerator: 'bump_fn', denominator: 'bump_updatemany' },
};

export const targetText = (target: Target): string => `${target.comparator} ${target.threshold}x`;

export function computeRatios(cases: Record<string, CaseResult>, notes: (key: string, value: number) => string | null): Record<string, RatioResult> {
  const ratios: Record<string, RatioResult> = {};
  const entries: [string, { numerator: string; denominator: string; target?: Target }][] = [...Object.entries(RATIOS), ...Object.entries(EXTRA_RATIOS)];
  for (const [key, spec] of entries) {
    const a = cases[spec.numerator];
    const b = cases[spec.denominator];
    const value = a === undefined || b === undefined ? null : a.median / b.median;
    const target = spec.target;
    let pass: boolean | null = null;
    if (value !== null && target !== undefined) pass = target.comparator === '>=' ? value >= target.threshold : value <= target.threshold;
    ratios[key] = {
      value,
      numerator: spec.numerator,
      denominator: spec.denominator,
      target: target === undefined ? 'none' : targetText(target),
      pass,
      note: value === null ? null : notes(key, value),
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

export function ratioText(value: number | null): string {
  if (value === null) return '-';
  return `${value >= 10 ? value.toFixed(1) : value.toFixed(2)}x`;
}

export function casesTable(cases: [string, CaseResult][]): string {
  return table(
    ['case', 'median', 'min', 'max', 'runs', 'documents', 'note'],
    cases.map(([key, c]) => [
      `${c.label} [${key}]`,
      withUnit(c.median, c.unit),
      num(c.min),
      num(c.max),
      String(c.values.length),
      c.sample === null ? '-' : c.sample.documents === c.sample.of ? grouping.format(c.sample.of) : `${grouping.format(c.sample.documents)} of ${grouping.format(c.sample.of)}`,
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
      ratioText(r.value),
      r.target,
      r.pass === null ? (r.value === null ? 'not run' : '-') : r.pass ? 'PASS' : 'MISS',
      `${r.numerator} / ${r.denominator} (medians)`,
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
