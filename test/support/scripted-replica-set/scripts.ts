/**
 * What a test sees and steers: every command received becomes a `RecordedCommand` (in arrival
 * order, across members and connections), and `Scripts` picks the scripted action, if any, for
 * each one. Scripts are tried in the order they were added; the first whose match holds acts and
 * is used up after `times` commands. A scripted reply is sent exactly as given: the server adds
 * no error labels to it. Streamed hello replies on an exhaust connection are not requests: they
 * are neither recorded nor scripted (a script on `hello` acts on the hellos clients send).
 */
import { Binary, type Document } from 'mongodb';
import { toNumber } from './values.ts';

export type MemberRole = 'primary' | 'secondary' | 'arbiter' | 'standalone' | 'mongos';

export interface RecordedCommand {
  /** `127.0.0.1:<port>` of the member that received it. */
  member: string;
  /** The member's role when it arrived. */
  role: MemberRole;
  db: string;
  /** The first key: `insert`, `commitTransaction`... */
  name: string;
  /** The command's value when it is a string (`{ insert: 'users' }`); getMore's `collection`. */
  collection: string | undefined;
  /** As sent, with OP_MSG document sequences merged in under their names. */
  command: Document;
  /** The session id as hex. */
  lsid: string | undefined;
  txnNumber: number | undefined;
  startTransaction: boolean;
  /** `autocommit: false`: a statement of a transaction (a retryable write carries only `txnNumber`). */
  inTransaction: boolean;
  /** `<lsid>:<txnNumber>` of its transaction. */
  transaction: string | undefined;
  readPreference: Document | undefined;
  readConcern: Document | undefined;
  writeConcern: Document | undefined;
  comment: unknown;
  maxTimeMS: number | undefined;
  /** Date.now() on arrival. */
  at: number;
}

/** The commands drivers send on their own, left out of `recorded()` unless asked for. */
export const UPKEEP_COMMANDS: ReadonlySet<string> = new Set(['hello', 'isMaster', 'ismaster', 'ping', 'endSessions', 'saslStart', 'saslContinue', 'authenticate']);

const documentOrUndefined = (value: unknown): Document | undefined => (typeof value === 'object' && value !== null ? value : undefined);

export function recordOf(member: string, role: MemberRole, db: string, command: Document): RecordedCommand {
  const name = Object.keys(command)[0] ?? '';
  // getMore names its collection in a field of its own
  const value: unknown = name === 'getMore' ? command.collection : command[name];
  const id: unknown = documentOrUndefined(command.lsid)?.id;
  const lsid = id instanceof Binary ? Buffer.from(id.buffer).toString('hex') : undefined;
  const txnNumber = toNumber(command.txnNumber);
  const inTransaction = command.autocommit === false;
  return {
    member,
    role,
    db,
    name,
    collection: typeof value === 'string' ? value : undefined,
    command,
    lsid,
    txnNumber,
    startTransaction: command.startTransaction === true,
    inTransaction,
    transaction: inTransaction && lsid !== undefined ? `${lsid}:${String(txnNumber)}` : undefined,
    readPreference: documentOrUndefined(command.$readPreference),
    readConcern: documentOrUndefined(command.readConcern),
    writeConcern: documentOrUndefined(command.writeConcern),
    comment: command.comment,
    maxTimeMS: toNumber(command.maxTimeMS),
    at: Date.now(),
  };
}

/** Which commands a script (or `recorded()`) selects; every given field must hold. */
export interface CommandMatch {
  name?: string | readonly string[];
  collection?: string;
  db?: string;
  /** `127.0.0.1:<port>`. */
  member?: string;
  role?: MemberRole;
  inTransaction?: boolean;
  when?: (command: RecordedCommand) => boolean;
}

export interface ScriptMatch extends CommandMatch {
  /** How many matching commands it acts on (default 1; `Infinity`: all). */
  times?: number;
  /** Lets the first `nth - 1` matching commands pass (default 1: acts from the first). */
  nth?: number;
}

/**
 * Whether `match` selects `command`. The driver's upkeep (UPKEEP_COMMANDS) is selected only by
 * name (or with `upkeep`), so a script on `{ inTransaction: false }` never catches a monitor's hello.
 */
export function commandMatches(match: CommandMatch, command: RecordedCommand, upkeep = false): boolean {
  const names = match.name === undefined ? undefined : typeof match.name === 'string' ? [match.name] : match.name;
  if (names === undefined && !upkeep && UPKEEP_COMMANDS.has(command.name)) return false;
  return (
    (names === undefined || names.includes(command.name)) &&
    (match.collection === undefined || match.collection === command.collection) &&
    (match.db === undefined || match.db === command.db) &&
    (match.member === undefined || match.member === command.member) &&
    (match.role === undefined || match.role === command.role) &&
    (match.inTransaction === undefined || match.inTransaction === command.inTransaction) &&
    (match.when === undefined || match.when(command))
  );
}

/** An error reply: sent as `{ ok: 0, errmsg, code, codeName, errorLabels, ...more }`. */
export interface ScriptedError {
  code: number;
  codeName?: string;
  errmsg?: string;
  errorLabels?: string[];
  [field: string]: unknown;
}

/** What the member knows of itself, for a script function. */
export interface MemberInfo {
  address: string;
  role: MemberRole;
}

/** Returns a reply to send, or undefined to handle the command normally. */
export type ScriptFunction = (command: RecordedCommand, member: MemberInfo) => Document | undefined | Promise<Document | undefined>;

type Immediate = 'hang' | 'closeConnection' | 'handleThenCloseConnection' | ScriptedError | { reply: Document } | ScriptFunction;

/**
 * - `{ code, ... }`: that error reply; `{ reply }`: that reply document;
 * - `{ delayMs, then? }`: waits, then acts as `then` says (default: handles it normally);
 * - `'hang'`: no answer until the connection closes, `rs.release()`, killOp, maxTimeMS or a
 *   step-down interrupts it (after `release` it is handled normally);
 * - `'closeConnection'`: the connection is closed unanswered (a network error);
 * - `'handleThenCloseConnection'`: handled normally (a write applied), then closed unanswered:
 *   the reply is lost, as when the network fails after the server did the work;
 * - `{ writeConcernError }`: handled normally, the reply then carries this writeConcernError;
 * - a function: its reply, or normal handling when it returns undefined.
 */
export type ScriptAction = Immediate | { delayMs: number; then?: Immediate } | { writeConcernError: Document };

interface Script {
  match: ScriptMatch;
  action: ScriptAction;
  seen: number;
  used: number;
}

export class Scripts {
  private scripts: Script[] = [];

  add(match: ScriptMatch, action: ScriptAction): void {
    this.scripts.push({ match, action, seen: 0, used: 0 });
  }

  clear(): void {
    this.scripts = [];
  }

  /** The action for `command`, using up one of its script's turns. */
  take(command: RecordedCommand): ScriptAction | undefined {
    for (const script of this.scripts) {
      if (!commandMatches(script.match, command)) continue;
      script.seen += 1;
      if (script.seen < (script.match.nth ?? 1)) continue;
      script.used += 1;
      if (script.used >= (script.match.times ?? 1)) this.scripts = this.scripts.filter((s) => s !== script);
      return script.action;
    }
    return undefined;
  }
}
