// The conformance suite every ChangelogStore implementation must pass: the contract in
// src/changelog/contract.ts, checked against the real test server (FerretDB here; unchanged
// against MONGODB_URI). Add an implementation to IMPLEMENTATIONS and it runs through all of it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MongoClient, type Db } from 'mongodb';
import { type ChangelogRecord, type ChangelogStore, type HistoryRecord } from '../../src/changelog/contract.ts';
import { MongoChangelogStore } from '../../src/changelog/mongo-changelog-store.ts';
import { probeServer } from '../../src/server/capabilities.ts';
import { testUri, withTestDb } from '../support/database.ts';

const NAMES = { changelogCollection: 'cl_records', historyCollection: 'cl_history' };

const IMPLEMENTATIONS: { name: string; create: (db: Db) => ChangelogStore }[] = [
  { name: 'MongoChangelogStore', create: (db) => new MongoChangelogStore(db, NAMES) },
];

const T0 = Date.UTC(2025, 0, 1);

/** A record as a store returns it: fields set to undefined are simply absent. */
function record(id: string, fields: Partial<ChangelogRecord> = {}): ChangelogRecord {
  const full: ChangelogRecord = {
    _id: id,
    state: 'applied',
    checksum: `sha256:${id}`,
    description: `record ${id}`,
    startedAt: new Date(T0),
    finishedAt: new Date(T0 + 1000),
    durationMs: 1000,
    runId: 'run-1',
    host: 'host-a',
    pid: 11,
    toolVersion: '0.1.0',
    ...fields,
  };
  return Object.fromEntries(Object.entries(full).filter(([, value]) => value !== undefined)) as ChangelogRecord;
}

const claim = (runId: string): NonNullable<ChangelogRecord['claim']> => ({ direction: 'up', runId, host: 'host-a', pid: 11, startedAt: new Date(T0) });

function history(migrationId: string, event: HistoryRecord['event'], at: number): HistoryRecord {
  return { migrationId, event, at: new Date(T0 + at), runId: 'run-1', host: 'host-a', pid: 11, user: 'ci', toolVersion: '0.1.0' };
}

