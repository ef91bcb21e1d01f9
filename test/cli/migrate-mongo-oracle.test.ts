// migrate-mongo 14.0.7 as the oracle: the same migrate-mongo project (its config as `init` wrote
// it for years, legacy options included; CommonJS files that require the project's own mongodb,
// test `instanceof ObjectId`, use driver-4 calls on 4.x, use `client`, and two files whose order
// only migrate-mongo's sort decides) is run by migrate-mongo on one database and by mongrate on
// its twin, in projects that really install mongodb 4.17, 6.3 and 7.9.1. The twins end with
// identical data (BSON bytes), collections and indexes after `up`, after `down`, after `up`
// again, and after adopting half-way (migrate-mongo applied the first half, then `mongrate
// import migrate-mongo` and `mongrate up` the rest). Both tools are spawned as a user runs them.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { MongoClient, type Db } from 'mongodb';
import { type CliResult, exits, runCli, runNode } from '../support/cli.ts';
import { testUri, uniqueDbName } from '../support/database.ts';
import { createInstalledProject, installPackages, VERSIONS, type Install } from '../support/npm-project.ts';
import type { TestProject } from '../support/project.ts';
import { describeSnapshot, snapshotDb, type CollectionSnapshot } from '../support/snapshot.ts';

/** The tools' own collections: everything else is the migrations' data. */
const BOOKKEEPING = new Set(['changelog', 'mongrate_changelog', 'mongrate_history', 'mongrate_lock']);

/** The config `migrate-mongo init` wrote for years; 7.x refuses the legacy options, so a project on it has none. */
function migrateMongoConfig(major: number): string {
  const options = major < 7 ? '{ useNewUrlParser: true, useUnifiedTopology: true }' : '{}';
  return `module.exports = {
  mongodb: {
    url: process.env.MONGO_URL,
    databaseName: process.env.TWIN_DB,
    options: ${options},
  },
  migrationsDir: 'migrations',
  changelogCollectionName: 'changelog',
  migrationFileExtension: '.js',
  useFileHash: false,
  moduleSystem: 'commonjs',
};
`;
}

/** Each file notes when it ran (how many had run before it): the data tells the order. */
const ranAt = (name: string): string => `await db.collection('ran').insertOne({ _id: '${name}', before: await db.collection('ran').countDocuments() });`;
const forget = (name: string): string => `await db.collection('ran').deleteOne({ _id: '${name}' });`;

/** The project's migrations, first half and second half; `major` is the project's driver. */
function migrationFiles(major: number): [Record<string, string>, Record<string, string>] {
  const updateAll = major === 4
    ? "await db.collection('users').update({}, { $set: { schema: 2 } }, { multi: true }); // driver 4: gone from 5.x"
    : "await db.collection('users').updateMany({}, { $set: { schema: 2 } });";
  const first = {
    '20240101000000-users.js': `const { Double, Long, ObjectId } = require('mongodb');
module.exports = {
  async up(db) {
    ${ranAt('users')}
    await db.collection('users').insertMany([
      { _id: new ObjectId('65a000000000000000000001'), email: 'a@example.com', visits: Long.fromString('9007199254740993'), score: new Double(2), at: new Date('2024-01-01T00:00:00Z'), owner: new ObjectId('65a0000000000000000000aa') },
      { _id: new ObjectId('65a000000000000000000002'), email: 'b@example.com', visits: Long.fromNumber(1), score: new Double(0.5), at: new Date('2024-01-02T00:00:00Z'), owner: 'not an id' },
    ]);
    await db.collection('users').createIndex({ email: 1 }, { unique: true, name: 'email_unique' });
  },
  async down(db) {
    await db.collection('users').drop();
    ${forget('users')}
  },
};
`,
    // migrate-mongo sorts file names with the extension: '-' before '.', so this runs before the one above
    '20240101000000-users-index.js': `module.exports = {
  async up(db) {
    ${ranAt('users-index')}
    await db.collection('users').createIndex({ at: -1 }, { name: 'at_desc' });
  },
  async down(db) {
    await db.collection('users').dropIndex('at_desc').catch(() => undefined);
    ${forget('users-index')}
  },
};
`,
  };
  const second = {
    '20240102000000-owners.js': `const { ObjectId } = require('mongodb');
module.exports = {
  async up(db) {
    ${ranAt('owners')}
    ${updateAll}
    for (const user of await db.collection('users').find({}).toArray()) {
      // the project's ObjectId: false here would skip the write and still record the migration
      if (user.owner instanceof ObjectId) await db.collection('users').updateOne({ _id: user._id }, { $set: { ownerHex: user.owner.toHexString() } });
    }
  },
  async down(db) {
    await db.collection('users').updateMany({}, { $unset: { schema: '', ownerHex: '' } });
    ${forget('owners')}
  },
};
`,
    '20240103000000-counters.js': `const { Long } = require('mongodb');
module.exports = {
  async up(db, client) {
    ${ranAt('counters')}
    await client.db(db.databaseName).collection('counters').insertOne({ _id: 'users', n: Long.fromNumber(await db.collection('users').countDocuments()) });
  },
  async down(db, client) {
    await client.db(db.databaseName).collection('counters').drop();
    ${forget('counters')}
  },
};
`,
  };
  return [first, second];
}

