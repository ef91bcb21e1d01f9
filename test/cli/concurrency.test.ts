// The lock, seen from the terminal: many `mongrate up` processes at once, a runner killed with
// SIGKILL mid-migration, `unlock` against a live holder, Ctrl-C, and `--json` on exit 3. Every
// command is the built CLI, spawned as a user would run it; the database is read with the driver.
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { changelog, changelogRecord as record, history, marks, parseJson, tableState, withCliProject } from '../support/cli.ts';
import { counterMigration, exits, lockConfig, lockDocument, runCounts, show, waitUntilLeaseExpired, waitUntilRunning } from '../support/lock-cli.ts';
import { readHelloLocalTime } from '../../src/server/clock.ts';
import { markerMigration } from '../support/project.ts';

interface StatusDoc {
  ok: boolean;
  migrations: { id: string; state: string; interrupted?: boolean; error?: string }[];
}

/**
 * Loops in 50 ms sleeps until ctx.signal is aborted, then throws: every test here ends it (a
 * signal, a kill, a lost lock), so it runs as long as a loaded machine takes to get there. Five
 * minutes at most, then it finishes. Outside a transaction: what is under test is the lock around
 * a long migration (a runner killed inside a transaction leaves it open on the server for its
 * lifetime: transactions.test.ts).
 */
const SLOW = `import { defineMigration } from 'mongrate';
export default defineMigration({
  description: 'slow loop',
  transaction: false,
  async up({ db, signal }) {
    const until = Date.now() + 300000;
    while (Date.now() < until) {
      if (signal.aborted) throw new Error('stopped at a safe point');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await db.collection('marks').insertOne({ mark: 'slow finished' });
  },
  async down() {},
});
`;

/** A runner of SLOW lives as long as its test: each step of which is a CLI run, slow on a loaded machine. */
const HOLDER_TIMEOUT_MS = 240_000;

/** One race: 8 `up` processes at once on a fresh database with 5 counter migrations. */
async function race(label: string, extraArgs: string[]): Promise<void> {
  await withCliProject(label, async ({ project, db, start }) => {
    const ids = ['001-one', '002-two', '003-three', '004-four', '005-five'];
    for (const id of ids) await project.write(`${id}.ts`, counterMigration(id));
    const runners = Array.from({ length: 8 }, () => start(['up', ...extraArgs], 90_000));
    const pids = runners.map((r) => r.child.pid);
    const results = await Promise.all(runners.map((r) => r.done));
    const codes = results.map((r) => r.code);
    const report = results.map((r, i) => `#${i} pid ${String(pids[i])}: ${show(r)}`).join('\n');

    // every migration ran exactly once: five applied records and a count of 1 each
    assert.deepEqual((await changelog(db)).map((r) => [r._id, r.state]), ids.map((id) => [id, 'applied']), `changelog after the race:\n${report}`);
    const counts = await runCounts(db, ids);
    assert.deepEqual(counts, Object.fromEntries(ids.map((id) => [id, 1])), `side effects ran more or less than once:\n${report}`);
    assert.equal(await lockDocument(db), null, `the lock document is left behind:\n${report}`);

    if (extraArgs.includes('--lock-wait')) {
      assert.deepEqual(codes, Array<number>(8).fill(0), `with --lock-wait every runner exits 0:\n${report}`);
      return;
    }
    assert.ok(codes.every((c) => c === 0 || c === 3), `every runner exits 0 or 3, got ${codes.join(',')}:\n${report}`);
    const winners = results.flatMap((r, i) => (r.code === 0 ? [pids[i]] : []));
    assert.ok(winners.length >= 1, `at least one runner exits 0:\n${report}`);
    // the one runner that applied the migrations printed them
    const appliedBy = results.filter((r) => r.code === 0 && ids.every((id) => r.stdout.includes(id)));
    assert.equal(appliedBy.length, 1, `exactly one runner reports applying the five migrations:\n${report}`);
    for (const loser of results.filter((r) => r.code === 3)) {
      const lines = loser.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, `a refused runner prints one line:\n${loser.stderr}`);
      const line = lines[0] ?? '';
      assert.match(line, /^error: lock held by /);
      assert.ok(line.includes(hostname()), `the message names the holder's host: ${line}`);
      const pid = /\bpid (\d+)\b/.exec(line)?.[1];
      assert.ok(pid !== undefined && winners.includes(Number(pid)), `the message names the pid of a runner that held the lock (${winners.join(',')}): ${line}`);
      assert.match(line, /\bsince \d{4}-\d\d-\d\dT/, `the message says since when: ${line}`);
      assert.match(line, /mongrate unlock/);
      assert.doesNotMatch(loser.stderr, /^\s+at /m, 'no stack trace');
    }
  });
}

