/**
 * A transaction shim for tests: a small TCP proxy on a free loopback port in front of the test
 * server, speaking MongoDB's wire protocol (OP_MSG, and the OP_QUERY/OP_REPLY pair the driver
 * still uses for the first handshake of each connection).
 *
 * `shim` mode, in front of a server without transactions (FerretDB 1.24, a standalone mongod):
 * - strips `txnNumber`, `startTransaction` and `autocommit` from every command before forwarding
 *   it (FerretDB refuses the last two as unknown fields; it accepts `readConcern`, left alone);
 * - answers `commitTransaction` and `abortTransaction` itself with `{ ok: 1 }`, as MongoDB does,
 *   or with a failure a test injected (`inject`), always with the request's id in `responseTo`;
 * - adds `setName`, `setVersion`, `hosts`, `primary`, `me` to `hello`/`isMaster` replies, so the
 *   driver and `probeServer` see a replica-set primary. Connect with `directConnection=true` (as
 *   `uri` does), so the driver never looks for the members the reply names.
 * So the runner gets a server that ACCEPTS transaction-shaped commands, and a test can check which
 * commands were sent, in which order, and which carried the transaction. It makes nothing atomic
 * or isolated: every write lands at once and an abort undoes nothing. Never assert a rollback
 * through it.
 *
 * `record` mode, in front of a real replica-set member: forwards every byte unchanged and only
 * records, except for a command a test injected a failure into (answered here, never forwarded;
 * a commit failed as transient or as NoSuchTransaction makes the shim abort that transaction on
 * the server, as a server answering so has).
 *
 * Every command seen lands in `commands`, in arrival order across connections. Not handled: TLS,
 * and OP_COMPRESSED (forwarded untouched and unrecorded: configure no `compressors` through it).
 */
import net from 'node:net';
import { once } from 'node:events';
import { BSON, Binary, type Document } from 'mongodb';

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_MSG = 2013;
const CHECKSUM_PRESENT = 1;
const MORE_TO_COME = 2;
/** Keeps Int32/Long/Double as they came, so a command written back has its original types. */
const EXACT = { promoteValues: false } as const;
const TRANSACTION_FIELDS = ['txnNumber', 'startTransaction', 'autocommit'];

export interface SeenCommand {
  /** The first key: `insert`, `commitTransaction`... */
  name: string;
  db: string;
  /** The collection named as the command's value (`{ insert: 'users' }`), if any. */
  collection: string | undefined;
  /** As sent, with the OP_MSG document sequences (kind 1 sections) merged in under their names. */
  command: Document;
  lsid: boolean;
  txnNumber: boolean;
  startTransaction: boolean;
  /** `autocommit: false`, the mark of a command inside a transaction (a retryable write carries only `txnNumber`). */
  inTransaction: boolean;
  /** `<lsid>:<txnNumber>` of the transaction it belongs to, if any. */
  transaction: string | undefined;
  answeredBy: 'server' | 'shim' | 'injected failure';
}

/** Failures a test can inject, each as MongoDB (or DocumentDB's gateway) reports it. */
export type Failure =
  | 'transient'
  | 'unknown-commit-result'
  | 'network'
  | 'not-in-transaction'
  | 'no-such-transaction'
  | 'duplicate-key'
  | 'write-conflict-unlabelled';