interface Twins {
  project: TestProject;
  migrateMongo: (db: string, args: string[]) => Promise<CliResult>;
  mongrate: (db: string, args: string[]) => Promise<CliResult>;
}

async function twinsProject(install: { nodeModules: string }, major: number, files: Record<string, string>): Promise<Twins> {
  const project = await createInstalledProject(install);
  await project.writeFile('migrate-mongo-config.js', migrateMongoConfig(major));
  for (const [name, source] of Object.entries(files)) await project.write(name, source);
  const bin = join(install.nodeModules, 'migrate-mongo', 'bin', 'migrate-mongo.js');
  const env = (db: string): Record<string, string> => ({ MONGO_URL: testUri(), TWIN_DB: db });
  return {
    project,
    migrateMongo: (db, args) => runNode([bin, ...args], { cwd: project.dir, env: env(db) }),
    mongrate: (db, args) => runCli(args, { cwd: project.dir, env: env(db) }),
  };
}

/** The migrations' data: collections (with options), indexes and every document's bytes. */
async function dataOf(db: Db): Promise<CollectionSnapshot[]> {
  const snapshot = (await snapshotDb(db)).filter((c) => !BOOKKEEPING.has(c.name));
  // listIndexes names the namespace on some servers: the twins' database names differ
  return snapshot.map((c) => ({ ...c, indexes: c.indexes.map((index) => JSON.stringify({ ...(JSON.parse(index) as Record<string, unknown>), ns: undefined })) }));
}

async function sameData(client: MongoClient, theirs: string, ours: string, when: string): Promise<void> {
  const [a, b] = await Promise.all([dataOf(client.db(theirs)), dataOf(client.db(ours))]);
  assert.ok(a.length > 0 || when.includes('down'), `${when}: migrate-mongo left data (${describeSnapshot(a)})`);
  assert.deepEqual(b, a, `${when}: mongrate's database (${describeSnapshot(b)}) differs from migrate-mongo's (${describeSnapshot(a)})`);
}

async function withDatabases(labels: string[], fn: (client: MongoClient, names: string[]) => Promise<void>): Promise<void> {
  const client = new MongoClient(testUri());
  const names = labels.map((label) => uniqueDbName(label));
  try {
    await fn(client, names);
  } finally {
    await Promise.all(names.map((name) => client.db(name).dropDatabase().catch(() => undefined)));
    await client.close();
  }
}