void describe('concurrent runners', { concurrency: 1 }, () => {
  void it('8 `up` processes at once apply every migration exactly once (3 rounds, with and without --lock-wait)', async () => {
    for (let round = 1; round <= 3; round++) {
      await race(`race_wait_${round}`, ['--lock-wait', '60']);
      await race(`race_nowait_${round}`, []);
    }
  });
});

void describe('taking over an expired lock', () => {
  void it('8 runners race for the expired lock of a SIGKILLed runner: one takes it over, every migration runs exactly once', async () => {
    // a 5 s lease: eight runners starting at once on a busy machine must still renew theirs in time
    await withCliProject('takeover_race', { config: lockConfig(5) }, async ({ project, db, start }) => {
      const ids = ['001-one', '002-two', '003-three', '004-four', '005-five'];
      await project.write(`${ids[0] ?? ''}.ts`, SLOW);
      const first = start(['up'], HOLDER_TIMEOUT_MS);
      await waitUntilRunning(db, ids[0] ?? '', first.done);
      first.child.kill('SIGKILL');
      await first.done;
      for (const id of ids) await project.write(`${id}.ts`, counterMigration(id));
      const stale = await lockDocument(db);
      assert.ok(stale !== null, 'the killed runner left its lock behind');
      await sleep(Math.max(0, stale.expiresAt.getTime() - Date.now()) + 200);

      const runners = Array.from({ length: 8 }, () => start(['up', '--retry-failed', '--lock-wait', '60'], 90_000));
      const results = await Promise.all(runners.map((r) => r.done));
      const report = results.map((r, i) => `#${i}: ${show(r)}`).join('\n');
      assert.deepEqual(results.map((r) => r.code), Array<number>(8).fill(0), `every runner exits 0:\n${report}`);
      assert.deepEqual((await changelog(db)).map((r) => [r._id, r.state]), ids.map((id) => [id, 'applied']), report);
      assert.deepEqual(await runCounts(db, ids), Object.fromEntries(ids.map((id) => [id, 1])), report);
      assert.equal(await lockDocument(db), null, 'the lock document is gone at the end');
    });
  });
});

