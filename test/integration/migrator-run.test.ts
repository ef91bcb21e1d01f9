// Integration tests of run-time behaviour: interrupt() and connection failures (events: migrator-events.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMigrator } from '../../src/index.ts';
import { createProject, markerMigration } from '../support/project.ts';
import { startSilentListener } from '../support/silent-listener.ts';
import { failsWithCode, stepSummary, withEnv } from '../support/migrator.ts';

/**
 * Loops in 5 ms sleeps (bounded at ~5 s) checking ctx.signal; logs 'started' once; throws when
 * aborted. Outside a transaction, so its log line comes out at once and its failure is `failed`
 * on every server (interrupted inside a transaction: transactions.test.ts).
 */
const COOPERATIVE = `import { defineMigration } from 'mongrate';
export default defineMigration({
  transaction: false,
  async up({ db, signal, log }) {
    log('started');
    for (let i = 0; i < 1000; i++) {
      if (signal.aborted) throw new Error('stopped: signal aborted');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await db.collection('marks').insertOne({ mark: 'loop-finished' });
  },
  async down() {},
});
`;

/** Ignores ctx.signal: logs 'started', sleeps a little, then completes. */
const STUBBORN = `export async function up({ db, log }) {
  log('started');
  await new Promise((resolve) => setTimeout(resolve, 20));
  await db.collection('marks').insertOne({ mark: 'stubborn' });
}
`;

void describe('migrator.interrupt()', () => {
  void it('stops a migration that honours ctx.signal: recorded failed and interrupted, later ones not run', () =>
    withEnv('interrupt_coop', async (env) => {
      await env.project.write('001-a.ts', markerMigration('a'));
      await env.project.write('002-loop.ts', COOPERATIVE);
      await env.project.write('003-c.ts', markerMigration('c'));
      let interrupted = false;
      env.migrator.on('log', (e) => {
        if (e.id !== '002-loop' || e.message !== 'started') return;
        interrupted = true;
        env.migrator.interrupt();
      });

      const result = await env.migrator.up();
      // The loop stopped early, proven by what it left rather than by a stopwatch (which would
      // time the server recording the failure): it throws 'stopped: signal aborted' only from
      // inside the loop, and a loop that ran its course would have written 'loop-finished'.
      assert.ok(interrupted, 'the migration started and was interrupted');
      assert.ok(result.error !== undefined);
      assert.equal(result.error.code, 'INTERRUPTED');
      assert.equal(result.error.id, '002-loop');
      assert.deepEqual(stepSummary(result), ['001-a:up:success', '002-loop:up:failed', '003-c:up:not-run']);
      assert.deepEqual(await env.marks(), ['a']);

      const records = await env.changelog();
      assert.deepEqual(records.map((r) => `${r._id}:${r.state}`), ['001-a:applied', '002-loop:failed']);
      assert.deepEqual(records[1]?.error, { message: 'stopped: signal aborted', direction: 'up', interrupted: true });
      assert.deepEqual((await env.history()).map((h) => `${h.migrationId}:${h.event}`), ['001-a:up', '002-loop:failed']);

      // a new runner sees it failed and can retry it
      const status = await env.newMigrator().status();
      assert.deepEqual(status.migrations.map((m) => `${m.id}:${m.state}`), ['001-a:applied', '002-loop:failed', '003-c:pending']);
    }));

  void it('lets a migration that ignores the signal finish, applies it, then stops', () =>
    withEnv('interrupt_stub', async (env) => {
      await env.project.write('001-stubborn.js', STUBBORN);
      await env.project.write('002-b.ts', markerMigration('b'));
      env.migrator.on('log', (e) => {
        if (e.id === '001-stubborn') env.migrator.interrupt();
      });

      const result = await env.migrator.up();
      assert.ok(result.error !== undefined);
      assert.equal(result.error.code, 'INTERRUPTED');
      assert.match(result.error.message, /001-stubborn/);
      assert.deepEqual(stepSummary(result), ['001-stubborn:up:success', '002-b:up:not-run']);
      assert.deepEqual(await env.marks(), ['stubborn']);
      const records = await env.changelog();
      assert.deepEqual(records.map((r) => `${r._id}:${r.state}`), ['001-stubborn:applied']);
      assert.equal(records[0]?.error, undefined);
    }));
});

