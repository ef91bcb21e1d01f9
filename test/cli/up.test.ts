// `up`, run exactly as a user would: the built bin in a throwaway project folder, against the test
// server, one fresh database per test.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { changelog, exits, lineIndex, marks, oneLineError, parseJson, type RunJson, states, type StatusJson, withCliProject } from '../support/cli.ts';
import { failingMigration, markerMigration, THREE, writeThree } from '../support/project.ts';

const { A, B, C } = THREE;

void describe('up', { concurrency: 4 }, () => {
  void it('applies pending migrations in id order and prints their ids; --json gives the steps', async () => {
    await withCliProject('up', async ({ project, db, run }) => {
      // written out of order on purpose: order is by id
      await project.write(`${C}.ts`, markerMigration('c'));
      await project.write(`${A}.ts`, markerMigration('a'));
      await project.write(`${B}.ts`, markerMigration('b'));
      const result = await run(['up']);
      exits(result, 0, 'up');
      const order = [A, B, C].map((id) => lineIndex(result.stdout, new RegExp(`applied\\s+${id}`)));
      assert.deepEqual(order, [...order].sort((x, y) => x - y), `applied in id order:\n${result.stdout}`);
      assert.deepEqual(await states(db), { [A]: 'applied', [B]: 'applied', [C]: 'applied' });
      assert.deepEqual(await marks(db), ['a', 'b', 'c']);
      const records = await changelog(db);
      assert.equal(new Set(records.map((r) => r.runId)).size, 1, 'one run id for one up');

      const again = await run(['up']);
      exits(again, 0, 'second up');
      assert.match(again.stdout, /Nothing to apply/);
      assert.deepEqual(await marks(db), ['a', 'b', 'c'], 'nothing ran twice');

      await project.write('004-delta.ts', markerMigration('d'));
      const json = await run(['up', '--json']);
      exits(json, 0, 'up --json');
      const doc = parseJson(json) as unknown as RunJson;
      assert.equal(doc.ok, true);
      assert.equal(doc.command, 'up');
      assert.equal(doc.dryRun, false);
      assert.deepEqual(doc.steps.map((s) => [s.id, s.direction, s.status]), [['004-delta', 'up', 'success']]);
      assert.equal(json.stderr, '');
    });
  });

  void it('--dry-run prints the plan in order and changes nothing', async () => {
    await withCliProject('up_dry', async ({ project, db, run }) => {
      await writeThree(project);
      exits(await run(['up', '--step', '1']), 0, 'up --step 1');
      const before = await changelog(db);
      const result = await run(['up', '--dry-run']);
      exits(result, 0, 'up --dry-run');
      assert.match(result.stdout, /Dry run/);
      assert.ok(lineIndex(result.stdout, new RegExp(B)) < lineIndex(result.stdout, new RegExp(C)), result.stdout);
      assert.ok(!result.stdout.includes(A), 'an applied migration is not in the plan');
      assert.deepEqual(await changelog(db), before);
      assert.deepEqual(await marks(db), ['a']);

      const json = await run(['up', '--dry-run', '--json']);
      exits(json, 0, 'up --dry-run --json');
      const doc = parseJson(json) as unknown as RunJson;
      assert.equal(doc.dryRun, true);
      assert.deepEqual(doc.steps.map((s) => [s.id, s.status]), [[B, 'not-run'], [C, 'not-run']]);
      assert.deepEqual(await changelog(db), before);
    });
  });

  void it('--step and --to limit what is applied', async () => {
    await withCliProject('up_limits', async ({ project, db, run }) => {
      await writeThree(project);
      await project.write('004-delta.ts', markerMigration('d'));
      const step = await run(['up', '--step', '1']);
      exits(step, 0, 'up --step 1');
      assert.match(step.stdout, new RegExp(`applied\\s+${A}`));
      assert.deepEqual(await states(db), { [A]: 'applied' });
      const to = await run(['up', '--to', C]);
      exits(to, 0, `up --to ${C}`);
      assert.deepEqual(await states(db), { [A]: 'applied', [B]: 'applied', [C]: 'applied' });
      assert.ok(!to.stdout.includes('004-delta'), to.stdout);
      const two = await run(['up', '--step', '2']);
      exits(two, 0, 'up --step 2 with one pending');
      assert.deepEqual(await marks(db), ['a', 'b', 'c', 'd']);

      const unknown = await run(['up', '--to', '999-nope']);
      exits(unknown, 2, 'up --to an unknown id');
      oneLineError(unknown, /999-nope/);
      const bad = await run(['up', '--step', 'two']);
      exits(bad, 2, 'up --step two');
      assert.match(bad.stderr, /--step/);
    });
  });

  void it('refuses an out-of-order migration (exit 4) unless --allow-out-of-order', async () => {
    await withCliProject('up_ooo', async ({ project, db, run }) => {
      await project.write(`${B}.ts`, markerMigration('b'));
      await project.write(`${C}.ts`, markerMigration('c'));
      exits(await run(['up']), 0, 'up');
      await project.write(`${A}.ts`, markerMigration('a'));
      const status = await run(['status', '--json']);
      const doc = parseJson(status) as unknown as StatusJson;
      assert.equal(doc.migrations.find((m) => m.id === A)?.state, 'out-of-order');

      const refused = await run(['up']);
      exits(refused, 4, 'up with an out-of-order migration');
      oneLineError(refused, new RegExp(`${A}.*--allow-out-of-order`));
      assert.deepEqual(await states(db), { [B]: 'applied', [C]: 'applied' });
      const refusedJson = await run(['up', '--json']);
      exits(refusedJson, 4, 'up --json with an out-of-order migration');
      assert.equal((parseJson(refusedJson).error as { code: string }).code, 'CHECK_FAILED');

      const allowed = await run(['up', '--allow-out-of-order']);
      exits(allowed, 0, 'up --allow-out-of-order');
      assert.match(allowed.stdout, new RegExp(`applied\\s+${A}`));
      assert.deepEqual(await states(db), { [A]: 'applied', [B]: 'applied', [C]: 'applied' });

      // down goes by when migrations were applied, not by file name: A was applied last
      const down = await run(['down']);
      exits(down, 0, 'down');
      assert.match(down.stdout, new RegExp(`reverted\\s+${A}`));
      assert.deepEqual(await states(db), { [B]: 'applied', [C]: 'applied' });
    });
  });

  void it('a failing migration exits 1, names it and what was applied before it; later ones do not run', async () => {
    await withCliProject('up_fail', async ({ project, db, run }) => {
      await project.write(`${A}.ts`, markerMigration('a'));
      await project.write('002-breaks.ts', failingMigration('kaput: the widget is broken'));
      await project.write(`${C}.ts`, markerMigration('c'));
      const result = await run(['up']);
      exits(result, 1, 'up with a failing migration');
      const all = result.stdout + result.stderr;
      assert.match(all, /002-breaks/);
      assert.match(all, /kaput: the widget is broken/);
      assert.match(result.stdout, new RegExp(`applied\\s+${A}`));
      assert.match(result.stdout, new RegExp(`before the failure: ${A}`));
      assert.match(result.stdout, new RegExp(`not run: ${C}`));
      const errors = result.stderr.trimEnd().split('\n');
      assert.equal(errors.length, 1, `one error line:\n${result.stderr}`);
      assert.match(errors[0] ?? '', /^error: .*002-breaks.*kaput/);
      assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace without -v');
      assert.deepEqual(await states(db), { [A]: 'applied', '002-breaks': 'failed' });
      const failed = (await changelog(db)).find((r) => r._id === '002-breaks');
      assert.match(failed?.error?.message ?? '', /kaput/);
      assert.deepEqual(await marks(db), ['a', 'half-done']);

      // without --retry-failed the failed migration blocks the run
      const blocked = await run(['up']);
      exits(blocked, 1, 'up after a failure');
      oneLineError(blocked, /002-breaks.*--retry-failed/);

      await project.write('002-breaks.ts', markerMigration('b'));
      const retried = await run(['up', '--retry-failed']);
      exits(retried, 0, 'up --retry-failed after a fix');
      assert.match(retried.stdout, /applied\s+002-breaks/);
      assert.match(retried.stdout, new RegExp(`applied\\s+${C}`));
      assert.deepEqual(await states(db), { [A]: 'applied', '002-breaks': 'applied', [C]: 'applied' });
    });
  });

  void it('a failing migration with --json gives ok:false and error.code MIGRATION_FAILED', async () => {
    await withCliProject('up_fail_json', async ({ project, db, run }) => {
      await project.write(`${A}.ts`, markerMigration('a'));
      await project.write('002-breaks.ts', failingMigration('kaput'));
      await project.write(`${C}.ts`, markerMigration('c'));
      const result = await run(['up', '--json']);
      exits(result, 1, 'up --json with a failing migration');
      assert.equal(result.stderr, '', 'nothing but the JSON document');
      const doc = parseJson(result) as unknown as RunJson;
      assert.equal(doc.ok, false);
      assert.equal(doc.error?.code, 'MIGRATION_FAILED');
      assert.match(doc.error.message, /002-breaks.*kaput/);
      assert.equal(doc.error.id, '002-breaks');
      assert.deepEqual(doc.steps.map((s) => [s.id, s.status]), [[A, 'success'], ['002-breaks', 'failed'], [C, 'not-run']]);
      assert.deepEqual(await states(db), { [A]: 'applied', '002-breaks': 'failed' });
    });
  });
});
