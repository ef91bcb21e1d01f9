// Credentials are never printed or stored: the built CLI is given every mistyped connection string
// we know of, by --uri and by MONGODB_URI, in plain, --json and -v output; and a migration whose
// error quotes the connection string leaves no password in the changelog, the history or the output.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Db } from 'mongodb';
import { changelog, changelogRecord, type CliEnv, type CliResult, history, parseJson, runCli, withCliProject } from '../support/cli.ts';
import { testServerFlavour, testUri } from '../support/database.ts';
import { createProject, markerMigration, type TestProject } from '../support/project.ts';

const FAST_FAIL_CONFIG = `export default { clientOptions: { serverSelectionTimeoutMS: 500 } };\n`;

/** Every part of a password between its special characters: a leak of its tail counts too. */
function fragments(password: string): string[] {
  return password.split(/[^A-Za-z0-9]+/).filter((part) => part.length >= 4);
}

/** The password in every form it could be printed in: raw, JSON-escaped, percent-decoded and -encoded, and its fragments. */
function formsOf(password: string): string[] {
  let decoded = password;
  try {
    decoded = decodeURIComponent(password);
  } catch {
    // not percent-encoded
  }
  const forms = [password, decoded, encodeURIComponent(decoded)].flatMap((form) => [form, JSON.stringify(form).slice(1, -1)]);
  return [...new Set([...forms, ...fragments(decoded)])];
}

function assertHidden(text: string, password: string, what: string): void {
  for (const form of formsOf(password)) {
    assert.ok(!text.includes(form), `${what}: '${form}' (of the password) is in the output:\n${text}`);
  }
}

function output(result: CliResult): string {
  return result.stdout + result.stderr;
}

/**
 * [what, connection string, password, exit code]. Hosts are 127.0.0.1:1 (nothing listens), so the
 * strings the driver accepts fail fast as unreachable (5) and the others as unparsable (2).
 */
const CASES: readonly (readonly [string, string, string, number])[] = [
  ['wrong scheme mongo://', 'mongo://bob:Wr0ngScheme@127.0.0.1:1/app', 'Wr0ngScheme', 2],
  ['one slash mongodb:/', 'mongodb:/bob:0neSlash9@127.0.0.1:1/app', '0neSlash9', 2],
  ['no slash mongodb:', 'mongodb:bob:N0Slash77@127.0.0.1:1/app', 'N0Slash77', 2],
  ['no scheme at all', 'bob:N0Scheme33@127.0.0.1:1/app', 'N0Scheme33', 2],
  ['unescaped / in the password', 'mongodb://bob:HeadPw1/TailPw2@127.0.0.1:1/app', 'HeadPw1/TailPw2', 2],
  ['unescaped @ in the password', 'mongodb://bob:HeadPw1@TailPw2@127.0.0.1:1/app', 'HeadPw1@TailPw2', 2],
  ['unescaped " and \\ in the password', 'mongodb://bob:HeadPw1"MidPw2\\TailPw3@127.0.0.1:1/app', 'HeadPw1"MidPw2\\TailPw3', 5],
  ['unescaped : ? # in the password', 'mongodb://bob:HeadPw1:MidPw2?TailPw3#EndPw4@127.0.0.1:1/app', 'HeadPw1:MidPw2?TailPw3#EndPw4', 2],
  ['a space in the password', 'mongodb://bob:HeadPw1 TailPw2@127.0.0.1:1/app', 'HeadPw1 TailPw2', 5],
  ['mongodb+srv with an unescaped /', 'mongodb+srv://bob:SrvPw1/SrvPw2@cluster0.example.invalid/app', 'SrvPw1/SrvPw2', 2],
  ['percent-encoded password', 'mongodb://bob:EncPw1%2FEncPw2%40EncPw3@127.0.0.1:1/app', 'EncPw1%2FEncPw2%40EncPw3', 5],
];

const MODES: readonly (readonly string[])[] = [['status'], ['up', '--json'], ['up', '-v']];

void describe('a mistyped connection string never shows its password', { concurrency: 4 }, () => {
  let project: TestProject;
  before(async () => {
    project = await createProject({ config: FAST_FAIL_CONFIG });
    await project.write('001-a.ts', markerMigration('a'));
  });
  after(() => project.remove());

  for (const [what, uri, password, code] of CASES) {
    void it(`${what}: --uri and MONGODB_URI, plain, --json and -v`, async () => {
      for (const source of ['--uri', 'MONGODB_URI'] as const) {
        for (const mode of MODES) {
          const args = source === '--uri' ? ['--uri', uri, ...mode] : [...mode];
          const env: CliEnv = source === 'MONGODB_URI' ? { MONGODB_URI: uri } : {};
          const label = `${what} via ${source}: ${mode.join(' ')}`;
          const result = await runCli(args, { cwd: project.dir, env });
          assert.equal(result.code, code, `${label}: exit ${String(result.code)}\n${output(result)}`);
          assertHidden(output(result), password, label);
          if (mode.includes('--json')) {
            const doc = parseJson(result);
            assert.equal(doc.ok, false);
            assert.match((doc.error as { message: string }).message, /bob:\*\*\*@/, `${label}: the URI is shown, masked`);
            assert.equal(result.stderr, '', `${label}: nothing but the JSON document`);
          } else {
            assert.match(result.stderr, /^error: .*bob:\*\*\*@/m, `${label}: the error shows the URI masked`);
          }
          if (mode.includes('-v')) {
            assert.match(result.stderr, /^config: .*; server \S*bob:\*\*\*@\S*; database app;/m, `${label}: the -v config line`);
            assert.match(result.stderr, /^\s+at /m, `${label}: -v shows the stack trace (masked too)`);
          }
        }
      }
    });
  }
});