for (const { name, create } of IMPLEMENTATIONS) {
  void describe(`ChangelogStore conformance: ${name}`, () => {
    void it('prepare creates both collections (and is idempotent); a fresh store lists nothing', () =>
      withTestDb('cs_prepare', async ({ db }) => {
        const store = create(db);
        await store.prepare();
        await store.prepare();
        const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
        assert.deepEqual(names, [NAMES.historyCollection, NAMES.changelogCollection].sort());
        assert.deepEqual(await store.listRecords(), []);
        assert.deepEqual(await store.listHistory(), []);
      }));

    void it('records round-trip exactly, absent fields stay absent, and list in application order', () =>
      withTestDb('cs_roundtrip', async ({ db }) => {
        const store = create(db);
        await store.prepare();
        const late = record('001-late', { finishedAt: new Date(T0 + 9000) });
        const early = record('002-early', { finishedAt: new Date(T0 + 2000) });
        const running = record('003-running', { state: 'running', finishedAt: undefined, durationMs: undefined, claim: claim('run-2') });
        for (const r of [late, early, running]) assert.equal(await store.insertRecord(r), true);
        const listed = await store.listRecords();
        assert.deepEqual(listed.map((r) => r._id), ['003-running', '002-early', '001-late'], 'unfinished first, then by finishedAt');
        assert.deepEqual(listed.find((r) => r._id === '001-late'), late);
        const raw = await db.collection(NAMES.changelogCollection).findOne({ _id: '003-running' as never });
        assert.ok(raw !== null);
        assert.equal('finishedAt' in raw, false, 'undefined fields are not stored as null');
        assert.deepEqual(listed.find((r) => r._id === '003-running'), running);
      }));

    void it('insertRecord is exclusive: a second insert of the same id is refused and changes nothing', () =>
      withTestDb('cs_insert', async ({ db }) => {
        const store = create(db);
        await store.prepare();
        assert.equal(await store.insertRecord(record('001')), true);
        assert.equal(await store.insertRecord(record('001', { state: 'failed', runId: 'intruder' })), false);
        assert.deepEqual(await store.listRecords(), [record('001')]);
      }));

    void it('insertRecord from separate clients at once: exactly one wins, every round', () =>
      withTestDb('cs_insert_race', async ({ db, dbName }) => {
        await create(db).prepare();
        const clients = await Promise.all(Array.from({ length: 4 }, () => new MongoClient(testUri()).connect()));
        try {
          const stores = clients.map((client) => create(client.db(dbName)));
          for (let round = 0; round < 10; round++) {
            const id = `race-${round}`;
            const wins = await Promise.all(stores.map((store, i) => store.insertRecord(record(id, { runId: `runner-${i}` }))));
            assert.equal(wins.filter(Boolean).length, 1, `round ${round}: ${JSON.stringify(wins)}`);
            const winner = wins.indexOf(true);
            const stored = (await stores[0]?.listRecords())?.find((r) => r._id === id);
            assert.equal(stored?.runId, `runner-${winner}`, 'the stored record is the winner’s');
          }
        } finally {
          await Promise.all(clients.map((client) => client.close()));
        }
      }));

    void it('updateRecord applies only while state and claim still match', () =>
      withTestDb('cs_update', async ({ db }) => {
        const store = create(db);
        await store.prepare();
        await store.insertRecord(record('001', { state: 'running', finishedAt: undefined, durationMs: undefined, claim: claim('run-2') }));
        // a stale view: wrong claim, wrong state, no claim expected
        assert.equal(await store.updateRecord('001', { state: 'running', claimRunId: 'run-other' }, { set: { state: 'applied' } }), false);
        assert.equal(await store.updateRecord('001', { state: 'failed', claimRunId: 'run-2' }, { set: { state: 'applied' } }), false);
        assert.equal(await store.updateRecord('001', { state: 'running', claimRunId: null }, { set: { state: 'applied' } }), false);
        assert.equal(await store.updateRecord('002', { state: 'running', claimRunId: 'run-2' }, { set: { state: 'applied' } }), false, 'no such record');
        assert.equal((await store.listRecords())[0]?.state, 'running');

        const finishedAt = new Date(T0 + 5000);
        assert.equal(
          await store.updateRecord('001', { state: 'running', claimRunId: 'run-2' }, { set: { state: 'applied', finishedAt, durationMs: 4000 }, unset: ['claim', 'error'] }),
          true,
        );
        const [updated] = await store.listRecords();
        assert.ok(updated !== undefined);
        assert.equal(updated.state, 'applied');
        assert.deepEqual(updated.finishedAt, finishedAt);
        assert.equal(updated.claim, undefined);
        // the old claim no longer matches: a runner that lost its lease cannot finish twice
        assert.equal(await store.updateRecord('001', { state: 'running', claimRunId: 'run-2' }, { set: { state: 'failed' } }), false);
        // a record without a claim matches claimRunId null
        assert.equal(await store.updateRecord('001', { state: 'applied', claimRunId: null }, { set: { checksum: 'sha256:new' } }), true);
        assert.equal((await store.listRecords())[0]?.checksum, 'sha256:new');
      }));

    void it('updateRecordAndCreate: the change while the record matches, and the next record only where none exists; the answer says which', () =>
      withTestDb('cs_update_create', async ({ db }) => {
        const store = create(db);
        await store.prepare();
        const running = (id: string, runId: string): ChangelogRecord => record(id, { state: 'running', finishedAt: undefined, durationMs: undefined, claim: claim(runId) });
        await store.insertRecord(running('001', 'run-2'));
        const applied = { set: { state: 'applied' as const, durationMs: 7 }, unset: ['claim' as const] };
        // both apply
        assert.deepEqual(await store.updateRecordAndCreate('001', { state: 'running', claimRunId: 'run-2' }, applied, running('002', 'run-2')), { updated: true, created: true });
        // the change does not match (stale claim), the next record is new
        assert.deepEqual(await store.updateRecordAndCreate('002', { state: 'running', claimRunId: 'run-other' }, applied, running('003', 'run-2')), { updated: false, created: true });
        // the change matches, the next record exists already: left exactly as it was
        await store.insertRecord(running('005', 'run-other'));
        assert.deepEqual(await store.updateRecordAndCreate('002', { state: 'running', claimRunId: 'run-2' }, applied, running('005', 'run-2')), { updated: true, created: false });
        // neither
        assert.deepEqual(await store.updateRecordAndCreate('002', { state: 'running', claimRunId: 'run-2' }, applied, running('005', 'run-3')), { updated: false, created: false });
        const byId = new Map((await store.listRecords()).map((r) => [r._id, r]));
        assert.deepEqual([...byId.keys()].sort(), ['001', '002', '003', '005']);
        assert.equal(byId.get('001')?.state, 'applied');
        assert.equal(byId.get('002')?.state, 'applied');
        assert.deepEqual(byId.get('003'), running('003', 'run-2'), 'created exactly as given');
        assert.deepEqual(byId.get('005'), running('005', 'run-other'), 'an existing record is untouched');
      }));

    void it('appendHistoryOnce appends entries by their _id once, however often sent; clearPendingHistory removes them from records', () =>
      withTestDb('cs_history_once', async ({ db }) => {
        const store = create(db);
        await store.prepare();
        const kept = (n: number): HistoryRecord => ({ ...history(`00${n}`, 'up', n), _id: `run-1/00000${n}` });
        await store.insertRecord(record('001', { pendingHistory: kept(1) }));
        await store.insertRecord(record('002', { pendingHistory: kept(2) }));
        await store.appendHistoryOnce([kept(1)]);
        await store.appendHistoryOnce([kept(1), kept(2)]);
        await store.appendHistoryOnce([]);
        assert.deepEqual((await store.listHistory()).map((h) => h.migrationId), ['001', '002']);
        await store.clearPendingHistory(['run-1/000001']);
        const records = await store.listRecords();
        assert.equal(records.find((r) => r._id === '001')?.pendingHistory, undefined);
        assert.deepEqual(records.find((r) => r._id === '002')?.pendingHistory, kept(2));
      }));

    void it('replaceRecord and deleteRecord are conditional the same way', () =>
      withTestDb('cs_replace_delete', async ({ db }) => {
        const store = create(db);
        await store.prepare();
        await store.insertRecord(record('001', { state: 'failed', claim: claim('run-1'), error: { message: 'boom', direction: 'up' } }));
        const retry = record('001', { state: 'running', runId: 'run-3', claim: claim('run-3'), finishedAt: undefined, durationMs: undefined });
        assert.equal(await store.replaceRecord({ state: 'failed', claimRunId: 'run-9' }, retry), false);
        assert.equal(await store.replaceRecord({ state: 'failed', claimRunId: 'run-1' }, retry), true);
        assert.deepEqual(await store.listRecords(), [retry], 'replaced whole: the old error is gone');

        assert.equal(await store.deleteRecord('001', { state: 'applied', claimRunId: null }), false);
        assert.equal(await store.deleteRecord('001', { state: 'running', claimRunId: 'run-1' }), false);
        assert.equal(await store.deleteRecord('001', { state: 'running', claimRunId: 'run-3' }), true);
        assert.deepEqual(await store.listRecords(), []);
        assert.equal(await store.deleteRecord('001', { state: 'running', claimRunId: 'run-3' }), false, 'deleting twice is refused');
      }));

    void it('history is append-only, listed in the order written, filterable by migration and event', () =>
      withTestDb('cs_history', async ({ db }) => {
        const store = create(db);
        await store.prepare();
        const entries = [history('001', 'up', 1), history('002', 'up', 2), history('001', 'down', 3), history('001', 'up', 4)];
        for (const entry of entries) await store.appendHistory(entry);
        assert.deepEqual(await store.listHistory(), entries);
        assert.deepEqual(await store.listHistory({ migrationId: '001' }), [entries[0], entries[2], entries[3]]);
        assert.deepEqual(await store.listHistory({ migrationId: '001', event: 'up' }), [entries[0], entries[3]]);
        assert.deepEqual(await store.listHistory({ event: 'down' }), [entries[2]]);
      }));

    void it('history lists from a date on, and the newest n entries, still in the order written', () =>
      withTestDb('cs_history_window', async ({ db }) => {
        const store = create(db);
        await store.prepare();
        const entries = [history('001', 'up', 1), history('002', 'up', 2), history('001', 'down', 3), history('001', 'up', 4), history('003', 'up', 5)];
        for (const entry of entries) await store.appendHistory(entry);
        assert.deepEqual(await store.listHistory({ since: new Date(T0 + 3) }), entries.slice(2));
        assert.deepEqual(await store.listHistory({ limit: 2 }), entries.slice(3));
        assert.deepEqual(await store.listHistory({ migrationId: '001', limit: 2 }), [entries[2], entries[3]]);
        assert.deepEqual(await store.listHistory({ since: new Date(T0 + 2), limit: 10 }), entries.slice(1));
        assert.deepEqual(await store.listHistory({ since: new Date(T0 + 6) }), []);
      }));

    void it('writes join a transaction session', async (t) => {
      await withTestDb('cs_session', async ({ client, db }) => {
        const server = await probeServer(db);
        if (!server.supports('transactions')) {
          t.skip(`needs multi-document transactions, which ${server.describe()} does not support`);
          return;
        }
        const store = create(db);
        await store.prepare();
        const session = client.startSession();
        try {
          await session.withTransaction(async () => {
            assert.equal(await store.insertRecord(record('001'), session), true);
            await store.appendHistory(history('001', 'up', 1), session);
            await session.abortTransaction();
          });
        } catch {
          // withTransaction reports the abort; what matters is what the store kept
        } finally {
          await session.endSession();
        }
        assert.deepEqual(await store.listRecords(), [], 'the aborted transaction left no record');
        assert.deepEqual(await store.listHistory(), []);
      });
    });
  });
}