void describe('claims written ahead', () => {
  void it("the next migration's claim rides with this outcome; a record another runner made meanwhile refuses it and is left as it was", () =>
    withEnv('claim_ahead_taken', async (env) => {
      // 001 makes 002's record as another runner would, between this run's plan and 002's claim
      await env.project.write(
        '001-a.js',
        `export async function up({ db }) {\n  await db.collection('mongrate_changelog').insertOne({ _id: '002-b', state: 'running', runId: 'other', host: 'h', pid: 1, toolVersion: '0', startedAt: new Date(), claim: { direction: 'up', runId: 'other', host: 'h', pid: 1, startedAt: new Date() } });\n}\n`,
      );
      await env.project.write('002-b.ts', markerMigration('b'));
      const result = await env.migrator.up();
      assert.equal(result.error?.code, 'LOCK_HELD', JSON.stringify(result.error));
      assert.match(result.error.message, /002-b was claimed by another runner/);
      assert.deepEqual(stepSummary(result), ['001-a:up:success', '002-b:up:failed']);
      assert.deepEqual(await env.marks(), [], '002 did not run');
      const records = await env.changelog();
      assert.deepEqual(records.map((r) => `${r._id}:${r.state}:${r.claim?.runId ?? ''}`).sort(), ['001-a:applied:', '002-b:running:other']);
    }));
});

void describe('connection failures', () => {
  void it('an unreachable server is UNREACHABLE quickly', async () => {
    const project = await createProject();
    const migrator = createMigrator({
      uri: 'mongodb://127.0.0.1:1',
      database: 'x',
      migrationsDir: project.migrationsDir,
      clientOptions: { serverSelectionTimeoutMS: 500 },
    });
    const silent = await startSilentListener();
    const hanging = createMigrator({ uri: silent.uri, database: 'x', migrationsDir: project.migrationsDir, clientOptions: { serverSelectionTimeoutMS: 500 } });
    try {
      const error = await failsWithCode(migrator.status(), 'UNREACHABLE');
      assert.match(error.message, /127\.0\.0\.1:1/);
      // a later call tries again rather than reusing a dead connection
      await failsWithCode(migrator.up(), 'UNREACHABLE');
      // "quickly" is the configured 500 ms, not a default: a server that accepts and never
      // answers makes the driver wait its timeout out whole, and the driver's own error names
      // the time it waited (a stopwatch would also time a loaded machine)
      const hung = await failsWithCode(hanging.status(), 'UNREACHABLE');
      assert.match(hung.message, /within 500 ms \(Server selection timed out after 500 ms\)/);
    } finally {
      await hanging.close();
      await silent.close();
      await migrator.close();
      await project.remove();
    }
  });

  void it('a malformed URI is USAGE', async () => {
    const project = await createProject();
    const migrator = createMigrator({ uri: 'notauri', database: 'x', migrationsDir: project.migrationsDir });
    try {
      await failsWithCode(migrator.status(), 'USAGE');
    } finally {
      await migrator.close();
      await project.remove();
    }
  });

  void it('never shows the password of the URI', async () => {
    const project = await createProject();
    const unreachable = createMigrator({
      uri: 'mongodb://bob:s3cretpw@127.0.0.1:1/x',
      migrationsDir: project.migrationsDir,
      clientOptions: { serverSelectionTimeoutMS: 500 },
    });
    const malformed = createMigrator({ uri: 'mongodb://bob:s3cretpw@127.0.0.1:notaport/x', migrationsDir: project.migrationsDir });
    try {
      const error = await failsWithCode(unreachable.status(), 'UNREACHABLE');
      assert.ok(!error.message.includes('s3cretpw'), error.message);
      assert.match(error.message, /bob:\*\*\*@/);
      const parseError = await failsWithCode(malformed.status(), 'USAGE');
      assert.ok(!parseError.message.includes('s3cretpw'), parseError.message);
      // the error it carries as `cause` (its stack included) is masked too
      for (const { cause } of [error, parseError]) assert.ok(cause instanceof Error && !String(cause.stack).includes('s3cretpw'), String(cause));
    } finally {
      await unreachable.close();
      await malformed.close();
      await project.remove();
    }
  });

  void it('never shows a password with unescaped special characters either', async () => {
    const project = await createProject();
    // typical mistakes: '@', '/' or a space left unescaped in the password
    const uris = ['mongodb://bob:s3c@retpw@127.0.0.1:1/x', 'mongodb://bob:s3c/retpw@127.0.0.1:1/x', 'mongodb://bob:s3c retpw@127.0.0.1:1/x'];
    const migrators = uris.map((uri) =>
      createMigrator({ uri, database: 'x', migrationsDir: project.migrationsDir, clientOptions: { serverSelectionTimeoutMS: 300 } }),
    );
    try {
      const messages = await Promise.all(
        migrators.map((migrator) =>
          migrator.status().then(({ error }) => (error === undefined ? 'resolved' : `${error.message}\n${error.cause instanceof Error ? String(error.cause.stack) : ''}`)),
        ),
      );
      const leaks = messages.filter((message) => /s3c|retpw/.test(message)).map((message) => message.split('\n')[0]);
      assert.deepEqual(leaks, [], 'a password (or part of it) was shown');
    } finally {
      for (const migrator of migrators) await migrator.close();
      await project.remove();
    }
  });
});
