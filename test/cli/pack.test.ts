// The published package, as a user gets it: `npm pack` in the repo, `npm install <tarball>` in a fresh
// project elsewhere, then `npx mongrate ...` and `import ... from 'mongrate'` from there. Catches what
// the in-repo tests cannot: files missing from the tarball (or extra ones in it), a bin that is not
// executable, runtime dependencies left in devDependencies, and declaration files a consumer's
// TypeScript cannot use.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MongoClient } from 'mongodb';
import { testUri, uniqueDbName } from '../support/database.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const PKG = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { name: string; version: string };
// The repo's own compiler and @types/node, found from this file like any module would be.
const requireHere = createRequire(import.meta.url);
const TSC = join(dirname(requireHere.resolve('typescript/package.json')), 'bin', 'tsc');
const TYPES_NODE_VERSION = (JSON.parse(await readFile(requireHere.resolve('@types/node/package.json'), 'utf8')) as { version: string }).version;

const INSTALL_TIMEOUT_MS = 150_000;
const CLI_TIMEOUT_MS = 60_000;

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface RunOptions {
  cwd: string;
  /** Added to a clean environment (no MONGODB_URI / MONGODB_DATABASE / CI / colour settings from the parent). */
  env?: Record<string, string>;
  timeoutMs?: number;
}

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of ['MONGODB_URI', 'MONGODB_DATABASE', 'CI', 'FORCE_COLOR', 'NO_COLOR', 'MONGRATE_TEST_URI']) delete env[key];
  return { ...env, ...extra };
}

