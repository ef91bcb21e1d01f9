// `npm run bench` at a tiny size, against the test server: it completes and writes a results file
// with every key bench/README.md documents, and finite numbers. The figures themselves are not
// checked (the benchmark never runs as part of the tests' pass/fail).
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runNode, type CliResult } from '../support/cli.ts';
import { testUri } from '../support/database.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const README = fileURLToPath(new URL('../../bench/README.md', import.meta.url));
// a bound on a hang: the tiny run takes ~30 s on FerretDB and ~60 s on DocumentDB alone, but there
// its index builds wait for every transaction other tests hold open on the server
const TIMEOUT_MS = 600_000;

// as listed in bench/README.md (the test checks the README names them too)
const TOP_LEVEL = ['version', 'startedAt', 'finishedAt', 'durationSeconds', 'node', 'platform', 'cpus', 'loadAverage', 'server', 'settings', 'serverProfile', 'cases', 'ratios', 'notes', 'benchPeakRssMB'];
const SERVER = ['source', 'flavour', 'version', 'mongodbVersion', 'topology', 'description'];
const SETTINGS = ['n', 'updateDocuments', 'copyDocuments', 'throttleDocuments', 'runs', 'idleCpuMicrosPerMs', 'quick', 'rssN', 'cliFiles', 'cliApply', 'batchSizes', 'groups'];
const PROFILE = ['documents', 'fullScanMs', 'findByIdMs', 'insertMs', 'updateByIdMs', 'conditionalUpdateMs'];
const CASE_FIELDS = ['group', 'label', 'unit', 'better', 'median', 'min', 'max', 'values', 'sample', 'traffic', 'commandsPer1000', 'cpuMicrosPerDoc', 'cpuMicrosPerDocValues', 'peakRssMB', 'extra', 'note'];
const TRAFFIC = ['commands', 'bytesSent', 'bytesReceived', 'byCommand', 'writeStatements'];
const COUNTED = [
  'reshape_naive', 'reshape_fn', 'reshape_fn_b100', 'reshape_fn_b10000', 'reshape_driver', 'reshape_decl', 'reshape_decl_split', 'reshape_updatemany', 'reshape_decl_tenth', 'reshape_decl_split_tenth',
  'bump_naive', 'bump_fn', 'bump_spec', 'bump_updatemany', 'copy_naive', 'copy_helper',
];
const CASES = [...COUNTED, 'copy_checks_small', 'copy_checks_large', 'reshape_fn_half', 'floor_nest', 'floor_bump', 'reshape_work', 'throttle_off', 'throttle_on', 'throttle_unbound', 'rss_n', 'rss_10n', 'cli_bare', 'cli_version', 'cli_status', 'cli_noop_up', 'mm_status', 'cli_apply', 'mm_apply'];
const RESHAPE_EXTRA = ['marginalCpuMicrosPerDoc'];
const APPLY_EXTRA = ['cpuMs', 'ownCommandsPerMigration', 'ownCommandsPerRun', 'ownCommands', 'migrationCommands', 'ownCommandsMs', 'migrationCommandsMs'];
const THROTTLE_EXTRA = ['limitDocsPerSecond', 'waitedMs', 'unthrottledDocsPerSecond'];
const CHECKS_EXTRA = ['passes', 'copyAndRenameMs', 'checksShareOfCopy'];
const RATIO_FIELDS = ['value', 'numerator', 'denominator', 'target', 'pass', 'note'];
const TARGETED = [
  'reshape_roundtrips_per_1000', 'reshape_roundtrips_vs_naive', 'bump_roundtrips_vs_naive', 'copy_roundtrips_vs_naive', 'reshape_decl_roundtrips_10n_vs_n',
  'reshape_cpu_vs_floor', 'rss_10n_vs_n', 'status_vs_bare', 'status_vs_migrate_mongo', 'noop_up_vs_bare', 'apply50_vs_migrate_mongo', 'roundtrips_per_applied_migration',
  'roundtrips_per_applied_migration_no_transaction', 'throttle_on_vs_limit', 'throttle_unbound_wait_ms', 'reshape_work_vs_floor',
];
const CONTEXT = [
  'reshape_decl_split_roundtrips_10n_vs_n', 'cli_version_ms', 'reshape_marginal_cpu_vs_floor', 'reshape_bytes_sent_vs_naive', 'bump_cpu_vs_floor', 'copy_cpu_vs_floor', 'apply50_cpu_vs_migrate_mongo',
  'reshape_fn_vs_naive', 'reshape_decl_vs_updatemany', 'reshape_fn_vs_updatemany', 'reshape_decl_split_vs_updatemany', 'bump_vs_naive', 'bump_spec_vs_updatemany', 'bump_fn_vs_updatemany', 'copy_vs_naive', 'throttle_unbound_vs_off', 'reshape_cpu_vs_driver', 'driver_cpu_vs_floor',
];

