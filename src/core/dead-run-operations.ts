/**
 * What a dead run left running on the server, settled before the run that took the lock does
 * anything. Since MongoDB 4.2 a client that disconnects has its reads cancelled, not its writes:
 * a killed runner's `updateMany` over a whole collection, or its index build, goes on after
 * another runner took the expired lease, and that runner (with `--retry-failed`, the same work)
 * would run beside it. Every command a run sends carries its comment (`mongrate run <runId> on
 * <db>`, see run-comment.ts), so the operations in progress (`$currentOp`) that carry another
 * run's comment for this database belong to a run that no longer holds the lock: this waits until
 * they end, or with `lock.deadRunOperations: 'kill'` kills them (`killOp`) and waits for that,
 * and says so. Where the server lists no operations (FerretDB, Cosmos DB RU, the Stable API
 * strict, a user not allowed to), there is nothing to wait for that can be known, and nothing is said.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Db, Document } from 'mongodb';
import { isConnectionLoss } from '../driver/errors.ts';
import { MongrateError } from '../errors.ts';
import type { DeadRunOperations } from '../types.ts';
import { parseRunComment } from './run-comment.ts';

export interface DeadRunSettling {
  /** The `admin` database of the run's client. */
  admin: Db;
  /** The database the lock guards: only its runs' operations are looked at. */
  database: string;
  /** This run's id: its own operations are not a dead run's. */
  runId: string;
  mode: DeadRunOperations;
  signal: AbortSignal;
  /** Tells the user what is waited for, or killed. */
  say: (message: string) => void;
  /** The first pause between two listings (doubling up to 5 s); tests shorten it. */
  pollMs?: number;
}

interface DeadOperation {
  opid: unknown;
  runId: string;
  what: string;
}

const MAX_POLL_MS = 5000;

/** The comment an operation carries, on the command itself or on the command that opened its cursor. */
function commentOf(op: Document): unknown {
  const command = op.command as Document | undefined;
  const cursor = op.cursor as Document | undefined;
  const originating = (op.originatingCommand ?? cursor?.originatingCommand) as Document | undefined;
  return command?.comment ?? originating?.comment;
}

/** `secs_running` is an Int64: a number, a bigint or a Long, as the client's BSON options decode it. */
function secondsOf(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  const toNumber: unknown = typeof value === 'object' && value !== null ? (value as { toNumber?: unknown }).toNumber : undefined;
  return typeof toNumber === 'function' ? Number((toNumber as () => unknown).call(value)) : undefined;
}

function describe(op: Document): string {
  const seconds = secondsOf(op.secs_running);
  const running = seconds === undefined ? '' : `, running ${seconds} s`;
  return `${typeof op.op === 'string' ? op.op : 'command'} ${typeof op.ns === 'string' ? op.ns : ''} (opid ${String(op.opid)}${running})`;
}

/** The operations of other runs on this database still in progress; undefined when the server lists none. */
async function listDead(settling: DeadRunSettling): Promise<DeadOperation[] | undefined> {
  let ops: Document[];
  try {
    ops = await settling.admin
      .aggregate([{ $currentOp: {} }, { $match: { $or: [{ 'command.comment': { $regex: '^mongrate run ' } }, { 'cursor.originatingCommand.comment': { $regex: '^mongrate run ' } }] } }])
      .toArray();
  } catch (error) {
    if (isConnectionLoss(error)) throw error;
    // FerretDB (FailedToParse), Cosmos DB RU and the Stable API strict refuse $currentOp, an
    // unprivileged user may not list: nothing can be known, so nothing is waited for
    return undefined;
  }
  const dead: DeadOperation[] = [];
  for (const op of ops) {
    const run = parseRunComment(commentOf(op));
    if (run === undefined || run.database !== settling.database || run.runId === settling.runId) continue;
    dead.push({ opid: op.opid, runId: run.runId, what: describe(op) });
  }
  return dead;
}

const runsOf = (ops: DeadOperation[]): string => [...new Set(ops.map((op) => op.runId))].join(', ');

/** Returns once no operation of a dead run on this database is in progress (see the file header). */
export async function settleDeadRunOperations(settling: DeadRunSettling): Promise<void> {
  let ops = await listDead(settling);
  if (ops === undefined || ops.length === 0) return;
  const started = Date.now();
  const killing = settling.mode === 'kill';
  settling.say(
    `${ops.length} operation${ops.length === 1 ? '' : 's'} of the run that held the lock before (${runsOf(ops)}) still in progress on the server: ` +
      `${ops.map((op) => op.what).join('; ')}; ${killing ? 'killing them (lock.deadRunOperations: kill)' : "waiting for them to end (lock.deadRunOperations: 'kill' kills them instead)"}`,
  );
  let pause = settling.pollMs ?? 500;
  const killed = new Set<unknown>();
  while (ops !== undefined && ops.length > 0) {
    if (killing) {
      for (const op of ops.filter((o) => !killed.has(o.opid))) {
        killed.add(op.opid);
        await settling.admin.command({ killOp: 1, op: op.opid }).catch((error: unknown) => {
          if (isConnectionLoss(error)) throw error;
          // it ended meanwhile, or this user may not kill it: the wait below still holds
        });
      }
    }
    try {
      await sleep(pause, undefined, { signal: settling.signal });
    } catch {
      throw new MongrateError('INTERRUPTED', `interrupted while waiting for the operations of a dead run to end on the server (${runsOf(ops)})`);
    }
    pause = Math.min(MAX_POLL_MS, pause * 2);
    ops = await listDead(settling);
  }
  settling.say(`the dead run's operations ${killing ? 'were killed' : 'ended'} after ${Math.round((Date.now() - started) / 1000)} s; going on`);
}
