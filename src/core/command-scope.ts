/**
 * What a migrator's commands share: its config, its database, its interrupts, how it emits
 * events and masks secrets; and the scaffold of every command that writes: holding the lock.
 */
import type { EventEmitter } from 'node:events';
import { MongrateError } from '../errors.ts';
import type { MigratorEvents, ResolvedConfig } from '../types.ts';
import { newRunIdentity, type RunIdentity } from '../util/identity.ts';
import type { Interrupts } from './interrupts.ts';
import { settleDeadRunOperations } from './dead-run-operations.ts';
import { Lease } from './lease.ts';
import { Recorder } from './recorder.ts';
import { inRun, runComment } from './run-comment.ts';
import type { RunLease } from './runner.ts';
import type { Connection, TargetDatabase } from './target-database.ts';

export interface CommandScope {
  config: ResolvedConfig;
  target: TargetDatabase;
  interrupts: Interrupts;
  emit: EventEmitter<MigratorEvents>['emit'];
  /** Masks the connection string's secrets in text bound for output or a document. */
  clean: (text: string) => string;
}

/** A command holding the lock: its identity, signal, lease and recorder. */
export interface Locked {
  identity: RunIdentity;
  signal: AbortSignal;
  lease: RunLease;
  recorder: Recorder;
  connection: Connection;
  /** Emits a warning and lists it in the command's result. */
  warn: (id: string | undefined, message: string) => void;
  /** Stops the run at the next safe point, as Ctrl-C does, for `reason` (a migration's time limit). */
  interrupt: (reason: MongrateError) => void;
}

/**
 * Runs `work` holding the lock, with a fresh run (its own id and abort signal). Losing the lease
 * aborts the signal; a failed release is a warning. The result lists the command's warnings (a
 * run result always; the others when there are some).
 */
export async function withLock<T extends { warnings?: string[] }>(
  scope: CommandScope,
  command: string,
  lockWait: number | undefined,
  work: (locked: Locked) => Promise<T>,
): Promise<T> {
  const { config, target } = scope;
  const waitSeconds = lockWait ?? config.lock.waitSeconds;
  const connection = await target.open();
  await target.prepare(connection);
  const identity = newRunIdentity();
  const abort = scope.interrupts.begin();
  const warnings: string[] = [];
  const warn = (id: string | undefined, message: string): void => {
    warnings.push(message);
    scope.emit('warning', { id, message });
  };
  try {
    const clock = await target.clock();
    const lease = new Lease({
      store: target.lockStore(connection.db),
      clock,
      identity,
      command,
      ttlSeconds: config.lock.ttlSeconds,
      waitSeconds,
      signal: abort.signal,
      onWait: (holder) => scope.emit('lockWait', { holder, waitSeconds }),
      onTakeover: (previous) => scope.emit('lockTakeover', { previous }),
      onLost: (reason) => abort.abort(new MongrateError('LOCK_LOST', reason)),
    });
    // everything the run sends, the lease's heartbeats included, carries the run's comment
    const comment = runComment(identity.runId, config.database);
    await inRun(comment, () => lease.acquire());
    const recorder = new Recorder({ store: connection.store, identity, now: () => clock.now(), warn, clean: scope.clean, environment: config.environment?.name });
    let result: T;
    try {
      result = await inRun(comment, async () => {
        await settleDeadRunOperations({
          admin: connection.db.client.db('admin'),
          database: config.database,
          runId: identity.runId,
          mode: config.lock.deadRunOperations,
          signal: abort.signal,
          say: (message) => warn(undefined, message),
        });
        return work({ identity, signal: abort.signal, lease, recorder, connection, warn, interrupt: (reason) => abort.abort(reason) });
      });
    } finally {
      const released = await inRun(comment, () => lease.release());
      if (released.warning !== undefined) warn(undefined, scope.clean(released.warning));
    }
    if (warnings.length > 0 || Array.isArray(result.warnings)) result.warnings = warnings;
    return result;
  } finally {
    scope.interrupts.end();
  }
}
