// Runners whose clocks are minutes off, for real: the built CLI spawned under libfaketime with
// its wall clock 5 minutes ahead or behind. The lease is judged on the server's clock, so such a
// runner never takes over, or unlocks, a live lease, and still takes over one that really expired.
import assert from 'node:assert/strict';
import { before, describe, it, type TestContext } from 'node:test';
import { readHelloLocalTime } from '../../src/server/clock.ts';
import { changelog, type CliEnv, parseJson, withCliProject } from '../support/cli.ts';
import { assertSkewedClock, ensureLibfaketime, skewedClockEnv } from '../support/faketime.ts';
import { counterMigration, exits, lockConfig, lockDocument, runCounts, show, waitUntilRunning } from '../support/lock-cli.ts';

/** A clock offset for libfaketime, or `null` for this machine's own clock. */
type Skew = { offset: string; ms: number } | null;
const AHEAD: Skew = { offset: '+5m', ms: 300_000 };
const BEHIND: Skew = { offset: '-5m', ms: -300_000 };
const describeSkew = (skew: Skew): string => (skew === null ? 'with the right time' : `with its clock ${skew.offset.replace('m', ' min')}`);

const TTL_SECONDS = 2;

/**
 * Counts its run, then holds the lock (renewing) until the test inserts `control.go`. Outside a
 * transaction: the test's `go` must reach it, and the lease is what is under test.
 */
const HOLD = `export const transaction = false;
export async function up({ db, signal }) {
  await db.collection('counter').updateOne({ _id: 'counter' }, { $inc: { '001-hold': 1 } }, { upsert: true });
  const giveUp = performance.now() + 120000;
  while ((await db.collection('control').findOne({ _id: 'go' })) === null) {
    if (signal.aborted) throw new Error('stopped at a safe point');
    if (performance.now() > giveUp) throw new Error('the test never said go');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
export async function down() {}
`;

/** Loops until killed (the test SIGKILLs the runner inside it); no transaction holds the lock document then. */
const UNTIL_KILLED = `export const transaction = false;
export async function up({ signal }) {
  while (!signal.aborted) await new Promise((resolve) => setTimeout(resolve, 50));
}
export async function down() {}
`;

interface StatusDoc {
  migrations: { id: string; state: string }[];
}

let library: string | undefined;
let missing = '';

/** The environment of a runner with `skew` (libfaketime's preload for a skewed one). */
function envFor(skew: Skew): CliEnv {
  if (skew === null) return {};
  assert.ok(library !== undefined);
  return skewedClockEnv(library, skew.offset);
}

function skipWithoutFaketime(t: TestContext): boolean {
  if (library !== undefined) return false;
  t.skip(`needs libfaketime to skew a runner's clock: ${missing}`);
  return true;
}

/** A runner (clock `holderSkew`) holds the lock inside a long migration while each challenger tries everything. */
async function liveLeaseIsKept(label: string, holderSkew: Skew, challengers: Skew[]): Promise<void> {
  await withCliProject(label, { config: lockConfig(TTL_SECONDS) }, async ({ project, db, run, start }) => {
    await project.write('001-hold.js', HOLD);
    await project.write('002-after.js', counterMigration('002-after'));
    const holder = start(['up'], 120_000, envFor(holderSkew));
    await waitUntilRunning(db, '001-hold', holder.done);
    const held = await lockDocument(db);
    assert.ok(held !== null);
    const holderPid = new RegExp(`pid ${String(holder.child.pid)}\\b`);
    const stillHeld = async (what: string): Promise<void> => assert.equal((await lockDocument(db))?.owner, held.owner, `${what}: the holder keeps the lock`);

    for (const skew of challengers) {
      const who = `a runner ${describeSkew(skew)} (holder ${describeSkew(holderSkew)})`;
      const env = envFor(skew);
      const unlock = await run(['unlock'], env);
      exits(unlock, 3, `unlock by ${who}`);
      assert.match(unlock.stderr, holderPid, `unlock names the holder:\n${show(unlock)}`);
      await stillHeld(`unlock by ${who}`);

      const status = await run(['status', '--json'], env);
      exits(status, 0, `status by ${who}`);
      const hold = (parseJson(status) as unknown as StatusDoc).migrations.find((m) => m.id === '001-hold');
      assert.equal(hold?.state, 'running', `status by ${who} sees the live holder's migration running:\n${status.stdout}`);

      // waiting longer than the ttl: the lease is renewed all along, so it never looks expired
      const up = await run(['up', '--lock-wait', String(TTL_SECONDS + 1)], env);
      exits(up, 3, `up --lock-wait by ${who}`);
      assert.match(up.stderr, /lock held by /, show(up));
      assert.match(up.stderr, holderPid, show(up));
      await stillHeld(`up by ${who}`);
    }

    await db.collection<{ _id: string }>('control').insertOne({ _id: 'go' });
    const result = await holder.done;
    exits(result, 0, `the holder ${describeSkew(holderSkew)}`);
    assert.deepEqual(await runCounts(db, ['001-hold', '002-after']), { '001-hold': 1, '002-after': 1 }, 'each migration ran exactly once');
    const records = await changelog(db);
    assert.deepEqual(records.map((r) => [r._id, r.state, r.runId]), [['001-hold', 'applied', held.owner], ['002-after', 'applied', held.owner]]);
    assert.equal(await lockDocument(db), null, 'the holder released the lock');
  });
}

