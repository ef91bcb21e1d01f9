// Outcome integrity, seen from the terminal: what did not change the outcome is a warning (a
// history entry that could not be written), and a server lost mid-run exits 5 saying what state
// the run is in. The built CLI; the lost-server tests stop a server of their own under it.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import { changelogRecord as record, type CliResult, exits, marks, parseJson, runCli, show, startCli, waitFor, withCliProject } from '../support/cli.ts';
import { createProject, markerMigration } from '../support/project.ts';
import { startPrivateServer } from '../support/server.ts';

void describe('history writes never change the outcome', () => {
  void it('a history entry that cannot be written is a warning: the migration stays applied, exit 0, and is not run again', async () => {
    await withCliProject('history_fails', async ({ project, db, run }) => {
      // a unique index on `event` that the first entry already uses: every later 'up' entry is refused
      await db.collection('mongrate_history').createIndexes([{ key: { event: 1 }, name: 'one_per_event', unique: true }]);
      await db.collection('mongrate_history').insertOne({ migrationId: '(seed)', event: 'up', at: new Date() });
      await project.write('001-a.ts', markerMigration('a'));
      await project.write('002-b.ts', markerMigration('b'));

      const up = await run(['up']);
      exits(up, 0, 'up whose history entries are refused');
      assert.match(up.stderr, /warning: could not append the 'up' history entry of 001-a/);
      assert.match(up.stderr, /warning: could not append the 'up' history entry of 002-b/);
      assert.match(up.stdout, /applied +001-a/);
      assert.equal((await record(db, '001-a'))?.state, 'applied');
      assert.equal((await record(db, '002-b'))?.state, 'applied');

      const retry = await run(['up', '--retry-failed', '--json']);
      exits(retry, 0, 'up --retry-failed');
      assert.deepEqual((parseJson(retry).steps as unknown[]).length, 0, 'nothing is run again');
      assert.deepEqual(await marks(db), ['a', 'b']);

      await project.write('003-c.ts', markerMigration('c'));
      const json = parseJson(await run(['up', '--json']));
      assert.equal(json.ok, true);
      assert.equal((json.warnings as string[]).length, 1, JSON.stringify(json));
      assert.match((json.warnings as string[])[0] ?? '', /003-c/);
    });
  });
});

/**
 * Waits (up to a minute) until the file $SERVER_GONE exists: the test writes it once it has
 * stopped the server, so what comes next happens without a server whatever the machine's speed.
 */
const UNTIL_SERVER_GONE = `for (let i = 0; i < 1200 && !existsSync(process.env.SERVER_GONE); i++) await new Promise((resolve) => setTimeout(resolve, 50));`;

/** A migration that marks, waits until the server is gone and marks again (that write fails). */
const TWO_WRITES = `import { existsSync } from 'node:fs';
export async function up({ db }) {
  await db.collection('marks').insertOne({ mark: 'before' });
  ${UNTIL_SERVER_GONE}
  await db.collection('marks').insertOne({ mark: 'after' });
}
export async function down() {}
`;

/** A migration that marks once and returns once the server is gone: its outcome is recorded without a server. */
const MARK_THEN_WAIT = `import { existsSync } from 'node:fs';
export async function up({ db }) {
  await db.collection('marks').insertOne({ mark: 'only' });
  ${UNTIL_SERVER_GONE}
}
export async function down() {}
`;

/** Runs `source` as 002-lost; once it has written `mark`, stops the server under it and lets it go on. */
async function loseServerDuring(source: string, mark: string): Promise<CliResult> {
  const server = await startPrivateServer();
  assert.ok(server !== undefined, 'no server of its own could be started (needs mongod on PATH or Go for FerretDB)');
  const project = await createProject({ config: `export default { lock: { ttlSeconds: 30 }, clientOptions: { serverSelectionTimeoutMS: 1000 } };\n` });
  const client = new MongoClient(server.uri);
  try {
    await project.write('001-first.ts', markerMigration('first'));
    await project.write('002-lost.js', source);
    await project.write('003-after.ts', markerMigration('after'));
    const serverGone = join(project.dir, 'server-gone');
    const env = { MONGODB_URI: server.uri };
    const { done } = startCli(['--db', 'lost', 'up'], { cwd: project.dir, env: { ...env, SERVER_GONE: serverGone }, timeoutMs: 120_000 });
    // latches, not sleeps: the migration has written its mark, and it goes on only once the server is gone
    await waitFor(`002-lost wrote '${mark}'`, async () => (await client.db('lost').collection('marks').countDocuments({ mark })) === 1, done);
    await client.close();
    await (server.kill ?? server.stop)();
    await writeFile(serverGone, '');
    const result = await done;
    const status = await runCli(['--db', 'lost', 'status'], { cwd: project.dir, env });
    exits(status, 5, 'status with the server gone');
    assert.doesNotMatch(status.stderr, /^\s+at /m);
    return result;
  } finally {
    await client.close();
    await server.stop();
    await project.remove();
  }
}

void describe('losing the server mid-run', { concurrency: 2 }, () => {
  void it('while a migration writes: exit 5, it says the migration may be partly applied and what to do', async () => {
    const result = await loseServerDuring(TWO_WRITES, 'before');
    exits(result, 5, 'up that lost its server');
    assert.match(result.stderr, /lost the connection to the server while applying 002-lost/, show(result));
    assert.match(result.stderr, /partly applied/);
    assert.match(result.stderr, /stays 'running'/);
    assert.match(result.stderr, /up --retry-failed/);
    assert.match(result.stderr, /warning: could not release the lock/);
    assert.match(result.stdout, /applied +001-first/);
    assert.match(result.stdout, /not run: 003-after/);
    assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace');
  });

  void it('after a migration finished, before its outcome was recorded: exit 5, it says it ran to the end', async () => {
    const result = await loseServerDuring(MARK_THEN_WAIT, 'only');
    exits(result, 5, 'up that lost its server before recording');
    assert.match(result.stderr, /002-lost was applied to the end, but the server was lost before the outcome was recorded/, show(result));
    assert.match(result.stderr, /up --retry-failed/);
  });
});
