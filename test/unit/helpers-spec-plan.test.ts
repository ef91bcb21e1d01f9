// serverPlan() for a default on a rename's target (the nesting a user writes: rename into
// settings.*, default settings.*): server-side, with the default set on the source first.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applySpec, serverPlan } from '../../src/helpers/spec.ts';

void describe('serverPlan() with a default on a rename target', () => {
  void it('sets the default on the source where source and target are missing, then renames', () => {
    const plan = serverPlan({ rename: { theme: 'settings.theme', bio: 'profile.bio' }, setDefaults: { 'settings.theme': 'light', created_at: 0 }, unset: ['old'] }, { seq: { $lt: 10 } });
    assert.deepEqual(plan, {
      defaults: [
        { filter: { seq: { $lt: 10 }, theme: { $exists: false }, 'settings.theme': { $exists: false } }, update: { $set: { theme: 'light' } } },
        { filter: { seq: { $lt: 10 }, created_at: { $exists: false } }, update: { $set: { created_at: 0 } } },
      ],
      moves: [
        { filter: { seq: { $lt: 10 }, theme: { $exists: true } }, update: { $rename: { theme: 'settings.theme' } } },
        { filter: { seq: { $lt: 10 }, bio: { $exists: true } }, update: { $rename: { bio: 'profile.bio' } } },
      ],
      main: { $unset: { old: '' } },
    });
  });

  void it('is what applySpec does, for the source present, the target present, both and neither', () => {
    const spec = { rename: { theme: 'settings.theme' }, setDefaults: { 'settings.theme': 'light' } };
    const cases = [{ theme: 'dark' }, { settings: { theme: 'blue' } }, { theme: 'dark', settings: { theme: 'blue' } }, {}];
    // the server's steps, by hand: the default on the source where both are missing, then $rename
    const server = (doc: Record<string, unknown>): Record<string, unknown> => {
      const settings = doc.settings as Record<string, unknown> | undefined;
      const withDefault = !('theme' in doc) && settings?.theme === undefined ? { ...doc, theme: 'light' } : doc;
      return applySpec({ rename: spec.rename }, withDefault);
    };
    for (const doc of cases) assert.deepEqual(server(doc), applySpec(spec, doc), JSON.stringify(doc));
  });

  void it('declines where the order still matters', () => {
    assert.equal(serverPlan({ rename: { theme: 'settings.theme' }, setDefaults: { 'settings.theme': 'light' } }, { theme: { $exists: true } }), undefined, 'the filter reads the source the default writes');
    assert.equal(serverPlan({ rename: { theme: 'settings.theme' }, setDefaults: { 'settings.theme': 'light' } }, { 'settings.theme': 'x' }), undefined, 'the filter reads the target');
    assert.equal(serverPlan({ rename: { 'a.theme': 'settings.theme' }, setDefaults: { 'settings.theme': 'light' } }, {}), undefined, 'a dotted source');
    assert.equal(serverPlan({ rename: { theme: 'settings' }, setDefaults: { 'settings.theme': 'light' } }, {}), undefined, 'a default inside a target');
    assert.equal(serverPlan({ rename: { theme: 'settings.theme' }, setDefaults: { 'settings.theme': 'light', theme: 'x' } }, {}), undefined, 'a default on the source too');
    assert.equal(serverPlan({ rename: { theme: 'settings.theme' }, setDefaults: { 'settings.theme': 'light' }, unset: ['theme'] }, {}), undefined, 'the source unset too');
  });
});
