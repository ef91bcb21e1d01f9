/**
 * The replica set: members, data, sessions, scripts and the record, and the path of every
 * command: record it → a script may act → route it as MongoDB does (writes to the primary; reads
 * on a secondary only when the client allows it) → run it in or out of a transaction → wait for
 * its write concern → label its error. Everything a command waits for ends when its operation is
 * interrupted (killOp, maxTimeMS, a step-down for writes, the connection closing).
 */
import type { Document } from 'mongodb';
import { buildInfoReply, connectionStatusReply, currentOpEntry, helloReply, withFields, type AuthInfo, type Flavour, type Topology } from './admin.ts';
import { runPipeline } from './aggregate.ts';
import { CATALOG } from './catalog.ts';
import { CRUD, type Handler, type ReadContext } from './crud.ts';
import { CommandError, errorReply, fail, labelsFor, type LabelContext } from './errors.ts';
import { Member, type Connection, type Outcome } from './members.ts';
import { Replication } from './replication.ts';
import { Scripts, UPKEEP_COMMANDS, commandMatches, recordOf, type CommandMatch, type MemberInfo, type RecordedCommand, type ScriptAction, type ScriptMatch } from './scripts.ts';
import { Draft, type State } from './store.ts';
import { Sessions, type Transaction } from './transactions.ts';
import { Timers, latch, sleep, until } from './time.ts';
import { decode, toNumber } from './values.ts';
import type { Request } from './wire.ts';

export interface ScriptedReplicaSetOptions {
  /** Data-bearing members (default 2: a primary and a secondary); the standalone and mongos flavours have one. */
  members?: number;
  /** Adds an arbiter (with `members: 2`, a primary-secondary-arbiter set). */
  arbiter?: boolean;
  /** A replica set (default), or one member posing as a standalone mongod or a mongos. */
  flavour?: Flavour;
  /** Default `rs0`. */
  setName?: string;
  /** Default 60, as MongoDB. */
  transactionLifetimeLimitSeconds?: number;
  /** For commands without one; default as MongoDB 5+: `{ w: 'majority' }`, `{ w: 1 }` with an arbiter. */
  defaultWriteConcern?: Document;
  /** Fields merged over every member's hello replies. */
  hello?: Document;
  /** Fields merged over the buildInfo reply (`version` also sets `versionArray`). */
  buildInfo?: Document;
}

/** A member by address, by index in `members`, or the current 'primary' / first 'secondary'. */
export type MemberRef = string | number | MemberInfo;

const HELLO = new Set(['hello', 'isMaster', 'ismaster']);
const RETRYABLE_WRITES = new Set(['insert', 'update', 'delete', 'findAndModify']);
/** Commands a member answers in any state, arbiters included. */
const ANYWHERE = new Set(['buildInfo', 'buildinfo', 'ping', 'endSessions', 'connectionStatus', 'serverStatus', 'getParameter', 'setParameter', 'currentOp', 'killOp', 'whatsmyuri']);

interface Operation {
  opid: number;
  member: Member;
  connection: Connection;
  record: RecordedCommand;
  controller: AbortController;
}

const interrupted = (): CommandError => new CommandError('Interrupted', 'operation was interrupted');
const steppedDown = (): CommandError => new CommandError('InterruptedDueToReplStateChange', 'operation was interrupted because of a replication state change');
const OPERATION_ENDED = new Error('operation ended');

export class ScriptedReplicaSet {
  /** Every command received, in arrival order. */
  readonly commands: RecordedCommand[] = [];
  /** Operations `$currentOp` lists besides those in progress here; killOp removes them (by `opid`). */
  currentOps: Document[] = [];
  /** The opids killOp was sent for, in order. */
  readonly killedOps: number[] = [];
  private readonly timers = new Timers();
  private readonly scripts = new Scripts();
  private readonly sessions: Sessions;
  private readonly replication: Replication;
  private readonly operations = new Map<number, Operation>();
  private readonly memberList: Member[];
  private readonly flavour: Flavour;
  private readonly setName: string;
  private readonly defaultWriteConcern: Document;
  private helloFields: Document;
  private buildInfoFields: Document;
  private auth: AuthInfo = {};
  private released = latch();
  private readonly arrivals: { match: CommandMatch; resolve: (command: RecordedCommand) => void }[] = [];
  private nextOpid = 1;
  private term = 1;

