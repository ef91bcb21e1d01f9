// The floor the CLI is measured against: a plain driver script that connects, reads the changelog
// and prints one line per migration, with nothing else loaded. Plain JavaScript (no TypeScript
// loader), started like the built CLI: `node bench/bare-changelog.js`.
//
//   MONGODB_URI=mongodb://... BENCH_DB=<database> node bench/bare-changelog.js
import { MongoClient } from 'mongodb';

const client = new MongoClient(process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017', { serverSelectionTimeoutMS: 5000 });
try {
  await client.connect();
  const records = await client.db(process.env.BENCH_DB).collection('mongrate_changelog').find({}).sort({ _id: 1 }).toArray();
  process.stdout.write(records.map((r) => `${String(r._id)}  ${String(r.state)}\n`).join(''));
} finally {
  await client.close();
}