/** A runner (clock `holderSkew`) is SIGKILLed holding the lock; one with `takerSkew` takes the expired lease over. */
async function expiredLeaseIsTakenOver(label: string, holderSkew: Skew, takerSkew: Skew): Promise<void> {
  await withCliProject(label, { config: lockConfig(TTL_SECONDS) }, async ({ project, db, run, start }) => {
    const ids = ['001-killed', '002-two', '003-three'];
    await project.write('001-killed.js', UNTIL_KILLED);
    const holder = start(['up'], 60_000, envFor(holderSkew));
    await waitUntilRunning(db, '001-killed', holder.done);
    holder.child.kill('SIGKILL');
    await holder.done;
    assert.notEqual(await lockDocument(db), null, 'the killed runner left its lock behind');
    for (const id of ids) await project.write(`${id}.js`, counterMigration(id));
    // the taker holds an ordinary lease: a 2 s one is rightly lost by a runner that a loaded
    // machine stalls for 2 s, and only the killed runner's lease had to expire soon
    await project.writeFile('migrate.config.ts', lockConfig(30));

    const taker = await run(['up', '--retry-failed', '--lock-wait', '60'], envFor(takerSkew));
    const who = `a runner ${describeSkew(takerSkew)} after a runner ${describeSkew(holderSkew)} died`;
    // took the lease over once it expired on the server clock, proven by the exit rather than a
    // stopwatch (which would time a loaded server running the migrations): a lease judged on a
    // clock 5 minutes behind would still look live after the 60 s --lock-wait (measured on the
    // steady clock, which the skew leaves alone), and the runner would give up with exit 3
    exits(taker, 0, who);
    assert.deepEqual(await runCounts(db, ids), Object.fromEntries(ids.map((id) => [id, 1])), `each migration ran exactly once:\n${show(taker)}`);
    assert.deepEqual((await changelog(db)).map((r) => r.state), ['applied', 'applied', 'applied']);
    assert.equal(await lockDocument(db), null);
  });
}

void describe('runners whose clocks are 5 minutes off (libfaketime)', { concurrency: 1 }, () => {
  before(async () => {
    const found = await ensureLibfaketime();
    if ('missing' in found) {
      missing = found.missing;
      return;
    }
    library = found.library;
    // fail, not skip, when the preload is there but does not shift a spawned node's clock
    await assertSkewedClock(skewedClockEnv(library, '+5m'), 300_000);
    await assertSkewedClock(skewedClockEnv(library, '-5m'), -300_000);
  });

  void it('an unlock, a status and an up 5 min ahead or behind never take a live lease; each migration runs once', async (t) => {
    if (skipWithoutFaketime(t)) return;
    await liveLeaseIsKept('skew_live', null, [AHEAD, BEHIND]);
  });

  void it('a holder 5 min behind keeps its live lease against runners with the right time and 5 min ahead', async (t) => {
    if (skipWithoutFaketime(t)) return;
    await liveLeaseIsKept('skew_live_behind', BEHIND, [null, AHEAD]);
  });

  void it('the lock a runner 5 min ahead writes is dated in server time', async (t) => {
    if (skipWithoutFaketime(t)) return;
    await withCliProject('skew_dates', { config: lockConfig(TTL_SECONDS) }, async ({ project, db, start }) => {
      await project.write('001-hold.js', HOLD);
      const holder = start(['up'], 60_000, envFor(AHEAD));
      await waitUntilRunning(db, '001-hold', holder.done);
      const lock = await lockDocument(db);
      const serverNow = (await readHelloLocalTime(db)).getTime();
      assert.ok(lock !== null);
      const [acquired, expires] = [lock.acquiredAt.getTime() - serverNow, lock.expiresAt.getTime() - serverNow];
      assert.ok(acquired <= 1000 && acquired > -30_000, `acquiredAt is a moment ago in server time, not 5 min ahead: ${acquired} ms`);
      assert.ok(expires > 0 && expires <= TTL_SECONDS * 1000 + 1000, `expiresAt is within a ttl of server time: ${expires} ms`);
      await db.collection<{ _id: string }>('control').insertOne({ _id: 'go' });
      exits(await holder.done, 0, 'the holder 5 min ahead');
    });
  });

  void it('a lease that really expired (SIGKILLed holder) is taken over by a runner 5 min behind, within seconds', async (t) => {
    if (skipWithoutFaketime(t)) return;
    await expiredLeaseIsTakenOver('skew_takeover', null, BEHIND);
  });

  void it('the expired lease of a SIGKILLed runner 5 min ahead is taken over by one 5 min behind, within seconds', async (t) => {
    if (skipWithoutFaketime(t)) return;
    await expiredLeaseIsTakenOver('skew_takeover_apart', AHEAD, BEHIND);
  });

});