  private constructor(options: ScriptedReplicaSetOptions) {
    this.flavour = options.flavour ?? 'replicaSet';
    this.setName = options.setName ?? 'rs0';
    const handlers = { respond: this.respond.bind(this), hello: (member: Member, connection: Connection, command: Document) => this.hello(member, connection, command) };
    const roles: Member['role'][] =
      this.flavour === 'replicaSet'
        ? ['primary', ...Array.from({ length: Math.max(0, (options.members ?? 2) - 1) }, () => 'secondary' as const), ...(options.arbiter === true ? ['arbiter' as const] : [])]
        : [this.flavour];
    this.memberList = roles.map((role) => new Member(role, handlers, this.timers));
    this.replication = new Replication(this.timers);
    this.sessions = new Sessions(this.timers, options.transactionLifetimeLimitSeconds ?? 60);
    this.defaultWriteConcern = options.defaultWriteConcern ?? { w: options.arbiter === true ? 1 : 'majority' };
    this.helloFields = options.hello ?? {};
    this.buildInfoFields = options.buildInfo ?? {};
  }

  static async start(options: ScriptedReplicaSetOptions = {}): Promise<ScriptedReplicaSet> {
    const rs = new ScriptedReplicaSet(options);
    for (const member of rs.memberList) {
      await member.listen();
      // its address is known only now
      if (member.dataBearing) rs.replication.add(member.address);
    }
    rs.replication.primary = rs.memberList.find((m) => m.writable)?.address;
    return rs;
  }

  /** `mongodb://<every member>/?replicaSet=<name>` (standalone and mongos: the one address). */
  get uri(): string {
    const hosts = this.memberList.map((m) => m.address).join(',');
    return this.flavour === 'replicaSet' ? `mongodb://${hosts}/?replicaSet=${this.setName}` : `mongodb://${hosts}/`;
  }

  /** A connection to one member only (`directConnection=true`). */
  directUri(member: MemberRef): string {
    return `mongodb://${this.member(member).address}/?directConnection=true`;
  }

  get members(): MemberInfo[] {
    return this.memberList.map((m) => m.info);
  }

  get primary(): MemberInfo | undefined {
    return this.memberList.find((m) => m.role === 'primary')?.info;
  }

  get transactionLifetimeLimitSeconds(): number {
    return this.sessions.lifetimeLimitSeconds;
  }

  set transactionLifetimeLimitSeconds(seconds: number) {
    this.sessions.lifetimeLimitSeconds = seconds;
  }

  private member(ref: MemberRef): Member {
    const found =
      typeof ref === 'number'
        ? this.memberList[ref]
        : typeof ref === 'object'
          ? this.memberList.find((m) => m.address === ref.address)
          : ref === 'primary' || ref === 'secondary'
            ? this.memberList.find((m) => m.role === ref)
            : this.memberList.find((m) => m.address === ref);
    if (found === undefined) throw new Error(`scripted replica set: no member ${JSON.stringify(ref)}`);
    return found;
  }

  /** The recorded commands `match` selects, without the driver's upkeep (hello, ping, endSessions...) unless `upkeep`. */
  recorded(match: CommandMatch = {}, { upkeep = false } = {}): RecordedCommand[] {
    return this.commands.filter((c) => (upkeep || !UPKEEP_COMMANDS.has(c.name)) && commandMatches(match, c));
  }

  /** Resolves when the next command `match` selects arrives (before any script acts on it). */
  nextCommand(match: CommandMatch): Promise<RecordedCommand> {
    return new Promise((resolve) => this.arrivals.push({ match, resolve }));
  }

  clearCommands(): void {
    this.commands.length = 0;
  }

