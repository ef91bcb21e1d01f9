/**
 * The server behind a scripted replica set: its members, data, sessions, scripts and record, and
 * the path of every command: record it → a script may act → route it as MongoDB does (writes to
 * the primary; reads on a secondary only when the client allows it) → run it in or out of a
 * transaction → wait for its write concern → label its error. Everything a command waits for
 * ends when its operation is interrupted (killOp, maxTimeMS, a step-down for writes, the
 * connection closing). Tests drive it through `ScriptedReplicaSet`.
 */
import type { Document } from 'mongodb';
import { buildInfoReply, connectionStatusReply, currentOpEntry, helloReply, withFields, type AuthInfo, type Flavour, type Topology } from './admin.ts';
import { runPipeline } from './aggregate.ts';
import { CATALOG } from './catalog.ts';
import { CRUD, type Handler, type ReadContext } from './crud.ts';
import { CommandError, errorReply, fail, labelsFor, type LabelContext } from './errors.ts';
import { Member, type Connection, type Outcome } from './members.ts';
import { Replication } from './replication.ts';
import { Scripts, commandMatches, recordOf, type CommandMatch, type RecordedCommand, type ScriptAction } from './scripts.ts';
import { Draft, type State } from './store.ts';
import { Sessions, type Transaction } from './transactions.ts';
import { Timers, latch, sleep, until } from './time.ts';
import { decode, toNumber } from './values.ts';
import type { Request } from './wire.ts';

export interface ServerOptions {
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

export interface StepDownOptions {
  /** How long the set has no primary (default 0). */
  unavailableMs?: number;
  /** Who is elected next (default: the member that stepped down). */
  newPrimary?: Member;
  /** The new primary keeps only what it had applied: later writes are lost everywhere. */
  rollbackUnreplicated?: boolean;
}

export const HELLO = new Set(['hello', 'isMaster', 'ismaster']);
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

export class Server {
  readonly commands: RecordedCommand[] = [];
  currentOps: Document[] = [];
  readonly killedOps: number[] = [];
  readonly timers = new Timers();
  readonly scripts = new Scripts();
  readonly sessions: Sessions;
  readonly replication: Replication;
  readonly members: Member[];
  readonly flavour: Flavour;
  readonly setName: string;
  helloFields: Document;
  buildInfoFields: Document;
  auth: AuthInfo = {};
  readonly arrivals: { match: CommandMatch; resolve: (command: RecordedCommand) => void }[] = [];
  private readonly operations = new Map<number, Operation>();
  private readonly defaultWriteConcern: Document;
  private released = latch();
  private nextOpid = 1;
  private term = 1;

  constructor(options: ServerOptions) {
    this.flavour = options.flavour ?? 'replicaSet';
    this.setName = options.setName ?? 'rs0';
    const handlers = { respond: this.respond.bind(this), hello: (member: Member, connection: Connection, command: Document) => this.hello(member, connection, command) };
    const roles: Member['role'][] =
      this.flavour === 'replicaSet'
        ? ['primary', ...Array.from({ length: Math.max(0, (options.members ?? 2) - 1) }, () => 'secondary' as const), ...(options.arbiter === true ? ['arbiter' as const] : [])]
        : [this.flavour];
    this.members = roles.map((role) => new Member(role, handlers, this.timers));
    this.replication = new Replication(this.timers);
    this.sessions = new Sessions(this.timers, options.transactionLifetimeLimitSeconds ?? 60);
    this.defaultWriteConcern = options.defaultWriteConcern ?? { w: options.arbiter === true ? 1 : 'majority' };
    this.helloFields = options.hello ?? {};
    this.buildInfoFields = options.buildInfo ?? {};
  }

  async listen(): Promise<void> {
    for (const member of this.members) {
      await member.listen();
      // its address is known only now
      if (member.dataBearing) this.replication.add(member.address);
    }
    this.replication.primary = this.members.find((m) => m.writable)?.address;
  }