/** The install of this driver with migrate-mongo; undefined once the test is skipped (no registry). */
async function installed(t: TestContext, mongodb: string): Promise<Exclude<Install, { skip: string }> | undefined> {
  const install = await installPackages({ mongodb, 'migrate-mongo': VERSIONS.migrateMongo });
  if (!('skip' in install)) return install;
  t.skip(install.skip);
  return undefined;
}

const DRIVERS = [VERSIONS.mongodb4, VERSIONS.mongodb6, VERSIONS.mongodb7];

void describe('mongrate beside migrate-mongo 14.0.7 on twin databases', { concurrency: 2 }, () => {
  for (const version of DRIVERS) {
    const major = Number.parseInt(version, 10);

    void it(`mongodb ${version}: identical data after up, down and up again`, async (t) => {
      const install = await installed(t, version);
      if (install === undefined) return;
      const [first, second] = migrationFiles(major);
      const twins = await twinsProject(install, major, { ...first, ...second });
      try {
        await withDatabases(['mm_theirs', 'mm_ours'], async (client, [theirs = '', ours = '']) => {
          const imported = await twins.mongrate(ours, ['import', 'migrate-mongo']);
          exits(imported, 0, 'import (nothing applied yet)');
          if (major < 7) assert.match(imported.stderr, /ignored the client options useNewUrlParser, useUnifiedTopology/, 'one notice, never an exit 2');

          exits(await twins.migrateMongo(theirs, ['up']), 0, 'migrate-mongo up');
          const up = await twins.mongrate(ours, ['up']);
          exits(up, 0, 'mongrate up');
          if (major < 7) assert.equal(up.stderr.match(/ignored the client options/g)?.length, 1, `one notice:\n${up.stderr}`);
          await sameData(client, theirs, ours, 'after up');
          const ran = await client.db(ours).collection('ran').find({}, { sort: { before: 1 } }).toArray();
          assert.deepEqual(ran.map((r) => r._id), ['users-index', 'users', 'owners', 'counters'], "migrate-mongo's order");

          exits(await twins.migrateMongo(theirs, ['down']), 0, 'migrate-mongo down');
          exits(await twins.mongrate(ours, ['down']), 0, 'mongrate down');
          await sameData(client, theirs, ours, 'after down');

          exits(await twins.migrateMongo(theirs, ['up']), 0, 'migrate-mongo up again');
          exits(await twins.mongrate(ours, ['up']), 0, 'mongrate up again');
          await sameData(client, theirs, ours, 'after up again');
          const status = await twins.mongrate(ours, ['status', '--check']);
          exits(status, 0, 'status --check: all applied');
        });
      } finally {
        await twins.project.remove();
      }
    });

    void it(`mongodb ${version}: identical data after adopting half-way (migrate-mongo applied the first half)`, async (t) => {
      const install = await installed(t, version);
      if (install === undefined) return;
      const [first, second] = migrationFiles(major);
      const twins = await twinsProject(install, major, first);
      try {
        await withDatabases(['mm_half_theirs', 'mm_half_ours'], async (client, [theirs = '', ours = '']) => {
          exits(await twins.migrateMongo(theirs, ['up']), 0, 'migrate-mongo up, first half (theirs)');
          exits(await twins.migrateMongo(ours, ['up']), 0, 'migrate-mongo up, first half (ours, before adopting)');
          for (const [name, source] of Object.entries(second)) await twins.project.write(name, source);

          exits(await twins.migrateMongo(theirs, ['up']), 0, 'migrate-mongo up, second half');
          const imported = await twins.mongrate(ours, ['import', 'migrate-mongo']);
          exits(imported, 0, 'mongrate import migrate-mongo');
          assert.match(imported.stdout, /Imported 2 migrations in 1 run/);
          const up = await twins.mongrate(ours, ['up']);
          exits(up, 0, 'mongrate up, second half');
          assert.match(up.stdout, /Done: applied 2 migrations/);
          await sameData(client, theirs, ours, 'after adopting half-way');
        });
      } finally {
        await twins.project.remove();
      }
    });
  }
});
