/**
 * One member: a TCP server on its own 127.0.0.1 port, its connections (each serving one request
 * at a time, in order), its role, its cursors and its topologyVersion. What a command means is the replica set's business (`respond`); the member
 * frames messages, answers in the request's protocol, and keeps the driver's streaming monitor
 * happy: an awaitable hello (`topologyVersion` + `maxAwaitTimeMS`) is answered when the topology
 * changes or after maxAwaitTimeMS, and with `exhaustAllowed` every answer carries moreToCome and
 * the next one follows on its own, as mongod streams them, until the connection closes.
 */
import net from 'node:net';
import { once } from 'node:events';
import { Long, ObjectId, type Document } from 'mongodb';
import { Cursors } from './crud.ts';
import type { MemberInfo, MemberRole } from './scripts.ts';
import type { Timers } from './time.ts';
import { toNumber } from './values.ts';
import { MORE_TO_COME, encodeReply, framer, opCodeOf, parseRequest, type Request } from './wire.ts';

export interface Connection {
  id: number;
  /** `127.0.0.1:<port>` of the client. */
  client: string;
  /** Aborted when the connection closes: whatever waits for it stops. */
  closed: AbortSignal;
}

/** A reply to send, or the connection to close unanswered. */
export type Outcome = Document | 'closeConnection';
export interface MemberHandlers {
  /** Records, scripts and answers a request. */
  respond(member: Member, connection: Connection, request: Request): Promise<Outcome>;
  /** The hello reply to stream next on an exhaust connection (not a request: not recorded). */
  hello(member: Member, connection: Connection, command: Document): Document;
}

let nextConnectionId = 1;

export class Member {
  role: MemberRole;
  readonly cursors = new Cursors();
  /** Fields added to (or, when undefined, removed from) this member's hello replies. */
  helloFields: Document = {};
  private processId = new ObjectId();
  private counter = 0;
  private readonly topologyWaiters = new Set<() => void>();
  private readonly sockets = new Set<net.Socket>();
  private server: net.Server | undefined;
  port = 0;

  constructor(
    role: MemberRole,
    private readonly handlers: MemberHandlers,
    private readonly timers: Timers,
  ) {
    this.role = role;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get info(): MemberInfo {
    return { address: this.address, role: this.role };
  }

  /** Accepts writes: a primary, a standalone, a mongos. */
  get writable(): boolean {
    return this.role === 'primary' || this.role === 'standalone' || this.role === 'mongos';
  }

  get dataBearing(): boolean {
    return this.role !== 'arbiter';
  }

  get topologyVersion(): Document {
    return { processId: this.processId, counter: Long.fromNumber(this.counter) };
  }

  get listening(): boolean {
    return this.server !== undefined;
  }

  /** Something in this member's hello changed: awaitable hellos are answered now. */
  topologyChanged(): void {
    this.counter += 1;
    for (const wake of [...this.topologyWaiters]) wake();
  }

  /** Resolves when the topology moved past `known`, after `maxAwaitMs`, or when `signal` aborts. */
  topologyChange(known: unknown, maxAwaitMs: number, signal: AbortSignal): Promise<void> {
    const { processId, counter } = (known ?? {}) as { processId?: unknown; counter?: unknown };
    const current = processId instanceof ObjectId && processId.equals(this.processId) && (toNumber(counter) ?? -1) >= this.counter;
    if (!current || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        cancel();
        this.topologyWaiters.delete(wake);
        signal.removeEventListener('abort', wake);
        resolve();
      };
      const cancel = this.timers.after(maxAwaitMs, wake);
      this.topologyWaiters.add(wake);
      signal.addEventListener('abort', wake, { once: true });
    });
  }

  async listen(port = 0): Promise<void> {
    const server = net.createServer((socket) => this.accept(socket));
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('scripted replica set: no TCP address');
    this.port = address.port;
    this.server = server;
  }

  /** Closes every connection and stops accepting new ones (a crash; `listen(port)` restarts it as a new process). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    this.processId = new ObjectId();
    this.counter = 0;
    if (server === undefined) return;
    const closed = once(server, 'close');
    server.close();
    await closed;
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    const closing = new AbortController();
    const connection: Connection = { id: nextConnectionId++, client: `${socket.remoteAddress ?? ''}:${String(socket.remotePort)}`, closed: closing.signal };
    socket.on('error', () => undefined); // the client sees the close; nothing to add
    socket.on('close', () => {
      this.sockets.delete(socket);
      closing.abort(new Error('connection closed'));
    });
    const frames = framer();
    // one request at a time per connection, as mongod: unacknowledged writes keep their order
    let queue = Promise.resolve();
    let nextReplyId = 1;
    const send = (request: Request, responseTo: number, reply: Document, flags = 0): number => {
      const requestId = nextReplyId++;
      if (!socket.destroyed) socket.write(encodeReply(request.opCode, requestId, responseTo, reply, flags));
      return requestId;
    };
    socket.on('data', (chunk: Buffer) => {
      let messages: Buffer[];
      try {
        messages = frames(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const message of messages) {
        const request = parseRequest(message);
        if (request === undefined) {
          process.emitWarning(`scripted replica set: opcode ${opCodeOf(message)} is not spoken (compression must be off); closing the connection`);
          socket.destroy();
          return;
        }
        queue = queue.then(() => this.serve(connection, request, send, () => socket.destroy())).catch(() => void socket.destroy());
      }
    });
  }

  private async serve(connection: Connection, request: Request, send: (request: Request, responseTo: number, reply: Document, flags?: number) => number, close: () => void): Promise<void> {
    const outcome = await this.handlers.respond(this, connection, request);
    if (connection.closed.aborted) return;
    if (outcome === 'closeConnection') return close();
    if (request.moreToCome) return;
    const { command } = request;
    const streaming = request.exhaustAllowed && outcome.ok === 1 && command.topologyVersion !== undefined && command.maxAwaitTimeMS !== undefined;
    let responseTo = send(request, request.requestId, outcome, streaming ? MORE_TO_COME : 0);
    if (!streaming) return;
    const maxAwaitMs = toNumber(command.maxAwaitTimeMS) ?? 10_000;
    let known: unknown = outcome.topologyVersion;
    const closed = (): boolean => connection.closed.aborted;
    while (!closed() && this.listening) {
      await this.topologyChange(known, maxAwaitMs, connection.closed);
      if (closed()) return;
      const next = this.handlers.hello(this, connection, command);
      known = next.topologyVersion;
      responseTo = send(request, responseTo, next, MORE_TO_COME);
    }
  }

  async close(): Promise<void> {
    for (const wake of [...this.topologyWaiters]) wake();
    await this.stop();
  }
}
