// Bad input, credentials, precedence of flags/env/config, colour and quiet output: run through the
// built CLI exactly as a user would, each case with its own project folder and database.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { MongoClient, type Db } from 'mongodb';
import { changelog, type CliResult, exits, oneLineError, parseJson, runCli, states, withCliProject } from '../support/cli.ts';
import { createProject, failingMigration, markerMigration } from '../support/project.ts';
import { testUri, uniqueDbName } from '../support/database.ts';
import { startSilentListener } from '../support/silent-listener.ts';

/** A connection string with its path (the database part) replaced by `db` ('' for none). */
function uriWithDb(uri: string, db: string): string {
  const match = /^(mongodb(?:\+srv)?:\/\/[^/?]*)(?:\/[^?]*)?(\?.*)?$/.exec(uri);
  if (match === null) throw new Error(`cannot parse test URI ${uri}`);
  return `${match[1] ?? ''}/${db}${match[2] ?? ''}`;
}

/** A connection string with `user:password@` in it (replacing any credentials). */
function uriWithCredentials(uri: string, user: string, password: string): string {
  return uri.replace(/^(mongodb(?:\+srv)?:\/\/)(?:[^@/]*@)?/, `$1${user}:${password}@`);
}

interface Snapshot {
  changelog: unknown[];
  marks: number;
}

async function snapshot(db: Db): Promise<Snapshot> {
  return {
    changelog: await changelog(db),
    marks: await db.collection('marks').countDocuments(),
  };
}

