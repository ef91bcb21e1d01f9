// One memory measurement, in its own process: `reshape` over every document of a collection with a
// transform that skips them all (so it reads everything and writes nothing), then the process's
// peak resident set size. First it warms up: <passes> reshapes of the small collection, so the
// V8 heap has grown to its working size (it does over the first few batches, whatever the
// collection) before the measured pass: what is left to differ is what the collection's size adds.
// Started by bench/cases/rss.ts; prints one JSON line on stdout.
//
//   BENCH_URI=mongodb://... node --import tsx bench/rss-child.ts <database> <collection> <warm-up collection> <passes>
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

const [database, collection, warm, passes] = process.argv.slice(2);
const uri = process.env.BENCH_URI;
if (database === undefined || collection === undefined || warm === undefined || !/^\d+$/.test(passes ?? '') || uri === undefined || uri === '') {
  process.stderr.write('usage: BENCH_URI=<uri> node --import tsx bench/rss-child.ts <database> <collection> <warm-up collection> <passes>\n');
  process.exit(2);
}

const client = new MongoClient(uri);
try {
  await client.connect();
  for (let pass = 0; pass < Number(passes); pass++) await reshape(client.db(database).collection(warm), { transform: () => null });
  const started = performance.now();
  const result = await reshape(client.db(database).collection(collection), { transform: () => null });
  const ms = performance.now() - started;
  await client.close();
  const report: RssChildReport = { matched: result.matched, modified: result.modified, ms, maxRssKB: process.resourceUsage().maxRSS };
  process.stdout.write(`${JSON.stringify(report)}\n`);
} finally {
  await client.close();
}