  /** Scripts the next commands `match` selects (see ScriptAction); scripts are tried in the order added. */
  script(match: ScriptMatch, action: ScriptAction): void {
    this.scripts.add(match, action);
  }

  clearScripts(): void {
    this.scripts.clear();
  }

  /** Lets every command held by a `hang` script go on (handled normally). */
  release(): void {
    const { open } = this.released;
    this.released = latch();
    open();
  }

  /** Changes what `member` (or every member) says in hello; undefined removes a field. Streaming monitors hear it at once. */
  setHello(member: MemberRef | undefined, fields: Document): void {
    if (member === undefined) this.helloFields = { ...this.helloFields, ...fields };
    else this.member(member).helloFields = { ...this.member(member).helloFields, ...fields };
    for (const m of this.memberList) m.topologyChanged();
  }

  setBuildInfo(fields: Document): void {
    this.buildInfoFields = { ...this.buildInfoFields, ...fields };
  }

  /** What connectionStatus reports: the authenticated users, their roles and (with showPrivileges) privileges. */
  setConnectionStatus(auth: AuthInfo): void {
    this.auth = auth;
  }

  /** `member` applies each write `ms` after the primary made it (0: at once). */
  lag(member: MemberRef, ms: number): void {
    this.replication.lag(this.member(member).address, ms);
  }

  pauseReplication(member: MemberRef): void {
    this.replication.pause(this.member(member).address);
  }

  resumeReplication(member: MemberRef): void {
    this.replication.resume(this.member(member).address);
  }

  /**
   * The primary steps down at once: it becomes a secondary, its open transactions are aborted and
   * its in-flight writes interrupted (11602), and there is no primary for `unavailableMs`. Then
   * `newPrimary` (default: the same member) is elected, caught up with the old primary, or with
   * `rollbackUnreplicated`, keeping only what it had applied: later writes are lost everywhere.
   * Resolves when the new primary is elected.
   */
  stepDown(options: { unavailableMs?: number; newPrimary?: MemberRef; rollbackUnreplicated?: boolean } = {}): Promise<void> {
    const old = this.memberList.find((m) => m.role === 'primary');
    if (old === undefined) throw new Error('scripted replica set: no primary to step down');
    const next = options.newPrimary === undefined ? old : this.member(options.newPrimary);
    if (!next.dataBearing) throw new Error(`scripted replica set: ${next.address} cannot be primary`);
    old.role = 'secondary';
    this.replication.primary = undefined;
    this.sessions.abortOn(old.address, 'the primary stepped down');
    for (const operation of this.operations.values()) {
      if (operation.member === old && (this.needsPrimary(operation.record) || RETRYABLE_WRITES.has(operation.record.name))) operation.controller.abort(steppedDown());
    }
    for (const m of this.memberList) m.topologyChanged();
    return new Promise<void>((resolve) => {
      this.timers.after(options.unavailableMs ?? 0, () => {
        if (options.rollbackUnreplicated === true) this.sessions.forgetAfter(this.replication.rollbackTo(next.address));
        else this.replication.catchUp(next.address);
        for (const m of this.memberList) if (m.role === 'primary') m.role = 'secondary';
        next.role = 'primary';
        this.replication.primary = next.address;
        this.term += 1;
        for (const m of this.memberList) m.topologyChanged();
        resolve();
      });
    });
  }

  /** A failover: like stepDown, but by default the most up-to-date other member becomes primary. */
  failover(options: { unavailableMs?: number; newPrimary?: MemberRef; rollbackUnreplicated?: boolean } = {}): Promise<void> {
    const old = this.memberList.find((m) => m.role === 'primary');
    const others = this.memberList.filter((m) => m.dataBearing && m !== old).map((m) => m.address);
    return this.stepDown({ ...options, newPrimary: options.newPrimary ?? this.replication.mostAdvanced(others) ?? old?.address });
  }

  /** Closes the member's connections and stops it accepting new ones (its role is unchanged). */
  async kill(member: MemberRef): Promise<void> {
    await this.member(member).stop();
  }

