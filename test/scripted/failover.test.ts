// Elections mid-run. A primary that steps down mid-batch and comes back 8 s later: the default
// server selection (30 s, the driver's own, longer than MongoDB's ~12 s elections) waits for it,
// the retryable writes go on, and the migration is applied. A migration that meets "not primary",
// "stepped down" or a RetryableWriteError-labelled error is not recorded as failed: the server
// went away (UNREACHABLE, exit 5), and its record stays `running` for a rerun to resume.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exitCodeFor } from '../../src/cli/exit-codes.ts';
import type { Document } from 'mongodb';
import { READ_BATCH } from '../../src/helpers/batches.ts';
import { createMigrator, type MigrationFn } from '../../src/index.ts';
import type { ScriptedError } from '../support/scripted-replica-set/index.ts';
import { scriptedSet, sentAgainLine, upSaying } from './fixtures.ts';

interface User {
  _id: number;
  schema_version?: number;
}

/** A migrator for database `app` on the set with one migration, outside a transaction (as an election meets it mid-run). */
function oneMigration(uri: string, id: string, up: MigrationFn): ReturnType<typeof createMigrator> {
  return createMigrator({ uri, database: 'app', migrations: [{ id, transaction: false, up }] });
}

/** A changelog record, as far as these tests read it. */
interface ChangelogEntry {
  _id: string;
  state: string;
}

