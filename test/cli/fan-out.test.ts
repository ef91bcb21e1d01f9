// Commands across databases, spawned as a user runs them: a dozen tenants matched by a glob, one
// failing part-way; the canary; limiting the set; status and --json across databases.
import { counts } from '../support/counts.ts';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { exits, parseJson } from '../support/cli.ts';
import { appliedByDatabase, summaryResults, tenantMigration, withTenants, type TenantsContext } from '../support/tenants.ts';

const TENANTS = 12;

/** Three migrations; the second throws in the tenant whose name ends with `failIn`. */
async function writeMigrations(ctx: TenantsContext, failIn?: string): Promise<void> {
  await ctx.project.write('001-first.js', tenantMigration('first'));
  await ctx.project.write('002-second.js', tenantMigration('second', failIn));
  await ctx.project.write('003-third.js', tenantMigration('third'));
}

const ALL = ['001-first', '002-second', '003-third'];

void describe('commands across databases', { concurrency: 2 }, () => {
  void it('a dozen tenants by glob, one failing part-way: without --keep-going no further tenant starts; with it every other completes', () =>
    withTenants('fo_glob', TENANTS, async (ctx) => {
      await writeMigrations(ctx, '_t05');
      const glob = `${ctx.prefix}_*`;

      const stopped = await ctx.run(['up', '--databases-match', glob]);
      exits(stopped, 1, 'up across a dozen tenants, t05 failing');
      let applied = await appliedByDatabase(ctx);
      for (const name of ctx.names.slice(0, 4)) assert.deepEqual(applied[name], ALL, `${name} ran before the failure`);
      assert.deepEqual(applied[`${ctx.prefix}_t05`], ['001-first'], 't05 stopped at its failing migration');
      for (const name of ctx.names.slice(5)) assert.deepEqual(applied[name], [], `${name} never started`);
      const results = summaryResults(stopped.stdout);
      assert.equal(results[`${ctx.prefix}_t05`], 'failed', stopped.stdout);
      assert.equal(results[`${ctx.prefix}_t06`], 'not started', stopped.stdout);
      assert.equal(results[`${ctx.prefix}_t01`], 'ok', stopped.stdout);
      assert.match(stopped.stdout, new RegExp(`${ctx.prefix}_t05 +│ ✖ failed +002-second`), 'the failure is on a line prefixed with its database');
      assert.match(stopped.stderr, new RegExp(`${ctx.prefix}_t05 +│ error: .*002-second.*tenant data does not fit`), 'and its error, once');

      const kept = await ctx.run(['up', '--databases-match', glob, '--keep-going', '--retry-failed', '--concurrency', '3']);
      exits(kept, 1, 'up --keep-going: t05 fails again');
      applied = await appliedByDatabase(ctx);
      for (const name of ctx.names.filter((n) => !n.endsWith('_t05'))) assert.deepEqual(applied[name], ALL, `${name} completed`);
      assert.deepEqual(applied[`${ctx.prefix}_t05`], ['001-first']);
      const after = summaryResults(kept.stdout);
      assert.equal(Object.values(after).filter((r) => r === 'ok').length, TENANTS - 1, kept.stdout);
    }));

  void it('a failing canary stops everything else; a passing one lets the others start', () =>
    withTenants('fo_canary', 4, async (ctx) => {
      await writeMigrations(ctx, '_t03');
      const failing = `${ctx.prefix}_t03`;
      const result = await ctx.run(['up', '--databases-match', `${ctx.prefix}_*`, '--canary', failing, '--keep-going']);
      exits(result, 1, 'up with a failing canary');
      const applied = await appliedByDatabase(ctx);
      for (const name of ctx.names.filter((n) => n !== failing)) assert.deepEqual(applied[name], [], `${name} did not start after the canary failed, even with --keep-going`);
      const results = summaryResults(result.stdout);
      assert.equal(results[failing], 'failed');
      assert.equal(results[`${ctx.prefix}_t01`], 'not started');
      // the canary runs first: its lines come before any other database's
      assert.match(result.stdout.split('\n')[0] ?? '', new RegExp(`^${failing}`), result.stdout);

      const passing = await ctx.run(['up', '--databases-match', `${ctx.prefix}_*`, '--canary', `${ctx.prefix}_t02`, '--keep-going']);
      exits(passing, 1, 'a passing canary: the others start, t03 fails again');
      const order = passing.stdout.split('\n').filter((line) => line.startsWith(ctx.prefix)).map((line) => line.split(' ')[0]);
      assert.equal(order[0], `${ctx.prefix}_t02`, 'the canary ran first');
      assert.deepEqual((await appliedByDatabase(ctx))[`${ctx.prefix}_t04`], ALL);

      const unknown = await ctx.run(['up', '--databases-match', `${ctx.prefix}_*`, '--canary', 'nope']);
      exits(unknown, 2, 'a canary that is not selected');
      assert.match(unknown.stderr, /canary nope: not one of the selected databases/);
    }));

  void it('--databases a,b and --db one limit the set of config `databases`', () =>
    withTenants('fo_limit', 3, async (ctx) => {
      await writeMigrations(ctx);
      await ctx.project.writeFile('migrate.config.ts', `export default { databases: { match: '${ctx.prefix}_*' } };\n`);
      const [a, b, c] = ctx.names as [string, string, string];
      exits(await ctx.run(['up', '--databases', `${a},${c}`]), 0, 'up --databases a,c');
      let applied = await appliedByDatabase(ctx);
      assert.deepEqual([applied[a], applied[b], applied[c]], [ALL, [], ALL]);
      const one = await ctx.run(['up', '--db', b]);
      exits(one, 0, 'up --db b');
      assert.doesNotMatch(one.stdout, /│ Database/, '--db means one database: no summary table');
      applied = await appliedByDatabase(ctx);
      assert.deepEqual(applied[b], ALL);
      exits(await ctx.run(['down', '--db', a, '--databases', b]), 2, '--db with --databases');
      const created = await ctx.run(['create', 'add-plans']);
      exits(created, 0, 'create in a project of several databases');
      assert.match(created.stdout, /migrations\/\d{14}-add-plans\.ts/);
    }));

  void it('status shows one row per database, --check exits 4 if any needs attention; --json has one entry per database', () =>
    withTenants('fo_status', 3, async (ctx) => {
      await writeMigrations(ctx);
      const [a, b, c] = ctx.names as [string, string, string];
      const match = ['--databases-match', `${ctx.prefix}_*`];
      exits(await ctx.run(['up', '--databases', a]), 0, 'up in a');
      exits(await ctx.run(['up', '--databases', b, '--json']), 0, 'up in b');

      const status = await ctx.run(['status', ...match]);
      exits(status, 0, 'status across databases');
      const rows = status.stdout.split('\n').filter((line) => line.startsWith('│') && !line.includes('Database'));
      assert.equal(rows.length, 3, status.stdout);
      assert.match(rows[0] ?? '', new RegExp(`${a} +│ 3 +│ 0 +│ 0 +│ 0 +│ 0`));
      assert.match(rows[2] ?? '', new RegExp(`${c} +│ 0 +│ 3 +│ 0`));
      const check = await ctx.run(['status', '--check', ...match]);
      exits(check, 4, 'status --check: c has pending migrations');
      assert.match(check.stdout, new RegExp(`check failed: ${c} needs attention`));

      const json = parseJson(await ctx.run(['status', '--json', ...match]));
      assert.equal(json.command, 'status');
      assert.equal(json.ok, true);
      const databases = json.databases as { database: string; ok: boolean; counts: Record<string, number> }[];
      assert.deepEqual(databases.map((d) => d.database), [a, b, c]);
      assert.deepEqual(databases.map((d) => d.counts), [counts({ applied: 3 }), counts({ applied: 3 }), counts({ pending: 3 })]);

      const upResult = await ctx.run(['up', '--json', ...match]);
      exits(upResult, 0, 'up --json across databases');
      const up = parseJson(upResult);
      assert.equal(up.command, 'up');
      assert.equal(up.ok, true);
      const ups = up.databases as { database: string; ok: boolean; outcome: string; steps: { id: string; status: string }[] }[];
      assert.deepEqual(ups.map((d) => [d.database, d.ok, d.outcome, d.steps.length]), [[a, true, 'ok', 0], [b, true, 'ok', 0], [c, true, 'ok', 3]]);
      assert.ok(ups.every((d) => !('command' in d)), 'each database entry is its result, without a command of its own');
    }));
});
