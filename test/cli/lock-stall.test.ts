// A runner whose event loop stalls past its lease (a migration blocking synchronously): another
// runner takes the lease over meanwhile, and the stalled one, once it wakes, writes nothing: its
// helper's write is fenced (the lease's deadline passed without a renewal), it records nothing,
// and it exits 3. Both are the built CLI; the database is read with the driver. The stall lasts
// until the test ends it, once the takeover happened: nothing depends on how fast that is.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { changelogRecord, withCliProject } from '../support/cli.ts';
import { exits, lockConfig, lockDocument, show, waitFor } from '../support/lock-cli.ts';

const TTL_SECONDS = 2;
const DOCS = 5;

/**
 * With MONGRATE_TEST_WAKE (a file), blocks the event loop (no heartbeat can run) until the test
 * creates that file, however long the takeover takes, then rewrites every document through a
 * helper. Without it (the runner that takes over), it says it runs, waits for the test's `go`,
 * then rewrites them too. Outside a transaction: the test reads its signals while it runs.
 */
const STALLING = `import { existsSync } from 'node:fs';
export const transaction = false;
export async function up({ db, helpers }) {
  const wake = process.env.MONGRATE_TEST_WAKE;
  const writer = wake === undefined ? 'taker' : 'stalled';
  if (wake !== undefined) {
    await db.collection('control').insertOne({ _id: 'stalling' });
    // a synchronous wait: nothing else of this process runs until the file is there
    while (!existsSync(wake)) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    process.stderr.write('test: the stalled runner woke\\n');
  } else {
    await db.collection('control').insertOne({ _id: 'taker running' });
    while ((await db.collection('control').findOne({ _id: 'go' })) === null) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await helpers.reshape('docs', { transform: (doc) => ({ ...doc, writtenBy: writer }) });
}
export async function down() {}
`;

interface Doc {
  _id: number;
  writtenBy?: string;
}

void describe('a runner that stalls past its lease', () => {
  void it('writes nothing after another runner took the lease over, records nothing, and exits 3', async () => {
    await withCliProject('stall', { config: lockConfig(TTL_SECONDS) }, async ({ project, db, start }) => {
      const docs = db.collection<Doc>('docs');
      const control = db.collection<{ _id: string }>('control');
      await docs.insertMany(Array.from({ length: DOCS }, (_, i) => ({ _id: i })));
      await project.write('001-stalling.js', STALLING);

      const wake = join(project.dir, 'wake');
      const stalled = start(['up'], 60_000, { MONGRATE_TEST_WAKE: wake });
      let stalledStderr = '';
      stalled.child.stderr?.on('data', (chunk: string) => (stalledStderr += chunk));
      await waitFor('the first runner stalls inside its migration', async () => (await control.findOne({ _id: 'stalling' })) !== null, stalled.done);

      const taker = start(['up', '--retry-failed', '--lock-wait', '60'], 90_000);
      await waitFor('the second runner took the lease over and runs the migration', async () => (await control.findOne({ _id: 'taker running' })) !== null, taker.done, 30_000);
      assert.doesNotMatch(stalledStderr, /woke/);
      assert.notEqual((await lockDocument(db))?.pid, stalled.child.pid, "the lock is the taker's");

      // the stalled runner wakes while the taker holds the lease, and tries to write through its helper
      await writeFile(wake, '');
      const woke = await stalled.done;
      exits(woke, 3, 'the stalled runner');
      assert.match(woke.stderr, /the stalled runner woke/, `it did wake and try: ${show(woke)}`);
      assert.match(woke.stderr, /lost the lock/, show(woke));
      assert.deepEqual(await docs.find({ writtenBy: { $exists: true } }).toArray(), [], `the stalled runner wrote nothing:\n${show(woke)}`);
      assert.equal((await changelogRecord(db, '001-stalling'))?.pid, taker.child.pid, "the record is the taker's: the stalled runner recorded nothing");

      await control.insertOne({ _id: 'go' });
      const took = await taker.done;
      exits(took, 0, 'the runner that took over');
      const written = await docs.find({}).sort({ _id: 1 }).toArray();
      assert.deepEqual(written.map((d) => d.writtenBy), Array<string>(DOCS).fill('taker'), 'only the lease holder wrote');
      const record = await changelogRecord(db, '001-stalling');
      assert.equal(record?.state, 'applied');
      assert.equal(record.pid, taker.child.pid);
      assert.equal(await lockDocument(db), null);
    });
  });
});
