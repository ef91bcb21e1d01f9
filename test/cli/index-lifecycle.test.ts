// The index lifecycle and views as a user runs them (the built bin, a throwaway project), on the
// scripted replica set, since no local server has TTL changes, hidden indexes and views together:
// `up --dry-run` says `~ modify expireAfterSeconds 2592000 → 604800 on index expires`, the hiding and
// the view it would create, and changes nothing; `up` does it and prints the helpers' lines; the
// next release's migration drops the index the first one hid and redefines the view, with the
// functions exported from the package entry, and its down drops a view.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Document } from 'mongodb';
import { runCli, type CliResult } from '../support/cli.ts';
import { createProject } from '../support/project.ts';
import { scriptedSet } from '../scripted/fixtures.ts';

const RELEASE_1 = `import { defineMigration } from 'mongrate';
export default defineMigration({
  description: 'sessions expire after 7 days; retire legacy_1; active users view',
  transaction: false,
  async up({ helpers }) {
    await helpers.ensureIndexes('sessions', [{ key: { created_at: 1 }, name: 'expires', expireAfterSeconds: 604800 }], { reportUndeclared: true });
    await helpers.dropIndexes('users', ['legacy_1'], { hideFirst: true });
    await helpers.createView('active_users', 'users', [{ $match: { active: true } }]);
  },
});
`;

// the functions exported from the package entry, beside ctx.helpers in release 1
const RELEASE_2 = `import { createView, dropIndexes, dropView, defineMigration } from 'mongrate';
export default defineMigration({
  description: 'drop legacy_1, hidden since the last release; active users of the pro plan',
  transaction: false,
  async up() {
    await dropIndexes('users', ['legacy_1'], { hideFirst: true });
    await createView('active_users', 'users', [{ $match: { active: true } }, { $project: { email: 1 } }]);
    await createView('pro_users', 'users', [{ $match: { plan: 'pro' } }]);
  },
  async down() {
    await dropView('pro_users');
  },
});
`;

function ok(result: CliResult, what: string): string[] {
  assert.equal(result.code, 0, `${what}: expected exit 0, got ${String(result.code)}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
  return result.stdout.split('\n').map((line) => line.trim());
}

function inOrder(out: string[], expected: string[], stdout: string): void {
  let from = 0;
  for (const line of expected) {
    const at = out.indexOf(line, from);
    assert.notEqual(at, -1, `missing (in order) ${JSON.stringify(line)} in:\n${stdout}`);
    from = at + 1;
  }
}

void describe('index lifecycle and views from the CLI (scripted replica set)', () => {
  void it('up --dry-run says what would change in place, be hidden and be created; up does it; a later release drops the hidden index', async (t) => {
    const { rs, client } = await scriptedSet(t);
    const db = client.db('app');
    await db.collection('sessions').createIndexes([{ key: { created_at: 1 }, name: 'expires', expireAfterSeconds: 2592000 }, { key: { user: 1 }, name: 'user_1' }]);
    await db.collection('users').createIndexes([{ key: { legacy: 1 }, name: 'legacy_1' }]);
    const project = await createProject();
    t.after(() => project.remove());
    await project.write('20240101000000-release-1.ts', RELEASE_1);
    const run = (args: string[]): Promise<CliResult> => runCli(['--uri', rs.uri, '--db', 'app', ...args], { cwd: project.dir });

    rs.clearCommands();
    const dry = await run(['up', '--dry-run']);
    inOrder(ok(dry, 'up --dry-run'), [
      'ensureIndexes sessions: ~ modify expireAfterSeconds 2592000 → 604800 on index expires (collMod)',
      'dropIndexes users: hide index legacy_1 (collMod; a later migration drops it)',
      'createView active_users: create the view on users (1 stage)',
      'Nothing was changed.',
    ], dry.stdout);
    assert.deepEqual(rs.recorded({ name: ['collMod', 'create', 'createIndexes', 'dropIndexes'] }), [], 'the dry run changed nothing');

    const up = await run(['up']);
    const first = '20240101000000-release-1: ';
    inOrder(ok(up, 'up'), [
      `${first}ensureIndexes(sessions): undeclared (no spec names them): user_1`,
      `${first}ensureIndexes(sessions): modified expires (expireAfterSeconds 2592000 → 604800)`,
      `${first}dropIndexes(users): hid legacy_1; a later migration's dropIndexes drops it (unhide it to undo)`,
      `${first}createView(active_users): created on users (1 stage)`,
    ], up.stdout);
    const hidden = ((await db.collection('users').listIndexes().toArray()) as Document[]).find((index) => index.name === 'legacy_1');
    assert.equal(hidden?.hidden, true);

    await project.write('20240201000000-release-2.ts', RELEASE_2);
    const next = await run(['up']);
    const second = '20240201000000-release-2: ';
    inOrder(ok(next, 'up (release 2)'), [
      `${second}dropIndexes(users): dropped legacy_1 (hidden by 20240101000000-release-1)`,
      `${second}createView(active_users): redefined on users (2 stages)`,
      `${second}createView(pro_users): created on users (1 stage)`,
    ], next.stdout);
    assert.deepEqual(((await db.collection('users').listIndexes().toArray()) as Document[]).map((index) => index.name as unknown), ['_id_']);
    const views = async (): Promise<unknown[]> => (await db.listCollections({ type: 'view' }, { nameOnly: true }).toArray()).map((c) => c.name).sort();
    assert.deepEqual(await views(), ['active_users', 'pro_users']);

    const down = await run(['down']);
    inOrder(ok(down, 'down (release 2)'), [`${second}dropView(pro_users): dropped`], down.stdout);
    assert.deepEqual(await views(), ['active_users']);
  });
});
