// Usage errors come first: conflicting flags, bad numbers and an unparsable connection string exit
// 2 before any server is contacted. The URI points at a listener that accepts and never answers:
// a command that connected would wait out the 30 s server selection timeout and exit 5, and the
// listener counts every connection, so "before any server is contacted" is a count of 0, not a
// stopwatch. Through the CLI in this process (main() with its injectable I/O: a usage error needs
// no process of its own; test/cli/errors.test.ts spawns the built CLI for the exit code a shell
// sees), one case through the built CLI, and the same rules through the API.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createMigrator, MongrateError } from '../../src/index.ts';
import { exits, parseJson, runCli, runCliInProcess } from '../support/cli.ts';
import { createProject, markerMigration } from '../support/project.ts';
import { startSilentListener, type SilentListener } from '../support/silent-listener.ts';

/** Where a command that tried to connect would hang; the URI of the cases that carry their own is never used. */
let server: SilentListener;
before(async () => {
  server = await startSilentListener();
});
after(() => server.close());

const CASES: { what: string; args: string[]; message: RegExp }[] = [
  { what: 'down --all --step 2', args: ['down', '--all', '--step', '2'], message: /'--step <n>' cannot be used with option '--all'/ },
  { what: 'down --to x --last-run', args: ['down', '--to', 'x', '--last-run'], message: /cannot be used with/ },
  { what: 'up --step two', args: ['up', '--step', 'two'], message: /--step takes a whole number >= 0, got 'two'/ },
  { what: 'redo --lock-wait 1.5', args: ['redo', '--lock-wait', '1.5'], message: /--lock-wait takes a whole number/ },
  { what: 'baseline without an id', args: ['baseline'], message: /missing required argument 'id'/ },
  { what: 'an unknown option', args: ['status', '--colour'], message: /unknown option '--colour'/ },
  { what: 'an empty host (mongodb://h:1,/)', args: ['--uri', 'mongodb://h:1,/', 'status'], message: /invalid connection string mongodb:\/\/h:1,\/: host 2 of 2 is empty/ },
  { what: 'a port that is no number', args: ['--uri', 'mongodb://127.0.0.1:notaport/x', 'up'], message: /invalid connection string/ },
  { what: 'no scheme', args: ['--uri', 'db.example.com', 'down'], message: /invalid connection string/ },
  {
    what: 'validate --migrations-dir nope',
    args: ['validate', '--migrations-dir', 'nope'],
    message: /migrations folder not found: \S*nope; pass `--migrations-dir <dir>` \(or set `migrationsDir` in the config\) to name the folder of migration files, or run `mongrate init` to create it/,
  },
];

void describe('usage errors exit 2 before any server is contacted', { concurrency: 1 }, () => {
  void it('each exits 2 without opening a connection, one error line naming the mistake', async () => {
    const project = await createProject();
    try {
      await project.write('001-a.ts', markerMigration('a'));
      for (const { what, args, message } of CASES) {
        const result = await runCliInProcess(['--uri', server.uri, '--db', 'usage_errors', ...args], { cwd: project.dir });
        exits(result, 2, what);
        assert.match(result.stderr.split('\n')[0] ?? '', /^error: /, `${what}: the error comes first`);
        assert.match(result.stderr, message, what);
        assert.equal(await server.connections(), 0, `${what}: no connection was opened`);
      }
      const json = await runCli(['--uri', server.uri, '--db', 'usage_errors', '--json', 'down', '--all', '--step', '2'], { cwd: project.dir });
      exits(json, 2, '--json down --all --step 2');
      assert.deepEqual((parseJson(json).error as { code: string }).code, 'USAGE');
      assert.equal(await server.connections(), 0, '--json down --all --step 2: no connection was opened');
    } finally {
      await project.remove();
    }
  });

  void it('the API checks the same before connecting: down({ all, step }) and bad counts reject USAGE without connecting', async () => {
    const migrator = createMigrator({ uri: server.uri, database: 'usage_errors' });
    try {
      const attempts: [string, () => Promise<unknown>][] = [
        ['down({ all, step: 2 })', () => migrator.down({ all: true, step: 2 })],
        ['down({ to, lastRun })', () => migrator.down({ to: 'x', lastRun: true })],
        ['up({ step: -1 })', () => migrator.up({ step: -1 })],
        ['redo(undefined, { lockWait: 1.5 })', () => migrator.redo(undefined, { lockWait: 1.5 })],
      ];
      for (const [what, attempt] of attempts) {
        await assert.rejects(attempt(), (error: unknown) => error instanceof MongrateError && error.code === 'USAGE', what);
        assert.equal(await server.connections(), 0, `${what}: answered without connecting`);
      }
    } finally {
      await migrator.close();
    }
  });
});
