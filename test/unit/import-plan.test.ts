// Unit tests of the plans behind `status` without checksums or migrations (`unchecked`,
// changelog-only) and `import` (what an adoption records).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { computeStatus, planImport, planRepair } from '../../src/core/plan.ts';
import type { ChangelogRecord } from '../../src/changelog/contract.ts';
import { appliedRecord } from '../support/records.ts';

const record = (id: string, checksum: string | undefined, at = 1000): ChangelogRecord => appliedRecord(id, at, { checksum });

void describe('status without a checksum, and without migrations', () => {
  void it('an applied migration with no source is unchecked, not a problem; repair records a source given later', () => {
    const listed = [{ id: '001', checksum: undefined, description: undefined, path: undefined }, { id: '002', checksum: 'sha256:x', description: undefined, path: undefined }];
    const status = computeStatus('db', listed, [record('001', undefined), record('002', undefined)]);
    assert.deepEqual(status.migrations.map((m) => m.state), ['unchecked', 'unchecked']);
    assert.equal(status.problems, 0);
    assert.deepEqual(planRepair(listed, [record('001', undefined), record('002', undefined)], undefined).map((a) => `${a.id}:${a.action}`), ['002:rechecksum']);
  });

  void it('with no migrations folder, records show as recorded, never missing', () => {
    const status = computeStatus('db', [], [record('001', 'sha256:a'), { ...record('002', 'sha256:b'), state: 'failed' }], undefined, 'no folder');
    assert.deepEqual(status.migrations.map((m) => `${m.id}:${m.state}`), ['001:applied', '002:failed']);
    assert.equal(status.migrationsUnavailable, 'no folder');
  });
});

void describe('planImport', () => {
  const listed = [{ id: 'a', checksum: 'sha256:a', description: undefined, path: '/m/a.js' }];
  const entries = [
    { id: 'c', appliedAt: new Date(3000), run: 'migrate-mongo-block-2' },
    { id: 'a', appliedAt: new Date(1000), run: 'migrate-mongo-block-1' },
    { id: 'b', appliedAt: new Date(2000), run: 'migrate-mongo-block-1' },
  ];

  void it('imports oldest first, a gone file as missing; skips what is recorded and what was imported before', () => {
    const planned = planImport(entries, listed, [], new Set());
    assert.deepEqual(planned.imported.map((i) => `${i.id}:${i.state}`), ['a:applied', 'b:missing', 'c:missing']);
    const again = planImport(entries, listed, [record('a', 'sha256:a')], new Set(['c']));
    assert.deepEqual(again.imported.map((i) => i.id), ['b']);
    assert.deepEqual(again.skipped, [{ id: 'a', reason: 'recorded' }, { id: 'c', reason: 'imported-before' }]);
  });
});
