// The connection strings users really paste, on a primary-secondary-arbiter set (default w:1):
// `w=1` and `readPreference=secondaryPreferred` (AWS's documented DocumentDB string). mongrate's
// lock, changelog and history are written with w:'majority' and read from the primary with
// majority read concern; the helpers' pages and counts, `ctx.db` and `status` read from the
// primary; transactions (the probe and the migrations) run on the primary; w=0 is refused.
// Proven by the commands the scripted set records, and by a lock a failover would roll back.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate } from 'node:timers/promises';
import type { Document } from 'mongodb';
import { createMigrator, MongrateError, type InlineMigration } from '../../src/index.ts';
import { exitCodeFor } from '../../src/cli/exit-codes.ts';
import type { RecordedCommand, ScriptedReplicaSet } from '../support/scripted-replica-set/index.ts';
import { scriptedSet, signal } from './fixtures.ts';

const OWN = ['mongrate_lock', 'mongrate_changelog', 'mongrate_history'];
/** What the URI in the issue says: acknowledge on the primary alone, read from a secondary. */
const pasted = (rs: ScriptedReplicaSet): string => `${rs.uri}&w=1&readPreference=secondaryPreferred`;

const isOwn = (c: RecordedCommand): boolean => c.collection !== undefined && OWN.includes(c.collection);
const WRITES = ['insert', 'update', 'delete', 'findAndModify'];
const READS = ['find', 'aggregate', 'count'];

function migrator(rs: ScriptedReplicaSet, migrations: InlineMigration[], extra: Record<string, unknown> = {}): ReturnType<typeof createMigrator> {
  return createMigrator({ uri: pasted(rs), database: 'app', migrations, ...extra });
}

