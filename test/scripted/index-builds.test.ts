// Index builds that cannot hang a run: on a replica set the helpers' createIndexes carries a
// commitQuorum that one member down cannot block (1, the primary alone, unless the config says
// otherwise), the build's progress is logged from $currentOp, and an interrupt ends the wait on a
// createIndexes that never answers, stopping the build (dropIndexes); a build that meets a failover
// is sent again once a primary is back.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Document } from 'mongodb';
import { createMigrator, type InlineMigration } from '../../src/index.ts';
import type { ScriptAction, ScriptedReplicaSet } from '../support/scripted-replica-set/index.ts';
import { scriptedSet, sentAgainLine, signal, upSaying } from './fixtures.ts';

const byEmail: InlineMigration = {
  id: '001-email',
  transaction: false,
  up: async ({ helpers }) => {
    await helpers.ensureIndexes('users', [{ key: { email: 1 }, name: 'email_1', unique: true }]);
  },
};

void describe('index builds on the scripted replica set', () => {
  void it('send commitQuorum 1 by default on a primary-secondary-arbiter set, and the configured one when set', async (t) => {
    const { rs, client } = await scriptedSet(t, { members: 2, arbiter: true });
    await client.db('app').collection('users').insertOne({ _id: 1, email: 'a@example.com' } as Document);
    const first = createMigrator({ uri: rs.uri, database: 'app', migrations: [byEmail] });
    const result = await first.up();
    await first.close();
    assert.equal(result.error, undefined, JSON.stringify(result.error));
    const [build] = rs.recorded({ name: 'createIndexes', collection: 'users' });
    assert.equal(Number(build?.command.commitQuorum), 1);

    const configured = createMigrator({ uri: rs.uri, database: 'other', commitQuorum: 'majority', migrations: [byEmail] });
    await client.db('other').collection('users').insertOne({ _id: 1 } as Document);
    assert.equal((await configured.up()).error, undefined);
    await configured.close();
    const [majority] = rs.recorded({ name: 'createIndexes', collection: 'users', db: 'other' });
    assert.equal(majority?.command.commitQuorum, 'majority');
  });

  void it('a createIndexes that never answers: its progress is logged, and an interrupt ends the wait and stops the build', async (t) => {
    const { rs, client } = await scriptedSet(t);
    await client.db('app').collection('users').insertOne({ _id: 1, email: 'a@example.com' } as Document);
    // the build waits for a member in maintenance; the server reports how far the scan got
    rs.script({ name: 'createIndexes', collection: 'users' }, 'hang');
    rs.currentOps = [
      {
        type: 'op',
        opid: 4711,
        active: true,
        op: 'command',
        ns: 'app.users',
        command: { createIndexes: 'users', indexes: [{ key: { email: 1 }, name: 'email_1', unique: true }] },
        msg: 'Index Build: scanning collection Index Build: scanning collection: 1200/4000 30%',
        progress: { done: 1200, total: 4000 },
      },
    ];
    const migrator = createMigrator({ uri: rs.uri, database: 'app', migrations: [byEmail] });
    const progress = signal<string>();
    migrator.on('log', ({ message }) => {
      if (message.includes('building')) progress.resolve(message);
    });
    const running = migrator.up();
    assert.equal(await progress.promise, 'ensureIndexes(users): building email_1: 1200/4000 (30%)');
    migrator.interrupt();
    const result = await running;
    assert.equal(result.error?.code, 'INTERRUPTED', JSON.stringify(result.error));
    assert.match(result.error.message, /interrupted while the server built email_1; the build was stopped \(dropIndexes\)/);
    const [drop] = rs.recorded({ name: 'dropIndexes', collection: 'users' });
    assert.deepEqual(drop?.command.index, ['email_1']);
    assert.equal(await client.db('app').collection('mongrate_lock').countDocuments(), 0, 'the lock was released');
    rs.release();
    await migrator.close();
  });

  const stepdowns: { what: string; action: (rs: ScriptedReplicaSet, elected: (p: Promise<void>) => void) => ScriptAction }[] = [
    {
      what: 'the primary steps down under it (11602)',
      action: (rs, elected) => () => {
        elected(rs.stepDown({ unavailableMs: 1500 }));
        return { ok: 0, code: 11602, codeName: 'InterruptedDueToReplStateChange', errmsg: 'operation was interrupted because the node stepped down' };
      },
    },
    // built, then the connection dropped: the build sent again finds the index there, and answers ok
    { what: 'the connection is dropped after the build', action: () => 'handleThenCloseConnection' },
  ];
  for (const { what, action } of stepdowns) {
    void it(`a build whose createIndexes fails as ${what} is sent again once a primary is back, saying so`, async (t) => {
      const { rs, client } = await scriptedSet(t);
      await client.db('app').collection('users').insertOne({ _id: 1, email: 'a@example.com' } as Document);
      let elected: Promise<void> = Promise.resolve();
      rs.script({ name: 'createIndexes', collection: 'users' }, action(rs, (p) => {
        elected = p;
      }));
      const migrator = createMigrator({ uri: rs.uri, database: 'app', migrations: [byEmail] });
      const { result, lines } = await upSaying(migrator, () => elected);
      assert.equal(result.error, undefined, JSON.stringify(result.error));
      assert.equal(rs.recorded({ name: 'createIndexes', collection: 'users' }).length, 2);
      assert.ok(lines.some((line) => sentAgainLine('ensureIndexes(users)', 'index build').test(line)), lines.join('\n'));
      const names = (await client.db('app').collection('users').indexes()).map((index) => index.name);
      assert.deepEqual(names.sort(), ['_id_', 'email_1']);
    });
  }
});
