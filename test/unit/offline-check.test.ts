// The offline check's rules that need neither a server nor git: which ids are well-formed, and
// `checkOffline` called from code with no database at all.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkOffline } from '../../src/index.ts';
import { idFindings } from '../../src/providers/offline-check.ts';
import { createProject, markerMigration } from '../support/project.ts';

void describe('offline check: ids', () => {
  void it('a version prefix of one width orders by character as it does by number: no findings', () => {
    assert.deepEqual(idFindings(['20250101000000-a', '20250102000000-b', '20250102000000_c', '20250103000000.d']), []);
    assert.deepEqual(idFindings(['001-a', '002-b', '010-c']), []);
  });

  void it('no version, odd characters, or a width other than most ids have, is malformed', () => {
    const kinds = (ids: string[]): string[] => idFindings(ids).map((f) => `${f.id}:${f.kind}`);
    assert.deepEqual(kinds(['add-users', '001-a']), ['add-users:malformed-id']);
    assert.deepEqual(kinds(['001 a', '002-b']), ['001 a:malformed-id']);
    assert.deepEqual(kinds(['9-x', '10-y', '11-z']), ['9-x:malformed-id']);
    assert.match(idFindings(['9-x', '10-y', '11-z'])[0]?.message ?? '', /'9-x' runs after '10-y'/);
  });
});

void describe('checkOffline() from code', () => {
  void it('needs no database and returns findings as CHECK_FAILED, or none', async () => {
    const project = await createProject();
    try {
      await project.write('001-a.js', markerMigration('a'));
      const clean = await checkOffline({ migrationsDir: project.migrationsDir });
      assert.equal(clean.error, undefined);
      assert.equal(clean.migrations, 1);
      assert.deepEqual(clean.typescript, { skipped: 'no TypeScript migrations' });
      await project.write('002-b.js', 'export const nothing = 1;\n');
      const found = await checkOffline({ migrationsDir: project.migrationsDir });
      assert.equal(found.error?.code, 'CHECK_FAILED');
      assert.deepEqual(found.findings.map((f) => `${f.id}:${f.kind}`), ['002-b:no-up']);
      const missing = await checkOffline({ migrationsDir: `${project.dir}/nope` });
      assert.equal(missing.error?.code, 'USAGE');
      await assert.rejects(checkOffline({}, { base: '--upload-pack=x' }), /must be a git ref/);
    } finally {
      await project.remove();
    }
  });
});