function ok(result: CliResult, what: string): void {
  assert.equal(result.code, 0, `${what}: expected exit 0, got ${String(result.code)}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
}

const STACK_LINE = /^\s+at .+[:(]/m;

/** The `--json` failure document: ok false and the error code. */
function jsonError(result: CliResult, code: string): { code: string; message: string } {
  const doc = parseJson(result);
  assert.equal(doc.ok, false, result.stdout);
  const error = doc.error as { code: string; message: string };
  assert.equal(error.code, code, result.stdout);
  return error;
}

/** The start of an ANSI escape sequence (colours). */
const ESC = '\u001b[';

function assertColour(text: string, what: string): void {
  assert.ok(text.includes(ESC), `${what}: expected ANSI colour escapes in:\n${text}`);
}

function assertNoColour(text: string, what: string): void {
  assert.ok(!text.includes(ESC), `${what}: expected no ANSI escapes in:\n${JSON.stringify(text)}`);
}

const SECRET = 's3cretpw';

function assertNoSecret(result: CliResult, what: string): void {
  assert.ok(!result.stdout.includes(SECRET), `${what}: the password is on stdout:\n${result.stdout}`);
  assert.ok(!result.stderr.includes(SECRET), `${what}: the password is on stderr:\n${result.stderr}`);
}

const FAST_FAIL_CONFIG = `export default { clientOptions: { serverSelectionTimeoutMS: 500 } };\n`;

void describe('bad input: one-line message, right exit code, changelog unchanged', { concurrency: 4 }, () => {
  void it('a config with an unknown key exits 2 naming the key', async () => {
    await withCliProject('cfg_unknown', async ({ project, db, run }) => {
      await project.write('001-a.ts', markerMigration('a'));
      ok(await run(['up']), 'up');
      const before = await snapshot(db);
      await project.writeFile('migrate.config.ts', `export default { migrationDir: 'elsewhere' };\n`);
      await project.write('002-b.ts', markerMigration('b'));
      for (const command of ['up', 'status']) {
        const result = await run([command]);
        exits(result, 2, `${command} with an unknown config key`);
        oneLineError(result, /migrationDir/);
        assert.equal(result.stdout, '');
      }
      const json = await run(['up', '--json']);
      exits(json, 2, 'up --json with an unknown config key');
      assert.match(jsonError(json, 'CONFIG').message, /migrationDir/);
      assert.deepEqual(await snapshot(db), before);
    });
  });

  void it('a config value of the wrong type exits 2 naming lock.ttlSeconds', async () => {
    await withCliProject('cfg_type', async ({ project, db, run }) => {
      await project.writeFile('migrate.config.ts', `export default { lock: { ttlSeconds: 'x' } };\n`);
      await project.write('001-a.ts', markerMigration('a'));
      const result = await run(['up']);
      exits(result, 2, 'up with lock.ttlSeconds: "x"');
      oneLineError(result, /lock\.ttlSeconds/);
      const json = await run(['status', '--json']);
      exits(json, 2, 'status --json with lock.ttlSeconds: "x"');
      assert.match(jsonError(json, 'CONFIG').message, /lock\.ttlSeconds/);
      assert.deepEqual(await snapshot(db), { changelog: [], marks: 0 });
    });
  });

  void it('no database anywhere exits 2 and mentions --db', async () => {
    await withCliProject('no_db', async ({ project, db, bare }) => {
      await project.write('001-a.ts', markerMigration('a'));
      const env = { MONGODB_URI: uriWithDb(testUri(), '') };
      for (const command of ['up', 'status']) {
        const result = await bare([command], env);
        exits(result, 2, `${command} without a database`);
        oneLineError(result, /--db/);
      }
      const json = await bare(['up', '--json'], env);
      exits(json, 2, 'up --json without a database');
      assert.match(jsonError(json, 'USAGE').message, /--db/);
      assert.deepEqual(await snapshot(db), { changelog: [], marks: 0 });
    });
  });

  void it('a malformed --uri exits 2; -v adds a stack trace', async () => {
    await withCliProject('bad_uri', async ({ project, dbName, bare }) => {
      await project.write('001-a.ts', markerMigration('a'));
      const result = await bare(['--uri', 'notauri', '--db', dbName, 'up']);
      exits(result, 2, '--uri notauri');
      oneLineError(result, /notauri/);
      const json = await bare(['--uri', 'notauri', '--db', dbName, 'status', '--json']);
      exits(json, 2, '--uri notauri --json');
      jsonError(json, 'USAGE');
      assert.equal(json.stderr, '');

      const verbose = await bare(['--uri', 'notauri', '--db', dbName, 'up', '-v']);
      exits(verbose, 2, '--uri notauri -v');
      assert.match(verbose.stderr, /^error: .*notauri/m);
      assert.match(verbose.stderr, STACK_LINE, `-v shows a stack trace:\n${verbose.stderr}`);
    });
  });

  void it('an unreachable server exits 5 well before the default timeout', async () => {
    await withCliProject('unreachable', async ({ project, dbName, bare }) => {
      await project.writeFile('migrate.config.ts', FAST_FAIL_CONFIG);
      await project.write('001-a.ts', markerMigration('a'));
      const result = await bare(['--uri', 'mongodb://127.0.0.1:1', '--db', dbName, 'up']);
      exits(result, 5, 'up against an unreachable server');
      oneLineError(result, /127\.0\.0\.1:1/);
      oneLineError(result, /within 500 ms/);
      const json = await bare(['--uri', 'mongodb://127.0.0.1:1', '--db', dbName, 'status', '--json']);
      exits(json, 5, 'status --json against an unreachable server');
      jsonError(json, 'UNREACHABLE');
      // The configured timeout is the one the driver waited, not the 30000 ms default: a server
      // that accepts and never answers makes the driver wait it out whole, and its own error
      // names the time it waited (a stopwatch would time process start-up on a loaded machine).
      const silent = await startSilentListener();
      try {
        const hung = await bare(['--uri', silent.uri, '--db', dbName, 'up']);
        exits(hung, 5, 'up against a server that never answers');
        oneLineError(hung, new RegExp(`cannot reach MongoDB at mongodb://${silent.address.replaceAll('.', '\\.')} within 500 ms \\(Server selection timed out after 500 ms\\)`));
      } finally {
        await silent.close();
      }
    });
  });

  void it('two files with one id exit 2 naming the id', async () => {
    await withCliProject('dup_ids', async ({ project, db, run }) => {
      await project.write('001-a.ts', markerMigration('a'));
      ok(await run(['up']), 'up');
      const before = await snapshot(db);
      await project.write('002-b.ts', markerMigration('b'));
      await project.write('002-b.js', markerMigration('b-js'));
      for (const command of ['up', 'status']) {
        const result = await run([command]);
        exits(result, 2, `${command} with a duplicate id`);
        oneLineError(result, /002-b/);
      }
      const json = await run(['up', '--json']);
      exits(json, 2, 'up --json with a duplicate id');
      assert.match(jsonError(json, 'DUPLICATE_ID').message, /002-b/);
      // validate reports it as a finding, like every other problem it looks for
      const validate = await run(['validate', '--json']);
      exits(validate, 4, 'validate with a duplicate id');
      const findings = (parseJson(validate).findings as { id: string; kind: string }[]).map((f) => [f.id, f.kind]);
      assert.deepEqual(findings, [['002-b', 'duplicate-id']]);
      assert.deepEqual(await snapshot(db), before);
    });
  });

  void it('a symbolic link to nowhere exits 2 naming the link; links to files run as the files', async () => {
    await withCliProject('symlinks', async ({ project, db, run }) => {
      await project.writeFile('shared-a.ts', markerMigration('a'));
      await symlink(join(project.dir, 'shared-a.ts'), join(project.migrationsDir, '001-a.ts'));
      ok(await run(['up']), 'up through a link');
      assert.deepEqual(await states(db), { '001-a': 'applied' });
      const before = await snapshot(db);
      await symlink(join(project.dir, 'moved-away.ts'), join(project.migrationsDir, '002-b.ts'));
      for (const command of ['up', 'status', 'validate']) {
        const result = await run([command]);
        exits(result, 2, `${command} with a dangling link`);
        oneLineError(result, /002-b\.ts in migrations is a symbolic link to .*moved-away\.ts, which does not exist/);
      }
      assert.deepEqual(await snapshot(db), before);
    });
  });

  void it('a syntax error in a migration exits 2 naming the file and runs nothing; status still works', async () => {
    await withCliProject('syntax', async ({ project, db, run }) => {
      await project.write('001-a.ts', markerMigration('a'));
      ok(await run(['up']), 'up');
      const before = await snapshot(db);
      await project.write('002-b.ts', markerMigration('b'));
      await project.write('003-broken.ts', 'export async function up({ db }) {\n  await db.collection("x").insertOne({ oops: ;\n}\n');
      await project.write('004-d.ts', markerMigration('d'));
      const result = await run(['up']);
      exits(result, 2, 'up with a syntax error');
      oneLineError(result, /003-broken\.ts/);
      const json = await run(['up', '--json']);
      exits(json, 2, 'up --json with a syntax error');
      assert.match(jsonError(json, 'USAGE').message, /003-broken\.ts/);
      assert.deepEqual(await snapshot(db), before, 'nothing ran, not even the migration before the broken one');
      // status reads files without importing them
      const status = await run(['status', '--json']);
      ok(status, 'status with a broken migration file');
      const doc = parseJson(status) as { migrations: { id: string; state: string }[] };
      assert.deepEqual(doc.migrations.map((m) => [m.id, m.state]), [['001-a', 'applied'], ['002-b', 'pending'], ['003-broken', 'pending'], ['004-d', 'pending']]);
    });
  });

  void it('down of an irreversible migration exits 2 and reverts nothing', async () => {
    await withCliProject('irreversible', async ({ project, db, run }) => {
      await project.write('001-a.ts', markerMigration('a'));
      await project.write('002-oneway.ts', markerMigration('oneway', { down: false }));
      await project.write('003-c.ts', markerMigration('c'));
      ok(await run(['up']), 'up');
      const before = await snapshot(db);
      const result = await run(['down', '--step', '2']);
      exits(result, 2, 'down --step 2 over an irreversible migration');
      oneLineError(result, /002-oneway/);
      assert.doesNotMatch(result.stdout, /reverted/, 'not even 003-c, which could be reverted, is reverted');
      const all = await run(['down', '--all', '--json']);
      exits(all, 2, 'down --all --json over an irreversible migration');
      assert.match(jsonError(all, 'USAGE').message, /002-oneway/);
      assert.deepEqual(await snapshot(db), before);
      // the reversible newest one alone can still go
      ok(await run(['down']), 'down of 003-c');
      assert.deepEqual(await states(db), { '001-a': 'applied', '002-oneway': 'applied' });
    });
  });

  void it('-v shows a stack trace for an error; without -v there is none', async () => {
    await withCliProject('verbose', async ({ project, run }) => {
      await project.write('001-a.ts', markerMigration('a'));
      await project.write('002-fails.ts', failingMigration('deliberate failure'));
      const plain = await run(['up']);
      exits(plain, 1, 'up with a failing migration');
      assert.doesNotMatch(plain.stderr, STACK_LINE);
      await project.write('003-c.ts', markerMigration('c'));
      await project.write('003-c.js', markerMigration('c'));
      const verbose = await run(['up', '-v']);
      exits(verbose, 2, 'up -v with a duplicate id');
      assert.match(verbose.stderr, /^error: .*003-c/m);
      assert.match(verbose.stderr, STACK_LINE, `stack trace with -v:\n${verbose.stderr}`);
      const conflicting = await run(['status', '-v', '-q']);
      exits(conflicting, 2, '-v with -q');
    });
  });
});

