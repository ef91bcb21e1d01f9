// The everyday commands, run exactly as a user would: the built bin in a throwaway project folder,
// against the test server, one fresh database per test.
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { changelog, type CliResult, exits, history, marks, oneLineError, parseJson, runCli, states, withCliProject } from '../support/cli.ts';
import { createProject, failingMigration, markerMigration, type TestProject } from '../support/project.ts';
import { testUri } from '../support/database.ts';

const PKG_VERSION = (JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function ok(result: CliResult, what: string): void {
  assert.equal(result.code, 0, `${what}: expected exit 0, got ${String(result.code)}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
}

/** Index of the first line matching `pattern` in `text` (asserting there is one). */
function lineIndex(text: string, pattern: RegExp): number {
  const index = text.split('\n').findIndex((line) => pattern.test(line));
  assert.notEqual(index, -1, `no line matching ${String(pattern)} in:\n${text}`);
  return index;
}

/** The body rows of the status table (header excluded), cells trimmed. */
function tableRows(stdout: string): string[][] {
  const rows = stdout
    .split('\n')
    .filter((line) => line.startsWith('│'))
    .map((line) => line.split('│').slice(1, -1).map((cell) => cell.trim()));
  assert.deepEqual(rows[0]?.slice(0, 5), ['Migration', 'State', 'Applied at', 'Duration', 'Description'], `no status table in:\n${stdout}`);
  return rows.slice(1);
}

interface StatusDoc {
  command: string;
  ok: boolean;
  database: string;
  migrations: { id: string; state: string; description?: string | null }[];
  problems: number;
  error?: { code: string; message: string };
}

interface RunDoc {
  command: string;
  ok: boolean;
  direction: string;
  dryRun: boolean;
  steps: { id: string; direction: string; status: string; error?: string }[];
  error?: { code: string; message: string; id?: string };
}

const A = '001-alpha';
const B = '002-beta';
const C = '003-gamma';

async function writeThree(project: TestProject): Promise<void> {
  await project.write(`${A}.ts`, markerMigration('a', { description: 'first alpha' }));
  await project.write(`${B}.ts`, markerMigration('b', { description: 'second beta' }));
  await project.write(`${C}.ts`, markerMigration('c', { description: 'third gamma' }));
}

void describe('help, version and usage errors', { concurrency: 4 }, () => {
  void it('--help prints usage with every command on stdout and exits 0', async () => {
    const project = await createProject();
    try {
      const result = await runCli(['--help'], { cwd: project.dir });
      ok(result, '--help');
      assert.match(result.stdout, /Usage: mongrate/);
      for (const command of ['init', 'create', 'status', 'up', 'down', 'redo']) assert.match(result.stdout, new RegExp(`^\\s+${command}\\b`, 'm'));
      for (const option of ['--config', '--uri', '--db', '--migrations-dir', '--json', '--no-color', '--verbose', '--quiet']) {
        assert.ok(result.stdout.includes(option), `--help should list ${option}`);
      }
      assert.equal(result.stderr, '');

      const upHelp = await runCli(['up', '--help'], { cwd: project.dir });
      ok(upHelp, 'up --help');
      for (const option of ['--to', '--step', '--dry-run', '--allow-out-of-order']) assert.ok(upHelp.stdout.includes(option), `up --help should list ${option}`);
      const downHelp = await runCli(['down', '--help'], { cwd: project.dir });
      ok(downHelp, 'down --help');
      for (const option of ['--to', '--step', '--last-run', '--all', '--dry-run']) assert.ok(downHelp.stdout.includes(option), `down --help should list ${option}`);
    } finally {
      await project.remove();
    }
  });

  void it('--version prints the package version, then the driver and where from, and exits 0', async () => {
    const project = await createProject();
    try {
      for (const flag of ['--version', '-V']) {
        const result = await runCli([flag], { cwd: project.dir });
        ok(result, flag);
        const [version, driver] = result.stdout.trimEnd().split('\n');
        assert.equal(version, PKG_VERSION);
        assert.match(driver ?? '', /^mongodb 7\.\d+\.\d+ \(mongrate's own: the project has none, \S+\)$/);
        assert.equal(result.stderr, '');
      }
    } finally {
      await project.remove();
    }
  });

  void it('no command exits 2 with the usage on stderr and nothing on stdout', async () => {
    const project = await createProject();
    try {
      const result = await runCli([], { cwd: project.dir });
      exits(result, 2, 'no command');
      assert.equal(result.stdout, '');
      assert.match(result.stderr, /Usage: mongrate/);
    } finally {
      await project.remove();
    }
  });

  void it('an unknown option exits 2 with a one-line error naming it, first on stderr', async () => {
    const project = await createProject();
    try {
      for (const args of [['--bogus'], ['status', '--bogus']]) {
        const result = await runCli(args, { cwd: project.dir });
        exits(result, 2, args.join(' '));
        assert.equal(result.stdout, '');
        const lines = result.stderr.trimEnd().split('\n');
        assert.equal(lines.filter((l) => l.startsWith('error:')).length, 1, result.stderr);
        // the error comes first; at most a short hint pointing at --help may follow it
        assert.match(lines[0] ?? '', /^error: unknown option '--bogus'/, `the error should be the first line of stderr:\n${result.stderr}`);
        assert.ok(lines.length <= 2, `expected the error and at most a hint:\n${result.stderr}`);
        assert.doesNotMatch(result.stderr, /^\s+at /m);
      }
      const json = await runCli(['status', '--json', '--bogus'], { cwd: project.dir });
      exits(json, 2, 'status --json --bogus');
      const doc = parseJson(json);
      assert.equal(doc.ok, false);
      assert.equal((doc.error as { code: string }).code, 'USAGE');
      assert.match((doc.error as { message: string }).message, /--bogus/);
    } finally {
      await project.remove();
    }
  });
});

void describe('init and create', { concurrency: 4 }, () => {
  void it('init writes migrate.config.ts and migrations/, refuses to overwrite without --force', async () => {
    // bare: no --db, but MONGODB_URI set, as in a shell where the user exported it
    await withCliProject('init', { env: { MONGODB_URI: testUri() } }, async ({ project, db, dbName, bare }) => {
      await rm(project.migrationsDir, { recursive: true });
      const first = await bare(['init', '--db', dbName]);
      ok(first, 'init');
      assert.match(first.stdout, /migrate\.config\.ts/);
      const configPath = join(project.dir, 'migrate.config.ts');
      const config = await readFile(configPath, 'utf8');
      assert.match(config, /defineConfig/);
      assert.ok(config.includes(`'${dbName}'`), `the config names the database:\n${config}`);
      assert.deepEqual(await readdir(project.migrationsDir), []);

      // the written config works as is: no --db needed
      const status = await bare(['status']);
      ok(status, 'status with the config init wrote');
      assert.ok(status.stdout.includes(dbName), status.stdout);

      await writeFile(configPath, `${config}// edited by hand\n`);
      const again = await bare(['init']);
      exits(again, 2, 'init over an existing config');
      oneLineError(again, /already exists.*--force/);
      assert.equal(again.stdout, '');
      assert.match(await readFile(configPath, 'utf8'), /edited by hand/, 'the existing config is untouched');

      const forced = await bare(['init', '--force', '--json', '--db', dbName]);
      ok(forced, 'init --force');
      const doc = parseJson(forced);
      assert.equal(doc.ok, true);
      assert.equal(doc.database, dbName);
      assert.doesNotMatch(await readFile(configPath, 'utf8'), /edited by hand/, '--force overwrote the config');
      assert.deepEqual(await changelog(db), []);
    });
  });

  void it('create add-user-profile writes a timestamped .ts with up and down, listed as pending, and applies', async () => {
    await withCliProject('create', async ({ project, db, run }) => {
      const before = Date.now();
      const result = await run(['create', 'add-user-profile']);
      ok(result, 'create');
      const printed = result.stdout.trim();
      const match = /^migrations\/(\d{14})-add-user-profile\.ts$/.exec(printed);
      assert.ok(match !== null, `create should print migrations/<14 digits>-add-user-profile.ts, got '${printed}'`);
      const stamp = match[1] ?? '';
      // YYYYMMDDHHmmss (UTC) of now
      const parsed = Date.UTC(+stamp.slice(0, 4), +stamp.slice(4, 6) - 1, +stamp.slice(6, 8), +stamp.slice(8, 10), +stamp.slice(10, 12), +stamp.slice(12, 14));
      assert.ok(Math.abs(parsed - before) < 60_000, `timestamp ${stamp} should be the current UTC time`);
      const id = `${stamp}-add-user-profile`;
      assert.deepEqual(await readdir(project.migrationsDir), [`${id}.ts`]);
      const source = await readFile(join(project.dir, printed), 'utf8');
      assert.match(source, /\bup\s*\(/);
      assert.match(source, /\bdown\s*\(/);

      const status = await run(['status', '--json']);
      ok(status, 'status');
      const doc = parseJson(status) as unknown as StatusDoc;
      assert.deepEqual(doc.migrations.map((m) => [m.id, m.state]), [[id, 'pending']]);
      assert.equal(doc.migrations[0]?.description, 'Add user profile', 'the description is the name in words, not the slug');
      assert.match(source, /description: "Add user profile",/);

      const up = await run(['up']);
      ok(up, 'up of the generated migration');
      assert.deepEqual(await states(db), { [id]: 'applied' });
    });
  });

  void it('create --js writes a .js migration that runs', async () => {
    await withCliProject('create_js', async ({ project, db, run }) => {
      const result = await run(['create', '--js', 'Seed Default Roles']);
      ok(result, 'create --js');
      const match = /^migrations\/(\d{14}-seed-default-roles)\.js$/.exec(result.stdout.trim());
      assert.ok(match !== null, `unexpected output: ${result.stdout}`);
      const id = match[1] ?? '';
      assert.deepEqual(await readdir(project.migrationsDir), [`${id}.js`]);
      const source = await readFile(join(project.migrationsDir, `${id}.js`), 'utf8');
      assert.match(source, /\bup\s*\(/);
      assert.match(source, /\bdown\s*\(/);
      const status = await run(['status']);
      ok(status, 'status');
      assert.deepEqual(tableRows(status.stdout).map((r) => r.slice(0, 2)), [[id, 'pending']]);
      ok(await run(['up']), 'up');
      assert.deepEqual(await states(db), { [id]: 'applied' });
    });
  });

  void it('create refuses names with path separators, .. or nothing usable, and writes nothing', async () => {
    const project = await createProject();
    try {
      for (const name of ['../evil', 'a/b', '!!!', 'a\\b', '..']) {
        const result = await runCli(['create', name], { cwd: project.dir });
        exits(result, 2, `create '${name}'`);
        oneLineError(result, /invalid migration name/);
        assert.equal(result.stdout, '');
      }
      const json = await runCli(['create', '../evil', '--json'], { cwd: project.dir });
      exits(json, 2, `create '../evil' --json`);
      const doc = parseJson(json);
      assert.equal(doc.ok, false);
      assert.equal((doc.error as { code: string }).code, 'USAGE');
      assert.deepEqual(await readdir(project.dir, { recursive: true }), ['migrations'], 'nothing was written anywhere');
    } finally {
      await project.remove();
    }
  });
});

void describe('status', { concurrency: 4 }, () => {
  void it('the table and --json agree on ids, states and descriptions; --check exits 4', async () => {
    await withCliProject('status', async ({ project, db, run }) => {
      await project.write(`${A}.ts`, markerMigration('a', { description: 'first alpha' }));
      await project.write(`${B}.ts`, markerMigration('b', { description: 'second beta' }));
      await project.write('003-fails.ts', failingMigration('boom three\n  on a second line'));
      exits(await run(['up']), 1, 'up with a failing third migration');
      // changed: edit an applied file; missing: delete an applied file; pending: a new file
      await project.write(`${A}.ts`, markerMigration('a', { description: 'first alpha, edited' }));
      await rm(join(project.migrationsDir, `${B}.ts`));
      await project.write('004-delta.ts', markerMigration('d', { description: 'fourth delta' }));
      const before = await changelog(db);

      const table = await run(['status']);
      ok(table, 'status');
      const rows = tableRows(table.stdout);
      const expected: [string, string][] = [
        [A, 'changed'],
        [B, 'missing'],
        ['003-fails', 'failed'],
        ['004-delta', 'pending'],
      ];
      assert.deepEqual(rows.map((r) => [r[0], r[1]]), expected);
      assert.match(rows[0]?.[4] ?? '', /first alpha, edited/);
      assert.match(rows[1]?.[4] ?? '', /second beta/);
      assert.doesNotMatch(rows[2]?.[4] ?? '', /boom/, 'the error is not in the description column');
      assert.match(table.stdout, /^003-fails \(failed\): boom three on a second line$/m, 'a multi-line error is one line under the table');
      const widths = new Set(table.stdout.split('\n').filter((line) => /^[│┌├└]/.test(line)).map((line) => line.length));
      assert.equal(widths.size, 1, `every line of the table is as wide as the others:\n${table.stdout}`);
      assert.match(rows[3]?.[4] ?? '', /fourth delta/);
      assert.match(rows[0]?.[2] ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/, 'applied-at of an applied migration');
      assert.equal(rows[3]?.[2], '', 'a pending migration has no applied-at');

      const json = await run(['status', '--json']);
      ok(json, 'status --json');
      const doc = parseJson(json) as unknown as StatusDoc;
      assert.equal(doc.ok, true);
      assert.equal(doc.command, 'status');
      assert.deepEqual(doc.migrations.map((m) => [m.id, m.state]), expected, 'the JSON carries the same facts as the table');
      assert.equal(doc.migrations.find((m) => m.id === '004-delta')?.description, 'fourth delta');

      const check = await run(['status', '--check']);
      exits(check, 4, 'status --check');
      for (const [id] of expected) assert.ok(check.stdout.includes(id), `--check output names ${id}`);
      assert.match(check.stdout + check.stderr, /check failed/);

      const checkJson = await run(['status', '--check', '--json']);
      exits(checkJson, 4, 'status --check --json');
      const checkDoc = parseJson(checkJson) as unknown as StatusDoc;
      assert.equal(checkDoc.ok, false);
      assert.equal(checkDoc.error?.code, 'CHECK_FAILED');
      assert.deepEqual(await changelog(db), before, 'status changes nothing');
    });
  });

  void it('--check exits 4 on only one pending migration and 0 when everything is applied', async () => {
    await withCliProject('status_ok', async ({ project, run }) => {
      await writeThree(project);
      const empty = await run(['status', '--check']);
      exits(empty, 4, 'status --check with pending migrations');
      ok(await run(['up']), 'up');
      const all = await run(['status', '--check']);
      ok(all, 'status --check with everything applied');
      assert.deepEqual(tableRows(all.stdout).map((r) => [r[0], r[1], r[4]]), [
        [A, 'applied', 'first alpha'],
        [B, 'applied', 'second beta'],
        [C, 'applied', 'third gamma'],
      ]);
      const json = await run(['status', '--check', '--json']);
      ok(json, 'status --check --json');
      const doc = parseJson(json) as unknown as StatusDoc;
      assert.equal(doc.ok, true);
      assert.equal(doc.problems, 0);
      await project.write('004-delta.ts', markerMigration('d'));
      const one = await run(['status', '--check']);
      exits(one, 4, 'status --check with one new migration');
      assert.match(one.stdout, /004-delta/);
    });
  });

  void it('an empty project says so', async () => {
    await withCliProject('status_empty', async ({ dbName, run }) => {
      const result = await run(['status']);
      ok(result, 'status');
      assert.match(result.stdout, /No migrations/);
      assert.ok(result.stdout.includes(dbName));
      ok(await run(['status', '--check']), 'status --check with nothing at all');
    });
  });
});

void describe('up', { concurrency: 4 }, () => {
  void it('applies pending migrations in id order and prints their ids; --json gives the steps', async () => {
    await withCliProject('up', async ({ project, db, run }) => {
      // written out of order on purpose: order is by id
      await project.write(`${C}.ts`, markerMigration('c'));
      await project.write(`${A}.ts`, markerMigration('a'));
      await project.write(`${B}.ts`, markerMigration('b'));
      const result = await run(['up']);
      ok(result, 'up');
      const order = [A, B, C].map((id) => lineIndex(result.stdout, new RegExp(`applied\\s+${id}`)));
      assert.deepEqual(order, [...order].sort((x, y) => x - y), `applied in id order:\n${result.stdout}`);
      assert.deepEqual(await states(db), { [A]: 'applied', [B]: 'applied', [C]: 'applied' });
      assert.deepEqual(await marks(db), ['a', 'b', 'c']);
      const records = await changelog(db);
      assert.equal(new Set(records.map((r) => r.runId)).size, 1, 'one run id for one up');

      const again = await run(['up']);
      ok(again, 'second up');
      assert.match(again.stdout, /Nothing to apply/);
      assert.deepEqual(await marks(db), ['a', 'b', 'c'], 'nothing ran twice');

      await project.write('004-delta.ts', markerMigration('d'));
      const json = await run(['up', '--json']);
      ok(json, 'up --json');
      const doc = parseJson(json) as unknown as RunDoc;
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
      ok(await run(['up', '--step', '1']), 'up --step 1');
      const before = await changelog(db);
      const result = await run(['up', '--dry-run']);
      ok(result, 'up --dry-run');
      assert.match(result.stdout, /Dry run/);
      assert.ok(lineIndex(result.stdout, new RegExp(B)) < lineIndex(result.stdout, new RegExp(C)), result.stdout);
      assert.ok(!result.stdout.includes(A), 'an applied migration is not in the plan');
      assert.deepEqual(await changelog(db), before);
      assert.deepEqual(await marks(db), ['a']);

      const json = await run(['up', '--dry-run', '--json']);
      ok(json, 'up --dry-run --json');
      const doc = parseJson(json) as unknown as RunDoc;
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
      ok(step, 'up --step 1');
      assert.match(step.stdout, new RegExp(`applied\\s+${A}`));
      assert.deepEqual(await states(db), { [A]: 'applied' });
      const to = await run(['up', '--to', C]);
      ok(to, `up --to ${C}`);
      assert.deepEqual(await states(db), { [A]: 'applied', [B]: 'applied', [C]: 'applied' });
      assert.ok(!to.stdout.includes('004-delta'), to.stdout);
      const two = await run(['up', '--step', '2']);
      ok(two, 'up --step 2 with one pending');
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
      ok(await run(['up']), 'up');
      await project.write(`${A}.ts`, markerMigration('a'));
      const status = await run(['status', '--json']);
      const doc = parseJson(status) as unknown as StatusDoc;
      assert.equal(doc.migrations.find((m) => m.id === A)?.state, 'out-of-order');

      const refused = await run(['up']);
      exits(refused, 4, 'up with an out-of-order migration');
      oneLineError(refused, new RegExp(`${A}.*--allow-out-of-order`));
      assert.deepEqual(await states(db), { [B]: 'applied', [C]: 'applied' });
      const refusedJson = await run(['up', '--json']);
      exits(refusedJson, 4, 'up --json with an out-of-order migration');
      assert.equal((parseJson(refusedJson).error as { code: string }).code, 'CHECK_FAILED');

      const allowed = await run(['up', '--allow-out-of-order']);
      ok(allowed, 'up --allow-out-of-order');
      assert.match(allowed.stdout, new RegExp(`applied\\s+${A}`));
      assert.deepEqual(await states(db), { [A]: 'applied', [B]: 'applied', [C]: 'applied' });

      // down goes by when migrations were applied, not by file name: A was applied last
      const down = await run(['down']);
      ok(down, 'down');
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
      ok(retried, 'up --retry-failed after a fix');
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
      const doc = parseJson(result) as unknown as RunDoc;
      assert.equal(doc.ok, false);
      assert.equal(doc.error?.code, 'MIGRATION_FAILED');
      assert.match(doc.error.message, /002-breaks.*kaput/);
      assert.equal(doc.error.id, '002-breaks');
      assert.deepEqual(doc.steps.map((s) => [s.id, s.status]), [[A, 'success'], ['002-breaks', 'failed'], [C, 'not-run']]);
      assert.deepEqual(await states(db), { [A]: 'applied', '002-breaks': 'failed' });
    });
  });
});

void describe('down and redo', { concurrency: 4 }, () => {
  void it('down reverts the newest one by default; --step 2 the two newest; --dry-run changes nothing', async () => {
    await withCliProject('down_step', async ({ project, db, run }) => {
      await writeThree(project);
      ok(await run(['up']), 'up');

      const dry = await run(['down', '--all', '--dry-run']);
      ok(dry, 'down --all --dry-run');
      assert.match(dry.stdout, /Dry run/);
      const order = [C, B, A].map((id) => lineIndex(dry.stdout, new RegExp(`down\\s+${id}`)));
      assert.deepEqual(order, [...order].sort((x, y) => x - y), `newest first:\n${dry.stdout}`);
      const dryJson = await run(['down', '--dry-run', '--json']);
      ok(dryJson, 'down --dry-run --json');
      const dryDoc = parseJson(dryJson) as unknown as RunDoc;
      assert.equal(dryDoc.dryRun, true);
      assert.deepEqual(dryDoc.steps.map((s) => [s.id, s.direction, s.status]), [[C, 'down', 'not-run']]);
      assert.deepEqual(await marks(db), ['a', 'b', 'c'], 'dry runs change nothing');
      assert.deepEqual(await states(db), { [A]: 'applied', [B]: 'applied', [C]: 'applied' });

      const one = await run(['down']);
      ok(one, 'down');
      assert.match(one.stdout, new RegExp(`reverted\\s+${C}`));
      assert.deepEqual(await states(db), { [A]: 'applied', [B]: 'applied' });
      assert.deepEqual(await marks(db), ['a', 'b']);

      ok(await run(['up']), 'up again');
      const two = await run(['down', '--step', '2']);
      ok(two, 'down --step 2');
      assert.ok(lineIndex(two.stdout, new RegExp(`reverted\\s+${C}`)) < lineIndex(two.stdout, new RegExp(`reverted\\s+${B}`)), two.stdout);
      assert.deepEqual(await states(db), { [A]: 'applied' });
      assert.deepEqual(await marks(db), ['a']);
    });
  });

  void it('down --to <id> keeps that one; --all reverts everything; nothing left says so', async () => {
    await withCliProject('down_to', async ({ project, db, run }) => {
      await writeThree(project);
      ok(await run(['up']), 'up');
      const to = await run(['down', '--to', A]);
      ok(to, `down --to ${A}`);
      assert.match(to.stdout, new RegExp(`reverted\\s+${C}`));
      assert.match(to.stdout, new RegExp(`reverted\\s+${B}`));
      assert.ok(!new RegExp(`reverted\\s+${A}`).test(to.stdout));
      assert.deepEqual(await states(db), { [A]: 'applied' });

      ok(await run(['up']), 'up again');
      const all = await run(['down', '--all', '--json']);
      ok(all, 'down --all --json');
      const doc = parseJson(all) as unknown as RunDoc;
      assert.equal(doc.ok, true);
      assert.deepEqual(doc.steps.map((s) => [s.id, s.direction, s.status]), [[C, 'down', 'success'], [B, 'down', 'success'], [A, 'down', 'success']]);
      assert.deepEqual(await changelog(db), []);
      assert.deepEqual(await marks(db), []);

      const nothing = await run(['down']);
      ok(nothing, 'down with nothing applied');
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
      ok(await run(['up', '--step', '1']), 'first up');
      ok(await run(['up']), 'second up');
      const result = await run(['down', '--last-run']);
      ok(result, 'down --last-run');
      assert.ok(lineIndex(result.stdout, new RegExp(`reverted\\s+${C}`)) < lineIndex(result.stdout, new RegExp(`reverted\\s+${B}`)), result.stdout);
      assert.ok(!result.stdout.includes(A), result.stdout);
      assert.deepEqual(await states(db), { [A]: 'applied' });
      assert.deepEqual(await marks(db), ['a']);
    });
  });

  void it('redo reverts and re-applies the newest migration, or the one named', async () => {
    await withCliProject('redo', async ({ project, db, run }) => {
      await writeThree(project);
      ok(await run(['up']), 'up');
      const redo = await run(['redo']);
      ok(redo, 'redo');
      assert.ok(lineIndex(redo.stdout, new RegExp(`reverted\\s+${C}`)) < lineIndex(redo.stdout, new RegExp(`applied\\s+${C}`)), redo.stdout);
      assert.ok(!redo.stdout.includes(B) && !redo.stdout.includes(A), redo.stdout);
      assert.deepEqual(await states(db), { [A]: 'applied', [B]: 'applied', [C]: 'applied' });
      assert.deepEqual(await marks(db), ['a', 'b', 'c']);

      const named = await run(['redo', A, '--json']);
      ok(named, `redo ${A} --json`);
      const doc = parseJson(named) as unknown as RunDoc;
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