const FAILURE_REPLIES: Record<Exclude<Failure, 'network'>, Document> = {
  // a write conflict: labelled so that the whole transaction may be run again
  transient: {
    ok: 0,
    errmsg: 'WriteConflict error: this operation conflicted with another operation. Please retry your operation or multi-document transaction.',
    code: 112,
    codeName: 'WriteConflict',
    errorLabels: ['TransientTransactionError'],
  },
  // replication timed out: the commit may or may not have taken effect (the driver adds UnknownTransactionCommitResult)
  'unknown-commit-result': {
    ok: 1,
    writeConcernError: { code: 64, codeName: 'WriteConcernFailed', errmsg: 'waiting for replication timed out', errInfo: { wtimeout: true } },
  },
  // DDL on an existing collection, a capped or time-series write: the server cannot do it in a transaction
  'not-in-transaction': {
    ok: 0,
    errmsg: 'Cannot create new indexes on existing collection in a multi-document transaction.',
    code: 263,
    codeName: 'OperationNotSupportedInTransaction',
  },
  // every command of a transaction the server already aborted (its lifetime, an error inside it)
  'no-such-transaction': {
    ok: 0,
    errmsg: 'Transaction with { txnNumber: 1 } has been aborted.',
    code: 251,
    codeName: 'NoSuchTransaction',
    errorLabels: ['TransientTransactionError'],
  },
  // a write error, as an insert reports it (which aborts a transaction on MongoDB)
  'duplicate-key': {
    ok: 1,
    n: 0,
    writeErrors: [{ index: 0, code: 11000, errmsg: 'E11000 duplicate key error collection: marks index: _id_ dup key: { _id: 1 }' }],
  },
  // how DocumentDB's gateway answers a write conflict inside a transaction: no TransientTransactionError label
  'write-conflict-unlabelled': { ok: 0, errmsg: 'Write conflict', code: 112, codeName: 'WriteConflict' },
};

export interface TransactionShim {
  mode: 'shim' | 'record';
  /** `127.0.0.1:<port>`. */
  address: string;
  /** `mongodb://<address>/?directConnection=true`. */
  uri: string;
  commands: SeenCommand[];
  /**
   * The next `times` commands (default 1; Infinity: all) for which `when` holds get `failure`
   * instead of reaching the server; `network` closes the client's connection unanswered. Several
   * injections wait side by side; a command gets the first that matches.
   */
  inject(failure: Failure, when: (command: SeenCommand) => boolean, times?: number): void;
  /** As `inject`, with a reply of the test's own (e.g. a `getParameter` answer). */
  answer(reply: Document, when: (command: SeenCommand) => boolean, times?: number): void;
  /** The commands seen so far of the transaction `command` belongs to. */
  transactionOf(command: SeenCommand): SeenCommand[];
  close(): Promise<void>;
}

/** Cuts a byte stream into wire messages: 16-byte header (int32 length, requestID, responseTo, opCode), then the body. */
function framer(): (chunk: Buffer) => Buffer[] {
  let pending = Buffer.alloc(0);
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    const messages: Buffer[] = [];
    while (pending.length >= 4 && pending.length >= pending.readInt32LE(0)) {
      messages.push(pending.subarray(0, pending.readInt32LE(0)));
      pending = pending.subarray(pending.readInt32LE(0));
    }
    return messages;
  };
}

const requestIdOf = (message: Buffer): number => message.readInt32LE(4);
const responseToOf = (message: Buffer): number => message.readInt32LE(8);
const opCodeOf = (message: Buffer): number => message.readInt32LE(12);

function encode(requestId: number, responseTo: number, opCode: number, body: Buffer): Buffer {
  const header = Buffer.alloc(16);
  header.writeInt32LE(16 + body.length, 0);
  header.writeInt32LE(requestId, 4);
  header.writeInt32LE(responseTo, 8);
  header.writeInt32LE(opCode, 12);
  return Buffer.concat([header, body]);
}

interface OpMsg {
  flags: number;
  /** The kind 0 section. */
  command: Document;
  /** The kind 1 sections, raw, forwarded as they came... */
  sequences: Buffer;
  /** ...and their documents, by sequence name. */
  documents: Record<string, Document[]>;
}

/** OP_MSG body: uint32 flagBits, sections (kind byte 0: a document; 1: int32 size, cstring name, documents), a CRC-32C if flagged. */
function readOpMsg(message: Buffer): OpMsg {
  const body = message.subarray(16);
  const flags = body.readUInt32LE(0);
  const end = body.length - ((flags & CHECKSUM_PRESENT) === 0 ? 0 : 4);
  const result: OpMsg = { flags, command: {}, sequences: Buffer.alloc(0), documents: {} };
  const sequences: Buffer[] = [];
  for (let at = 4; at < end; at += 1 + body.readInt32LE(at + 1)) {
    const section = body.subarray(at + 1, at + 1 + body.readInt32LE(at + 1));
    if (body[at] === 0) {
      result.command = BSON.deserialize(section, EXACT);
      continue;
    }
    sequences.push(body.subarray(at, at + 1 + section.length));
    const nameEnd = section.indexOf(0, 4);
    const docs: Document[] = [];
    for (let d = nameEnd + 1; d < section.length; d += section.readInt32LE(d)) docs.push(BSON.deserialize(section.subarray(d, d + section.readInt32LE(d)), EXACT));
    result.documents[section.toString('utf8', 4, nameEnd)] = docs;
  }
  result.sequences = Buffer.concat(sequences);
  return result;
}