void describe("mongrate's own documents and reads on a PSA set with w=1&readPreference=secondaryPreferred", () => {
  void it("writes the lock, changelog and history with w:'majority' and reads them from the primary with majority read concern", async (t) => {
    const { rs, client } = await scriptedSet(t, { members: 2, arbiter: true });
    await client.db('app').collection('users').insertMany([{ _id: 1, v: 1 }, { _id: 2, v: 1 }] as Document[]);
    const seen: unknown[] = [];
    const m = migrator(rs, [
      {
        id: '001-bump',
        transaction: false,
        up: async ({ db, helpers }) => {
          seen.push(await db.collection('users').countDocuments());
          await helpers.bumpSchemaVersion('users', { to: 2 });
        },
      },
    ]);
    t.after(() => m.close());
    rs.clearCommands();
    const result = await m.up();
    assert.equal(result.error, undefined, JSON.stringify(result.error));

    const own = rs.recorded({ when: isOwn });
    const writes = own.filter((c) => WRITES.includes(c.name));
    assert.ok(writes.some((c) => c.collection === 'mongrate_lock') && writes.some((c) => c.collection === 'mongrate_changelog') && writes.some((c) => c.collection === 'mongrate_history'));
    for (const write of writes) assert.equal(write.writeConcern?.w, 'majority', `${write.name} ${write.collection}: ${JSON.stringify(write.writeConcern)}`);
    const reads = own.filter((c) => READS.includes(c.name));
    assert.ok(reads.length > 0);
    for (const read of reads) {
      assert.equal(read.role, 'primary', `${read.name} ${read.collection} went to the ${read.role}`);
      assert.equal(read.readConcern?.level, 'majority', `${read.name} ${read.collection}: ${JSON.stringify(read.readConcern)}`);
    }
    // the helper's pages and counts, and the migration's own ctx.db read, went to the primary too
    const dataReads = rs.recorded({ collection: 'users', name: READS });
    assert.ok(dataReads.length >= 2);
    for (const read of dataReads) assert.equal(read.role, 'primary', `${read.name} users went to the ${read.role}`);
    for (const write of rs.recorded({ collection: 'users', name: WRITES })) assert.equal(write.writeConcern?.w, 'majority', 'data writes wait for a majority too');
    assert.deepEqual(seen, [2]);
    assert.deepEqual(await client.db('app').collection('mongrate_changelog').find({}, { projection: { state: 1 } }).toArray(), [{ _id: '001-bump', state: 'applied' }]);
  });

  void it('a lock taken just before a failover that rolls back what the secondary lacked is still held: a second runner is refused', async (t) => {
    const { rs, client } = await scriptedSet(t, { members: 2, arbiter: true });
    const started = signal();
    const proceed = signal();
    const first = migrator(rs, [
      {
        id: '001-slow',
        transaction: false,
        up: async () => {
          started.resolve();
          await proceed.promise;
        },
      },
    ]);
    // the secondary stops applying just as the lock insert arrives: with w:1 it is acknowledged at once
    rs.script({ name: 'insert', collection: 'mongrate_lock' }, () => {
      rs.pauseReplication('secondary');
      return undefined;
    });
    const arrived = rs.nextCommand({ name: 'insert', collection: 'mongrate_lock' });
    const running = first.up();
    await arrived;
    // once the primary applied it, the set fails over to the secondary, which never had it
    while ((await client.db('app').collection('mongrate_lock').countDocuments({}, { readPreference: 'primary' })) === 0) await setImmediate();
    await rs.failover({ rollbackUnreplicated: true });
    await started.promise;

    const second = migrator(rs, [{ id: '001-slow', transaction: false, up: () => Promise.resolve() }]);
    const refused = await second.up().then(
      (result) => result.error,
      (error: unknown) => error,
    );
    assert.equal((refused as { code?: unknown } | undefined)?.code, 'LOCK_HELD', `the second runner took the lock too: ${String(refused)}`);
    proceed.resolve();
    const result = await running;
    assert.equal(result.error, undefined, JSON.stringify(result.error));
    // before the set closes (the t.after hooks close it first): their endSessions would wait out server selection
    await Promise.all([first.close(), second.close()]);
  });

  void it('runs transactions on the primary: the probe no longer fails, and a migration commits in one', async (t) => {
    const { rs, client } = await scriptedSet(t, { members: 2, arbiter: true });
    const m = migrator(rs, [
      {
        id: '001-tx',
        up: async ({ db, session }) => {
          await db.collection('users').insertOne({ _id: 7 } as Document, { session });
        },
      },
    ]);
    t.after(() => m.close());
    const result = await m.up();
    assert.equal(result.error, undefined, JSON.stringify(result.error));
    assert.equal(result.steps[0]?.transaction, true);
    const [insert] = rs.recorded({ collection: 'users', name: 'insert' });
    assert.ok(insert?.inTransaction === true);
    assert.equal(insert.role, 'primary');
    assert.equal(await client.db('app').collection('users').countDocuments(), 1);
    // the probe's own read went to the primary, in its transaction
    const probe = rs.recorded({ collection: 'mongrate_transaction_probe' });
    assert.ok(probe.length > 0 && probe.every((c) => c.role === 'primary' && c.readPreference?.mode !== 'secondaryPreferred'));
  });

  void it("transactions: 'never' runs there too, and status reads the changelog from the primary", async (t) => {
    const { rs } = await scriptedSet(t, { members: 2, arbiter: true });
    const m = migrator(rs, [{ id: '001-a', up: () => Promise.resolve() }], { transactions: 'never' });
    t.after(() => m.close());
    assert.equal((await m.up()).error, undefined);
    rs.clearCommands();
    const status = await m.status();
    assert.equal(status.migrations[0]?.appliedAt !== undefined, true);
    const reads = rs.recorded({ collection: 'mongrate_changelog', name: 'find' });
    assert.ok(reads.length > 0 && reads.every((c) => c.role === 'primary'));
  });

  void it('refuses a connection string with w=0 before writing anything (exit 2)', async (t) => {
    const { rs } = await scriptedSet(t);
    const m = createMigrator({ uri: `${rs.uri}&w=0`, database: 'app', migrations: [{ id: '001-a', up: () => Promise.resolve() }] });
    t.after(() => m.close());
    const refused = await m.up().then(
      (result) => result.error,
      (error: unknown) => error,
    );
    assert.ok(refused instanceof MongrateError || (typeof refused === 'object' && refused !== null), String(refused));
    const { code, message } = refused as { code: MongrateError['code']; message: string };
    assert.equal(code, 'USAGE');
    assert.equal(exitCodeFor(code), 2);
    assert.match(message, /w=0/);
    assert.deepEqual(rs.recorded({ name: WRITES }), [], 'nothing was written');
  });
});
