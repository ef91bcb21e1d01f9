// The example project's config, used by `npm run demo` (which sets MONGODB_URI to its own server).
import { defineConfig } from 'mongrate';

export default defineConfig({
  uri: process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017',
  database: 'mongrate_demo',
  migrationsDir: 'migrations',
  changelogCollection: 'mongrate_changelog',
  historyCollection: 'mongrate_history',
  lockCollection: 'mongrate_lock',
  lock: { ttlSeconds: 120, waitSeconds: 0 },
  transactions: 'auto',
  clientOptions: { serverSelectionTimeoutMS: 5000 },
});