  /** Starts a killed member again on its port, as a new process. */
  async restart(member: MemberRef): Promise<void> {
    const target = this.member(member);
    await target.listen(target.port);
    for (const m of this.memberList) m.topologyChanged();
  }

  async close(): Promise<void> {
    for (const operation of this.operations.values()) operation.controller.abort(OPERATION_ENDED);
    this.release();
    for (const transaction of this.sessions.open()) transaction.end('aborted', 'the server closed');
    await Promise.all(this.memberList.map((m) => m.close()));
    this.timers.clearAll();
  }

  // ---- the path of a command ----

  private topology(): Topology {
    return {
      flavour: this.flavour,
      setName: this.setName,
      members: this.memberList,
      term: this.term,
      lastWrite: (member) => {
        const { opTime, wallMs } = member.writable ? this.replication.head : this.replication.appliedBy(member.address);
        return { opTime, wallMs };
      },
    };
  }

  private hello(member: Member, connection: Connection, command: Document): Document {
    return withFields(helloReply(this.topology(), member, connection, command), this.helloFields, member.helloFields);
  }

  private labelContext(record: RecordedCommand): LabelContext {
    const commitOrAbort = record.name === 'commitTransaction' || record.name === 'abortTransaction';
    return {
      commitOrAbort,
      inTransaction: record.inTransaction && !commitOrAbort,
      retryableWrite: record.txnNumber !== undefined && !record.inTransaction && RETRYABLE_WRITES.has(record.name),
    };
  }

  private async respond(member: Member, connection: Connection, request: Request): Promise<Outcome> {
    const record = recordOf(member.address, member.role, request.db, request.command);
    this.commands.push(record);
    for (const arrival of this.arrivals.filter((a) => commandMatches(a.match, record))) {
      this.arrivals.splice(this.arrivals.indexOf(arrival), 1);
      arrival.resolve(record);
    }
    const controller = new AbortController();
    const operation: Operation = { opid: this.nextOpid++, member, connection, record, controller };
    this.operations.set(operation.opid, operation);
    const onClose = (): void => controller.abort(OPERATION_ENDED);
    connection.closed.addEventListener('abort', onClose, { once: true });
    const stopTimer = record.maxTimeMS !== undefined && record.maxTimeMS > 0 ? this.timers.after(record.maxTimeMS, () => controller.abort(new CommandError('MaxTimeMSExpired', 'operation exceeded time limit'))) : () => undefined;
    try {
      return await this.act(this.scripts.take(record), member, connection, request, record, controller.signal);
    } catch (error) {
      if (error === OPERATION_ENDED) return 'closeConnection';
      if (error instanceof CommandError) return errorReply(error, labelsFor(error.code, this.labelContext(record)));
      const message = error instanceof Error ? error.message : String(error);
      return { ok: 0, errmsg: `scripted replica set: ${message}`, code: 1, codeName: 'InternalError' };
    } finally {
      stopTimer();
      connection.closed.removeEventListener('abort', onClose);
      this.operations.delete(operation.opid);
      controller.abort(OPERATION_ENDED);
    }
  }

  private async act(action: ScriptAction | undefined, member: Member, connection: Connection, request: Request, record: RecordedCommand, signal: AbortSignal): Promise<Outcome> {
    const normally = (): Promise<Document> => this.handle(member, connection, request, record, signal);
    if (action === undefined) return normally();
    if (typeof action === 'function') return (await until(Promise.resolve(action(record, member.info)), signal)) ?? normally();
    if (action === 'hang') {
      await until(this.released.promise, signal);
      return normally();
    }
    if (action === 'closeConnection') return 'closeConnection';
    if (action === 'handleThenCloseConnection') {
      await normally();
      return 'closeConnection';
    }
    if ('code' in action) {
      const { code, codeName, errmsg, errorLabels, ...more } = action;
      return { ok: 0, errmsg: errmsg ?? `scripted error ${codeName ?? String(code)}`, code, ...(codeName === undefined ? {} : { codeName }), ...(errorLabels === undefined ? {} : { errorLabels }), ...more };
    }
    if ('reply' in action) return action.reply;
    if ('delayMs' in action) {
      await sleep(this.timers, action.delayMs, signal);
      return this.act(action.then, member, connection, request, record, signal);
    }
    return { ...(await normally()), writeConcernError: action.writeConcernError };
  }