void describe('credentials are never printed', { concurrency: 4 }, () => {
  const unreachable = `mongodb://bob:${SECRET}@127.0.0.1:1/x`;

  void it('with --uri holding a password: unreachable and bad-auth, human and --json', async () => {
    const project = await createProject({ config: FAST_FAIL_CONFIG });
    try {
      await project.write('001-a.ts', markerMigration('a'));
      for (const extra of [['status'], ['up', '-v'], ['status', '--json'], ['up', '--json', '-v'], ['down', '--all']]) {
        const result = await runCli(['--uri', unreachable, ...extra], { cwd: project.dir });
        exits(result, 5, `${extra.join(' ')} against an unreachable server`);
        assertNoSecret(result, extra.join(' '));
        assert.match(result.stdout + result.stderr, /bob:\*\*\*@127\.0\.0\.1:1/, 'the URI is shown masked');
      }
      // the real server, with credentials it will not accept
      const badAuth = uriWithCredentials(uriWithDb(testUri(), uniqueDbName('creds')), 'bob', SECRET);
      for (const extra of [['up', '-v'], ['status', '--json']]) {
        const result = await runCli(['--uri', badAuth, ...extra], { cwd: project.dir });
        assert.notEqual(result.code, 0, `${extra.join(' ')} with a wrong password should fail`);
        assertNoSecret(result, `${extra.join(' ')} with a wrong password`);
      }
      // a URI the driver cannot parse, and a usage error on the same command line
      const broken = `mongodb://bob:${SECRET}@127.0.0.1:notaport/x`;
      for (const extra of [['up'], ['up', '--json'], ['up', '-v']]) {
        const result = await runCli(['--uri', broken, ...extra], { cwd: project.dir });
        exits(result, 2, `${extra.join(' ')} with an unparsable URI`);
        assertNoSecret(result, `${extra.join(' ')} with an unparsable URI`);
      }
    } finally {
      await project.remove();
    }
  });

  void it('with MONGODB_URI or the config uri holding a password', async () => {
    const project = await createProject({ config: FAST_FAIL_CONFIG });
    try {
      await project.write('001-a.ts', markerMigration('a'));
      for (const extra of [['status'], ['up', '-v'], ['status', '--json', '-v']]) {
        const result = await runCli(extra, { cwd: project.dir, env: { MONGODB_URI: unreachable } });
        exits(result, 5, `MONGODB_URI: ${extra.join(' ')}`);
        assertNoSecret(result, `MONGODB_URI: ${extra.join(' ')}`);
      }
      const badAuth = uriWithCredentials(uriWithDb(testUri(), uniqueDbName('creds')), 'bob', SECRET);
      for (const extra of [['up', '-v'], ['up', '--json']]) {
        const result = await runCli(extra, { cwd: project.dir, env: { MONGODB_URI: badAuth } });
        assert.notEqual(result.code, 0, `MONGODB_URI with a wrong password: ${extra.join(' ')}`);
        assertNoSecret(result, `MONGODB_URI with a wrong password: ${extra.join(' ')}`);
      }
      await project.writeFile('migrate.config.ts', `export default { uri: ${JSON.stringify(unreachable)}, clientOptions: { serverSelectionTimeoutMS: 500 } };\n`);
      for (const extra of [['up', '-v'], ['status', '--json']]) {
        const result = await runCli(extra, { cwd: project.dir });
        exits(result, 5, `config uri: ${extra.join(' ')}`);
        assertNoSecret(result, `config uri: ${extra.join(' ')}`);
      }
    } finally {
      await project.remove();
    }
  });
});