type Json = Record<string, unknown>;

function object(value: unknown, what: string): Json {
  assert.ok(typeof value === 'object' && value !== null && !Array.isArray(value), `${what} is an object`);
  return value as Json;
}

function hasKeys(value: unknown, keys: string[], what: string): Json {
  const json = object(value, what);
  for (const key of keys) assert.ok(key in json, `${what} has '${key}'`);
  return json;
}

function finite(value: unknown, what: string): number {
  assert.ok(typeof value === 'number' && Number.isFinite(value), `${what} is a finite number, got ${String(value)}`);
  return value;
}

function run(args: string[]): Promise<CliResult> {
  return runNode(['--import', 'tsx', 'bench/run.ts', ...args], { cwd: REPO, env: { MONGODB_URI: testUri() }, timeoutMs: TIMEOUT_MS });
}

void describe('npm run bench', { timeout: TIMEOUT_MS + 10_000 }, () => {
  void it('a tiny run completes and writes every documented key, with finite numbers', async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'mongrate-bench-'));
    try {
      // Tiny on purpose, and every size given, so the work is the same on every server (none is
      // chosen by the server's kind or a measured rate): only the wall time follows the server.
      // The copy case was the largest part (one insert per document in its naive loop): with 200
      // documents the test took 60 s on DocumentDB under load 9-17 (a quarter of TIMEOUT_MS) and
      // 31 s on FerretDB. DocumentDB's index builds also wait for other clients' open transactions
      // in its database, which no size here can bound.
      const result = await run(['--quick', '--n', '200', '--sample', '20', '--runs', '1', '--rss-n', '200', '--cli-files', '10', '--cli-apply', '3', '--out-dir', outDir]);
      assert.equal(result.code, 0, `bench exited ${String(result.code)}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
      assert.match(result.stdout, /Targets/);
      assert.match(result.stdout, /reshape_roundtrips_per_1000 +\S+ +<= 3 +(PASS|MISS)/);
      assert.match(result.stdout, /apply50_vs_migrate_mongo +\S+x +<= 1\.2x +(PASS|MISS)/);

      const files = await readdir(outDir);
      assert.ok(files.includes('latest.json'), 'latest.json written');
      assert.equal(files.filter((f) => /^\d{4}-\d\d-\d\dT.*\.json$/.test(f)).length, 1, `one dated copy, got ${files.join(', ')}`);
      const results = hasKeys(JSON.parse(await readFile(join(outDir, 'latest.json'), 'utf8')), TOP_LEVEL, 'results');
      for (const key of ['durationSeconds', 'cpus', 'benchPeakRssMB']) finite(results[key], key);
      assert.equal(results.node, process.version);
      const server = hasKeys(results.server, SERVER, 'server');
      for (const key of SERVER) assert.equal(typeof server[key], 'string', `server.${key}`);
      const settings = hasKeys(results.settings, SETTINGS, 'settings');
      assert.equal(settings.n, 200);
      assert.equal(settings.updateDocuments, 20);
      const profile = hasKeys(results.serverProfile, PROFILE, 'serverProfile');
      for (const key of PROFILE) finite(profile[key], `serverProfile.${key}`);

      const cases = hasKeys(results.cases, CASES, 'cases');
      assert.deepEqual(Object.keys(cases).sort(), [...CASES].sort(), 'exactly the documented cases');
      for (const key of CASES) {
        const c = hasKeys(cases[key], CASE_FIELDS, `cases.${key}`);
        for (const field of ['median', 'min', 'max']) assert.ok(finite(c[field], `cases.${key}.${field}`) > 0, `cases.${key}.${field} > 0`);
        assert.ok(Array.isArray(c.values) && c.values.length === 1, `cases.${key}.values has one value per run`);
        if (c.group === 'cli') assert.equal(c.sample, null, `cases.${key}.sample`);
        else hasKeys(c.sample, ['documents', 'of', 'reason'], `cases.${key}.sample`);
        if (c.group === 'rss') finite(c.peakRssMB, `cases.${key}.peakRssMB`);
      }
      for (const key of [...COUNTED, 'cli_apply', 'mm_apply']) {
        const traffic = hasKeys(object(cases[key], key).traffic, TRAFFIC, `cases.${key}.traffic`);
        assert.ok(finite(traffic.commands, `cases.${key}.traffic.commands`) > 0);
        for (const field of ['bytesSent', 'bytesReceived', 'writeStatements']) finite(traffic[field], `cases.${key}.traffic.${field}`);
      }
      for (const key of COUNTED) finite(object(cases[key], key).commandsPer1000, `cases.${key}.commandsPer1000`);
      for (const key of [...COUNTED.filter((k) => !k.endsWith('_tenth')), 'reshape_fn_half', 'floor_nest', 'floor_bump', 'reshape_work']) finite(object(cases[key], key).cpuMicrosPerDoc, `cases.${key}.cpuMicrosPerDoc`);
      finite(object(object(cases.reshape_fn, 'reshape_fn').extra, 'reshape_fn.extra').marginalCpuMicrosPerDoc, 'cases.reshape_fn.extra.marginalCpuMicrosPerDoc');
      for (const key of ['cli_apply', 'mm_apply']) {
        const extra = hasKeys(object(cases[key], key).extra, APPLY_EXTRA, `cases.${key}.extra`);
        for (const field of APPLY_EXTRA) finite(extra[field], `cases.${key}.extra.${field}`);
      }
      finite(object(object(cases.cli_apply, 'cli_apply').extra, 'cli_apply.extra').ownCommandsPerMigrationNoTransaction, 'cases.cli_apply.extra.ownCommandsPerMigrationNoTransaction');
      hasKeys(object(cases.throttle_on, 'throttle_on').extra, THROTTLE_EXTRA, 'cases.throttle_on.extra');
      for (const key of ['copy_checks_small', 'copy_checks_large']) {
        const extra = hasKeys(object(cases[key], key).extra, CHECKS_EXTRA, `cases.${key}.extra`);
        assert.ok(finite(extra.passes, `cases.${key}.extra.passes`) >= 1);
        assert.ok(finite(hasKeys(object(cases[key], key).traffic, TRAFFIC, `cases.${key}.traffic`).commands, `cases.${key}.traffic.commands`) > 0);
      }
      const sample = object(object(cases.reshape_fn, 'cases.reshape_fn').sample, 'cases.reshape_fn.sample');
      assert.equal(sample.documents, 20);
      assert.equal(sample.of, 20);

      const ratios = hasKeys(results.ratios, [...TARGETED, ...CONTEXT], 'ratios');
      for (const key of [...TARGETED, ...CONTEXT]) {
        const r = hasKeys(ratios[key], RATIO_FIELDS, `ratios.${key}`);
        finite(r.value, `ratios.${key}.value`);
        if (TARGETED.includes(key)) assert.equal(typeof r.pass, 'boolean', `ratios.${key}.pass`);
        else assert.equal(r.pass, null, `ratios.${key}.pass`);
      }

      const readme = await readFile(README, 'utf8');
      for (const key of [...TOP_LEVEL, ...SERVER, ...SETTINGS, ...PROFILE, ...CASE_FIELDS, ...TRAFFIC, ...CASES, ...RESHAPE_EXTRA, ...APPLY_EXTRA, 'ownCommandsPerMigrationNoTransaction', ...THROTTLE_EXTRA, ...CHECKS_EXTRA, ...RATIO_FIELDS, ...TARGETED, ...CONTEXT]) {
        assert.ok(readme.includes(`\`${key}\``), `bench/README.md documents \`${key}\``);
      }
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
  });
});
