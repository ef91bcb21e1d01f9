// The programmatic side of many databases: createFanOut returns one result per database and
// emits every migrator event tagged with its database; `databases` as a function; canary and
// keepGoing; createMigrator refuses a config of several databases.
import { counts } from '../support/counts.ts';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MongoClient } from 'mongodb';
import { createFanOut, createMigrator, type InlineMigration } from '../../src/index.ts';
import { isError } from '../support/assertions.ts';
import { testUri, uniqueDbName } from '../support/database.ts';

function migrations(failIn?: string): InlineMigration[] {
  return [
    { id: '001-a', async up({ db }) { await db.collection('marks').insertOne({ mark: 'a' }); } },
    {
      id: '002-b',
      async up({ db }) {
        if (db.databaseName === failIn) throw new Error(`no b in ${db.databaseName}`);
        await db.collection('marks').insertOne({ mark: 'b' });
      },
    },
  ];
}

async function withDatabases(label: string, count: number, fn: (names: string[], client: MongoClient) => Promise<void>): Promise<void> {
  const prefix = uniqueDbName(label);
  const names = Array.from({ length: count }, (_, i) => `${prefix}_${i + 1}`);
  const client = await MongoClient.connect(testUri());
  try {
    await fn(names, client);
  } finally {
    for (const name of names) await client.db(name).dropDatabase().catch(() => undefined);
    await client.close();
  }
}

void describe('createFanOut', () => {
  void it('runs each database with its own changelog and tags every event with its database', () =>
    withDatabases('fo_api', 3, async (names) => {
      const fanOut = createFanOut({ uri: testUri(), databases: names, migrations: migrations(), concurrency: 2 });
      const events: string[] = [];
      fanOut.on('migrated', ({ database, id }) => events.push(`${database}:${id}`));
      fanOut.on('database-end', ({ database, outcome }) => events.push(`${database}:${outcome}`));
      try {
        const result = await fanOut.up();
        assert.equal(result.ok, true);
        assert.equal(result.command, 'up');
        assert.deepEqual(result.databases.map((d) => [d.database, d.outcome, d.result?.steps.length]), names.map((n) => [n, 'ok', 2]));
        for (const name of names) {
          assert.deepEqual(events.filter((e) => e.startsWith(`${name}:`)), [`${name}:001-a`, `${name}:002-b`, `${name}:ok`], `events of ${name}, in order`);
        }
        const status = await fanOut.status();
        assert.deepEqual(status.databases.map((d) => d.result?.counts), names.map(() => counts({ unchecked: 2 })));
      } finally {
        await fanOut.close();
      }
    }));

  void it('a function selects the databases; a failure stops the rest unless keepGoing; a failing canary stops everything', () =>
    withDatabases('fo_api_fn', 3, async (names, client) => {
      const [a, b, c] = names as [string, string, string];
      let asked = 0;
      const databases = ({ client: given }: { client: MongoClient }): string[] => {
        asked += 1;
        assert.ok(given instanceof MongoClient, 'the function gets the connected client');
        return names;
      };
      const fanOut = createFanOut({ uri: testUri(), databases, migrations: migrations(a) });
      try {
        assert.deepEqual(await fanOut.databases(), names);
        const stopped = await fanOut.up();
        assert.deepEqual(stopped.databases.map((d) => d.outcome), ['failed', 'not started', 'not started']);
        assert.equal(stopped.databases[0]?.error?.code, 'MIGRATION_FAILED');
        const kept = await fanOut.up({ keepGoing: true, retryFailed: true });
        assert.deepEqual(kept.databases.map((d) => d.outcome), ['failed', 'ok', 'ok']);
        assert.ok(asked >= 3, 'asked on every command');
        assert.equal(await client.db(b).collection('marks').countDocuments(), 2);

        await client.db(c).collection('mongrate_changelog').deleteMany({});
        const canary = await fanOut.up({ canary: a, keepGoing: true, retryFailed: true });
        assert.deepEqual(canary.databases.map((d) => d.outcome), ['failed', 'not started', 'not started'], 'nothing after a failing canary');
      } finally {
        await fanOut.close();
      }
    }));

  void it('createMigrator refuses a config of several databases, naming createFanOut', () => {
    assert.throws(() => createMigrator({ uri: testUri(), databases: ['x', 'y'], migrations: [] }), isError('USAGE', /createFanOut/));
  });
});