  private needsPrimary(record: RecordedCommand): boolean {
    const handler = CRUD[record.name] ?? CATALOG[record.name];
    return handler?.access === 'write' || record.inTransaction || record.name === 'replSetStepDown';
  }

  private async handle(member: Member, connection: Connection, request: Request, record: RecordedCommand, signal: AbortSignal): Promise<Document> {
    const { name, command } = record;
    if (HELLO.has(name)) {
      if (command.topologyVersion !== undefined && command.maxAwaitTimeMS !== undefined) {
        await member.topologyChange(command.topologyVersion, toNumber(command.maxAwaitTimeMS) ?? 10_000, signal);
      }
      return this.hello(member, connection, command);
    }
    if (member.role === 'arbiter' && !ANYWHERE.has(name)) fail('NotPrimaryOrSecondary', 'node is not in primary or recovering state');
    if (this.flavour === 'standalone' && record.txnNumber !== undefined) fail('IllegalOperation', 'Transaction numbers are only allowed on a replica set member or mongos');
    if (this.needsPrimary(record) && !member.writable) fail('NotWritablePrimary', 'not primary');
    const admin = this.adminCommand(member, record, connection, signal);
    if (admin !== undefined) return admin;
    const handler = CRUD[name] ?? CATALOG[name] ?? fail('CommandNotFound', `no such command: '${name}'`);
    const secondaryOk = request.secondaryOk || (typeof record.readPreference?.mode === 'string' && record.readPreference.mode !== 'primary');
    if (handler.access === 'read' && !member.writable && !secondaryOk) fail('NotPrimaryNoSecondaryOk', 'not primary and secondaryOk=false');
    if (record.inTransaction) return this.inTransaction(member, record, handler);
    const context = (view: State): ReadContext => ({ db: record.db, command, view, inTransaction: false, snapshot: undefined, cursors: member.cursors });
    if (handler.access !== 'write') return handler.run(context(member.writable ? this.replication.head.state : this.replication.appliedBy(member.address).state));

    const retryable = record.lsid !== undefined && record.txnNumber !== undefined && RETRYABLE_WRITES.has(name);
    const retried = retryable ? this.sessions.recordedRetry(record.lsid ?? '', record.txnNumber ?? 0) : undefined;
    if (retried !== undefined) return this.afterWrite(retried, this.replication.head.opTime, record, signal);
    for (;;) {
      const draft = new Draft(this.replication.head.state, this.replication.nextOpTime);
      const reply = handler.run({ ...context(draft.base), draft });
      const holder = this.sessions.lockHolder(draft);
      if (holder === undefined) {
        const opTime = draft.changed ? this.replication.commit(draft.result()) : this.replication.head.opTime;
        if (retryable) this.sessions.recordRetry(record.lsid ?? '', record.txnNumber ?? 0, reply, opTime);
        return this.afterWrite(reply, opTime, record, signal);
      }
      // MongoDB: a write outside a transaction waits for the transaction holding its document
      await until(holder.done, signal);
    }
  }

