// The wire protocol of the scripted replica set, spoken by hand where the driver never goes:
// OP_MSG with a checksum and kind-1 document sequences, moreToCome (no reply), a read sent to a
// secondary without secondaryOk, and OP_COMPRESSED refused by closing the connection.
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { BSON, type Document } from 'mongodb';
import { scriptedSet } from './fixtures.ts';

const OP_MSG = 2013;
const OP_COMPRESSED = 2012;

function message(requestId: number, opCode: number, body: Buffer): Buffer {
  const header = Buffer.alloc(16);
  header.writeInt32LE(16 + body.length, 0);
  header.writeInt32LE(requestId, 4);
  header.writeInt32LE(opCode, 12);
  return Buffer.concat([header, body]);
}

/** An OP_MSG: flags, a kind-0 body, kind-1 sequences, and (flag 1) four checksum bytes the server skips. */
function opMsg(requestId: number, command: Document, options: { sequences?: Record<string, Document[]>; checksum?: boolean; moreToCome?: boolean } = {}): Buffer {
  const flags = (options.checksum === true ? 1 : 0) | (options.moreToCome === true ? 2 : 0);
  const parts = [Buffer.from([flags, 0, 0, 0, 0]), Buffer.from(BSON.serialize(command))];
  for (const [name, documents] of Object.entries(options.sequences ?? {})) {
    const payload = Buffer.concat([Buffer.from(`${name}\0`), ...documents.map((d) => Buffer.from(BSON.serialize(d)))]);
    const size = Buffer.alloc(4);
    size.writeInt32LE(4 + payload.length);
    parts.push(Buffer.from([1]), size, payload);
  }
  if (options.checksum === true) parts.push(Buffer.alloc(4));
  return message(requestId, OP_MSG, Buffer.concat(parts));
}

/** Sends messages on one connection; resolves with the first reply's document, or 'closed'. */
async function exchange(address: string, ...messages: Buffer[]): Promise<Document | 'closed'> {
  const [host, port] = address.split(':');
  const socket = net.connect({ host, port: Number(port) });
  await once(socket, 'connect');
  let received = Buffer.alloc(0);
  const reply = new Promise<Document | 'closed'>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 4 && received.length >= received.readInt32LE(0)) resolve(BSON.deserialize(received.subarray(21, received.readInt32LE(0))));
    });
    socket.on('close', () => resolve('closed'));
  });
  for (const m of messages) socket.write(m);
  const result = await reply;
  socket.destroy();
  return result;
}

void describe('the wire protocol of the scripted replica set', () => {
  void it('reads OP_MSG document sequences and skips a checksum; moreToCome gets no reply', async (t) => {
    const { rs } = await scriptedSet(t);
    const primary = rs.primary?.address ?? '';
    const unacknowledged = opMsg(1, { insert: 'c', $db: 'app', writeConcern: { w: 0 } }, { sequences: { documents: [{ _id: 0 }] }, moreToCome: true });
    const inserted = await exchange(primary, unacknowledged, opMsg(2, { insert: 'c', $db: 'app' }, { sequences: { documents: [{ _id: 1 }, { _id: 2 }] }, checksum: true }));
    assert.deepEqual(inserted, { n: 2, ok: 1 }, 'the first reply is the second request’s: the first wanted none');
    const found = await exchange(primary, opMsg(3, { find: 'c', $db: 'app' }));
    assert.deepEqual(found !== 'closed' && (found.cursor as Document).firstBatch, [{ _id: 0 }, { _id: 1 }, { _id: 2 }]);
    assert.deepEqual(rs.recorded({ name: 'insert' }).map((c) => (c.command.documents as Document[]).length), [1, 2], 'recorded with the sequences merged in');
  });

  void it('refuses a read on a secondary without secondaryOk (13435) and closes a compressed connection', async (t) => {
    const { rs } = await scriptedSet(t);
    const secondary = rs.members[1]?.address ?? '';
    const refused = await exchange(secondary, opMsg(1, { find: 'c', $db: 'app' }));
    assert.equal(refused !== 'closed' && refused.code, 13435);
    const allowed = await exchange(secondary, opMsg(2, { find: 'c', $db: 'app', $readPreference: { mode: 'secondaryPreferred' } }));
    assert.equal(allowed !== 'closed' && allowed.ok, 1);

    const warned = once(process, 'warning');
    assert.equal(await exchange(secondary, message(3, OP_COMPRESSED, Buffer.alloc(9))), 'closed');
    const [warning] = (await warned) as [Error];
    assert.match(warning.message, /compression/);
  });
});
