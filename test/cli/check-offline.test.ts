// `mongrate check --offline [--base <ref>]`, the pull request's check without a database: ids,
// loading, TypeScript errors (with the project's TypeScript), and against a git base ref the
// files of the base branch untouched and new ones sorting after all of its. No connection is
// opened: MONGODB_URI points at a listener that counts connections. The built CLI, spawned.
import { execFileSync } from 'node:child_process';
import { mkdir, rm, symlink } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { exits, oneLineError, parseJson, runCli } from '../support/cli.ts';
import { createProject, markerMigration, type TestProject } from '../support/project.ts';

const HAVE_GIT = ((): boolean => {
  try {
    execFileSync('git', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** The repo's TypeScript, linked into a project as if the project had installed it. */
const TYPESCRIPT_DIR = dirname(createRequire(import.meta.url).resolve('typescript/package.json'));

/** A typed migration through mongrate's own types: `ctx` is typed, so a wrong call is a type error. */
const typed = (body: string): string => `import { defineMigration } from 'mongrate';
export default defineMigration({
  async up({ db }) {
    ${body}
  },
});
`;

interface FindingDoc {
  id: string;
  kind: string;
  message: string;
}

/** A listener on a free port that only counts who connects: where MONGODB_URI points, no command should connect. */
let listener: Server;
let connections = 0;
let uri = '';

before(async () => {
  listener = createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const address = listener.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  uri = `mongodb://127.0.0.1:${address.port}/app?serverSelectionTimeoutMS=1000`;
});
after(() => new Promise<void>((resolve) => listener.close(() => resolve())));

async function withProject(fn: (project: TestProject, check: (...args: string[]) => ReturnType<typeof runCli>) => Promise<void>): Promise<void> {
  const project = await createProject();
  try {
    await mkdir(join(project.dir, 'node_modules'));
    await symlink(TYPESCRIPT_DIR, join(project.dir, 'node_modules', 'typescript'), 'dir');
    await fn(project, (...args) => runCli(['check', '--offline', ...args], { cwd: project.dir, env: { MONGODB_URI: uri } }));
  } finally {
    await project.remove();
  }
}

function git(cwd: string, ...args: string[]): void {
  execFileSync('git', ['-c', 'user.name=mongrate test', '-c', 'user.email=test@example.com', '-c', 'commit.gpgsign=false', ...args], { cwd, stdio: 'pipe' });
}

void describe('check --offline', { concurrency: 2 }, () => {
  void it('a clean project: exit 0, its TypeScript migrations type-checked, no connection opened', async () => {
    await withProject(async (project, check) => {
      await project.write('20250101000000-first.ts', typed("await db.collection('a').insertOne({ a: 1 });"));
      await project.write('20250102000000-second.js', markerMigration('second'));
      const before = connections;
      const result = await check();
      exits(result, 0, 'check --offline');
      assert.match(result.stdout, /✔ no problems: 2 migrations; 1 TypeScript file type-checked with TypeScript \d+\.\d+/);
      const json = parseJson(await check('--json'));
      assert.equal(json.ok, true);
      assert.deepEqual(json.findings, []);
      assert.equal(connections, before, 'no connection was opened');
    });
  });

  void it('findings, exit 4: ids without a version or of another width, a file that does not load or has no up, a type error', async () => {
    await withProject(async (project, check) => {
      await project.write('20250101000000-first.ts', typed("await db.collection('a').insertOne({ a: 1 });"));
      await project.write('20250102000000-typo.ts', typed("await db.colection('a').insertOne({ a: 1 });"));
      await project.write('20250103000000-broken.js', 'export async function up( {\n');
      await project.write('20250104000000-no-up.js', 'export async function down() {}\n');
      await project.write('2025-short.js', markerMigration('short'));
      await project.write('add-users.js', markerMigration('add users'));
      const result = await check('--json');
      exits(result, 4, 'check --offline with findings');
      const findings = parseJson(result).findings as FindingDoc[];
      const kinds = findings.map((f) => `${f.id}:${f.kind}`).sort();
      assert.deepEqual(kinds, [
        '2025-short:malformed-id',
        '20250102000000-typo:type-error',
        '20250103000000-broken:load-error',
        '20250104000000-no-up:no-up',
        'add-users:malformed-id',
      ]);
      assert.match(findings.find((f) => f.kind === 'type-error')?.message ?? '', /20250102000000-typo\.ts:4:\d+ TS2551: Property 'colection' does not exist/);
      assert.match(findings.find((f) => f.id === '2025-short')?.message ?? '', /4 digits where the others have 14/);
      const plain = await check();
      exits(plain, 4, 'in words');
      assert.match(plain.stdout, /✖ type-error: /);
      assert.match(plain.stdout, /check: 5 problems found/);
    });
  });

  void it('--base: a file of the base branch edited or deleted, and a new one sorting before the base tip\'s newest, are findings', { skip: HAVE_GIT ? false : 'git is not installed' }, async () => {
    await withProject(async (project, check) => {
      const dir = project.dir;
      await project.writeFile('.gitignore', 'node_modules\n');
      await project.write('001-one.js', markerMigration('one'));
      await project.write('002-two.js', markerMigration('two'));
      git(dir, 'init', '-q', '-b', 'main');
      git(dir, 'add', '.');
      git(dir, 'commit', '-q', '-m', 'one and two');
      git(dir, 'checkout', '-q', '-b', 'feature');
      git(dir, 'checkout', '-q', 'main');
      await project.write('004-four.js', markerMigration('four'));
      git(dir, 'add', '.');
      git(dir, 'commit', '-q', '-m', 'four, merged to main meanwhile');
      git(dir, 'checkout', '-q', 'feature');

      await project.write('005-five.js', markerMigration('five'));
      exits(await check('--base', 'main'), 0, 'a branch that only adds a migration after the base');

      await project.write('001-one.js', markerMigration('one, edited'));
      await rm(join(project.migrationsDir, '002-two.js'));
      await project.write('003-three.js', markerMigration('three'));
      const result = await check('--base', 'main', '--json');
      exits(result, 4, 'check --offline --base main');
      const json = parseJson(result);
      const findings = json.findings as FindingDoc[];
      assert.deepEqual(findings.map((f) => `${f.id}:${f.kind}`).sort(), ['001-one:changed', '002-two:missing', '003-three:out-of-order']);
      assert.match(findings.find((f) => f.kind === 'out-of-order')?.message ?? '', /003-three\.js is new here and sorts before 004-four on main/);
      assert.equal((json.base as { ref: string }).ref, 'main');

      const crlf = markerMigration('one').replace(/\n/g, '\r\n');
      await project.write('001-one.js', crlf);
      const again = parseJson(await check('--base', 'main', '--json')).findings as FindingDoc[];
      assert.ok(!again.some((f) => f.id === '001-one'), 'the same file with CRLF line ends is not an edit');
    });
  });

  void it('usage: without --offline, an unknown ref or a ref that looks like an option is exit 2', { skip: HAVE_GIT ? false : 'git is not installed' }, async () => {
    await withProject(async (project, check) => {
      await project.write('001-one.js', markerMigration('one'));
      oneLineError(await runCli(['check'], { cwd: project.dir, env: { MONGODB_URI: uri } }), /pass --offline/);
      const outside = await check('--base', 'main');
      exits(outside, 2, 'outside a git repository');
      assert.match(outside.stderr, /not in a git repository/);
      git(project.dir, 'init', '-q', '-b', 'main');
      oneLineError(await check('--base', 'origin/nope'), /unknown git ref 'origin\/nope'/);
      oneLineError(await check('--base=--upload-pack=x'), /must be a git ref/);
    });
  });
});
