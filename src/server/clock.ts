/**
 * The server's clock, as this process can know it: lease expiry is judged on it, never on this
 * machine's wall clock, which may be minutes off (CI runners, containers after a host suspend).
 *
 * Mechanism: a measured offset, not server-stamped dates. `hello` answers with the server's
 * `localTime`; sent and answered at known local instants, one reply pins the server's time to
 * within half the round trip. The best of a few samples is kept, anchored to a local steady clock
 * (below), so later readings cost nothing and a wall-clock jump on this machine changes nothing.
 * Why not let the server stamp the lock with `$currentDate`? An expiry needs "server time + ttl",
 * which only a pipeline update (`$add` of `$$NOW`) can write, and FerretDB has none; the one write
 * that is atomic everywhere, an insert under a unique `_id` (see core/lease.ts), cannot take a
 * server-side value at all; and a reader deciding "expired?" would still need the server's time.
 * So every lock date is stamped by its writer from this estimate, and every decision uses its
 * bounds: another runner's lease counts as expired only when `earliestMs()` is past its
 * `expiresAt`; a holder stops writing before `latestMs()` could reach its own.
 *
 * Exported so changelog and history dates can be stamped with server time too (`now()`).
 */
import { uptime } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Long, type Db, type Document } from 'mongodb';
import { isUnsupportedCommand } from '../driver/errors.ts';
import { MongrateError, messageOf } from '../errors.ts';

/** Local time sources, in milliseconds; tests pass their own. */
export interface LocalTimeSources {
  /** Never jumps with the wall clock (performance.now()); on Linux it stops while the machine sleeps. */
  monotonicMs(): number;
  /** Time since boot, counting sleep (os.uptime(): 10 ms steps on Linux). */
  sinceBootMs(): number;
}

export const SYSTEM_TIME_SOURCES: LocalTimeSources = {
  monotonicMs: () => performance.now(),
  sinceBootMs: () => uptime() * 1000,
};

/** How far the since-boot clock may lag or lead the monotonic one without a suspend: its step, twice. */
const BOOT_CLOCK_TOLERANCE_MS = 20;
/**
 * How fast this machine's clock and the server's may drift apart: 500 ppm, NTP's own bound for an
 * undisciplined clock (real ones are within 50-100 ppm). Added to the uncertainty as a sample ages.
 */
const DRIFT_PER_MS = 500e-6;
/** The server's `localTime` has whole milliseconds: truncated or rounded, it is within 1 ms. */
const SERVER_RESOLUTION_MS = 1;

/**
 * A local clock that a wall-clock change never moves and that still counts the time this machine
 * spent suspended: monotonic time, plus any lead the since-boot clock gained over it (a lease
 * must run out during a laptop's sleep, not an hour after it wakes). Coarse since-boot clocks
 * (whole seconds on macOS) can only make it run ahead, which shortens a holder's deadlines.
 */
export class SteadyClock {
  private readonly monotonicAnchor: number;
  private readonly bootAnchor: number;
  private suspendedMs = 0;

  constructor(private readonly sources: LocalTimeSources = SYSTEM_TIME_SOURCES) {
    this.monotonicAnchor = sources.monotonicMs();
    this.bootAnchor = sources.sinceBootMs();
  }

  /** Monotonic milliseconds since this clock was made, not counting suspends. */
  monotonicMs(): number {
    return this.sources.monotonicMs() - this.monotonicAnchor;
  }

  /** Milliseconds since this clock was made, counting suspends; never goes back. */
  nowMs(): number {
    const monotonic = this.monotonicMs();
    const sinceBoot = this.sources.sinceBootMs() - this.bootAnchor;
    this.suspendedMs = Math.max(this.suspendedMs, sinceBoot - monotonic - BOOT_CLOCK_TOLERANCE_MS);
    return monotonic + this.suspendedMs;
  }
}

/** One `hello`: the server's time, and the local steady/monotonic instants around it. */
interface Sample {
  serverMs: number;
  roundTripMs: number;
  /** Steady and monotonic time halfway between sending and the reply. */
  steadyMidMs: number;
  monotonicMidMs: number;
}

/**
 * A reading of the server's time taken before the clock was made (the connection's `hello`, see
 * greeting.ts), with the instants around it (on SYSTEM_TIME_SOURCES, or the clock's `sources`).
 */
