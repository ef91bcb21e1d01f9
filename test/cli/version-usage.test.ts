// --help, --version and usage errors of the everyday commands, run exactly as a user would: the
// built bin in a throwaway project folder.
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { exits, parseJson, runCli } from '../support/cli.ts';
import { createProject } from '../support/project.ts';

const PKG_VERSION = (JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

void describe('help, version and usage errors', { concurrency: 4 }, () => {
  void it('--help prints usage with every command on stdout and exits 0', async () => {
    const project = await createProject();
    try {
      const result = await runCli(['--help'], { cwd: project.dir });
      exits(result, 0, '--help');
      assert.match(result.stdout, /Usage: mongrate/);
      for (const command of ['init', 'create', 'status', 'up', 'down', 'redo']) assert.match(result.stdout, new RegExp(`^\\s+${command}\\b`, 'm'));
      for (const option of ['--config', '--uri', '--db', '--migrations-dir', '--json', '--no-color', '--verbose', '--quiet']) {
        assert.ok(result.stdout.includes(option), `--help should list ${option}`);
      }
      assert.equal(result.stderr, '');

      const upHelp = await runCli(['up', '--help'], { cwd: project.dir });
      exits(upHelp, 0, 'up --help');
      for (const option of ['--to', '--step', '--dry-run', '--allow-out-of-order']) assert.ok(upHelp.stdout.includes(option), `up --help should list ${option}`);
      const downHelp = await runCli(['down', '--help'], { cwd: project.dir });
      exits(downHelp, 0, 'down --help');
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
        exits(result, 0, flag);
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