void describe('an election mid-run on the scripted replica set', () => {
  void it('a primary that steps down mid-batch and comes back after 8 s: the batches wait for it, and the migration is applied', async (t) => {
    const { rs, client } = await scriptedSet(t);
    await client.db('app').collection<User>('users').insertMany(Array.from({ length: 30 }, (_, i) => ({ _id: i + 1, schema_version: 1 })));
    let elected: Promise<void> = Promise.resolve();
    // the second batch reaches a primary that has just stepped down (NotWritablePrimary, a retryable write)
    rs.script({ name: 'update', collection: 'users', nth: 2 }, () => {
      elected = rs.stepDown({ unavailableMs: 8000 });
      return undefined;
    });
    // no clientOptions: the default server selection timeout is what is proven here
    // a function transform: batches of conditional updateOne diffs, each batch a retryable write
    const migrator = oneMigration(rs.uri, '001-bump', ({ helpers }) => helpers.bumpSchemaVersion('users', { to: 2, batchSize: 10, transform: (user) => ({ ...user, active: true }) }));
    const result = await migrator.up();
    await elected;
    assert.equal(result.error, undefined, JSON.stringify(result.error));
    assert.equal(await client.db('app').collection<User>('users').countDocuments({ schema_version: 2 }), 30);
    const record = await client.db('app').collection<ChangelogEntry>('mongrate_changelog').findOne({ _id: '001-bump' });
    assert.equal(record?.state, 'applied');
    const batches = rs.recorded({ name: 'update', collection: 'users' });
    assert.equal(batches.length, 4, 'three batches, the second sent twice: to the primary that had stepped down, then to the one elected');
    assert.equal(batches[1]?.txnNumber, batches[2]?.txnNumber, 'the same retryable write');
    assert.ok((batches[2]?.at ?? 0) - (batches[1]?.at ?? 0) >= 8000, 'sent again once the primary was back');
    await migrator.close();
  });

  void it("a spec's server-side updateMany (not a retryable write) that meets a stepped-down primary is sent again once one is back, saying so", async (t) => {
    const { rs, client } = await scriptedSet(t);
    await client.db('app').collection<User>('users').insertMany([{ _id: 1, schema_version: 1 }, { _id: 2, schema_version: 1 }]);
    let elected: Promise<void> = Promise.resolve();
    rs.script({ name: 'update', collection: 'users' }, () => {
      elected = rs.stepDown({ unavailableMs: 1500 });
      return undefined;
    });
    const migrator = oneMigration(rs.uri, '001-bump', ({ helpers }) => helpers.bumpSchemaVersion('users', { to: 2 }));
    const { result, lines } = await upSaying(migrator, () => elected);
    assert.equal(result.error, undefined, JSON.stringify(result.error));
    assert.equal(await client.db('app').collection<User>('users').countDocuments({ schema_version: 2 }), 2);
    const sent = rs.recorded({ name: 'update', collection: 'users' });
    assert.equal(sent.length, 2, 'sent to the primary as it stepped down, then once a primary was back');
    assert.ok((sent[1]?.at ?? 0) >= (sent[0]?.at ?? Infinity));
    assert.ok(lines.some((line) => sentAgainLine('bumpSchemaVersion(users)', 'step').test(line)), lines.join('\n'));
  });

  void it("a page read that meets a stepped-down primary (the driver's one retry too) is sent again from the page's start once a primary is back: every document transformed once", async (t) => {
    const { rs, client } = await scriptedSet(t);
    await client.db('app').collection<User>('users').insertMany(Array.from({ length: 30 }, (_, i) => ({ _id: i + 1, schema_version: 1 })));
    let elected: Promise<void> = Promise.resolve();
    // the second page's find: the primary steps down under it, and the driver's own retry meets the election too
    const interrupted = { code: 11602, codeName: 'InterruptedDueToReplStateChange', errmsg: 'operation was interrupted because the node stepped down' };
    let finds = 0;
    rs.script({ name: 'find', collection: 'users', nth: 2, times: 2 }, () => {
      finds += 1;
      if (finds === 1) elected = rs.stepDown({ unavailableMs: 1500 });
      return { ok: 0, ...interrupted };
    });
    const transformed = new Map<number, number>();
    const migrator = oneMigration(rs.uri, '001-bump', ({ helpers }) =>
      helpers.bumpSchemaVersion('users', {
        to: 2,
        batchSize: 10,
        transform: (user) => {
          transformed.set(Number(user._id), (transformed.get(Number(user._id)) ?? 0) + 1);
          return { ...user, active: true };
        },
      }),
    );
    const { result, lines } = await upSaying(migrator, () => elected);
    assert.equal(result.error, undefined, JSON.stringify(result.error));
    assert.equal(await client.db('app').collection<User>('users').countDocuments({ schema_version: 2, active: true }), 30);
    assert.deepEqual([...transformed.values()], Array.from({ length: 30 }, () => 1), 'every document transformed once');
    assert.ok(lines.some((line) => sentAgainLine('bumpSchemaVersion(users)', 'page read').test(line)), lines.join('\n'));
    const pages = rs.recorded({ name: 'find', collection: 'users' }).map((c) => JSON.stringify((c.command.filter as Document)._id));
    // bumpSchemaVersion's filter is on the version: a page starts after the last _id read
    assert.deepEqual(pages.slice(0, 5), [undefined, '{"$gt":10}', '{"$gt":10}', '{"$gt":10}', '{"$gt":20}'], 'the second page read three times (its find, the driver\'s retry, mongrate\'s), then the third');
  });

  void it("a copy's cursor whose getMore meets a stepped-down primary goes on with a find from after the last _id read, once a primary is back", async (t) => {
    const { rs, client } = await scriptedSet(t);
    // more than the copy asks for in one round trip (READ_BATCH), so the cursor needs a getMore
    const total = READ_BATCH + 500;
    await client.db('app').collection<User>('users').insertMany(Array.from({ length: total }, (_, i) => ({ _id: i + 1 })));
    let elected: Promise<void> = Promise.resolve();
    rs.script({ name: 'getMore', collection: 'users' }, () => {
      elected = rs.stepDown({ unavailableMs: 1500 });
      return { ok: 0, code: 11602, codeName: 'InterruptedDueToReplStateChange', errmsg: 'operation was interrupted because the node stepped down' };
    });
    const migrator = oneMigration(rs.uri, '001-copy', ({ helpers }) => helpers.copyAndRename('users', { to: 'people', batchSize: 2000 }));
    const { result, lines } = await upSaying(migrator, () => elected);
    assert.equal(result.error, undefined, JSON.stringify(result.error));
    assert.equal(await client.db('app').collection('people').countDocuments(), total, 'every document copied once (a second insert of one would be a duplicate key)');
    assert.ok(lines.some((line) => sentAgainLine('copyAndRename(users -> people)', 'page read').test(line)), lines.join('\n'));
    const [first, resumed] = rs.recorded({ name: 'find', collection: 'users' });
    assert.equal((first?.command.filter as Document | undefined)?._id, undefined);
    const after = (resumed?.command.filter as { _id?: { $gt?: unknown } } | undefined)?._id?.$gt;
    assert.equal(Number(after), READ_BATCH, 'resumed after the last _id of the first batch');
  });

  const failovers: { what: string; reply: ScriptedError }[] = [
    { what: 'NotWritablePrimary (10107)', reply: { code: 10107, codeName: 'NotWritablePrimary', errmsg: 'not primary' } },
    { what: 'PrimarySteppedDown (189)', reply: { code: 189, codeName: 'PrimarySteppedDown', errmsg: 'Primary stepped down while waiting for replication' } },
    { what: 'NotPrimaryNoSecondaryOk (13435)', reply: { code: 13435, codeName: 'NotPrimaryNoSecondaryOk', errmsg: 'not primary and secondaryOk=false' } },
    { what: 'an error labelled RetryableWriteError', reply: { code: 262, codeName: 'ExceededTimeLimit', errmsg: 'operation exceeded time limit', errorLabels: ['RetryableWriteError'] } },
  ];
  for (const { what, reply } of failovers) {
    void it(`${what} on a migration's own write: the server went away (exit 5), the record stays running, never failed`, async (t) => {
      const { rs, client } = await scriptedSet(t);
      await client.db('app').collection<User>('users').insertOne({ _id: 1 });
      // updateMany is not a retryable write: the driver hands the error over at once
      rs.script({ name: 'update', collection: 'users' }, reply);
      const migrator = oneMigration(rs.uri, '001-mark', async ({ db }) => {
        await db.collection('users').updateMany({}, { $set: { marked: true } });
      });
      const result = await migrator.up();
      assert.equal(result.error?.code, 'UNREACHABLE', JSON.stringify(result.error));
      assert.equal(exitCodeFor('UNREACHABLE'), 5);
      assert.match(result.error.message, /may be partly applied: its record stays 'running'/);
      const record = await client.db('app').collection<ChangelogEntry>('mongrate_changelog').findOne({ _id: '001-mark' });
      assert.equal(record?.state, 'running', 'recorded as failed, the next deploy would refuse to pass it');
      await migrator.close();
    });
  }
});