export interface TimedReading {
  serverTime: Date;
  sentMonotonicMs: number;
  receivedMonotonicMs: number;
  sentSinceBootMs: number;
}

export interface MeasureOptions {
  /**
   * Samples to keep the best of (the one with the shortest round trip); `earlier` counts as one,
   * and at least one `hello` is sent. Default 2: every bound is computed from the sample kept, so
   * more samples only narrow it (by a part of a round trip, against a ttl/10 limit), while each
   * costs a round trip on every command; a lease that finds the clock too uncertain resamples.
   */
  samples?: number;
  sources?: LocalTimeSources;
  /** A reading already taken, its instants on `sources` (the connection's hello: see greeting.ts). */
  earlier?: TimedReading | undefined;
}

export class ServerClock {
  private sample: Sample;

  private constructor(
    private readonly readServerTime: () => Promise<Date>,
    private readonly steady: SteadyClock,
    sample: Sample,
  ) {
    this.sample = sample;
  }

  /** Measures the clock of whatever `readServerTime` asks (a server's `hello.localTime`). */
  static async measure(readServerTime: () => Promise<Date>, options: MeasureOptions = {}): Promise<ServerClock> {
    const steady = new SteadyClock(options.sources);
    const samples = options.samples ?? 2;
    const earlier = options.earlier === undefined ? undefined : sampleOf(options.earlier, steady, options.sources ?? SYSTEM_TIME_SOURCES);
    const fresh = await takeBestSample(readServerTime, steady, earlier === undefined ? samples : samples - 1);
    const clock = new ServerClock(readServerTime, steady, fresh);
    // the earlier reading is kept where it is the more certain now (a shorter round trip, not outweighed by its age)
    if (earlier !== undefined && clock.bound(steady.nowMs() - earlier.steadyMidMs, earlier) < clock.bound(steady.nowMs() - fresh.steadyMidMs)) clock.sample = earlier;
    return clock;
  }

  /** Local steady milliseconds (see SteadyClock): what deadlines are measured on. */
  steadyNowMs(): number {
    return this.steady.nowMs();
  }

  /** The best estimate of the server's time at the local steady instant `steadyMs`. */
  serverMsAt(steadyMs: number): number {
    return this.sample.serverMs + (steadyMs - this.sample.steadyMidMs);
  }

  /** The best estimate of the server's time now, for stamping dates. */
  nowMs(): number {
    return this.serverMsAt(this.steady.nowMs());
  }

  now(): Date {
    return new Date(this.nowMs());
  }

  /**
   * The server's time is at least this. Counted on the monotonic clock alone: time this machine
   * spent suspended is not assumed to have passed, so "expired" is never decided early.
   */
  earliestMs(): number {
    const elapsed = this.steady.monotonicMs() - this.sample.monotonicMidMs;
    return this.sample.serverMs + elapsed - this.bound(elapsed);
  }

  /** The server's time is at most this. */
  latestMs(): number {
    const steadyNow = this.steady.nowMs();
    return this.serverMsAt(steadyNow) + this.bound(steadyNow - this.sample.steadyMidMs) + BOOT_CLOCK_TOLERANCE_MS;
  }

  /**
   * How far the server's time may be from `nowMs()` at most, `withinMs` from now (the sample's
   * half round trip, the server's resolution, drift as the sample ages, the suspend detector's slack).
   */
  uncertaintyMs(withinMs = 0): number {
    return this.bound(this.steady.nowMs() - this.sample.steadyMidMs + withinMs) + BOOT_CLOCK_TOLERANCE_MS;
  }

  /** The round trip of the sample in use. */
  roundTripMs(): number {
    return this.sample.roundTripMs;
  }

  /** How long ago the sample in use was taken. */
  ageMs(): number {
    return this.steady.nowMs() - this.sample.steadyMidMs;
  }

  /** Takes new samples; keeps whichever is more certain now, the old one or the best new one. */
  async resample(samples = 2): Promise<this> {
    const fresh = await takeBestSample(this.readServerTime, this.steady, samples);
    const now = this.steady.nowMs();
    if (this.bound(now - fresh.steadyMidMs, fresh) < this.bound(now - this.sample.steadyMidMs)) this.sample = fresh;
    return this;
  }

  /** Resamples when the sample in use is older than `maxAgeMs`. */
  async refreshIfOlderThan(maxAgeMs: number): Promise<this> {
    return this.ageMs() > maxAgeMs ? this.resample() : this;
  }

