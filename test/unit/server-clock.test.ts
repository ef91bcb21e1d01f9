// Unit tests of the server clock estimate, on a simulated machine and server: which sample is
// kept, that the bounds always hold the server's true time, that this machine's wall clock is
// never read, and that a suspend or an old sample only ever widens the bounds the safe way.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Long } from 'mongodb';
import { ServerClock, localTimeOf, type LocalTimeSources, type TimedReading } from '../../src/server/clock.ts';

/** A machine whose clocks the test moves, and a server whose clock runs from the same real time. */
class SimulatedMachine {
  /** Real time that passes, whatever this machine's clocks do. */
  private realMs = 0;
  private monotonicMs = 5_000;
  private bootMs = 90_000;
  /** The server's clock = real time + this. */
  private readonly serverOffsetMs = 1_700_000_000_000;

  readonly sources: LocalTimeSources = {
    monotonicMs: () => this.monotonicMs,
    // os.uptime() on Linux: 10 ms steps
    sinceBootMs: () => Math.floor(this.bootMs / 10) * 10,
  };

  advance(ms: number): void {
    this.realMs += ms;
    this.monotonicMs += ms;
    this.bootMs += ms;
  }

  /** Real time passes, the monotonic clock stands still (Linux CLOCK_MONOTONIC during sleep). */
  suspend(ms: number): void {
    this.realMs += ms;
    this.bootMs += ms;
  }

  serverTrueMs(): number {
    return this.realMs + this.serverOffsetMs;
  }

  /** A `hello` whose request takes `there` ms to arrive and whose reply takes `back` ms. */
  hello(trips: [there: number, back: number][]): () => Promise<Date> {
    let call = 0;
    return () => {
      const [there, back] = trips[Math.min(call++, trips.length - 1)] ?? [1, 1];
      this.advance(there);
      const stamped = new Date(Math.floor(this.serverTrueMs()));
      this.advance(back);
      return Promise.resolve(stamped);
    };
  }
}

function assertBoundsHold(clock: ServerClock, machine: SimulatedMachine, what: string): void {
  const truth = machine.serverTrueMs();
  assert.ok(clock.earliestMs() <= truth, `${what}: earliest ${clock.earliestMs()} <= true ${truth}`);
  assert.ok(clock.latestMs() >= truth, `${what}: latest ${clock.latestMs()} >= true ${truth}`);
  assert.ok(Math.abs(clock.nowMs() - truth) <= clock.uncertaintyMs(), `${what}: estimate within its uncertainty`);
}