/** A migration that fails with a message quoting its connection string (and the decoded password). */
const QUOTES_ITS_URI = `export async function up() {
  throw new Error('could not reach ' + process.env.MONGODB_URI + ' with password ' + process.env.PLAIN_PASSWORD);
}
export async function down() {}
`;

/** Everything the database recorded for this test, serialised. */
async function stored(db: Db): Promise<string> {
  return JSON.stringify({ changelog: await changelog(db), history: await history(db) });
}

/**
 * The test server's URI with a password it accepts. FerretDB 1.x (SQLite) accepts any credentials
 * over PLAIN; a MONGODB_URI that already holds a password is used as it is.
 */
function uriWithPassword(): { uri: string; user: string; password: string } | string {
  const base = testUri();
  const existing = /^mongodb(?:\+srv)?:\/\/([^:@/]*):([^@/]+)@/.exec(base);
  if (existing?.[2] !== undefined) return { uri: base, user: existing[1] ?? '', password: existing[2] };
  if (testServerFlavour() !== 'ferretdb') return 'needs a server that accepts a password: FerretDB (PLAIN) or a MONGODB_URI with credentials';
  const password = 'Qz7xa Kw9yb/Lm4zc@Np5qd"Rs6te\\Tu8vf';
  const withCredentials = base.replace(/^(mongodb(?:\+srv)?:\/\/)/, `$1bob:${encodeURIComponent(password)}@`);
  return { uri: `${withCredentials}${withCredentials.includes('?') ? '&' : '?'}authMechanism=PLAIN`, user: 'bob', password: encodeURIComponent(password) };
}

const credentials = uriWithPassword();

void describe('a failing migration that quotes the connection string', { concurrency: 2 }, () => {
  void it('stores and prints its error without the password (a URI the server accepts)', { skip: typeof credentials === 'string' ? credentials : false }, async () => {
    if (typeof credentials === 'string') return;
    const { uri, user, password } = credentials;
    await withCliProject('secret_stored', async ({ project, db, run }) => {
      await project.write('001-a.ts', markerMigration('a'));
      await project.write('002-quotes-uri.ts', QUOTES_ITS_URI);
      const env = { MONGODB_URI: uri, PLAIN_PASSWORD: decodeURIComponent(password) };
      const up = await run(['up'], env);
      assert.equal(up.code, 1, `up with a failing migration: exit ${String(up.code)}\n${output(up)}`);
      assertHidden(output(up), password, 'up');
      assert.ok(up.stderr.includes(`could not reach mongodb://${user}:***@`), `the error is shown, masked:\n${up.stderr}`);

      const record = await changelogRecord(db, '002-quotes-uri');
      assert.equal(record?.state, 'failed', 'the migration connected and ran (the password was accepted)');
      assert.match(record.error?.message ?? '', new RegExp(`could not reach mongodb://${user}:\\*\\*\\*@.* with password \\*\\*\\*`));
      assertHidden(await stored(db), password, 'changelog and history');

      for (const args of [['up', '--retry-failed', '--json'], ['up', '--retry-failed', '-v'], ['status'], ['status', '--json']]) {
        const result = await run(args, env);
        assertHidden(output(result), password, args.join(' '));
      }
      assertHidden(await stored(db), password, 'changelog and history after the retries');
    });
  });

  void it('masks a URI from the config file that the migration quotes', { skip: typeof credentials === 'string' ? credentials : false }, async () => {
    if (typeof credentials === 'string') return;
    const { uri, user, password } = credentials;
    await withCliProject('secret_config', async ({ project, db, dbName, bare }) => {
      await project.writeFile('migrate.config.ts', `export default { uri: ${JSON.stringify(uri)}, database: ${JSON.stringify(dbName)} };\n`);
      await project.write('001-quotes-uri.ts', `export async function up() {\n  throw new Error(${JSON.stringify(`handshake with ${uri} failed`)});\n}\n`);
      const up = await bare(['up', '--json']);
      assert.equal(up.code, 1, output(up));
      assertHidden(output(up), password, 'up --json');
      const error = parseJson(up).error as { message: string };
      assert.ok(error.message.includes(`handshake with mongodb://${user}:***@`), error.message);
      assertHidden(await stored(db), password, 'changelog and history');
    });
  });

  void it('masks a connection string nobody configured, by its pattern, on any server', async () => {
    await withCliProject('secret_pattern', async ({ project, db, run }) => {
      const message = 'replica sync failed: mongodb://eve:Ev3Secret9x@replica.example.invalid:27017/app (fallback eve:Ev3Secret9x@backup.example.invalid)';
      await project.write('001-other-uri.ts', `export async function up() {\n  throw new Error(${JSON.stringify(message)});\n}\n`);
      for (const args of [['up'], ['up', '--retry-failed', '--json'], ['status', '--json']]) {
        const result = await run(args);
        assertHidden(output(result), 'Ev3Secret9x', args.join(' '));
      }
      const record = await changelogRecord(db, '001-other-uri');
      assert.equal(
        record?.error?.message,
        'replica sync failed: mongodb://eve:***@replica.example.invalid:27017/app (fallback eve:***@backup.example.invalid)',
      );
      assertHidden(await stored(db), 'Ev3Secret9x', 'changelog and history');
    });
  });
});
