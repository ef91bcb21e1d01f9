// `npm run demo`: the main job end to end on a throwaway server. Seeds `users` and `products` in the
// reference "v1" shapes, then runs the real CLI with this repo's migrate.config.ts and migrations/.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MongoClient, ObjectId } from 'mongodb';
import { BIN } from './cli.ts';
import { startServer } from './server.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DATABASE = 'mongrate_demo';
const USERS = 500;
const PRODUCTS = 200;

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

function mongrate(args: string[], uri: string): number {
  process.stdout.write(`\n$ mongrate ${args.join(' ')}\n`);
  const run = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: 'inherit', env: { ...process.env, MONGODB_URI: uri } });
  return run.status ?? 1;
}

async function sample(client: MongoClient, label: string): Promise<void> {
  const user = await client.db(DATABASE).collection('users').findOne({ email: 'user1@example.com' });
  process.stdout.write(`\n${label}: ${JSON.stringify(user)}\n`);
}

const server = await startServer();
let failed = false;
try {
  process.stdout.write(`demo server: ${server.description}\n`);
  const client = new MongoClient(server.uri);
  try {
    const db = client.db(DATABASE);
    await db.dropDatabase();
    await db.collection('users').insertMany(Array.from({ length: USERS }, (_, i) => v1User(i)));
    await db.collection('products').insertMany(Array.from({ length: PRODUCTS }, (_, i) => product(i)));
    process.stdout.write(`seeded ${USERS} users and ${PRODUCTS} products (v1 shapes) into ${DATABASE}\n`);
    await sample(client, 'a user before');
    const steps: [string[], number][] = [
      [['status'], 0],
      [['up'], 0],
      [['status'], 0],
      [['down'], 0],
      [['status'], 0],
    ];
    for (const [args, expected] of steps) {
      const code = mongrate(args, server.uri);
      if (code !== expected) throw new Error(`mongrate ${args.join(' ')} exited ${code}, expected ${expected}`);
      if (args[0] === 'up') await sample(client, 'the same user after up');
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
process.exitCode = failed ? 1 : 0;
