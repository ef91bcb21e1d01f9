// `npm run demo`: the main job end to end on a throwaway server. Seeds `users` and `products` in the
// reference "v1" shapes, then runs the real CLI with this repo's migrate.config.ts and migrations/:
// status, up --dry-run (what the helpers would touch), up, status, down, status.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MongoClient, ObjectId, type Db } from 'mongodb';
import { BIN } from './cli.ts';
import { startServer } from './server.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DATABASE = 'mongrate_demo';
/**
 * FerretDB 1.24 (SQLite) pays for every conditionally updated document with a pass over the whole
 * collection (the helpers write each changed document as a diff conditional on what was read), so
 * a full rewrite grows with the square of the collection: bumpSchemaVersion took 15-120 s for 1000
 * users (depending on the machine's load) and 5 s for 200 on a loaded 2-core machine. So the demo
 * seeds 150 users there (the whole demo in well under 15 s, every step still shown) and 3000
 * elsewhere; MONGRATE_DEMO_USERS overrides.
 */
function userCount(flavour: string): number {
  const given = Number(process.env.MONGRATE_DEMO_USERS);
  if (Number.isInteger(given) && given > 0) return given;
  return flavour === 'ferretdb' ? 150 : 3000;
}
const PRODUCTS = 1000;
/** Documents per insertMany. */
const CHUNK = 500;

function v1User(i: number): Record<string, unknown> {
  return {
    _id: new ObjectId(),
    email: `user${i}@example.com`,
    name: `User ${i}`,
    bio: i % 3 === 0 ? null : `Bio of user ${i}`,
    avatar_url: `https://example.com/avatars/${i}.png`,
    location: ['Lisbon', 'Oslo', 'Lagos', 'Lima'][i % 4],
    ...(i % 5 === 0 ? {} : { notifications: i % 2 === 0 }),
    ...(i % 7 === 0 ? {} : { theme: i % 2 === 0 ? 'dark' : 'light' }),
    ...(i % 10 === 0 ? {} : { created_at: new Date(Date.UTC(2023, i % 12, 1 + (i % 28))) }),
    is_active: i % 9 !== 0,
    schema_version: 1,
    old_field: `legacy-${i}`,
  };
}

function product(i: number): Record<string, unknown> {
  return {
    name: `Product ${i}`,
    description: `A fine product number ${i}`,
    category: ['books', 'games', 'tools'][i % 3],
    price: Math.round((5 + (i % 50) * 1.5) * 100) / 100,
    tags: ['new', 'sale', 'eco'].slice(0, 1 + (i % 3)),
    active: i % 4 !== 0,
  };
}

async function insertInChunks(db: Db, name: string, count: number, make: (i: number) => Record<string, unknown>): Promise<void> {
  for (let start = 0; start < count; start += CHUNK) {
    const end = Math.min(count, start + CHUNK);
    await db.collection(name).insertMany(Array.from({ length: end - start }, (_, k) => make(start + k)));
  }
}

function mongrate(args: string[], uri: string): number {
  process.stdout.write(`\n$ mongrate ${args.join(' ')}\n`);
  const run = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: 'inherit', env: { ...process.env, MONGODB_URI: uri } });
  return run.status ?? 1;
}

async function sample(client: MongoClient, label: string): Promise<void> {
  const user = await client.db(DATABASE).collection('users').findOne({ email: 'user1@example.com' });
  process.stdout.write(`\n${label}: ${JSON.stringify(user)}\n`);
}

function seconds(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)} s`;
}

// the server's start-up (a one-time FerretDB build on a fresh machine) is timed apart from the demo
const serverStarting = performance.now();
const server = await startServer();
const demoStarted = performance.now();
let failed = false;
try {
  process.stdout.write(`demo server: ${server.description} (started in ${seconds(serverStarting)})\n`);
  const client = new MongoClient(server.uri);
  try {
    const db = client.db(DATABASE);
    await db.dropDatabase();
    const users = userCount(server.flavour);
    const seeding = performance.now();
    await insertInChunks(db, 'users', users, v1User);
    await insertInChunks(db, 'products', PRODUCTS, product);
    process.stdout.write(`seeded ${users} users and ${PRODUCTS} products (v1 shapes) into ${DATABASE} in ${seconds(seeding)}\n`);
    await sample(client, 'a user before');
    const steps: [string[], number][] = [
      [['status'], 0],
      [['up', '--dry-run'], 0],
      [['up'], 0],
      [['status'], 0],
      [['down'], 0],
      [['status'], 0],
    ];
    for (const [args, expected] of steps) {
      const started = performance.now();
      const code = mongrate(args, server.uri);
      process.stdout.write(`(mongrate ${args.join(' ')}: ${seconds(started)})\n`);
      if (code !== expected) throw new Error(`mongrate ${args.join(' ')} exited ${code}, expected ${expected}`);
      if (args.join(' ') === 'up') await sample(client, 'the same user after up');
    }
    await db.dropDatabase();
  } finally {
    await client.close();
  }
} catch (error) {
  failed = true;
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
} finally {
  await server.stop();
}
process.stdout.write(`\ndemo ${failed ? 'failed' : 'finished'} in ${seconds(demoStarted)}\n`);
process.exitCode = failed ? 1 : 0;