void describe('a runner that dies or is stopped', { concurrency: 2 }, () => {
  void it('SIGKILL mid-migration: failed (interrupted) once the lease expires; up takes the lock over and refuses; repair + up finish', async () => {
    await withCliProject('sigkill', { config: lockConfig(2) }, async ({ project, db, run, start }) => {
      await project.write('001-first.ts', markerMigration('first'));
      await project.write('002-slow.ts', SLOW);
      await project.write('003-after.ts', markerMigration('after'));
      const { child, done } = start(['up'], HOLDER_TIMEOUT_MS);
      await waitUntilRunning(db, '002-slow', done);
      child.kill('SIGKILL');
      const killed = await done;
      assert.equal(killed.signal, 'SIGKILL', show(killed));
      const dead = await record(db, '002-slow');
      assert.equal(dead?.state, 'running', 'a killed runner could not record anything');

      // the killed runner could not release its lock: wait until its lease has run out
      const stale = await lockDocument(db);
      assert.ok(stale !== null, 'the killed runner left its lock behind');
      assert.equal(stale.pid, child.pid);
      assert.ok(stale.expiresAt.getTime() - Date.now() <= 2000 + 500, `the lease is ttlSeconds (2 s) long: ${stale.expiresAt.toISOString()}`);
      await waitUntilLeaseExpired(db, stale, 2);
      // the runners from here on hold an ordinary lease: a 2 s one is rightly lost by a runner
      // that a loaded machine stalls for 2 s, and only the killed runner's had to be short
      await project.writeFile('migrate.config.ts', lockConfig(30));

      const status = await run(['status']);
      exits(status, 0, 'status after the lease expired');
      assert.equal(tableState(status.stdout, '002-slow'), 'failed (interrupted)', status.stdout);
      assert.equal(tableState(status.stdout, '001-first'), 'applied');
      assert.equal(tableState(status.stdout, '003-after'), 'pending');
      const json = await run(['status', '--json']);
      exits(json, 0, 'status --json');
      const slow = (parseJson(json) as unknown as StatusDoc).migrations.find((m) => m.id === '002-slow');
      assert.equal(slow?.state, 'failed');
      assert.equal(slow.interrupted, true, JSON.stringify(slow));

      const refused = await run(['up']);
      exits(refused, 1, 'up past a migration whose runner died');
      assert.match(refused.stderr, /002-slow/);
      assert.match(refused.stderr, /--retry-failed/);
      assert.match(refused.stderr, /\brepair\b/);
      assert.doesNotMatch(refused.stderr, /lock held/, 'the expired lock was taken over, not reported as held');
      assert.equal(await lockDocument(db), null, 'the runner that took the expired lock over released it');
      assert.equal(await record(db, '003-after'), null, 'nothing after the failed migration ran');

      await project.write('002-slow.ts', markerMigration('slow, fixed'));
      const repair = await run(['repair', '--yes']);
      exits(repair, 0, 'repair --yes');
      assert.match(repair.stdout, /002-slow/);
      const up = await run(['up']);
      exits(up, 0, 'up after repair');
      assert.equal((await record(db, '002-slow'))?.state, 'applied');
      assert.equal((await record(db, '003-after'))?.state, 'applied');
      assert.deepEqual(await marks(db), ['after', 'first', 'slow, fixed']);
      exits(await run(['status', '--check']), 0, 'status --check at the end');
      assert.equal(await lockDocument(db), null);
    });
  });

  void it('while `up` holds the lock: status shows running, unlock names the holder and exits 3, unlock --force releases it', async () => {
    await withCliProject('held', { config: lockConfig(3) }, async ({ project, db, run, start }) => {
      await project.write('001-slow.ts', SLOW);
      await project.write('002-after.ts', markerMigration('after'));
      const holder = start(['up'], HOLDER_TIMEOUT_MS);
      await waitUntilRunning(db, '001-slow', holder.done);
      const pid = String(holder.child.pid);

      const status = await run(['status']);
      exits(status, 0, 'status while the lock is held');
      assert.equal(tableState(status.stdout, '001-slow'), 'running', status.stdout);
      assert.equal(tableState(status.stdout, '002-after'), 'pending');
      const statusJson = parseJson(await run(['status', '--json'])) as unknown as StatusDoc;
      assert.equal(statusJson.migrations.find((m) => m.id === '001-slow')?.state, 'running');

      // the heartbeat keeps the 3 s lease alive for as long as the migration runs: once the
      // lease as first written has run out on the server's clock, the lock is still the holder's
      // and runs beyond the server's now (both times the server's, never this machine's)
      const taken = await lockDocument(db);
      assert.ok(taken !== null);
      await waitUntilLeaseExpired(db, taken, 3);
      const renewed = await lockDocument(db);
      const serverNow = (await readHelloLocalTime(db)).getTime();
      assert.ok(renewed !== null && renewed.expiresAt.getTime() > serverNow, `the lease was renewed: ${JSON.stringify(renewed)}, the server's time ${new Date(serverNow).toISOString()}`);
      assert.equal(renewed.owner, taken.owner);

      const unlock = await run(['unlock']);
      exits(unlock, 3, 'unlock of a live lock');
      const shown = unlock.stdout + unlock.stderr;
      assert.ok(shown.includes(hostname()), `unlock shows the holder's host:\n${shown}`);
      assert.match(shown, new RegExp(`pid ${pid}\\b`), `unlock shows the holder's pid ${pid}`);
      assert.match(shown, /--force/);
      assert.notEqual(await lockDocument(db), null, 'unlock without --force left the live lock alone');

      const forced = await run(['unlock', '--force']);
      exits(forced, 0, 'unlock --force');
      assert.match(forced.stdout, new RegExp(`pid ${pid}\\b`));
      assert.equal(await lockDocument(db), null, 'unlock --force released the lock');

      // the holder notices at its next heartbeat (ttl 3 s -> every second) and stops without recording
      const result = await holder.done;
      exits(result, 3, 'the runner whose lock was force-released');
      assert.match(result.stderr, /lock/i, `the runner says it lost the lock:\n${result.stderr}`);
      assert.equal(await record(db, '002-after'), null, 'a runner without the lock starts nothing new');
      assert.equal(await lockDocument(db), null, 'the runner that lost its lock wrote no new lock');
    });
  });

  void it('SIGINT during a migration: exit 130, recorded failed and interrupted, lock released', async () => {
    await withCliProject('sigint_lock', async ({ project, db, start }) => {
      await project.write('001-slow.ts', SLOW);
      const { child, done } = start(['up'], HOLDER_TIMEOUT_MS);
      await waitUntilRunning(db, '001-slow', done);
      assert.notEqual(await lockDocument(db), null, 'the runner holds the lock');
      child.kill('SIGINT');
      const result = await done;
      exits(result, 130, 'up interrupted by SIGINT');
      const slow = await record(db, '001-slow');
      assert.equal(slow?.state, 'failed');
      assert.equal(slow.error?.interrupted, true, JSON.stringify(slow.error));
      assert.equal(await lockDocument(db), null, 'the lock was released on the way out');
      assert.deepEqual((await history(db, '001-slow')).map((h) => h.event), ['failed']);
    });
  });

  void it('--json when the lock is held: exit 3 and one JSON document with error.code LOCK_HELD; Ctrl-C while waiting exits 130', async () => {
    await withCliProject('json_held', async ({ project, db, run, start }) => {
      await project.write('001-slow.ts', SLOW);
      const holder = start(['up'], HOLDER_TIMEOUT_MS);
      try {
        await waitUntilRunning(db, '001-slow', holder.done);
        for (const args of [['up', '--json'], ['unlock', '--json']]) {
          const result = await run(args);
          exits(result, 3, args.join(' '));
          const doc = parseJson(result);
          assert.equal(doc.ok, false);
          const error = doc.error as { code: string; message: string };
          assert.equal(error.code, 'LOCK_HELD');
          assert.ok(error.message.includes(hostname()), error.message);
          assert.match(error.message, new RegExp(`pid ${String(holder.child.pid)}\\b`));
          assert.equal(result.stderr, '', `--json writes nothing to stderr:\n${result.stderr}`);
        }

        // a runner waiting for the lock stops on Ctrl-C too, without touching the holder's lock;
        // it says when it starts waiting, whatever the server's speed
        const waiter = start(['--verbose', 'up', '--lock-wait', '60']);
        let waiterErr = '';
        waiter.child.stderr?.on('data', (chunk: string) => (waiterErr += chunk));
        const deadline = Date.now() + 20_000;
        while (!waiterErr.includes('waiting up to 60 s for the lock') && waiter.child.exitCode === null && Date.now() < deadline) await sleep(50);
        assert.equal(waiter.child.exitCode, null, `the second runner waits for the lock:\n${waiterErr}`);
        waiter.child.kill('SIGINT');
        const waited = await waiter.done;
        exits(waited, 130, 'a runner interrupted while waiting for the lock');
        // it stopped waiting on the signal, not once the lock was free: the holder still runs its
        // 30 s migration and holds the lock (that the abort ends a backoff sleep within the same
        // turn of the event loop is lease.test.ts's; a stopwatch here would time process exit)
        assert.equal((await record(db, '001-slow'))?.state, 'running', 'the holder is still running');
        assert.equal((await lockDocument(db))?.pid, holder.child.pid, 'the holder still holds the lock');
      } finally {
        holder.child.kill('SIGINT');
        exits(await holder.done, 130, 'the holder, interrupted at the end');
      }
    });
  });
});