void describe('precedence: flag > env > config', { concurrency: 4 }, () => {
  void it('--db beats MONGODB_DATABASE beats config database beats the URI path', async () => {
    const names = { config: uniqueDbName('p_cfg'), env: uniqueDbName('p_env'), flag: uniqueDbName('p_flag'), path: uniqueDbName('p_path') };
    const client = new MongoClient(testUri());
    const project = await createProject();
    try {
      await project.write('001-a.ts', markerMigration('a'));
      const count = async (name: string): Promise<number> => client.db(name).collection('mongrate_changelog').countDocuments();
      const uri = testUri();

      // no database in config or env: the URI's path
      ok(await runCli(['up'], { cwd: project.dir, env: { MONGODB_URI: uriWithDb(uri, names.path) } }), 'up with the database in the URI path');
      assert.equal(await count(names.path), 1);

      await project.writeFile('migrate.config.ts', `export default { database: ${JSON.stringify(names.config)} };\n`);
      ok(await runCli(['up'], { cwd: project.dir, env: { MONGODB_URI: uriWithDb(uri, names.path) } }), 'up with config database and URI path');
      assert.equal(await count(names.config), 1, 'config database beats the URI path');

      ok(await runCli(['up'], { cwd: project.dir, env: { MONGODB_URI: uri, MONGODB_DATABASE: names.env } }), 'up with MONGODB_DATABASE');
      assert.equal(await count(names.env), 1, 'MONGODB_DATABASE beats the config');

      ok(await runCli(['--db', names.flag, 'up'], { cwd: project.dir, env: { MONGODB_URI: uri, MONGODB_DATABASE: names.env } }), 'up --db');
      assert.equal(await count(names.flag), 1, '--db beats MONGODB_DATABASE');

      assert.deepEqual(await Promise.all(Object.values(names).map(count)), [1, 1, 1, 1], 'each run wrote to exactly one database');
    } finally {
      await project.remove();
      await Promise.all(Object.values(names).map((name) => client.db(name).dropDatabase().catch(() => undefined)));
      await client.close();
    }
  });

  void it('--uri beats MONGODB_URI beats config uri', async () => {
    await withCliProject('p_uri', async ({ project, db, dbName, bare }) => {
      await project.write('001-a.ts', markerMigration('a'));
      await project.write('002-b.ts', markerMigration('b'));
      const good = testUri();
      const dead = 'mongodb://127.0.0.1:1/';
      const config = (uri: string): string =>
        `export default { uri: ${JSON.stringify(uri)}, database: ${JSON.stringify(dbName)}, clientOptions: { serverSelectionTimeoutMS: 500 } };\n`;

      await project.writeFile('migrate.config.ts', config(good));
      const envWins = await bare(['up'], { MONGODB_URI: dead });
      exits(envWins, 5, 'MONGODB_URI (unreachable) over a good config uri');

      await project.writeFile('migrate.config.ts', config(dead));
      ok(await bare(['up', '--step', '1'], { MONGODB_URI: good }), 'MONGODB_URI (good) over an unreachable config uri');
      assert.deepEqual(await states(db), { '001-a': 'applied' });

      ok(await bare(['--uri', good, 'up'], { MONGODB_URI: dead }), '--uri (good) over an unreachable MONGODB_URI');
      assert.deepEqual(await states(db), { '001-a': 'applied', '002-b': 'applied' });

      exits(await bare(['--uri', dead, 'status'], { MONGODB_URI: good }), 5, '--uri (unreachable) over a good MONGODB_URI');
      await project.writeFile('migrate.config.ts', config(good));
      ok(await bare(['status']), 'the config uri when nothing else is given');
    });
  });
});

