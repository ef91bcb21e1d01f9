// `--help` answers the questions a new user has: every command's help lists
// the global options (valid with every command); the top-level help names the exit codes and the
// environment variables; every command that takes the lock offers --lock-wait; redo has --dry-run;
// no boolean flag ends with "(default: false)". No server is needed. The help texts are read from
// the CLI run in this process; what --version and --help load is seen in the built CLI's process.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BIN, type CliResult, exits, runCliInProcess, runNode } from '../support/cli.ts';
import { createProject } from '../support/project.ts';

const COMMANDS = ['init', 'create', 'status', 'up', 'down', 'redo', 'validate', 'baseline', 'repair', 'unlock'];
const GLOBAL = ['--config <path>', '--uri <uri>', '--db <name>', '--migrations-dir <dir>', '--json', '--no-color', '--verbose', '--quiet'];
const LOCKING = ['up', 'down', 'redo', 'baseline', 'repair'];

/** The lines of one section (`Global Options:`) of a help text. */
function section(help: string, title: string): string {
  const start = help.indexOf(`\n${title}:\n`);
  assert.notEqual(start, -1, `no "${title}:" section in:\n${help}`);
  const rest = help.slice(start + title.length + 3);
  const end = rest.search(/\n\n/);
  return end === -1 ? rest : rest.slice(0, end);
}

// Prints, when the process exits, the packages it loaded through require (the driver is CommonJS, so
// an ESM import of it lands there too).
const PACKAGES_LOADED = `process.on('exit', () => {
  const names = new Set(Object.keys(require.cache).map((file) => file.split('node_modules/')[1]?.split('/')[0]).filter(Boolean));
  process.stderr.write('loaded: ' + [...names].sort().join(',') + '\\n');
});
`;

void describe('--help', () => {
  void it('--version and --help load neither the driver nor the config loader (start-up is what every command pays)', async () => {
    const project = await createProject();
    try {
      const preload = path.join(project.dir, 'packages-loaded.cjs');
      await writeFile(preload, PACKAGES_LOADED);
      for (const args of [['--version'], ['--help'], ['up', '--help']]) {
        const result = await runNode(['--require', preload, BIN, ...args], { cwd: project.dir });
        exits(result, 0, args.join(' '));
        const loaded = /^loaded: (.*)$/m.exec(result.stderr)?.[1]?.split(',') ?? [];
        assert.ok(loaded.includes('commander'), `the preload saw the CLI's packages: ${result.stderr}`);
        for (const heavy of ['mongodb', 'cosmiconfig', 'jiti']) assert.ok(!loaded.includes(heavy), `${args.join(' ')} loaded ${heavy}: ${loaded.join(', ')}`);
      }
    } finally {
      await project.remove();
    }
  });


  void it('the top-level help names every exit code and MONGODB_URI / MONGODB_DATABASE', async () => {
    const project = await createProject();
    try {
      const result = await runCliInProcess(['--help'], { cwd: project.dir });
      exits(result, 0, '--help');
      const codes = section(result.stdout, 'Exit codes');
      for (const code of ['0', '1', '2', '3', '4', '5', '130']) assert.match(codes, new RegExp(`^ {2}${code} +\\S`, 'm'), `exit code ${code}`);
      assert.match(codes, /^ {2}1 +a migration failed \(with --dry-run: the plan already shows it would\)$/m);
      assert.match(codes, /^ {2}3 +the lock is held by another live runner/m);
      const environment = section(result.stdout, 'Environment');
      assert.match(environment, /^ {2}MONGODB_URI +connection string/m);
      assert.match(environment, /^ {2}MONGODB_DATABASE +database/m);
      assert.doesNotMatch(result.stdout, /\(default: false\)/);
    } finally {
      await project.remove();
    }
  });

  void it("every command's help lists the global options, points to the exit codes, and no '(default: false)'", async () => {
    const project = await createProject();
    try {
      const helps = new Map<string, CliResult>();
      await Promise.all(COMMANDS.map(async (command) => helps.set(command, await runCliInProcess([command, '--help'], { cwd: project.dir }))));
      for (const command of COMMANDS) {
        const help = helps.get(command);
        assert.ok(help !== undefined);
        exits(help, 0, `${command} --help`);
        const global = section(help.stdout, 'Global Options');
        for (const option of GLOBAL) assert.ok(global.includes(option), `${command} --help lists ${option} among its global options:\n${help.stdout}`);
        assert.match(help.stdout, /Exit codes and environment variables: mongrate --help/);
        assert.doesNotMatch(help.stdout, /\(default: false\)/, `${command} --help`);
        const options = section(help.stdout, 'Options');
        assert.equal(options.includes('--lock-wait <seconds>'), LOCKING.includes(command), `${command} --help: --lock-wait exactly where the lock is taken`);
      }
      assert.match(section(helps.get('redo')?.stdout ?? '', 'Options'), /--dry-run +print the plan/);
      assert.match(section(helps.get('up')?.stdout ?? '', 'Options'), /--dry-run +print the plan .*exit 1 if\s+the\s+plan\s+already\s+shows\s+a\s+failure/s);
    } finally {
      await project.remove();
    }
  });
});
