// `validate` names what a copyAndRename that stopped left behind: an unfinished copy
// (`_mongrate_tmp_*`) or an original moved aside by a brief-gap swap (`_mongrate_old_*`).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { markerMigration } from '../support/project.ts';
import { withEnv } from '../support/migrator.ts';

void describe('validate and copyAndRename leftovers', () => {
  void it('reports each leftover collection as a finding naming the collection it belongs to', () =>
    withEnv('validate_leftovers', async (env) => {
      await env.project.write('001-a.ts', markerMigration('a'));
      await env.migrator.up();
      assert.equal((await env.migrator.validate()).ok, true);

      await env.db.createCollection('_mongrate_tmp_users');
      await env.db.createCollection('_mongrate_old_products');
      const result = await env.migrator.validate();
      assert.equal(result.ok, false);
      assert.deepEqual(result.findings.map((f) => `${f.kind}:${f.id}`), ['leftover-collection:_mongrate_old_products', 'leftover-collection:_mongrate_tmp_users']);
      assert.match(result.findings[1]?.message ?? '', /unfinished copy of 'users'.*next run of that migration drops it/);
      assert.match(result.findings[0]?.message ?? '', /original of 'products'.*rename it back/);
    }));
});
