// The driver is the project's: projects that really install mongodb 6.22, 7.9.1 (a copy of 7.x
// other than mongrate's) and 4.17, run through the built CLI as a user runs it. Values the
// migrations build with the project's `mongodb` go through ctx.db and the helpers (never
// "Unsupported BSON version"), documents read back are instances of the project's classes (an
// `instanceof` check never silently skips a write), and `--version`/`status --verbose` name the
// driver. A native project on 4.x is refused naming the version; so is a defineMigration file in a
// migrate-mongo project on 4.x. Installs are shared (test/support/npm-project.ts).
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { ObjectId, type Db } from 'mongodb';
import { type CliResult, exits, oneLineError, runCli } from '../support/cli.ts';
import { testUri, withTestDb } from '../support/database.ts';
import { createInstalledProject, installPackages, VERSIONS } from '../support/npm-project.ts';
import { createProject, type TestProject } from '../support/project.ts';

const OWNER = '65a0000000000000000000aa';
const REF = '65a0000000000000000000bb';

/** A project with these packages installed and a JSON config naming the test database; undefined once skipped. */
async function project(t: TestContext, packages: Record<string, string>, db: string, config: Record<string, unknown> = {}): Promise<TestProject | undefined> {
  const install = await installPackages(packages);
  if ('skip' in install) {
    t.skip(install.skip);
    return undefined;
  }
  const created = await createInstalledProject(install);
  await created.writeFile('migrate.config.json', JSON.stringify({ uri: testUri(), database: db, ...config }));
  return created;
}

const mongrate = (p: TestProject, args: string[]): Promise<CliResult> => runCli(args, { cwd: p.dir });

/** `_id` -> the BSON type of each field as stored (read without promoting values to JavaScript's). */
async function storedTypes(db: Db, collection: string): Promise<Record<string, Record<string, string>>> {
  const docs = await db.collection(collection).find({}, { promoteValues: false, promoteLongs: false, sort: { _id: 1 } }).toArray();
  const typeOf = (value: unknown): string => {
    const bsonType: unknown = typeof value === 'object' && value !== null ? (value as { _bsontype?: unknown })._bsontype : undefined;
    return typeof bsonType === 'string' ? bsonType : typeof value;
  };
  return Object.fromEntries(docs.map((d) => [String(d._id), Object.fromEntries(Object.entries(d).map(([k, v]) => [k, typeOf(v)]))]));
}

