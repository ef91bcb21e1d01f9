/**
 * MongoDB's wire protocol, as much as a test server needs: the 16-byte header (length, requestID,
 * responseTo, opCode); OP_MSG with its flags (checksumPresent: the CRC is skipped, not checked;
 * moreToCome; exhaustAllowed), a kind-0 body and kind-1 document sequences merged into the command
 * under their names; and the OP_QUERY/OP_REPLY pair drivers use for a connection's first
 * handshake. Replies never carry a checksum. OP_COMPRESSED is not spoken (`parseRequest` returns
 * undefined and the caller closes the connection): clients must not configure compressors.
 */
import type { Document } from 'mongodb';
import { decode, encode } from './values.ts';

const OP_REPLY = 1;
export const OP_QUERY = 2004;
export const OP_MSG = 2013;
const CHECKSUM_PRESENT = 1;
export const MORE_TO_COME = 2;
const EXHAUST_ALLOWED = 1 << 16;
const QUERY_SECONDARY_OK = 4;
/** OP_REPLY's AwaitCapable bit, as mongod sets it. */
const AWAIT_CAPABLE = 8;
const MAX_MESSAGE_BYTES = 48_000_000;

export interface Request {
  requestId: number;
  opCode: number;
  db: string;
  /** The command: document sequences merged in, an OP_QUERY `$query` wrapper taken off. */
  command: Document;
  /** The client wants no reply (an unacknowledged write). */
  moreToCome: boolean;
  exhaustAllowed: boolean;
  /** OP_QUERY's secondaryOk bit. */
  secondaryOk: boolean;
}

/** Cuts a byte stream into whole messages; throws on a length no MongoDB message has. */
export function framer(): (chunk: Buffer) => Buffer[] {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    const messages: Buffer[] = [];
    while (pending.length >= 4) {
      const length = pending.readInt32LE(0);
      if (length < 16 || length > MAX_MESSAGE_BYTES) throw new Error(`wire message of ${length} bytes`);
      if (pending.length < length) break;
      messages.push(pending.subarray(0, length));
      pending = pending.subarray(length);
    }
    return messages;
  };
}

export const opCodeOf = (message: Buffer): number => message.readInt32LE(12);

/** The request in a message; undefined for an opcode not spoken here. */
export function parseRequest(message: Buffer): Request | undefined {
  const requestId = message.readInt32LE(4);
  const opCode = opCodeOf(message);
  const body = message.subarray(16);
  if (opCode === OP_MSG) {
    const flags = body.readUInt32LE(0);
    const end = body.length - ((flags & CHECKSUM_PRESENT) === 0 ? 0 : 4);
    let command: Document = {};
    const sequences: Document = {};
    for (let at = 4; at < end; ) {
      const kind = body[at];
      const size = body.readInt32LE(at + 1);
      const section = body.subarray(at + 1, at + 1 + size);
      if (kind === 0) {
        command = decode(section);
      } else {
        const nameEnd = section.indexOf(0, 4);
        const documents: Document[] = [];
        for (let d = nameEnd + 1; d < section.length; d += section.readInt32LE(d)) documents.push(decode(section.subarray(d, d + section.readInt32LE(d))));
        sequences[section.toString('utf8', 4, nameEnd)] = documents;
      }
      at += 1 + size;
    }
    return {
      requestId,
      opCode,
      db: typeof command.$db === 'string' ? command.$db : 'admin',
      command: { ...command, ...sequences },
      moreToCome: (flags & MORE_TO_COME) !== 0,
      exhaustAllowed: (flags & EXHAUST_ALLOWED) !== 0,
      secondaryOk: false,
    };
  }
  if (opCode === OP_QUERY) {
    // int32 flags, cstring `<db>.$cmd`, int32 skip, int32 return, the query
    const flags = body.readInt32LE(0);
    const nameEnd = body.indexOf(0, 4);
    const at = nameEnd + 9;
    const query = decode(body.subarray(at, at + body.readInt32LE(at)));
    const wrapped: unknown = query.$query ?? query.query;
    const command = typeof wrapped === 'object' && wrapped !== null ? { ...(wrapped as Document), $readPreference: query.$readPreference as unknown } : query;
    if (command.$readPreference === undefined) delete command.$readPreference;
    const db = body.toString('utf8', 4, nameEnd).replace(/\.\$cmd$/, '');
    return { requestId, opCode, db, command, moreToCome: false, exhaustAllowed: false, secondaryOk: (flags & QUERY_SECONDARY_OK) !== 0 };
  }
  return undefined;
}

function withHeader(requestId: number, responseTo: number, opCode: number, body: Buffer): Buffer {
  const header = Buffer.alloc(16);
  header.writeInt32LE(16 + body.length, 0);
  header.writeInt32LE(requestId, 4);
  header.writeInt32LE(responseTo, 8);
  header.writeInt32LE(opCode, 12);
  return Buffer.concat([header, body]);
}

/** A reply in the request's own protocol: OP_MSG (flags, kind 0, the document) or OP_REPLY. */
export function encodeReply(opCode: number, requestId: number, responseTo: number, reply: Document, flags = 0): Buffer {
  const document = Buffer.from(encode(reply));
  if (opCode === OP_MSG) {
    const head = Buffer.alloc(5);
    head.writeUInt32LE(flags, 0);
    return withHeader(requestId, responseTo, OP_MSG, Buffer.concat([head, document]));
  }
  // int32 responseFlags, int64 cursorID, int32 startingFrom, int32 numberReturned
  const head = Buffer.alloc(20);
  head.writeInt32LE(AWAIT_CAPABLE, 0);
  head.writeInt32LE(1, 16);
  return withHeader(requestId, responseTo, OP_REPLY, Buffer.concat([head, document]));
}
