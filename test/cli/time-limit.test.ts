// A migration past its time limit (`timeoutSeconds`) from the terminal: the run stops as on
// Ctrl-C (exit 130, the migration failed and interrupted, `up --retry-failed` named) with a
// message naming the limit and the migration. The migration waits for ctx.signal, never for the
// server: the 1 s limit is the only clock.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { exits, oneLineError, states, withCliProject } from '../support/cli.ts';
import { markerMigration } from '../support/project.ts';

const WAITS = `import { defineMigration } from 'mongrate';
export default defineMigration({
  transaction: false,
  async up({ signal }) {
    if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    throw signal.reason;
  },
});
`;

void describe('timeoutSeconds from the CLI', () => {
  void it('config timeoutSeconds: exit 130, the limit and the migration named, recorded failed (interrupted)', async () => {
    await withCliProject('cli_time_limit', { config: `export default { timeoutSeconds: 1 };\n` }, async ({ project, db, run }) => {
      await project.write('001-waits.ts', WAITS);
      await project.write('002-b.ts', markerMigration('b'));
      const result = await run(['up']);
      exits(result, 130, 'up past the time limit');
      assert.match(result.stdout + result.stderr, /failed\s+001-waits/);
      oneLineError(result, /migration 001-waits was interrupted: 001-waits ran past its time limit of 1 s \(timeoutSeconds\)/, /mongrate up --retry-failed/);
      assert.deepEqual(await states(db), { '001-waits': 'failed' });
      const status = await run(['status']);
      assert.match(status.stdout, /001-waits ran past its time limit of 1 s/);
    });
  });
});
