// `mongrate history` and `mongrate show <id>` from the terminal: the events in words with who,
// when, how long and the version (credentials masked), filtered by migration, count and date;
// one migration's state, checksums and events; `--json`; bad input exit 2 before any server.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { exits, oneLineError, parseJson, withCliProject } from '../support/cli.ts';
import { failingMigration, markerMigration } from '../support/project.ts';
import { snapshotDb } from '../support/snapshot.ts';

/** Three users brought to schema_version 2 by a helper, and a line of its own. */
const WITH_HELPER = `import { defineMigration } from 'mongrate';
export default defineMigration({
  description: 'Users to schema_version 2',
  async up({ db, helpers, log }) {
    await db.collection('users').insertMany([{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
    const result = await helpers.bumpSchemaVersion('users', { to: 2, transform: (user) => ({ ...user, preferences: {} }) });
    log(\`\${result.modified} users at version 2\`);
  },
  async down({ db }) {
    await db.collection('users').drop();
  },
});
`;

// outside a transaction, so it is recorded `failed` on every server (inside one it is `rolled back`)
const SECRET_FAILURE = `export const transaction = false;
export async function up() {
  throw new Error('cannot reach mongodb://billing:hunter2@billing.internal/x');
}
`;

interface EntryDoc {
  id?: string;
  event: string;
  direction?: string;
  at: string;
  host: string;
  user: string;
  pid: number;
  toolVersion: string;
  outcome?: string;
}

void describe('mongrate history', { concurrency: 2 }, () => {
  void it('lists the events oldest first with who, when, how long and the version; a failure with its error, masked', async () => {
    await withCliProject('cli_history', async ({ project, db, run }) => {
      await project.write('001-users.ts', WITH_HELPER);
      await project.write('002-fails.js', SECRET_FAILURE);
      exits(await run(['up']), 1, 'up with a failing migration');
      exits(await run(['repair', '--yes']), 0, 'repair');
      await project.write('002-fails.js', markerMigration('fixed'));
      exits(await run(['up']), 0, 'up');
      exits(await run(['down']), 0, 'down');

      const before = await snapshotDb(db);
      const result = await run(['history']);
      exits(result, 0, 'history');
      const lines = result.stdout.trimEnd().split('\n');
      const events = lines.filter((line) => /^\d{4}-/.test(line)).map((line) => line.split(/\s{2,}/).slice(1, 3).join(' '));
      assert.deepEqual(events, ['applied 001-users', 'failed 002-fails', 'repaired 002-fails', 'applied 002-fails', 'reverted 002-fails'], result.stdout);
      assert.match(result.stdout, new RegExp(`${userInfo().username}@\\S+ pid \\d+\\s+mongrate \\d+\\.\\d+\\.\\d+`));
      assert.match(result.stdout, /\n {4}cannot reach mongodb:\/\/billing:\*\*\*@billing\.internal\/x\n/);
      assert.doesNotMatch(result.stdout, /hunter2/);
      assert.match(result.stdout, /5 events/);
      assert.deepEqual(await snapshotDb(db), before, 'history wrote nothing');

      const json = parseJson(await run(['--json', 'history', '002-fails', '--limit', '2']));
      assert.equal(json.ok, true);
      const entries = json.entries as EntryDoc[];
      assert.deepEqual(entries.map((e) => `${e.id ?? ''}:${e.event}:${e.direction ?? ''}`), ['002-fails:applied:', '002-fails:reverted:down']);
      assert.ok(!Number.isNaN(Date.parse(entries[0]?.at ?? '')));

      const future = await run(['history', '--since', '2999-01-01']);
      exits(future, 0, 'history --since a future date');
      assert.match(future.stdout, /No events in the history/);
    });
  });

  void it('a bad --limit or --since is exit 2 before any server is contacted', async () => {
    await withCliProject('cli_history_args', async ({ run }) => {
      const env = { MONGODB_URI: 'mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=200' };
      oneLineError(await run(['history', '--since', 'last week'], env), /--since takes a date such as 2026-11-01/);
      oneLineError(await run(['history', '--limit', '0'], env), /--limit takes a whole number >= 1/);
      exits(await run(['history', '--limit', 'x'], env), 2, '--limit x');
    });
  });
});

