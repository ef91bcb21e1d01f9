// A spec that nests fields which may be missing, defaults on the new paths (rename into settings.*,
// setDefaults on settings.*), runs server-side and gives the same documents as the batched
// fallback and as a transform function, on the test server.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Document } from 'mongodb';
import { createHelpers, type HelperPlan, type ReshapeSpec } from '../../src/helpers/index.ts';
import { withTestDb } from '../support/database.ts';
import { contextFor, ids, withMonitoredDb } from '../support/helpers.ts';

void describe('reshape() with defaults on rename targets', () => {
  void it('runs server-side and matches the batched path and a function, source or target present or not', () =>
    withTestDb('spec_overlap', async ({ db, dbName, uri }) => {
      const seed = ids(60).map((_id, n) => ({
        _id,
        n,
        ...(n % 2 === 0 ? { theme: n % 4 === 0 ? 'dark' : null } : {}),
        ...(n % 3 === 0 ? { settings: { theme: 'blue', lang: 'pt' } } : {}),
        ...(n % 5 === 0 ? { notifications: false } : {}),
        old: n,
      }));
      for (const name of ['server', 'fallback', 'function']) await db.collection(name).insertMany(seed.map((doc) => structuredClone(doc)));
      const spec: ReshapeSpec = {
        rename: { theme: 'settings.theme', notifications: 'settings.notifications' },
        setDefaults: { 'settings.theme': 'light', 'settings.notifications': true },
        unset: ['old'],
      };
      const plans: HelperPlan[] = [];
      await createHelpers(await contextFor(db, { dryRun: true, onPlan: (plan) => plans.push(plan) })).reshape('server', { transform: spec });
      assert.deepEqual(plans.map((p) => p.note), ['server-side updateMany']);

      await withMonitoredDb(uri, dbName, async (mdb, seen) => {
        const helpers = createHelpers(await contextFor(mdb));
        await helpers.reshape('server', { transform: spec });
        assert.deepEqual(seen.updates.splice(0).map((statements) => statements.map((s) => s.multi === true)), [[true], [true], [true], [true], [true]], 'two defaults, the two moves, then the unset');
        // a filter reading a renamed field forces the batched path
        await helpers.reshape('fallback', { filter: { $or: [{ theme: { $exists: true } }, { theme: { $exists: false } }] }, transform: spec, batchSize: 16 });
        assert.ok(seen.updates.splice(0).flat().every((s) => s.multi !== true), 'document by document');
        await helpers.reshape('function', {
          transform: ({ theme, notifications, old: _old, settings, ...rest }) => {
            const nested: Record<string, unknown> = { ...(settings as Document | undefined) };
            if (theme !== undefined) nested.theme = theme as unknown;
            if (notifications !== undefined) nested.notifications = notifications as unknown;
            return { ...rest, settings: { ...nested, theme: nested.theme === undefined ? 'light' : nested.theme, notifications: nested.notifications === undefined ? true : nested.notifications } };
          },
        });
      });
      const [server, fallback, byHand] = await Promise.all(['server', 'fallback', 'function'].map((name) => db.collection(name).find({}).sort({ _id: 1 }).toArray()));
      assert.deepEqual(server, byHand, 'server-side = function');
      assert.deepEqual(fallback, byHand, 'batched = function');
      const themes = (server ?? []).map((doc) => (doc.settings as Document).theme as unknown);
      assert.deepEqual(themes.slice(0, 4), ['dark', 'light', null, 'blue'], 'the source moved (null too), the default where both were missing, the target kept');
    }));
});
