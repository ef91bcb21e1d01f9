// Config environments from the terminal: `--env` / MONGRATE_ENV choose one, `${VAR}` expands from
// the environment (an unset one stops the command before it connects), the chosen environment is
// named before anything happens, and a protected one refuses `down --all`, `unlock --force` and
// `repair` without `--yes`, even on a terminal. The built CLI, spawned as a user runs it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { changelog, exits, marks, oneLineError, withCliProject } from '../support/cli.ts';
import { insertForeignLock, lockDocument } from '../support/lock-cli.ts';
import { failingMigration, markerMigration } from '../support/project.ts';
import { testUri } from '../support/database.ts';
import { HAVE_SCRIPT, runOnTty } from '../support/tty.ts';

const CONFIG = `export default {
  database: 'not-this-one',
  environments: {
    staging: { database: '\${STAGING_DB}' },
    production: { protected: true, database: '\${PROD_DB:-mgt_never_used}' },
    typo: { lock: { ttlSeconds: 30 } },
  },
};
`;

void describe('choosing an environment', { concurrency: 2 }, () => {
  void it('MONGRATE_ENV (or --env) chooses it: its database, named with the server before anything runs', async () => {
    await withCliProject('env_choose', { config: CONFIG }, async ({ project, db, dbName, bare }) => {
      await project.write('001-a.ts', markerMigration('a'));
      const env = { MONGODB_URI: testUri(), STAGING_DB: dbName };
      const up = await bare(['up'], { ...env, MONGRATE_ENV: 'staging' });
      exits(up, 0, 'up in staging');
      assert.match(up.stderr.split('\n')[0] ?? '', new RegExp(`^environment staging: database ${dbName} at mongodb://`));
      assert.deepEqual(await marks(db), ['a']);
      const status = await bare(['--env', 'staging', 'status'], { ...env, MONGRATE_ENV: 'production' });
      exits(status, 0, '--env beats MONGRATE_ENV');
      assert.match(status.stderr, /^environment staging: /);
    });
  });

  void it('an unset variable without a default, or an environment the config lacks, is exit 2 naming it', async () => {
    await withCliProject('env_unset', { config: CONFIG }, async ({ bare }) => {
      // the URI points nowhere: a command that connected would exit 5, not 2
      const env = { MONGODB_URI: 'mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=200' };
      oneLineError(await bare(['--env', 'staging', 'status'], env), /\(environment staging\): config key 'database' uses \$\{STAGING_DB\}/, /STAGING_DB is not set/);
      exits(await bare(['--env', 'staging', 'status'], env), 2, 'unset STAGING_DB');
      const unknown = await bare(['status'], { ...env, MONGRATE_ENV: 'prod' });
      exits(unknown, 2, 'MONGRATE_ENV=prod');
      oneLineError(unknown, /no environment 'prod'/, /'staging', 'production', 'typo'/);
    });
  });

  void it('an unknown key in any environment is exit 2, whichever environment runs', async () => {
    const config = CONFIG.replace("typo: { lock: { ttlSeconds: 30 } }", "typo: { lock: { ttl: 30 } }");
    await withCliProject('env_typo', { config }, async ({ dbName, bare }) => {
      const result = await bare(['--env', 'staging', 'status'], { MONGODB_URI: testUri(), STAGING_DB: dbName });
      exits(result, 2, 'a typo in another environment');
      oneLineError(result, /unknown config key 'environments\.typo\.lock\.ttl'/);
    });
  });
});

void describe('a protected environment', { concurrency: 2 }, () => {
  void it('down --all and unlock --force need --yes: refused with exit 2 and nothing changed, then done with it', async () => {
    await withCliProject('env_protected', { config: CONFIG }, async ({ project, db, dbName, bare }) => {
      await project.write('001-a.ts', markerMigration('a'));
      await project.write('002-b.ts', markerMigration('b'));
      const env = { MONGODB_URI: testUri(), PROD_DB: dbName, MONGRATE_ENV: 'production' };
      const up = await bare(['--quiet', 'up'], env);
      exits(up, 0, 'up in production');
      assert.match(up.stderr, new RegExp(`^environment production \\(protected\\): database ${dbName} at `), 'named even with --quiet');

      const refused = await bare(['down', '--all'], env);
      exits(refused, 2, 'down --all without --yes');
      assert.match(refused.stderr, /error: environment 'production' is protected: reverting every applied migration needs confirming; pass `--yes` to confirm/);
      assert.deepEqual(await marks(db), ['a', 'b'], 'nothing was reverted');
      exits(await bare(['down', '--all', '--dry-run'], env), 0, 'a dry run needs no confirming');
      exits(await bare(['down'], env), 0, 'down of one needs no confirming');
      exits(await bare(['down', '--all', '--yes'], env), 0, 'down --all --yes');
      assert.deepEqual(await marks(db), []);

      await insertForeignLock(db, 120_000);
      const unlock = await bare(['unlock', '--force'], env);
      exits(unlock, 2, 'unlock --force without --yes');
      assert.match(unlock.stderr, /releasing a lock whatever its lease needs confirming; pass `--yes`/);
      assert.notEqual(await lockDocument(db), null, 'the lock is still there');
      exits(await bare(['unlock', '--force', '--yes'], env), 0, 'unlock --force --yes');
      assert.equal(await lockDocument(db), null);
    });
  });

  void it('repair is refused without --yes even on a terminal, without asking', { skip: HAVE_SCRIPT ? false : 'script(1) is not installed, so no pty' }, async () => {
    await withCliProject('env_repair', { config: CONFIG }, async ({ project, db, dbName, bare }) => {
      await project.write('001-fails.ts', failingMigration('boom'));
      const env = { PROD_DB: dbName, MONGRATE_ENV: 'production' };
      exits(await bare(['up'], { ...env, MONGODB_URI: testUri() }), 1, 'a failing up');
      const before = await changelog(db);
      const onTerminal = await runOnTty(['repair'], project.dir, 'y', env);
      assert.equal(onTerminal.code, 2, onTerminal.output);
      assert.doesNotMatch(onTerminal.output, /\[y\/N\]/, 'it did not ask');
      assert.match(onTerminal.output, /environment 'production' is protected: repairing the changelog needs confirming/);
      assert.deepEqual(await changelog(db), before, 'nothing was repaired');
      const yes = await runOnTty(['repair', '--yes'], project.dir, 'n', env);
      assert.equal(yes.code, 0, yes.output);
      assert.deepEqual(await changelog(db), []);
    });
  });
});