/** Runs a command (npm, npx, node) and collects its output; killed after the timeout. */
function run(command: string, args: string[], options: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: cleanEnv(options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
      // npm and npx are .cmd shims on Windows.
      shell: process.platform === 'win32',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? CLI_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

function describeRun(what: string, result: RunResult): string {
  return `${what}: exit ${String(result.code)}${result.signal === null ? '' : ` (signal ${result.signal})`}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
}

function ok(result: RunResult, what: string): void {
  assert.equal(result.code, 0, describeRun(what, result));
}

/** `npx --no-install <bin> ...` in `cwd`: only what the installed package put in node_modules/.bin. */
function npx(cwd: string, args: string[], env?: Record<string, string>): Promise<RunResult> {
  return run('npx', ['--no-install', ...args], env === undefined ? { cwd } : { cwd, env });
}

/** The single JSON document a `--json` run prints on stdout. */
function parseJson(result: RunResult, what: string): Record<string, unknown> {
  const lines = result.stdout.trim().split('\n');
  assert.equal(lines.length, 1, `${what}: expected one JSON line on stdout\n${describeRun(what, result)}`);
  return JSON.parse(lines[0] ?? '') as Record<string, unknown>;
}

interface PackedFile {
  path: string;
  mode: number;
}

interface PackResult {
  name: string;
  version: string;
  filename: string;
  files: PackedFile[];
}

/** A fresh project with only a package.json, the tarball installed (and @types/node, as a TS user has). */
async function installConsumer(dir: string, packageJson: Record<string, unknown>, tarball: string, extra: string[] = []): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'package.json'), `${JSON.stringify(packageJson, null, 2)}\n`);
  const install = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball, ...extra], {
    cwd: dir,
    timeoutMs: INSTALL_TIMEOUT_MS,
  });
  ok(install, `npm install ${tarball} in ${dir}`);
}

async function dropDatabases(names: string[]): Promise<void> {
  const client = new MongoClient(testUri());
  try {
    await client.connect();
    for (const name of names) await client.db(name).dropDatabase().catch(() => undefined);
  } finally {
    await client.close();
  }
}

void describe('npm pack: the published package works when installed elsewhere', { timeout: 900_000 }, () => {
  let root = '';
  let pack: PackResult | undefined;
  let tarball = '';
  /** An ESM ("type": "module") consumer project with the tarball and @types/node installed. */
  let consumer = '';
  /** Set by the `create` test; the later tests use it. */
  let migrationId: string | undefined;
  const databases: string[] = [];

  before(
    async () => {
      root = await mkdtemp(join(tmpdir(), 'mongrate-pack-'));
      const packDir = join(root, 'pack');
      await mkdir(packDir);
      // `prepack` builds dist/ first; with --json, npm sends the script's output to stderr.
      // --ignore-scripts: `npm test` built dist/ already; rebuilding here would rewrite it under the
      // feet of CLI tests running in parallel
      const packed = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', packDir], {
        cwd: REPO,
        timeoutMs: INSTALL_TIMEOUT_MS,
      });
      ok(packed, 'npm pack');
      const start = packed.stdout.search(/^\[/m);
      assert.notEqual(start, -1, describeRun('npm pack printed no JSON array', packed));
      const results = JSON.parse(packed.stdout.slice(start)) as PackResult[];
      assert.equal(results.length, 1, describeRun('npm pack: expected one package', packed));
      pack = results[0];
      assert.ok(pack !== undefined);
      tarball = join(packDir, pack.filename);
      await stat(tarball);

      consumer = join(root, 'consumer');
      await installConsumer(consumer, { name: 'consumer', private: true, type: 'module' }, tarball, [`@types/node@${TYPES_NODE_VERSION}`]);
    },
    { timeout: 2 * INSTALL_TIMEOUT_MS + 10_000 },
  );

  after(async () => {
    if (databases.length > 0) await dropDatabases(databases);
    if (root !== '') await rm(root, { recursive: true, force: true });
  });

  function packed(): PackResult {
    assert.ok(pack !== undefined, 'npm pack did not run');
    return pack;
  }

  void it('the tarball holds bin/, dist/ and package.json, and nothing from the repo that users do not need', async () => {
    const { name, version, files } = packed();
    assert.equal(name, PKG.name);
    assert.equal(version, PKG.version);
    const paths = files.map((f) => f.path.replaceAll('\\', '/'));
    const listing = paths.join('\n');
    for (const required of ['package.json', 'LICENSE', 'bin/mongrate.js', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js']) {
      assert.ok(paths.includes(required), `${required} is missing from the tarball:\n${listing}`);
    }
    // Only if the repo has one: then it must ship.
    const hasReadme = await stat(join(REPO, 'README.md')).then(
      () => true,
      () => false,
    );
    if (hasReadme) assert.ok(paths.includes('README.md'), `README.md exists but is not in the tarball:\n${listing}`);
    const forbidden = paths.filter(
      (p) => /^(src|test|migrations|bench|node_modules|\.ci)\//.test(p) || p.endsWith('.tsbuildinfo') || /^(tsconfig[^/]*\.json|eslint\.config\.js|migrate\.config\.ts)$/.test(p),
    );
    assert.deepEqual(forbidden, [], `files that do not belong in the package:\n${forbidden.join('\n')}`);
    const bin = files.find((f) => f.path === 'bin/mongrate.js');
    assert.ok(bin !== undefined);
    assert.ok((bin.mode & 0o111) !== 0, `bin/mongrate.js is packed without the executable bit (mode ${bin.mode.toString(8)})`);
  });

  void it('every relative import in the installed dist/ and bin/ resolves to a shipped file', async () => {
    const pkgDir = join(consumer, 'node_modules', PKG.name);
    const files = (await readdir(pkgDir, { recursive: true })).map((f) => f.replaceAll('\\', '/'));
    const shipped = new Set(files);
    const missing: string[] = [];
    for (const file of files.filter((f) => /\.(js|d\.ts)$/.test(f))) {
      const text = await readFile(join(pkgDir, file), 'utf8');
      for (const match of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
        const specifier = match[1] ?? '';
        const target = join(dirname(file), specifier).replaceAll('\\', '/');
        // A declaration file's './x.ts' / './x.js' import is satisfied by './x.d.ts'.
        const candidates = file.endsWith('.d.ts') ? [target, target.replace(/\.(ts|js)$/, '.d.ts')] : [target];
        if (!candidates.some((c) => shipped.has(c))) missing.push(`${file}: ${specifier}`);
      }
    }
    assert.deepEqual(missing, [], `imports of files that are not in the package:\n${missing.join('\n')}`);
  });

  void it('npx mongrate --help / --version, and the migrate alias', async () => {
    const help = await npx(consumer, ['mongrate', '--help']);
    ok(help, 'mongrate --help');
    assert.match(help.stdout, /Usage: mongrate/);
    assert.match(help.stdout, /^\s+up\b/m, `--help does not list the up command:\n${help.stdout}`);

    const version = await npx(consumer, ['mongrate', '--version']);
    ok(version, 'mongrate --version');
    // then the driver: the consumer resolves the mongodb installed with mongrate
    assert.equal(version.stdout.split('\n')[0], PKG.version);
    assert.match(version.stdout, /^mongodb 7\.\d+\.\d+ \(the project's, \S+consumer\/node_modules\/mongodb\)$/m);

    const alias = await npx(consumer, ['migrate', '--help']);
    ok(alias, 'migrate --help');
    assert.match(alias.stdout, /^\s+up\b/m, `migrate --help does not list the up command:\n${alias.stdout}`);
  });

  void it('npx --package=<tarball> mongrate, the README\'s form for a build not on the registry, in a folder without it', async () => {
    const elsewhere = join(root, 'npx-tarball');
    await mkdir(elsewhere);
    const version = await run('npx', ['--yes', '--prefer-offline', `--package=${tarball}`, 'mongrate', '--version'], { cwd: elsewhere, timeoutMs: INSTALL_TIMEOUT_MS });
    ok(version, 'npx --package=<tarball> mongrate --version');
    assert.equal(version.stdout.split('\n')[0], PKG.version);
    assert.match(version.stdout, /^mongodb 7\.\d+\.\d+ \(mongrate's own: the project has none, /m);
  });

  void it('init writes migrate.config.ts and migrations/; create prints the new file path', async () => {
    const init = await npx(consumer, ['mongrate', 'init']);
    ok(init, 'mongrate init');
    const config = await readFile(join(consumer, 'migrate.config.ts'), 'utf8');
    assert.match(config, /from ['"]mongrate['"]/, `migrate.config.ts does not import from 'mongrate':\n${config}`);
    assert.ok((await stat(join(consumer, 'migrations'))).isDirectory());

    const create = await npx(consumer, ['mongrate', 'create', 'add-user-profile']);
    ok(create, 'mongrate create add-user-profile');
    const match = /migrations[/\\](\d{14}-add-user-profile)\.ts/.exec(create.stdout);
    assert.ok(match !== null, `create did not print the new file's path:\n${create.stdout}`);
    const id = match[1] ?? '';
    const source = await readFile(join(consumer, 'migrations', `${id}.ts`), 'utf8');
    assert.match(source, /from ['"]mongrate['"]/);
    assert.match(source, /\bup\b/);
    assert.match(source, /\bdown\b/);
    migrationId = id;
  });

  void it('status, up and status --json against the test server', async () => {
    assert.ok(migrationId !== undefined, 'the create test did not produce a migration');
    const dbName = uniqueDbName('pack');
    databases.push(dbName);
    const env = { MONGODB_URI: testUri() };

    const pending = await npx(consumer, ['mongrate', '--db', dbName, '--no-color', 'status'], env);
    ok(pending, 'mongrate status');
    const line = pending.stdout.split('\n').find((l) => l.includes(migrationId ?? ''));
    assert.ok(line !== undefined, `status does not list ${migrationId}:\n${pending.stdout}`);
    assert.match(line, /\bpending\b/, `status does not show ${migrationId} as pending:\n${pending.stdout}`);

    // Loads the .ts migration (and config) through the runtime loader the package depends on.
    const up = await npx(consumer, ['mongrate', '--db', dbName, 'up'], env);
    ok(up, 'mongrate up');

    const applied = await npx(consumer, ['mongrate', '--db', dbName, '--json', 'status'], env);
    ok(applied, 'mongrate status --json');
    const doc = parseJson(applied, 'status --json');
    assert.equal(doc.ok, true);
    assert.equal(doc.database, dbName);
    const migrations = doc.migrations as { id: string; state: string }[];
    assert.deepEqual(
      migrations.map((m) => [m.id, m.state]),
      [[migrationId, 'applied']],
      `status --json:\n${applied.stdout}`,
    );
  });

  void it('TypeScript consumers get usable types (NodeNext and bundler resolution, skipLibCheck off)', async () => {
    await writeFile(
      join(consumer, 'check.ts'),
      [
        "import { defineConfig, defineMigration, createMigrator, type MigrationContext } from 'mongrate';",
        '',
        "const config = defineConfig({ uri: 'mongodb://127.0.0.1:27017', database: 'app', migrationsDir: 'migrations' });",
        '',
        'export const migration = defineMigration({',
        "  description: 'typed consumer',",
        '  async up(ctx: MigrationContext) {',
        "    await ctx.db.collection('users').updateMany({}, { $set: { active: true } }, { session: ctx.session });",
        '  },',
        '  async down({ db, session }) {',
        "    await db.collection('users').updateMany({}, { $unset: { active: '' } }, { session });",
        '  },',
        '});',
        '',
        'const migrator = createMigrator(config);',
        'const status = await migrator.status();',
        'const ids: string[] = status.migrations.map((m) => m.id);',
        'await migrator.close();',
        'export { ids };',
        '',
        '// @ts-expect-error unknown keys are not part of the config type',
        "defineConfig({ databse: 'typo' });",
        '',
      ].join('\n'),
    );
    // A real TS project has @types/node (mongodb's own declarations need it); everything else is strict
    // and the package's .d.ts files are checked too. The project also includes what init/create wrote.
    const compilerOptions = { strict: true, noEmit: true, skipLibCheck: false, types: ['node'], target: 'ES2022' };
    const variants: Record<string, Record<string, unknown>> = {
      nodenext: { module: 'NodeNext', moduleResolution: 'NodeNext' },
      bundler: { module: 'ESNext', moduleResolution: 'Bundler' },
    };
    for (const [label, resolution] of Object.entries(variants)) {
      const tsconfig = join(consumer, `tsconfig.${label}.json`);
      await writeFile(tsconfig, JSON.stringify({ compilerOptions: { ...compilerOptions, ...resolution }, include: ['*.ts', 'migrations/*.ts'] }, null, 2));
      // type-checking mongodb's declarations is slow on a loaded machine: the bound is for a hang
      const tsc = await run(process.execPath, [TSC, '-p', tsconfig], { cwd: consumer, timeoutMs: INSTALL_TIMEOUT_MS });
      ok(tsc, `tsc -p tsconfig.${label}.json in the consumer`);
    }
  });

  void it('a CommonJS project (no "type") can run the CLI, load a .ts config and require() the API', async () => {
    const cjs = join(root, 'consumer-cjs');
    await installConsumer(cjs, { name: 'consumer-cjs', private: true }, tarball);
    const help = await npx(cjs, ['mongrate', '--help']);
    ok(help, 'mongrate --help (CommonJS project)');
    assert.match(help.stdout, /^\s+up\b/m);

    // Node >= 20.19 (the engines floor) loads the ESM package through require().
    const required = await run(process.execPath, ['-e', "const m = require('mongrate'); process.stdout.write(typeof m.createMigrator + ' ' + typeof m.defineMigration)"], { cwd: cjs });
    ok(required, "require('mongrate') in a CommonJS project");
    assert.equal(required.stdout, 'function function');

    ok(await npx(cjs, ['mongrate', 'init']), 'mongrate init (CommonJS project)');
    const dbName = uniqueDbName('pack_cjs');
    databases.push(dbName);
    const status = await npx(cjs, ['mongrate', '--db', dbName, '--json', 'status'], { MONGODB_URI: testUri() });
    ok(status, 'mongrate status --json (CommonJS project, migrate.config.ts)');
    const doc = parseJson(status, 'status --json (CommonJS project)');
    assert.equal(doc.ok, true);
    assert.deepEqual(doc.migrations, []);
  });
});
