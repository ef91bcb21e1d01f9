/**
 * The `comment` mongrate's commands carry (see driver/commented.ts): `mongrate run <runId> on
 * <database>` for everything a command holding the lock sends (its migrations, helpers,
 * changelog, lock heartbeats), `mongrate` for the rest (`status`, the server probe). The run is
 * known from the async context `inRun` starts, so work a run starts (a helper, a heartbeat timer)
 * carries its run's comment wherever it is sent from.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const runs = new AsyncLocalStorage<string>();

const PREFIX = 'mongrate run ';

export function runComment(runId: string, database: string): string {
  return `${PREFIX}${runId} on ${database}`;
}

/** Runs `work` (and what it starts) as part of the run `comment` names. */
export function inRun<T>(comment: string, work: () => T): T {
  return runs.run(comment, work);
}

/** The comment of the run this code belongs to, or `mongrate`. */
export function currentComment(): string {
  return runs.getStore() ?? 'mongrate';
}

/** The run id and database of a run's comment; undefined for any other comment. */
export function parseRunComment(comment: unknown): { runId: string; database: string } | undefined {
  if (typeof comment !== 'string' || !comment.startsWith(PREFIX)) return undefined;
  const rest = comment.slice(PREFIX.length);
  const on = rest.indexOf(' on ');
  if (on <= 0) return undefined;
  return { runId: rest.slice(0, on), database: rest.slice(on + ' on '.length) };
}