  /** How far the server's time may be from the sample's estimate, `ageMs` after the sample. */
  private bound(ageMs: number, sample = this.sample): number {
    return sample.roundTripMs / 2 + SERVER_RESOLUTION_MS + Math.max(0, ageMs) * DRIFT_PER_MS;
  }
}

/**
 * A reading taken before `steady` was made, as a sample on it; undefined when this machine may
 * have been suspended since it was sent (its since-boot clock ran ahead of the monotonic one):
 * its round trip and its instant on the steady clock would both be wrong.
 */
function sampleOf(reading: TimedReading, steady: SteadyClock, sources: LocalTimeSources): Sample | undefined {
  const monotonicNow = sources.monotonicMs();
  const monotonicSince = monotonicNow - reading.sentMonotonicMs;
  const sinceBootSince = sources.sinceBootMs() - reading.sentSinceBootMs;
  if (sinceBootSince - monotonicSince > BOOT_CLOCK_TOLERANCE_MS) return undefined;
  // the steady clock's instants are monotonic milliseconds since it was made
  const anchor = monotonicNow - steady.monotonicMs();
  const midMs = (reading.sentMonotonicMs + reading.receivedMonotonicMs) / 2 - anchor;
  return { serverMs: reading.serverTime.getTime(), roundTripMs: reading.receivedMonotonicMs - reading.sentMonotonicMs, steadyMidMs: midMs, monotonicMidMs: midMs };
}

async function takeBestSample(readServerTime: () => Promise<Date>, steady: SteadyClock, count: number): Promise<Sample> {
  let best: Sample | undefined;
  for (let i = 0; i < Math.max(1, count); i++) {
    const steadySent = steady.nowMs();
    const monotonicSent = steady.monotonicMs();
    const server = await readServerTime();
    const steadyReceived = steady.nowMs();
    const monotonicReceived = steady.monotonicMs();
    const roundTripMs = steadyReceived - steadySent;
    if (best === undefined || roundTripMs < best.roundTripMs) {
      best = {
        serverMs: server.getTime(),
        roundTripMs,
        steadyMidMs: (steadySent + steadyReceived) / 2,
        monotonicMidMs: (monotonicSent + monotonicReceived) / 2,
      };
    }
  }
  // count >= 1, so the loop ran
  return best as Sample;
}

/** `hello`, or `isMaster` where the server refuses `hello` (older than MongoDB 4.4.2, Azure Cosmos DB RU). */
export async function helloOrIsMaster(db: Db): Promise<Document> {
  return db.command({ hello: 1 }).catch((error: unknown) => {
    if (isUnsupportedCommand(error)) return db.command({ isMaster: 1 });
    throw error;
  });
}

/**
 * The `localTime` of a `hello` reply (of `isMaster` where the server refuses `hello`, as Azure
 * Cosmos DB RU does); a server without one cannot hold a lease judged on its clock.
 */
export async function readHelloLocalTime(db: Db): Promise<Date> {
  let reply: { localTime?: unknown };
  try {
    reply = await helloOrIsMaster(db);
  } catch (error) {
    throw new MongrateError('SERVER_PROBE_FAILED', `could not read the server's clock (hello): ${messageOf(error)}`, { cause: error });
  }
  const localTime = localTimeOf(reply.localTime);
  if (localTime === undefined) {
    throw new MongrateError(
      'SERVER_PROBE_FAILED',
      "the server's hello reply has no localTime, so the lock's lease cannot be judged on the server's clock",
    );
  }
  return localTime;
}

/**
 * MongoDB answers `localTime` as a date; DocumentDB's gateway (pg_documentdb) as an Int64 of
 * milliseconds since the epoch, which the driver hands over as a number (a bigint or a Long with
 * other BSON options). Each is the same instant.
 */
export function localTimeOf(value: unknown): Date | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value;
  const ms =
    typeof value === 'number' ? value
    : typeof value === 'bigint' ? Number(value)
    : value instanceof Long ? value.toNumber()
    : undefined;
  return ms === undefined || !Number.isFinite(ms) ? undefined : new Date(ms);
}

/** The clock of the server behind `db` (`earlier`: the connection's own reading, see greeting.ts). */
export function measureServerClock(db: Db, options: MeasureOptions = {}): Promise<ServerClock> {
  return ServerClock.measure(() => readHelloLocalTime(db), options);
}