void describe('ServerClock', () => {
  void it('keeps the sample with the shortest round trip, and its bounds hold the true time', async () => {
    const machine = new SimulatedMachine();
    // asymmetric trips: the estimate is off by up to half the round trip, never more
    const clock = await ServerClock.measure(machine.hello([[40, 2], [1, 30], [3, 1], [20, 20]]), { samples: 4, sources: machine.sources });
    assert.equal(clock.roundTripMs(), 4);
    assert.ok(clock.uncertaintyMs() >= 2 + 1, `half the round trip plus the server's millisecond: ${clock.uncertaintyMs()}`);
    assert.ok(clock.uncertaintyMs() < 30, `small for a fast round trip: ${clock.uncertaintyMs()}`);
    assertBoundsHold(clock, machine, 'right after measuring');
    machine.advance(5_000);
    assertBoundsHold(clock, machine, 'after 5 s');
    assert.equal(clock.now().getTime(), clock.nowMs());
  });

  void it("never reads this machine's wall clock: a jump of Date.now() changes nothing", async () => {
    const machine = new SimulatedMachine();
    const realNow = Date.now;
    try {
      Date.now = () => {
        throw new Error('the wall clock was read');
      };
      const clock = await ServerClock.measure(machine.hello([[2, 2]]), { samples: 3, sources: machine.sources });
      machine.advance(1_000);
      const before = clock.nowMs();
      assertBoundsHold(clock, machine, 'with Date.now() unusable');
      assert.equal(clock.nowMs(), before, 'time stands still when the machine does');
    } finally {
      Date.now = realNow;
    }
  });

  void it('counts time the machine spent suspended: latest and now move on, earliest never runs ahead', async () => {
    const machine = new SimulatedMachine();
    const clock = await ServerClock.measure(machine.hello([[1, 1]]), { samples: 2, sources: machine.sources });
    const steadyBefore = clock.steadyNowMs();
    machine.suspend(60_000);
    machine.advance(10);
    assert.ok(clock.steadyNowMs() - steadyBefore >= 60_000 - 30, `the steady clock counted the sleep: ${clock.steadyNowMs() - steadyBefore}`);
    assertBoundsHold(clock, machine, 'after a 60 s suspend');
    assert.ok(clock.nowMs() >= machine.serverTrueMs() - 50, 'the estimate caught up with the sleep');
    // a monotonic-only clock would be a minute behind here: a holder would keep writing for a minute too long
    assert.ok(clock.latestMs() >= machine.serverTrueMs());
  });

  void it('widens its bounds as the sample ages (drift), and resample() keeps the more certain sample', async () => {
    const machine = new SimulatedMachine();
    const clock = await ServerClock.measure(machine.hello([[1, 1]]), { samples: 1, sources: machine.sources });
    const fresh = clock.uncertaintyMs();
    assert.ok(clock.uncertaintyMs(120_000) > fresh, 'the bound a ttl from now is wider');
    machine.advance(3_600_000);
    assert.ok(clock.uncertaintyMs() >= fresh + 1_700, `an hour-old sample allows 500 ppm of drift: ${clock.uncertaintyMs()}`);
    assertBoundsHold(clock, machine, 'an hour later');
    assert.ok(clock.ageMs() >= 3_600_000);

    // a slow new sample does not replace a fast one that is still more certain
    const recent = await ServerClock.measure(machine.hello([[1, 1], [200, 200]]), { samples: 1, sources: machine.sources });
    await recent.resample(1);
    assert.equal(recent.roundTripMs(), 2, 'the fast sample stays');
    // an old sample is replaced by a fresh one even with a longer round trip
    await clock.resample(1);
    assert.ok(clock.ageMs() < 1_000, 'the hour-old sample was replaced');
    assertBoundsHold(clock, machine, 'after resampling');
    assert.equal(await clock.refreshIfOlderThan(60_000), clock);
  });

  void it("takes the connection's earlier reading as a sample: one hello more, the more certain kept, none after a suspend", async () => {
    const machine = new SimulatedMachine();
    const reading = async (there: number, back: number): Promise<TimedReading> => {
      const sentMonotonicMs = machine.sources.monotonicMs();
      const sentSinceBootMs = machine.sources.sinceBootMs();
      const serverTime = await machine.hello([[there, back]])();
      return { serverTime, sentMonotonicMs, receivedMonotonicMs: machine.sources.monotonicMs(), sentSinceBootMs };
    };
    let hellos = 0;
    const counted = (trips: [number, number][]): (() => Promise<Date>) => {
      const hello = machine.hello(trips);
      return () => {
        hellos++;
        return hello();
      };
    };
    // a fast earlier reading beats a slow fresh one, and its bounds still hold
    const fast = await reading(1, 1);
    machine.advance(50);
    const keptEarlier = await ServerClock.measure(counted([[15, 15]]), { samples: 2, sources: machine.sources, earlier: fast });
    assert.equal(hellos, 1, 'the earlier reading counts as one of the 2 samples');
    assert.equal(keptEarlier.roundTripMs(), 2);
    assertBoundsHold(keptEarlier, machine, 'kept the earlier reading');
    machine.advance(2_000);
    assertBoundsHold(keptEarlier, machine, 'kept the earlier reading, 2 s on');
    // a slow earlier reading (a new connection's first command) loses to the fresh one
    const slow = await reading(40, 40);
    const keptFresh = await ServerClock.measure(counted([[2, 2]]), { samples: 2, sources: machine.sources, earlier: slow });
    assert.equal(keptFresh.roundTripMs(), 4);
    assertBoundsHold(keptFresh, machine, 'kept the fresh sample');
    // after a suspend since the reading, its instant on the steady clock is unknown: dropped
    const beforeSleep = await reading(1, 1);
    machine.suspend(30_000);
    hellos = 0;
    const afterSleep = await ServerClock.measure(counted([[5, 5]]), { samples: 2, sources: machine.sources, earlier: beforeSleep });
    assert.equal(hellos, 2, 'both samples taken fresh');
    assert.equal(afterSleep.roundTripMs(), 10, 'the reading from before the suspend was not used');
    assertBoundsHold(afterSleep, machine, 'after a suspend');
  });
});

void describe("hello's localTime", () => {
  void it('is read as a date from MongoDB, and as milliseconds from DocumentDB (number, bigint or Long): the same instant', () => {
    const instant = new Date('2026-12-07T14:22:03.417Z');
    for (const value of [instant, instant.getTime(), BigInt(instant.getTime()), Long.fromNumber(instant.getTime())]) {
      assert.equal(localTimeOf(value)?.toISOString(), instant.toISOString(), `${typeof value}: ${String(value)}`);
    }
    for (const value of [undefined, null, 'yesterday', Number.NaN, new Date(Number.NaN)]) assert.equal(localTimeOf(value), undefined, String(value));
  });
});