  /** A statement of a transaction (`autocommit: false`), commit and abort included. */
  private inTransaction(member: Member, record: RecordedCommand, handler: Handler): Document {
    const { name, lsid = fail('BadValue', 'a transaction needs an lsid'), txnNumber = fail('BadValue', 'a transaction needs a txnNumber') } = record;
    if (!handler.inTransaction) fail('OperationNotSupportedInTransaction', `Cannot run '${name}' in a multi-document transaction.`);
    const transaction = record.startTransaction ? this.sessions.start(lsid, txnNumber, member.address, this.replication.head) : this.sessions.continuing(lsid, txnNumber, name);
    const context = { db: record.db, command: record.command, view: transaction.view, inTransaction: true, snapshot: transaction.snapshot, cursors: member.cursors };
    try {
      if (handler.access !== 'write') return handler.run(context);
      const draft = new Draft(transaction.view, 0);
      const reply = handler.run({ ...context, draft });
      this.sessions.lockFor(transaction, draft, this.replication.head.state);
      transaction.view = draft.result();
      const [writeError] = Array.isArray(reply.writeErrors) ? (reply.writeErrors as Document[]) : [];
      if (writeError !== undefined) transaction.end('aborted', `an error inside the transaction aborted it: ${String(writeError.errmsg)}`);
      return reply;
    } catch (error) {
      if (error instanceof CommandError) transaction.end('aborted', `an error inside the transaction aborted it: ${error.message}`);
      throw error;
    }
  }

  private commit(transaction: Transaction): number {
    const draft = new Draft(this.replication.head.state, this.replication.nextOpTime);
    for (const [db, collections] of transaction.view) {
      for (const [name, collection] of collections) {
        // collections the transaction created (implicitly or with `create`) appear at commit
        if (transaction.snapshot.get(db)?.has(name) !== true && draft.get(db, name) === undefined) {
          Object.assign(draft.create(db, name, { ...collection.options }, collection.uuid), { indexes: [...collection.indexes] });
        }
      }
    }
    for (const [namespace, keys] of transaction.locks) {
      const dot = namespace.indexOf('.');
      const [db, name] = [namespace.slice(0, dot), namespace.slice(dot + 1)];
      const collection = transaction.view.get(db)?.get(name);
      for (const key of keys) {
        const stored = collection?.documents.get(key);
        draft.write(db, name, key, stored === undefined ? undefined : decode(stored.bytes));
      }
    }
    transaction.end('committed');
    return draft.changed ? this.replication.commit(draft.result()) : this.replication.head.opTime;
  }

  /** Waits for the write concern (recorded, or the default); a timeout or interruption becomes a writeConcernError. */
  private async afterWrite(reply: Document, opTime: number, record: RecordedCommand, signal: AbortSignal): Promise<Document> {
    const concern = record.writeConcern ?? this.defaultWriteConcern;
    const voting = this.memberList.length;
    const needed = concern.w === 'majority' ? Math.min(Math.floor(voting / 2) + 1, this.replication.dataBearing) : (toNumber(concern.w) ?? 1);
    if (needed <= 1 || this.flavour !== 'replicaSet') return reply;
    if (needed > this.replication.dataBearing) {
      return { ...reply, writeConcernError: { code: 100, codeName: 'UnsatisfiableWriteConcern', errmsg: 'Not enough data-bearing nodes' } };
    }
    const wtimeout = toNumber(concern.wtimeout) ?? 0;
    const waiting = new AbortController();
    const stop = (): void => waiting.abort();
    signal.addEventListener('abort', stop, { once: true });
    try {
      const outcome = await until(
        new Promise<'replicated' | 'timeout'>((resolve) => {
          if (wtimeout > 0) this.timers.after(wtimeout, () => resolve('timeout'));
          void this.replication.replicated(opTime, needed, waiting.signal).then(() => resolve('replicated'));
        }),
        signal,
      );
      if (outcome === 'replicated') return reply;
      return { ...reply, writeConcernError: { code: 64, codeName: 'WriteConcernFailed', errmsg: 'waiting for replication timed out', errInfo: { wtimeout: true, writeConcern: concern } } };
    } catch (error) {
      if (!(error instanceof CommandError)) throw error;
      const stepped = error.codeName === 'InterruptedDueToReplStateChange';
      const writeConcernError = stepped
        ? { code: 189, codeName: 'PrimarySteppedDown', errmsg: 'Primary stepped down while waiting for replication' }
        : { code: error.code, codeName: error.codeName, errmsg: error.message };
      const labels = labelsFor(writeConcernError.code, this.labelContext(record), true);
      return { ...reply, writeConcernError, ...(labels.length > 0 ? { errorLabels: labels } : {}) };
    } finally {
      signal.removeEventListener('abort', stop);
      waiting.abort();
    }
  }

