// The throttle's arithmetic on a fake clock: how long a helper waits after each batch for
// maxDocsPerSecond and pauseMs, and which options are refused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MongrateError } from '../../src/errors.ts';
import { Pacer, checkThrottle, type PacingClock } from '../../src/helpers/pacing.ts';

/** A clock that only moves when told to, or by the waits it is asked for. */
function fakeClock(): PacingClock & { advance(ms: number): void; waits: number[] } {
  let now = 1000;
  const waits: number[] = [];
  return {
    waits,
    nowMs: () => now,
    advance: (ms) => void (now += ms),
    sleep: (ms) => {
      waits.push(ms);
      now += ms;
      return Promise.resolve();
    },
  };
}

void describe('pacing', () => {
  void it('maxDocsPerSecond: after each batch, waits until the call is back at the rate; a slow helper never waits', async () => {
    const clock = fakeClock();
    const pacer = new Pacer({}, { maxDocsPerSecond: 100 }, clock);
    clock.advance(200); // 50 documents took 200 ms: 500 ms are due at 100/s
    await pacer.beforeNextBatch(50);
    assert.deepEqual(clock.waits, [300]);
    clock.advance(800); // the next 50 took 800 ms: at 1300 ms for 100 documents, behind the rate
    await pacer.beforeNextBatch(100);
    assert.deepEqual(clock.waits, [300], 'no wait when slower than the rate');
    clock.advance(10); // 1310 ms for 150: 1500 due
    await pacer.afterLastBatch(150);
    assert.deepEqual(clock.waits, [300, 190], 'the last batch is paced too, so calls in a row keep to the rate');
    assert.equal(pacer.waitedMs, 490);
  });

  void it('pauseMs: only between batches; with a rate too, the longer of the two waits', async () => {
    const clock = fakeClock();
    const pause = new Pacer({}, { pauseMs: 250 }, clock);
    await pause.beforeNextBatch(10);
    await pause.afterLastBatch(20);
    assert.deepEqual(clock.waits, [250], 'no pause after the last batch');

    const both = fakeClock();
    const pacer = new Pacer({}, { pauseMs: 100, maxDocsPerSecond: 10 }, both);
    await pacer.beforeNextBatch(5); // the rate asks 500 ms, the pause 100
    both.advance(1000);
    await pacer.beforeNextBatch(10); // the rate is satisfied (1500 ms for 10): the pause still applies
    assert.deepEqual(both.waits, [500, 100]);
  });

  void it('an interrupted run does not wait', async () => {
    const clock = fakeClock();
    const abort = new AbortController();
    abort.abort();
    const pacer = new Pacer({ signal: abort.signal }, { pauseMs: 5000, maxDocsPerSecond: 1 }, clock);
    await pacer.beforeNextBatch(100);
    assert.deepEqual(clock.waits, []);
  });

  void it('refuses a rate that is not > 0 and a pause that is not >= 0, naming the option', () => {
    assert.equal(checkThrottle({}, 'reshape(users)'), false);
    assert.equal(checkThrottle({ pauseMs: 0 }, 'reshape(users)'), false, 'a zero pause is no throttle');
    assert.equal(checkThrottle({ maxDocsPerSecond: 0.5 }, 'reshape(users)'), true);
    for (const [options, pattern] of [
      [{ maxDocsPerSecond: 0 }, /reshape\(users\): maxDocsPerSecond must be a number > 0, got 0/],
      [{ maxDocsPerSecond: Number.POSITIVE_INFINITY }, /maxDocsPerSecond must be a number > 0, got Infinity/],
      [{ maxDocsPerSecond: '100' as unknown as number }, /maxDocsPerSecond must be a number > 0, got 100/],
      [{ pauseMs: -1 }, /pauseMs must be a number >= 0, got -1/],
      [{ pauseMs: Number.NaN }, /pauseMs must be a number >= 0, got NaN/],
    ] as const) {
      assert.throws(() => checkThrottle(options, 'reshape(users)'), (error: unknown) => error instanceof MongrateError && error.code === 'USAGE' && pattern.test(error.message));
    }
  });
});
