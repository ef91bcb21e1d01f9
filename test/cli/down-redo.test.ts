// `down` and `redo`, run exactly as a user would: the built bin in a throwaway project folder,
// against the test server, one fresh database per test.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { changelog, exits, history, lineIndex, marks, oneLineError, parseJson, type RunJson, states, withCliProject } from '../support/cli.ts';
import { THREE, writeThree } from '../support/project.ts';

const { A, B, C } = THREE;

void describe('down and redo', { concurrency: 4 }, () => {
  void it('down reverts the newest one by default; --step 2 the two newest; --dry-run changes nothing', async () => {
    await withCliProject('down_step', async ({ project, db, run }) => {
      await writeThree(project);
      exits(await run(['up']), 0, 'up');

      const dry = await run(['down', '--all', '--dry-run']);
      exits(dry, 0, 'down --all --dry-run');
      assert.match(dry.stdout, /Dry run/);
      const order = [C, B, A].map((id) => lineIndex(dry.stdout, new RegExp(`down\\s+${id}`)));
      assert.deepEqual(order, [...order].sort((x, y) => x - y), `newest first:\n${dry.stdout}`);
      const dryJson = await run(['down', '--dry-run', '--json']);
      exits(dryJson, 0, 'down --dry-run --json');
      const dryDoc = parseJson(dryJson) as unknown as RunJson;
      assert.equal(dryDoc.dryRun, true);
      assert.deepEqual(dryDoc.steps.map((s) => [s.id, s.direction, s.status]), [[C, 'down', 'not-run']]);
      assert.deepEqual(await marks(db), ['a', 'b', 'c'], 'dry runs change nothing');
      assert.deepEqual(await states(db), { [A]: 'applied', [B]: 'applied', [C]: 'applied' });

      const one = await run(['down']);
      exits(one, 0, 'down');
      assert.match(one.stdout, new RegExp(`reverted\\s+${C}`));
      assert.deepEqual(await states(db), { [A]: 'applied', [B]: 'applied' });
      assert.deepEqual(await marks(db), ['a', 'b']);

      exits(await run(['up']), 0, 'up again');
      const two = await run(['down', '--step', '2']);
      exits(two, 0, 'down --step 2');
      assert.ok(lineIndex(two.stdout, new RegExp(`reverted\\s+${C}`)) < lineIndex(two.stdout, new RegExp(`reverted\\s+${B}`)), two.stdout);
      assert.deepEqual(await states(db), { [A]: 'applied' });
      assert.deepEqual(await marks(db), ['a']);
    });
  });

  void it('down --to <id> keeps that one; --all reverts everything; nothing left says so', async () => {
    await withCliProject('down_to', async ({ project, db, run }) => {
      await writeThree(project);
      exits(await run(['up']), 0, 'up');
      const to = await run(['down', '--to', A]);
      exits(to, 0, `down --to ${A}`);
      assert.match(to.stdout, new RegExp(`reverted\\s+${C}`));
      assert.match(to.stdout, new RegExp(`reverted\\s+${B}`));
      assert.ok(!new RegExp(`reverted\\s+${A}`).test(to.stdout));
      assert.deepEqual(await states(db), { [A]: 'applied' });

      exits(await run(['up']), 0, 'up again');
      const all = await run(['down', '--all', '--json']);
      exits(all, 0, 'down --all --json');
      const doc = parseJson(all) as unknown as RunJson;
      assert.equal(doc.ok, true);
      assert.deepEqual(doc.steps.map((s) => [s.id, s.direction, s.status]), [[C, 'down', 'success'], [B, 'down', 'success'], [A, 'down', 'success']]);
      assert.deepEqual(await changelog(db), []);
      assert.deepEqual(await marks(db), []);

      const nothing = await run(['down']);
      exits(nothing, 0, 'down with nothing applied');
      assert.match(nothing.stdout, /Nothing to revert/);

      const notApplied = await run(['down', '--to', B]);
      exits(notApplied, 2, 'down --to a migration that is not applied');
      oneLineError(notApplied, new RegExp(B));
      const conflicting = await run(['down', '--all', '--step', '1']);
      exits(conflicting, 2, 'down --all --step 1');
    });
  });

  void it('down --last-run reverts exactly what the newest up applied, newest first', async () => {
    await withCliProject('down_last', async ({ project, db, run }) => {
      await writeThree(project);
      exits(await run(['up', '--step', '1']), 0, 'first up');
      exits(await run(['up']), 0, 'second up');
      const result = await run(['down', '--last-run']);
      exits(result, 0, 'down --last-run');
      assert.ok(lineIndex(result.stdout, new RegExp(`reverted\\s+${C}`)) < lineIndex(result.stdout, new RegExp(`reverted\\s+${B}`)), result.stdout);
      assert.ok(!result.stdout.includes(A), result.stdout);
      assert.deepEqual(await states(db), { [A]: 'applied' });
      assert.deepEqual(await marks(db), ['a']);
    });
  });

  void it('redo reverts and re-applies the newest migration, or the one named', async () => {
    await withCliProject('redo', async ({ project, db, run }) => {
      await writeThree(project);
      exits(await run(['up']), 0, 'up');
      const redo = await run(['redo']);
      exits(redo, 0, 'redo');
      assert.ok(lineIndex(redo.stdout, new RegExp(`reverted\\s+${C}`)) < lineIndex(redo.stdout, new RegExp(`applied\\s+${C}`)), redo.stdout);
      assert.ok(!redo.stdout.includes(B) && !redo.stdout.includes(A), redo.stdout);
      assert.deepEqual(await states(db), { [A]: 'applied', [B]: 'applied', [C]: 'applied' });
      assert.deepEqual(await marks(db), ['a', 'b', 'c']);

      const named = await run(['redo', A, '--json']);
      exits(named, 0, `redo ${A} --json`);
      const doc = parseJson(named) as unknown as RunJson;
      assert.equal(doc.ok, true);
      assert.deepEqual(doc.steps.map((s) => [s.id, s.direction, s.status]), [[A, 'down', 'success'], [A, 'up', 'success']]);
      assert.deepEqual(await states(db), { [A]: 'applied', [B]: 'applied', [C]: 'applied' });
      assert.deepEqual(await marks(db), ['a', 'b', 'c']);
      assert.deepEqual((await history(db, A)).map((h) => h.event), ['up', 'down', 'up']);

      const notApplied = await run(['redo', '999-nope']);
      exits(notApplied, 2, 'redo of an unknown id');
      oneLineError(notApplied, /999-nope/);
    });
  });
});
