// Command-line options of bench/run.ts (see bench/README.md).
import path from 'node:path';
import { parseArgs } from 'node:util';
import { GROUPS, type Group } from './report.ts';

export interface BenchOptions {
  quick: boolean;
  n: number;
  /** Documents of the update cases (M); undefined: by server (N on MongoDB). */
  sample: number | undefined;
  runs: number;
  /** Smaller size of the memory case; undefined: by server. */
  rssN: number | undefined;
  cliFiles: number;
  cliApply: number;
  groups: Group[];
  outDir: string;
}

export const DEFAULT_N = 100_000;
export const QUICK_N = 10_000;

export const USAGE = `npm run bench -- [options]     (or: node --import tsx bench/run.ts [options], after npm run build)

  --quick            N = ${QUICK_N.toLocaleString('en-US')} instead of ${DEFAULT_N.toLocaleString('en-US')}
  --n <count>        documents in the collections (N)
  --sample <count>   documents of the update cases (M); default N, on FerretDB 500 (--quick: 200)
                     because each document its updates change costs it a pass over the collection
  --runs <count>     timed repetitions of every case (default 3), after one counted (monitored) run
  --rss-n <count>    smaller size of the memory case (the other is 10x); default N, on FerretDB
                     2,000 (--quick: 1,000)
  --cli-files <n>    migration files for the status / no-op up cases (default 500)
  --cli-apply <n>    trivial migrations the apply case runs (default 50)
  --only <groups>    comma-separated subset of ${GROUPS.join(',')}
  --out-dir <dir>    where latest.json and the dated copy go (default bench/results)
  -h, --help         this text
`;

class OptionError extends Error {}

function count(value: string | undefined, name: string, fallback: number | undefined, min = 1): number | undefined {
  if (value === undefined) return fallback;
  const text = value.replace(/[_,]/g, '');
  if (!/^\d+$/.test(text) || Number(text) < min) throw new OptionError(`--${name} takes a whole number >= ${min}, got '${value}'`);
  return Number(text);
}

function required(value: number | undefined): number {
  if (value === undefined) throw new OptionError('internal: a required option has no default');
  return value;
}

/** Parses argv; prints usage and exits on --help or a bad option. */
export function parseOptions(argv: string[]): BenchOptions {
  try {
    const { values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        quick: { type: 'boolean', default: false },
        n: { type: 'string' },
        sample: { type: 'string' },
        runs: { type: 'string' },
        'rss-n': { type: 'string' },
        'cli-files': { type: 'string' },
        'cli-apply': { type: 'string' },
        only: { type: 'string' },
        'out-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      process.stdout.write(USAGE);
      process.exit(0);
    }
    const n = required(count(values.n, 'n', values.quick ? QUICK_N : DEFAULT_N));
    const sample = count(values.sample, 'sample', undefined);
    if (sample !== undefined && sample > n) throw new OptionError(`--sample ${sample} is larger than --n ${n}`);
    const groups = values.only === undefined ? [...GROUPS] : values.only.split(',').map((g) => g.trim());
    for (const group of groups) {
      if (!GROUPS.includes(group as Group)) throw new OptionError(`--only: unknown group '${group}' (expected ${GROUPS.join(', ')})`);
    }
    return {
      quick: values.quick,
      n,
      sample,
      runs: required(count(values.runs, 'runs', 3)),
      rssN: count(values['rss-n'], 'rss-n', undefined),
      cliFiles: required(count(values['cli-files'], 'cli-files', 500)),
      cliApply: required(count(values['cli-apply'], 'cli-apply', 50)),
      groups: groups as Group[],
      outDir: path.resolve(values['out-dir'] ?? path.join(import.meta.dirname, 'results')),
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${message}\n\n${USAGE}`);
    process.exit(2);
  }
}