/** An OP_MSG body without a checksum: it is optional, and the content changed. */
function writeOpMsg(flags: number, command: Document, sequences: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(5); // flagBits, then the kind byte 0
  head.writeUInt32LE(flags & ~CHECKSUM_PRESENT, 0);
  return Buffer.concat([head, BSON.serialize(command), sequences]);
}

/** OP_QUERY body: int32 flags, cstring `<db>.$cmd`, int32 skip, int32 return, the command. */
function readOpQuery(message: Buffer): { db: string; command: Document } {
  const body = message.subarray(16);
  const nameEnd = body.indexOf(0, 4);
  const at = nameEnd + 9;
  return { db: body.toString('utf8', 4, nameEnd).replace(/\.\$cmd$/, ''), command: BSON.deserialize(body.subarray(at, at + body.readInt32LE(at)), EXACT) };
}

const commandName = (command: Document): string => Object.keys(command)[0] ?? '';
const isHello = (command: Document): boolean => ['hello', 'ismaster'].includes(commandName(command).toLowerCase());

/** What a replica-set primary adds to its hello reply; `me` is the proxy, the one member the driver uses. */
function asPrimary(reply: Document, me: string): Document {
  if (reply.setName !== undefined) return reply;
  return { ...reply, setName: 'mongrate-shim', setVersion: 1, hosts: [me], primary: me, me, secondary: false };
}

/** A hello reply made a primary's: OP_MSG, or OP_REPLY (int32 flags, int64 cursor, int32 from, int32 count, documents). */
function rewriteHelloReply(message: Buffer, me: string): Buffer {
  const [requestId, responseTo] = [requestIdOf(message), responseToOf(message)];
  if (opCodeOf(message) === OP_MSG) {
    const reply = readOpMsg(message);
    return encode(requestId, responseTo, OP_MSG, writeOpMsg(reply.flags, asPrimary(reply.command, me), reply.sequences));
  }
  const body = message.subarray(16);
  const reply = BSON.deserialize(body.subarray(20, 20 + body.readInt32LE(20)), EXACT);
  return encode(requestId, responseTo, OP_REPLY, Buffer.concat([body.subarray(0, 20), BSON.serialize(asPrimary(reply, me))]));
}

function seenCommand(db: string, command: Document, documents: Record<string, Document[]> = {}): SeenCommand {
  const name = commandName(command);
  const value: unknown = command[name];
  const lsid: unknown = (command.lsid as Document | undefined)?.id;
  const inTransaction = command.autocommit === false;
  return {
    name,
    db,
    collection: typeof value === 'string' ? value : undefined,
    command: { ...command, ...documents },
    lsid: 'lsid' in command,
    txnNumber: 'txnNumber' in command,
    startTransaction: command.startTransaction === true,
    inTransaction,
    transaction: inTransaction && lsid instanceof Binary ? `${lsid.toString('hex')}:${String(command.txnNumber)}` : undefined,
    answeredBy: 'server',
  };
}