  /** Commands about the server, sessions and operations rather than data; undefined for the rest. */
  private adminCommand(member: Member, record: RecordedCommand, connection: Connection, signal: AbortSignal): Document | Promise<Document> | undefined {
    const { name, command } = record;
    switch (name) {
      case 'buildInfo':
      case 'buildinfo':
        return buildInfoReply(this.buildInfoFields);
      case 'ping':
      case 'endSessions':
        return { ok: 1 };
      case 'whatsmyuri':
        return { you: connection.client, ok: 1 };
      case 'connectionStatus':
        return connectionStatusReply(this.auth, command.showPrivileges === true);
      case 'serverStatus':
        return { host: member.address, version: buildInfoReply(this.buildInfoFields).version as string, process: this.flavour === 'mongos' ? 'mongos' : 'mongod', pid: process.pid, uptime: 1, localTime: new Date(), connections: { current: 1, available: 1000 }, ok: 1 };
      case 'getParameter':
        return { ...(command.transactionLifetimeLimitSeconds === undefined ? {} : { transactionLifetimeLimitSeconds: this.transactionLifetimeLimitSeconds }), featureCompatibilityVersion: { version: '7.0' }, ok: 1 };
      case 'setParameter':
        if (command.transactionLifetimeLimitSeconds !== undefined) this.transactionLifetimeLimitSeconds = toNumber(command.transactionLifetimeLimitSeconds) ?? 60;
        return { ok: 1 };
      case 'currentOp':
        return { inprog: this.operationsOn(member, record), ok: 1 };
      case 'killOp':
        return this.killOp(toNumber(command.op) ?? -1);
      case 'replSetStepDown': {
        const other = this.memberList.find((m) => m.dataBearing && m !== member);
        void this.stepDown({ newPrimary: (other ?? member).address });
        return { ok: 1 };
      }
      case 'commitTransaction':
      case 'abortTransaction':
        return this.endTransaction(record, signal);
      case 'aggregate': {
        const [first, ...rest] = Array.isArray(command.pipeline) ? (command.pipeline as Document[]) : [];
        if (first === undefined || !('$currentOp' in first)) return undefined;
        if (record.db !== 'admin' || toNumber(command.aggregate) !== 1) fail('InvalidOptions', '$currentOp must be run against the admin database with {aggregate: 1}');
        return member.cursors.open('admin.$cmd.aggregate', runPipeline(this.operationsOn(member, record), rest), 101);
      }
      default:
        return undefined;
    }
  }

  private endTransaction(record: RecordedCommand, signal: AbortSignal): Document | Promise<Document> {
    const { lsid = fail('BadValue', 'no lsid'), txnNumber = fail('BadValue', 'no txnNumber') } = record;
    const transaction = this.sessions.continuing(lsid, txnNumber, record.name);
    if (record.name === 'abortTransaction') {
      transaction.end('aborted', 'abortTransaction was sent');
      return { ok: 1 };
    }
    const opTime = transaction.state === 'committed' ? this.replication.head.opTime : this.commit(transaction);
    return this.afterWrite({ ok: 1 }, opTime, record, signal);
  }

  private operationsOn(member: Member, asking: RecordedCommand): Document[] {
    const inProgress = [...this.operations.values()]
      .filter((o) => o.member === member && o.record !== asking && !HELLO.has(o.record.name))
      .map((o) => currentOpEntry(o.opid, o.member, o.connection, o.record));
    return [...this.currentOps, ...inProgress];
  }

  private killOp(opid: number): Document {
    this.killedOps.push(opid);
    this.currentOps = this.currentOps.filter((op) => toNumber(op.opid) !== opid);
    this.operations.get(opid)?.controller.abort(interrupted());
    return { info: 'attempting to kill op', ok: 1 };
  }
}
