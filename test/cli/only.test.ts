// `up --only <id>` and `down --only <id>` from the terminal: exactly one migration, the plan and
// the dry run saying whether it runs in order or out of order, out of order only with
// `--allow-out-of-order` (else exit 4), one not pending / not applied exit 2, and conflicting
// flags exit 2 before any server is contacted.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { exits, marks, oneLineError, parseJson, states, withCliProject } from '../support/cli.ts';
import { markerMigration } from '../support/project.ts';
import { snapshotDb } from '../support/snapshot.ts';

const UNREACHABLE = { MONGODB_URI: 'mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=200' };

void describe('--only', { concurrency: 2 }, () => {
  void it('up --only applies exactly that pending migration; out of order only with --allow-out-of-order', async () => {
    await withCliProject('cli_only_up', async ({ project, db, run }) => {
      for (const mark of ['a', 'b', 'c']) await project.write(`00${'abc'.indexOf(mark) + 1}-${mark}.ts`, markerMigration(mark));
      const first = await run(['up', '--only', '001-a']);
      exits(first, 0, 'up --only the next pending');
      assert.match(first.stderr + first.stdout, /001-a \(alone, in order: the next pending migration\)/);

      const before = await snapshotDb(db);
      const refused = await run(['up', '--only', '003-c']);
      exits(refused, 4, 'up --only with a pending one before it');
      oneLineError(refused, /applying 003-c alone is out of order: pending before it, and left pending \(then out-of-order\): 002-b/, /pass `--allow-out-of-order` to apply it alone anyway/);
      assert.deepEqual(await snapshotDb(db), before, 'the refused run wrote nothing');

      const dry = await run(['up', '--only', '003-c', '--allow-out-of-order', '--dry-run']);
      exits(dry, 0, 'dry run');
      assert.match(dry.stdout, /↑ up {3}003-c \(alone, out of order: pending before it, and left pending \(then out-of-order\): 002-b\)/);

      const json = parseJson(await run(['--json', 'up', '--only', '003-c', '--allow-out-of-order']));
      assert.equal(json.ok, true);
      assert.deepEqual((json.steps as { id: string; only: unknown }[]).map((s) => [s.id, s.only]), [['003-c', { outOfOrder: true, detail: 'pending before it, and left pending (then out-of-order): 002-b' }]]);
      assert.deepEqual(await marks(db), ['a', 'c']);

      const again = await run(['up', '--only', '003-c']);
      exits(again, 2, 'up --only an applied migration');
      oneLineError(again, /cannot apply 003-c alone \(given as `only`\): it is applied, not pending/);
    });
  });

  void it('down --only reverts exactly that applied migration: the newest, or any with --allow-out-of-order', async () => {
    await withCliProject('cli_only_down', async ({ project, db, run }) => {
      for (const mark of ['a', 'b', 'c']) await project.write(`00${'abc'.indexOf(mark) + 1}-${mark}.ts`, markerMigration(mark));
      exits(await run(['up']), 0, 'up');

      const refused = await run(['down', '--only', '001-a']);
      exits(refused, 4, 'down --only an older one');
      oneLineError(refused, /reverting 001-a alone is out of order: applied after it, and staying applied: 002-b, 003-c/, /pass `--allow-out-of-order` to revert it alone anyway/);

      const dry = await run(['down', '--only', '001-a', '--allow-out-of-order', '--dry-run']);
      exits(dry, 0, 'dry run');
      assert.match(dry.stdout, /↓ down 001-a \(alone, out of order: applied after it, and staying applied: 002-b, 003-c\)/);

      exits(await run(['down', '--only', '001-a', '--allow-out-of-order']), 0, 'down --only out of order');
      assert.deepEqual(await states(db), { '002-b': 'applied', '003-c': 'applied' });
      assert.deepEqual(await marks(db), ['b', 'c']);

      const newest = await run(['down', '--only', '003-c']);
      exits(newest, 0, 'down --only the newest');
      assert.match(newest.stderr + newest.stdout, /003-c \(alone, in order: the newest applied migration\)/);
      assert.deepEqual(await states(db), { '002-b': 'applied' });

      const notApplied = await run(['down', '--only', '001-a']);
      exits(notApplied, 2, 'down --only a migration not applied');
      oneLineError(notApplied, /cannot revert 001-a alone \(given as `only`\): it is not applied/);
    });
  });

  void it('conflicting flags are exit 2 before any server is contacted', async () => {
    await withCliProject('cli_only_usage', async ({ project, run }) => {
      await project.write('001-a.ts', markerMigration('a'));
      exits(await run(['up', '--only', '001-a', '--step', '1'], UNREACHABLE), 2, 'up --only with --step');
      exits(await run(['up', '--only', '001-a', '--to', '001-a'], UNREACHABLE), 2, 'up --only with --to');
      exits(await run(['down', '--only', '001-a', '--all'], UNREACHABLE), 2, 'down --only with --all');
      const allow = await run(['down', '--allow-out-of-order'], UNREACHABLE);
      exits(allow, 2, 'down --allow-out-of-order without --only');
      oneLineError(allow, /`allowOutOfOrder` on a down goes with `only`/);
    });
  });
});