/** Starts the proxy in front of `upstream` (`host:port`). */
export async function startTransactionShim(upstream: string, mode: 'shim' | 'record' = 'shim'): Promise<TransactionShim> {
  const [host = '', port = ''] = upstream.split(/:(?=\d+$)/);
  const commands: SeenCommand[] = [];
  const sockets = new Set<net.Socket>();
  const failing: { failure: Failure | Document; when: (command: SeenCommand) => boolean; remaining: number }[] = [];
  let nextRequestId = 1;
  let me = '';

  const failureFor = (seen: SeenCommand): Failure | Document | undefined => {
    const index = failing.findIndex((f) => f.when(seen));
    const found = failing[index];
    if (found === undefined) return undefined;
    if (--found.remaining <= 0) failing.splice(index, 1);
    return found.failure;
  };

  const server = net.createServer((client) => {
    const remote = net.connect({ host, port: Number(port) });
    for (const socket of [client, remote]) {
      sockets.add(socket);
      socket.on('error', () => undefined); // the driver sees the close; nothing to add here
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        remote.destroy();
      });
    }
    const helloRequests = new Set<number>();
    /** Requests the shim sent the server on its own: their replies are not the driver's. */
    const ownRequests = new Set<number>();
    const answer = (request: Buffer, reply: Document): void => void client.write(encode(nextRequestId++, requestIdOf(request), OP_MSG, writeOpMsg(0, reply)));

    const fromClient = framer();
    client.on('data', (chunk: Buffer) => {
      for (const request of fromClient(chunk)) {
        if (opCodeOf(request) !== OP_MSG) {
          if (opCodeOf(request) === OP_QUERY) {
            const { db, command } = readOpQuery(request);
            commands.push(seenCommand(db, command));
            if (mode === 'shim' && isHello(command)) helloRequests.add(requestIdOf(request));
          }
          remote.write(request);
          continue;
        }
        const message = readOpMsg(request);
        const { command } = message;
        const seen = seenCommand(String(command.$db), command, message.documents);
        commands.push(seen);
        if (mode === 'shim' && isHello(command)) helloRequests.add(requestIdOf(request));
        const failure = failureFor(seen);
        if (failure !== undefined) {
          seen.answeredBy = 'injected failure';
          if (failure === 'network') client.destroy();
          else answer(request, typeof failure === 'string' ? FAILURE_REPLIES[failure] : failure);
          // a real server that fails a commit this way has aborted the transaction: so does the one behind the proxy
          if (mode === 'record' && seen.name === 'commitTransaction' && (failure === 'transient' || failure === 'no-such-transaction')) {
            const { commitTransaction: _commit, ...rest } = command;
            // far above the driver's request ids, so a reply to it is never taken for one of theirs
            const id = 0x40000000 + nextRequestId++;
            ownRequests.add(id);
            remote.write(encode(id, 0, OP_MSG, writeOpMsg(message.flags, { abortTransaction: 1, ...rest })));
          }
        } else if (mode === 'shim' && (seen.name === 'commitTransaction' || seen.name === 'abortTransaction')) {
          seen.answeredBy = 'shim';
          answer(request, { ok: 1 });
        } else if (mode === 'shim' && TRANSACTION_FIELDS.some((field) => field in command)) {
          const stripped = Object.fromEntries(Object.entries(command).filter(([key]) => !TRANSACTION_FIELDS.includes(key)));
          remote.write(encode(requestIdOf(request), 0, OP_MSG, writeOpMsg(message.flags, stripped, message.sequences)));
        } else {
          remote.write(request);
        }
      }
    });

    const fromServer = framer();
    remote.on('data', (chunk: Buffer) => {
      for (const reply of fromServer(chunk)) {
        if (ownRequests.delete(responseToOf(reply))) continue;
        if (!helloRequests.delete(responseToOf(reply))) {
          client.write(reply);
          continue;
        }
        // a streamed hello (a server reporting topologyVersion): the next reply answers this one
        if (opCodeOf(reply) === OP_MSG && (reply.readUInt32LE(16) & MORE_TO_COME) !== 0) helloRequests.add(requestIdOf(reply));
        client.write(rewriteHelloReply(reply, me));
      }
    });
  });

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('transaction shim: no TCP address');
  me = `127.0.0.1:${address.port}`;
  return {
    mode,
    address: me,
    uri: `mongodb://${me}/?directConnection=true`,
    commands,
    inject(failure, when, times = 1) {
      failing.push({ failure, when, remaining: times });
    },
    answer(reply, when, times = 1) {
      failing.push({ failure: reply, when, remaining: times });
    },
    transactionOf: (command) => (command.transaction === undefined ? [command] : commands.filter((c) => c.transaction === command.transaction)),
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
