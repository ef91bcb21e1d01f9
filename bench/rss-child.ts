// One memory measurement, in its own process: `reshape` over every document of a collection with a
// transform that skips them all (so it reads everything and writes nothing), then the process's
// peak resident set size. Started by bench/cases/rss.ts; prints one JSON line on stdout.
//
//   BENCH_URI=mongodb://... node --import tsx bench/rss-child.ts <database> <collection>
import { performance } from 'node:perf_hooks';
import { MongoClient } from 'mongodb';
import { reshape } from '../src/helpers/index.ts';

export interface RssChildReport {
  matched: number;
  modified: number;
  ms: number;
  /** process.resourceUsage().maxRSS: kilobytes. */
  maxRssKB: number;
}

const [database, collection] = process.argv.slice(2);
const uri = process.env.BENCH_URI;
if (database === undefined || collection === undefined || uri === undefined || uri === '') {
  process.stderr.write('usage: BENCH_URI=<uri> node --import tsx bench/rss-child.ts <database> <collection>\n');
  process.exit(2);
}

const client = new MongoClient(uri);
try {
  await client.connect();
  const started = performance.now();
  const result = await reshape(client.db(database).collection(collection), { transform: () => null });
  const ms = performance.now() - started;
  await client.close();
  const report: RssChildReport = { matched: result.matched, modified: result.modified, ms, maxRssKB: process.resourceUsage().maxRSS };
  process.stdout.write(`${JSON.stringify(report)}\n`);
} finally {
  await client.close();
}
