// A server lost mid-run: exit 5, saying what state the run is in. The built CLI; each test stops
// a server of its own under it.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import { type CliResult, exits, runCli, show, startCli, waitFor } from '../support/cli.ts';
import { createProject, markerMigration } from '../support/project.ts';
import { startPrivateServer } from '../support/server.ts';

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
