// What a case costs in units that do not depend on the server: commands sent and BSON bytes both
// ways (the driver's command monitoring, on a client of its own: monitoring decodes every reply,
// so it is never the client whose CPU is timed), and client CPU time (process.cpuUsage).
import { BSON, MongoClient, type CommandStartedEvent, type CommandSucceededEvent, type Document } from 'mongodb';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Traffic {
  /** Commands sent (every round trip: a getMore is one, a bulkWrite chunk is one). */
  commands: number;
  /** BSON bytes of the commands as sent (OP_MSG payloads, document sequences included; framing not counted). */
  bytesSent: number;
  /** BSON bytes of the replies. */
  bytesReceived: number;
  /** Commands by name. */
  byCommand: Record<string, number>;
  /** Statements the insert, update and delete commands carried (documents written or matched one by one). */
  writeStatements: number;
}

export const emptyTraffic = (): Traffic => ({ commands: 0, bytesSent: 0, bytesReceived: 0, byCommand: {}, writeStatements: 0 });

const STATEMENT_FIELDS: Readonly<Record<string, string>> = { insert: 'documents', update: 'updates', delete: 'deletes' };

const size = (document: Document | undefined): number => (document === undefined ? 0 : BSON.calculateObjectSize(document));

/** One command as `record` saw it. */
export interface SentCommand {
  /** performance.now() when it started. */
  at: number;
  name: string;
  /** The collection it named (`find: 'users'`), or ''. */
  collection: string;
  bytesSent: number;
}

/** The traffic of some recorded commands (replies not counted). */
export function trafficOf(commands: SentCommand[]): Traffic {
  const traffic = emptyTraffic();
  for (const command of commands) {
    traffic.commands += 1;
    traffic.byCommand[command.name] = (traffic.byCommand[command.name] ?? 0) + 1;
    traffic.bytesSent += command.bytesSent;
  }
  return traffic;
}

/** A monitored client: `count(fn)` returns the traffic of everything sent while fn ran, `record(fn)` each command. */
export class TrafficMeter {
  private current: Traffic | undefined;
  private recording: SentCommand[] | undefined;

  private constructor(readonly client: MongoClient) {
    client.on('commandStarted', (event: CommandStartedEvent) => {
      const collection: unknown = event.command[event.commandName];
      this.recording?.push({ at: performance.now(), name: event.commandName, collection: typeof collection === 'string' ? collection : '', bytesSent: size(event.command) });
      const traffic = this.current;
      if (traffic === undefined) return;
      traffic.commands += 1;
      traffic.byCommand[event.commandName] = (traffic.byCommand[event.commandName] ?? 0) + 1;
      traffic.bytesSent += size(event.command);
      const field = STATEMENT_FIELDS[event.commandName];
      const statements: unknown = field === undefined ? undefined : event.command[field];
      if (Array.isArray(statements)) traffic.writeStatements += statements.length;
    });
    client.on('commandSucceeded', (event: CommandSucceededEvent) => {
      if (this.current !== undefined) this.current.bytesReceived += size(event.reply as Document | undefined);
    });
  }

  static async connect(uri: string): Promise<TrafficMeter> {
    const client = new MongoClient(uri, { monitorCommands: true });
    await client.connect();
    return new TrafficMeter(client);
  }

  async count(fn: () => Promise<unknown>): Promise<Traffic> {
    if (this.current !== undefined) throw new Error('TrafficMeter.count does not nest');
    const traffic = emptyTraffic();
    this.current = traffic;
    try {
      await fn();
    } finally {
      this.current = undefined;
    }
    return traffic;
  }

  /** Every command fn sent, in order. */
  async record(fn: () => Promise<unknown>): Promise<SentCommand[]> {
    if (this.recording !== undefined) throw new Error('TrafficMeter.record does not nest');
    const commands: SentCommand[] = [];
    this.recording = commands;
    try {
      await fn();
    } finally {
      this.recording = undefined;
    }
    return commands;
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

export interface Timed {
  ms: number;
  /** process.cpuUsage() user + system over the call, in microseconds (all of this process's threads: GC helpers too). */
  cpuMicros: number;
}

/** Wall time and client CPU of fn. */
export async function timed(fn: () => Promise<unknown>): Promise<Timed> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await fn();
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { ms, cpuMicros: used.user + used.system };
}

/**
 * This process's CPU per millisecond of wall time while it only waits (its clients' pool timers
 * and monitors, V8's housekeeping): the least of a few short sleeps, since anything else the
 * process does meanwhile (a late GC, compiling) only adds to it. A case's CPU less this rate times
 * its wall time is the CPU of its work, so a slow server's long waits do not count as client work
 * (FerretDB's ~15 ms per changed document would otherwise add ~40 µs per document).
 */
export async function idleCpuMicrosPerMs(samples = 7, ms = 250): Promise<number> {
  let least = Number.POSITIVE_INFINITY;
  for (let i = 0; i < samples; i++) {
    const cpu = process.cpuUsage();
    const started = performance.now();
    await sleep(ms);
    const used = process.cpuUsage(cpu);
    least = Math.min(least, (used.user + used.system) / (performance.now() - started));
  }
  return least;
}

/** Client CPU of a timed run that is its work: less the idle rate over its wall time, never below 0. */
export const workMicros = (run: Timed, idleMicrosPerMs: number): number => Math.max(0, run.cpuMicros - idleMicrosPerMs * run.ms);
