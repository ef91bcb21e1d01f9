/**
 * What a member says about itself: `hello`/`isMaster` per role and flavour, `buildInfo`,
 * `connectionStatus`, `serverStatus`, and the `$currentOp` entry of an operation in progress.
 * Pure builders over plain inputs; tests change their content through `setHello`,
 * `setBuildInfo` and `setConnectionStatus`, where a field set to undefined is removed.
 */
import { Long, ObjectId, Timestamp, type Document } from 'mongodb';
import type { Connection, Member } from './members.ts';
import type { RecordedCommand } from './scripts.ts';

export type Flavour = 'replicaSet' | 'standalone' | 'mongos';

export interface Topology {
  flavour: Flavour;
  setName: string;
  members: readonly Member[];
  term: number;
  /** The newest version `member` applied: when and which. */
  lastWrite(member: Member): { opTime: number; wallMs: number };
}

/** Fields merged over a reply; an undefined value removes the field. */
export function withFields(reply: Document, ...overrides: Document[]): Document {
  for (const fields of overrides) {
    for (const [key, value] of Object.entries(fields) as [string, unknown][]) {
      if (value === undefined) delete reply[key];
      else reply[key] = value;
    }
  }
  return reply;
}

/** MongoDB's electionId: an ObjectId that grows with the term. */
export const electionIdOf = (term: number): ObjectId => ObjectId.createFromHexString(`7fffffff${term.toString(16).padStart(16, '0')}`);

export function helloReply(topology: Topology, member: Member, connection: Connection, command: Document): Document {
  const legacy = Object.keys(command)[0] !== 'hello';
  const primary = topology.members.find((m) => m.role === 'primary');
  const arbiters = topology.members.filter((m) => m.role === 'arbiter').map((m) => m.address);
  const set: Document = {};
  if (topology.flavour === 'replicaSet') {
    Object.assign(set, {
      hosts: topology.members.filter((m) => m.dataBearing).map((m) => m.address),
      ...(arbiters.length > 0 ? { arbiters } : {}),
      setName: topology.setName,
      setVersion: 1,
      secondary: member.role === 'secondary',
      ...(member.role === 'arbiter' ? { arbiterOnly: true } : {}),
      ...(primary === undefined ? {} : { primary: primary.address }),
      me: member.address,
      ...(member.role === 'primary' ? { electionId: electionIdOf(topology.term) } : {}),
    });
    if (member.dataBearing) {
      const { opTime, wallMs } = topology.lastWrite(member);
      const optime = { ts: new Timestamp({ t: Math.floor(wallMs / 1000), i: opTime }), t: Long.fromNumber(topology.term) };
      set.lastWrite = { opTime: optime, lastWriteDate: new Date(wallMs), majorityOpTime: optime, majorityWriteDate: new Date(wallMs) };
    }
  } else if (topology.flavour === 'mongos') {
    set.msg = 'isdbgrid';
  }
  const reply: Document = {
    ...(legacy ? { ismaster: member.writable } : { isWritablePrimary: member.writable }),
    topologyVersion: member.topologyVersion,
    ...set,
    maxBsonObjectSize: 16 * 1024 * 1024,
    maxMessageSizeBytes: 48_000_000,
    maxWriteBatchSize: 100_000,
    localTime: new Date(),
    logicalSessionTimeoutMinutes: 30,
    connectionId: connection.id,
    minWireVersion: 0,
    maxWireVersion: 21,
    readOnly: false,
    ...(command.helloOk === true ? { helloOk: true } : {}),
    ok: 1,
  };
  return reply;
}

export function buildInfoReply(fields: Document): Document {
  const version = typeof fields.version === 'string' ? fields.version : '7.0.14';
  const versionArray = [...version.split(/[.-]/).slice(0, 3).map((n) => Number.parseInt(n, 10) || 0), 0];
  return withFields(
    { version, gitVersion: 'scripted', versionArray, bits: 64, maxBsonObjectSize: 16 * 1024 * 1024, storageEngines: ['wiredTiger'], modules: [], javascriptEngine: 'mozjs', ok: 1 },
    fields,
  );
}

export interface AuthInfo {
  users?: Document[];
  roles?: Document[];
  privileges?: Document[];
}

export function connectionStatusReply(auth: AuthInfo, showPrivileges: boolean): Document {
  return {
    authInfo: {
      authenticatedUsers: auth.users ?? [],
      authenticatedUserRoles: auth.roles ?? [],
      ...(showPrivileges ? { authenticatedUserPrivileges: auth.privileges ?? [] } : {}),
    },
    ok: 1,
  };
}

const OP_TYPES: Record<string, string> = { insert: 'insert', update: 'update', delete: 'remove', find: 'query', getMore: 'getmore' };

/** An operation in progress as `$currentOp` lists it. */
export function currentOpEntry(opid: number, member: Member, connection: Connection, record: RecordedCommand): Document {
  const micros = Math.max(0, Date.now() - record.at) * 1000;
  return {
    type: 'op',
    host: member.address,
    desc: `conn${connection.id}`,
    connectionId: connection.id,
    client: connection.client,
    active: true,
    currentOpTime: new Date().toISOString(),
    opid,
    ...(record.command.lsid === undefined ? {} : { lsid: record.command.lsid as Document }),
    secs_running: Long.fromNumber(Math.floor(micros / 1e6)),
    microsecs_running: Long.fromNumber(micros),
    op: OP_TYPES[record.name] ?? 'command',
    ns: `${record.db}.${record.collection ?? '$cmd'}`,
    command: record.command,
  };
}