void describe('the driver is the project’s', { concurrency: 2 }, () => {
  void it("mongodb 6.22: an ESM .mjs migration writes the project's ObjectId, Long and Double through ctx.db and a helper; reads are the project's instances", (t) =>
    withTestDb('driver_6', async ({ db, dbName }) => {
      const p = await project(t, { mongodb: VERSIONS.mongodb6Latest }, dbName);
      if (p === undefined) return;
      try {
        await p.write(
          '20240101000000-owners.mjs',
          `import { Double, Long, ObjectId } from 'mongodb';
import { defineMigration } from 'mongrate';

export default defineMigration({
  async up({ db, helpers }) {
    await db.collection('things').insertMany([{ _id: 1, ownerId: new ObjectId('${OWNER}') }, { _id: 2 }]);
    const first = await db.collection('things').findOne({ _id: 1 });
    // the check a migration makes before it writes: false would skip the write silently
    if (first.ownerId instanceof ObjectId) await db.collection('things').updateOne({ _id: 1 }, { $set: { checked: true } });
    await db.collection('things').updateMany({}, { $set: { big: Long.fromString('9007199254740993'), price: new Double(2) } });
    await helpers.reshape('things', { transform: (doc) => ({ ...doc, ref: new ObjectId('${REF}'), sameOwner: doc.ownerId instanceof ObjectId }) });
  },
  async down({ db }) {
    await db.collection('things').drop();
  },
});
`,
        );
        const up = await mongrate(p, ['up']);
        exits(up, 0, 'up');
        assert.doesNotMatch(up.stderr, /Unsupported BSON version/);
        const things = await db.collection('things').find({}, { sort: { _id: 1 } }).toArray();
        // instanceof ObjectId held for a document read through ctx.db, and for one the helper read
        assert.deepEqual([things[0]?.checked, things[0]?.sameOwner], [true, true]);
        assert.deepEqual(await storedTypes(db, 'things'), {
          1: { _id: 'Int32', ownerId: 'ObjectId', checked: 'boolean', big: 'Long', price: 'Double', ref: 'ObjectId', sameOwner: 'boolean' },
          2: { _id: 'Int32', big: 'Long', price: 'Double', ref: 'ObjectId', sameOwner: 'boolean' },
        });

        const version = await mongrate(p, ['--version']);
        exits(version, 0, '--version');
        assert.match(version.stdout, /^\d+\.\d+\.\d+\nmongodb 6\.22\.0 \(the project's, \S+node_modules\/mongodb\)\n$/);
        const status = await mongrate(p, ['status', '--verbose']);
        exits(status, 0, 'status --verbose');
        assert.match(status.stderr, /driver mongodb 6\.22\.0 \(the project's, /);
        exits(await mongrate(p, ['down']), 0, 'down');
        assert.equal(await db.collection('things').countDocuments(), 0);
      } finally {
        await p.remove();
      }
    }));

  void it('mongodb 7.9.1, a copy of 7.x other than mongrate’s: an instanceof check in a CommonJS migration holds, so its write is not skipped', (t) =>
    withTestDb('driver_7', async ({ db, dbName }) => {
      const p = await project(t, { mongodb: VERSIONS.mongodb7 }, dbName);
      if (p === undefined) return;
      try {
        // written by another program (here the test's own driver): stored as a BSON objectId
        await db.collection('things').insertOne({ _id: 1 as never, ownerId: new ObjectId(OWNER) });
        await p.write(
          '20240101000000-owner-ids.js',
          `const { ObjectId } = require('mongodb');
module.exports = {
  async up({ db }) {
    for (const doc of await db.collection('things').find({}).toArray()) {
      if (doc.ownerId instanceof ObjectId) await db.collection('things').updateOne({ _id: doc._id }, { $set: { owner: doc.ownerId.toHexString() } });
    }
  },
};
`,
        );
        exits(await mongrate(p, ['up']), 0, 'up');
        assert.deepEqual(await db.collection('things').findOne({ _id: 1 as never }, { projection: { _id: 0, owner: 1 } }), { owner: OWNER }, 'the write after the instanceof check was not skipped');
        assert.match((await mongrate(p, ['--version'])).stdout, /^mongodb 7\.9\.1 \(the project's, /m);
      } finally {
        await p.remove();
      }
    }));

  void it('mongodb 4.17: a native project is refused naming the version found and the versions supported; so is a defineMigration file among migrate-mongo files', (t) =>
    withTestDb('driver_4', async ({ db, dbName }) => {
      const p = await project(t, { mongodb: VERSIONS.mongodb4 }, dbName);
      if (p === undefined) return;
      try {
        await p.write('20240101000000-native.js', "module.exports = { async up({ db }) { await db.collection('marks').insertOne({ ran: true }); } };\n");
        for (const command of [['status'], ['up']]) {
          const refused = await mongrate(p, command);
          exits(refused, 2, command.join(' '));
          oneLineError(refused, /mongodb 4\.17\.2 \(the project's, .*\) cannot run mongrate's migrations: they need the project's mongodb 6\.x or 7\.x \(migrate-mongo files, with compat: 'migrate-mongo', also run on 4\.x, 5\.x, 6\.x or 7\.x\)/);
        }
        assert.match((await mongrate(p, ['--version'])).stdout, /^mongodb 4\.17\.2 \(the project's, .*\) for migrate-mongo files; mongrate's own client on mongodb 7\./m);

        await p.writeFile('migrate.config.json', JSON.stringify({ uri: testUri(), database: dbName, compat: 'migrate-mongo' }));
        await p.write('20240101000000-native.js', "const { defineMigration } = require('mongrate');\nmodule.exports = defineMigration({ async up({ db }) { await db.collection('marks').insertOne({ ran: true }); } });\n");
        const up = await mongrate(p, ['up']);
        exits(up, 2, 'up with a defineMigration file on 4.x');
        oneLineError(up, /migration migrations\/20240101000000-native\.js is written for mongrate \(defineMigration\), which needs the project's mongodb 6\.x or 7\.x; this project's mongodb 4\.17\.2/);
        assert.equal(await db.collection('marks').countDocuments(), 0, 'nothing ran');
      } finally {
        await p.remove();
      }
    }));

  void it('a project without mongodb (an npx one-off in a bare folder): mongrate’s own 7.x, and --version says so', async () => {
    const bare = await createProject();
    try {
      const version = await runCli(['--version'], { cwd: bare.dir });
      exits(version, 0, '--version');
      assert.match(version.stdout, /^mongodb 7\.\d+\.\d+ \(mongrate's own: the project has none, /m);
    } finally {
      await bare.remove();
    }
  });
});
