/**
 * What a test drives: a started scripted replica set, its addresses, its record of commands, the
 * scripts that steer its replies, what it says about itself, and replication and elections on
 * demand. The commands themselves are the Server's business.
 */
import type { Document } from 'mongodb';
import type { AuthInfo } from './admin.ts';
import type { Member } from './members.ts';
import { commandMatches, type CommandMatch, type MemberInfo, type RecordedCommand, type ScriptAction, type ScriptMatch } from './scripts.ts';
import { Server, type ServerOptions } from './server.ts';

export type ScriptedReplicaSetOptions = ServerOptions;

/** A member by address, by index in `members`, as a MemberInfo, or the current 'primary' / first 'secondary'. */
export type MemberRef = string | number | MemberInfo;

export interface ElectionOptions {
  /** How long the set has no primary (default 0). */
  unavailableMs?: number;
  newPrimary?: MemberRef;
  /** The new primary keeps only what it had applied: writes after that are lost on every member. */
  rollbackUnreplicated?: boolean;
}

export class ScriptedReplicaSet {
  private constructor(private readonly server: Server) {}

  static async start(options: ScriptedReplicaSetOptions = {}): Promise<ScriptedReplicaSet> {
    const server = new Server(options);
    await server.listen();
    return new ScriptedReplicaSet(server);
  }

  /** Every command received, in arrival order. */
  get commands(): RecordedCommand[] {
    return this.server.commands;
  }

  /** Operations `$currentOp` lists besides those in progress; killOp removes them (by `opid`). */
  get currentOps(): Document[] {
    return this.server.currentOps;
  }

  set currentOps(operations: Document[]) {
    this.server.currentOps = operations;
  }

  /** The opids killOp was sent for, in order. */
  get killedOps(): readonly number[] {
    return this.server.killedOps;
  }

  /** `mongodb://<every member>/?replicaSet=<name>` (standalone and mongos: the one address). */
  get uri(): string {
    const hosts = this.server.members.map((m) => m.address).join(',');
    return this.server.flavour === 'replicaSet' ? `mongodb://${hosts}/?replicaSet=${this.server.setName}` : `mongodb://${hosts}/`;
  }

  /** A connection to one member only (`directConnection=true`). */
  directUri(member: MemberRef): string {
    return `mongodb://${this.member(member).address}/?directConnection=true`;
  }

  get members(): MemberInfo[] {
    return this.server.members.map((m) => m.info);
  }

  get primary(): MemberInfo | undefined {
    return this.server.members.find((m) => m.role === 'primary')?.info;
  }

  get transactionLifetimeLimitSeconds(): number {
    return this.server.sessions.lifetimeLimitSeconds;
  }

  set transactionLifetimeLimitSeconds(seconds: number) {
    this.server.sessions.lifetimeLimitSeconds = seconds;
  }

  private member(ref: MemberRef): Member {
    const found =
      typeof ref === 'number'
        ? this.server.members[ref]
        : typeof ref === 'object'
          ? this.server.members.find((m) => m.address === ref.address)
          : ref === 'primary' || ref === 'secondary'
            ? this.server.members.find((m) => m.role === ref)
            : this.server.members.find((m) => m.address === ref);
    if (found === undefined) throw new Error(`scripted replica set: no member ${JSON.stringify(ref)}`);
    return found;
  }

  /** The recorded commands `match` selects; the driver's upkeep (hello, ping, endSessions...) only when named or with `upkeep`. */
  recorded(match: CommandMatch = {}, { upkeep = false } = {}): RecordedCommand[] {
    return this.server.commands.filter((c) => commandMatches(match, c, upkeep));
  }

  /** Resolves when the next command `match` selects arrives (before any script acts on it). */
  nextCommand(match: CommandMatch): Promise<RecordedCommand> {
    return new Promise((resolve) => this.server.arrivals.push({ match, resolve }));
  }

  clearCommands(): void {
    this.server.commands.length = 0;
  }

  /** Scripts the next commands `match` selects (see ScriptAction); scripts are tried in the order added. */
  script(match: ScriptMatch, action: ScriptAction): void {
    this.server.scripts.add(match, action);
  }

  clearScripts(): void {
    this.server.scripts.clear();
  }

  /** Lets every command held by a `hang` script go on (handled normally). */
  release(): void {
    this.server.release();
  }

  /** Changes what `member` (or every member) says in hello; undefined removes a field. Streaming monitors hear it at once. */
  setHello(member: MemberRef | undefined, fields: Document): void {
    if (member === undefined) this.server.helloFields = { ...this.server.helloFields, ...fields };
    else this.member(member).helloFields = { ...this.member(member).helloFields, ...fields };
    for (const m of this.server.members) m.topologyChanged();
  }

  setBuildInfo(fields: Document): void {
    this.server.buildInfoFields = { ...this.server.buildInfoFields, ...fields };
  }

  /** What connectionStatus reports: the authenticated users, their roles and (with showPrivileges) privileges. */
  setConnectionStatus(auth: AuthInfo): void {
    this.server.auth = auth;
  }

  /**
   * `member` applies each write `ms` after the primary made it (0: at once). Writes with the
   * default write concern (majority, as on MongoDB 5+) wait for it, as they would on MongoDB.
   */
  lag(member: MemberRef, ms: number): void {
    this.server.replication.lag(this.member(member).address, ms);
  }

  pauseReplication(member: MemberRef): void {
    this.server.replication.pause(this.member(member).address);
  }

  resumeReplication(member: MemberRef): void {
    this.server.replication.resume(this.member(member).address);
  }

  /**
   * The primary steps down at once: it becomes a secondary, its open transactions are aborted and
   * its in-flight writes interrupted (11602), and there is no primary for `unavailableMs`. Then
   * `newPrimary` (default: the same member) is elected, caught up with the old primary, or with
   * `rollbackUnreplicated`, keeping only what it had applied. Resolves when it is elected.
   */
  stepDown(options: ElectionOptions = {}): Promise<void> {
    return this.server.stepDown({ ...options, newPrimary: options.newPrimary === undefined ? undefined : this.member(options.newPrimary) });
  }

  /** A failover: like stepDown, but by default the most up-to-date other member becomes primary. */
  failover(options: ElectionOptions = {}): Promise<void> {
    const old = this.server.members.find((m) => m.role === 'primary');
    const others = this.server.members.filter((m) => m.dataBearing && m !== old).map((m) => m.address);
    return this.stepDown({ ...options, newPrimary: options.newPrimary ?? this.server.replication.mostAdvanced(others) ?? old?.address });
  }

  /**
   * Closes the member's connections and stops it accepting new ones; it applies no writes until
   * restarted. Its role is unchanged: a killed primary stays primary until stepDown/failover.
   */
  async kill(member: MemberRef): Promise<void> {
    const target = this.member(member);
    if (target.dataBearing) this.server.replication.pause(target.address);
    await target.stop();
  }

  /** Starts a killed member again on its port, as a new process, replicating again. */
  async restart(member: MemberRef): Promise<void> {
    const target = this.member(member);
    await target.listen(target.port);
    if (target.dataBearing) this.server.replication.resume(target.address);
    for (const m of this.server.members) m.topologyChanged();
  }

  close(): Promise<void> {
    return this.server.close();
  }
}