void describe('colour and quiet output', { concurrency: 4 }, () => {
  void it('FORCE_COLOR=1 colours; --no-color and NO_COLOR=1 do not; --json never does', async () => {
    await withCliProject('colour', async ({ project, run }) => {
      await project.write('001-a.ts', markerMigration('a'));
      await project.write('002-fails.ts', failingMigration('red alert'));
      const forced = await run(['status'], { FORCE_COLOR: '1' });
      ok(forced, 'status with FORCE_COLOR=1');
      assertColour(forced.stdout, 'status with FORCE_COLOR=1');

      const forcedUp = await run(['up'], { FORCE_COLOR: '1' });
      exits(forcedUp, 1, 'up with FORCE_COLOR=1');
      assertColour(forcedUp.stdout, 'up stdout with FORCE_COLOR=1');
      assertColour(forcedUp.stderr, 'up error with FORCE_COLOR=1');

      const cases: [string, string[], Record<string, string>][] = [
        ['--no-color with FORCE_COLOR=1', ['--no-color'], { FORCE_COLOR: '1' }],
        ['NO_COLOR=1', [], { NO_COLOR: '1' }],
        ['no TTY and no FORCE_COLOR', [], {}],
        ['--json with FORCE_COLOR=1', ['--json'], { FORCE_COLOR: '1' }],
      ];
      for (const [what, flags, env] of cases) {
        for (const command of [['status'], ['up', '--retry-failed'], ['down', '--to', '999-nope']]) {
          const result = await run([...flags, ...command], env);
          assertNoColour(result.stdout, `${what}: ${command.join(' ')} stdout`);
          assertNoColour(result.stderr, `${what}: ${command.join(' ')} stderr`);
        }
      }
    });
  });

  void it('-q prints no progress lines for up, but errors still show', async () => {
    await withCliProject('quiet', async ({ project, db, run }) => {
      await project.write('001-a.ts', markerMigration('a'));
      await project.write('002-b.ts', markerMigration('b'));
      const quiet = await run(['up', '-q']);
      ok(quiet, 'up -q');
      assert.equal(quiet.stdout, '', `no progress or summary lines with -q:\n${quiet.stdout}`);
      assert.equal(quiet.stderr, '');
      assert.deepEqual(await states(db), { '001-a': 'applied', '002-b': 'applied' });

      await project.write('003-fails.ts', failingMigration('quiet but broken'));
      const failed = await run(['up', '-q']);
      exits(failed, 1, 'up -q with a failing migration');
      assert.match(failed.stderr, /^error: .*003-fails.*quiet but broken/m, 'the error shows with -q');

      const usage = await run(['--quiet', 'down', '--to', '999-nope']);
      exits(usage, 2, 'down -q --to an unknown id');
      oneLineError(usage, /999-nope/);
    });
  });
});