void describe('mongrate show', { concurrency: 2 }, () => {
  void it('one migration that ran a helper: state, description, checksum as applied, every event', async (t) => {
    await withCliProject('cli_show', async ({ project, run }) => {
      await project.write('001-users.ts', WITH_HELPER);
      exits(await run(['up']), 0, 'up');
      exits(await run(['redo']), 0, 'redo');
      const shown = await run(['show', '001-users']);
      exits(shown, 0, 'show');
      t.diagnostic(`mongrate show 001-users:\n${shown.stdout}`);
      const [head, ...rest] = shown.stdout.trimEnd().split('\n');
      assert.equal(head, '001-users  applied');
      assert.match(shown.stdout, /\n {2}description {2}Users to schema_version 2\n/);
      assert.match(shown.stdout, /\n {2}checksum {5}sha256:[0-9a-f]{12}… \(as applied\)\n/);
      assert.deepEqual(
        rest.filter((line) => /^ {4}\d{4}-/.test(line)).map((line) => line.trim().split(/\s{2,}/)[1]),
        ['applied', 'reverted', 'applied'],
      );

      await project.write('001-users.ts', WITH_HELPER.replace('Users to schema_version 2', 'Users to version 2'));
      const changed = await run(['show', '001-users']);
      assert.match(changed.stdout, /^001-users {2}changed\n/);
      assert.match(changed.stdout, /checksum {5}sha256:[0-9a-f]{12}… now, sha256:[0-9a-f]{12}… as applied: the file changed since/);

      const json = parseJson(await run(['--json', 'show', '001-users']));
      assert.equal(json.ok, true);
      assert.equal((json.status as { state: string }).state, 'changed');
      assert.equal((json.events as EntryDoc[]).length, 3);
    });
  });

  void it('who ran it (CI job, environment) and what its last run said (its log lines, each helper with its counts), also in history --json', async (t) => {
    const config = `export default { environments: { staging: {} } };\n`;
    const ci = {
      GITHUB_ACTIONS: 'true',
      GITHUB_WORKFLOW: 'deploy',
      GITHUB_JOB: 'migrate',
      GITHUB_RUN_ID: '8675309',
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: 'acme/app',
    };
    await withCliProject('cli_show_run', { config }, async ({ project, run }) => {
      await project.write('001-users.ts', WITH_HELPER);
      exits(await run(['--env', 'staging', 'up'], ci), 0, 'up in CI');
      const shown = await run(['show', '001-users']);
      exits(shown, 0, 'show');
      t.diagnostic(`mongrate show 001-users:\n${shown.stdout}`);
      assert.match(shown.stdout, /\n {4}\d{4}-\S+ \S+ {2}applied .*mongrate \d+\.\d+\.\d+ {2}env staging\n {8}ci: GitHub Actions deploy \/ migrate #8675309 https:\/\/github\.com\/acme\/app\/actions\/runs\/8675309\n/);
      assert.match(shown.stdout, /\n {2}last run \(applied \d{4}-[^)]*\):\n {4}helpers:\n {6}bumpSchemaVersion\(users\): 3 matched, 3 modified, 0 deleted in [\d.]+ s\n {4}log:\n {6}3 users at version 2\n/);

      const json = parseJson(await run(['--json', 'history', '001-users']));
      const [entry] = json.entries as (EntryDoc & { environment?: string; ci?: object; output?: { log: string[]; helpers: string[] } })[];
      assert.equal(entry?.environment, 'staging');
      assert.deepEqual(entry.ci, { service: 'GitHub Actions', job: 'deploy / migrate', id: '8675309', url: 'https://github.com/acme/app/actions/runs/8675309' });
      assert.deepEqual(entry.output?.log, ['3 users at version 2']);
      assert.equal(entry.output.helpers.length, 1);
    });
  });

  void it('an id nothing knows is exit 2 naming it; a migration that only its history remembers is shown', async () => {
    await withCliProject('cli_show_gone', async ({ project, run }) => {
      await project.write('001-fails.js', failingMigration('boom'));
      exits(await run(['up']), 1, 'a failing up');
      exits(await run(['repair', '--yes']), 0, 'repair');
      await rm(join(project.migrationsDir, '001-fails.js'));
      const gone = await run(['show', '001-fails']);
      exits(gone, 0, 'show of a migration only the history remembers');
      assert.match(gone.stdout, /^001-fails {2}gone \(no migration and no changelog record: only its history is left\)\n/);
      assert.match(gone.stdout, /failed .*\n {8}boom\n[\s\S]*repaired/);
      const unknown = await run(['show', '999-nothing']);
      exits(unknown, 2, 'show of an unknown id');
      oneLineError(unknown, /no migration '999-nothing'/);
    });
  });
});