  /** Lets every command held by a `hang` script go on (handled normally). */
  release(): void {
    const { open } = this.released;
    this.released = latch();
    open();
  }

  /**
   * The primary steps down at once: it becomes a secondary, its open transactions are aborted and
   * its in-flight writes interrupted (11602), and there is no primary for `unavailableMs`. Then
   * `newPrimary` (default: the same member) is elected, caught up with the old primary, or with
   * `rollbackUnreplicated`, keeping only what it had applied: later writes are lost everywhere.
   * Resolves when the new primary is elected.
   */
  stepDown(options: StepDownOptions = {}): Promise<void> {
    const old = this.members.find((m) => m.role === 'primary');
    if (old === undefined) throw new Error('scripted replica set: no primary to step down');
    const next = options.newPrimary ?? old;
    if (!next.dataBearing) throw new Error(`scripted replica set: ${next.address} cannot be primary`);
    old.role = 'secondary';
    this.replication.primary = undefined;
    this.sessions.abortOn(old.address, 'the primary stepped down');
    for (const operation of this.operations.values()) {
      if (operation.member === old && this.needsPrimary(operation.record)) operation.controller.abort(steppedDown());
    }
    for (const m of this.members) m.topologyChanged();
    return new Promise<void>((resolve) => {
      this.timers.after(options.unavailableMs ?? 0, () => {
        if (options.rollbackUnreplicated === true) this.sessions.forgetAfter(this.replication.rollbackTo(next.address));
        else this.replication.catchUp(next.address);
        for (const m of this.members) if (m.role === 'primary') m.role = 'secondary';
        next.role = 'primary';
        this.replication.primary = next.address;
        this.term += 1;
        for (const m of this.members) m.topologyChanged();
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    for (const operation of this.operations.values()) operation.controller.abort(OPERATION_ENDED);
    this.release();
    for (const transaction of this.sessions.open()) transaction.end('aborted', 'the server closed');
    await Promise.all(this.members.map((m) => m.close()));
    this.timers.clearAll();
  }

  private topology(): Topology {
    return {
      flavour: this.flavour,
      setName: this.setName,
      members: this.members,
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
    const voting = this.members.length;
    const needed = concern.w === 'majority' ? Math.min(Math.floor(voting / 2) + 1, this.replication.dataBearing) : (toNumber(concern.w) ?? 1);
    if (needed <= 1 || this.flavour !== 'replicaSet') return reply;
    if (needed > this.replication.dataBearing) {
      return { ...reply, writeConcernError: { code: 100, codeName: 'UnsatisfiableWriteConcern', errmsg: 'Not enough data-bearing nodes' } };
    }
    const wtimeout = toNumber(concern.wtimeout) ?? 0;
    const waiting = new AbortController();
    const stop = (): void => waiting.abort();
    signal.addEventListener('abort', stop, { once: true });
    let cancelTimeout = (): void => undefined;
    try {
      const outcome = await until(
        new Promise<'replicated' | 'timeout'>((resolve) => {
          if (wtimeout > 0) cancelTimeout = this.timers.after(wtimeout, () => resolve('timeout'));
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
      cancelTimeout();
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
        return { ...(command.transactionLifetimeLimitSeconds === undefined ? {} : { transactionLifetimeLimitSeconds: this.sessions.lifetimeLimitSeconds }), featureCompatibilityVersion: { version: '7.0' }, ok: 1 };
      case 'setParameter':
        if (command.transactionLifetimeLimitSeconds !== undefined) this.sessions.lifetimeLimitSeconds = toNumber(command.transactionLifetimeLimitSeconds) ?? 60;
        return { ok: 1 };
      case 'currentOp':
        return { inprog: this.operationsOn(member, record), ok: 1 };
      case 'killOp':
        return this.killOp(toNumber(command.op) ?? -1);
      case 'replSetStepDown': {
        const other = this.members.find((m) => m.dataBearing && m !== member);
        void this.stepDown({ newPrimary: other ?? member });
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
