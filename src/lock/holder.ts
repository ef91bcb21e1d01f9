/** How a lock's holder is named in every message, the core's and the CLI's: `host pid 123 (up) since 2026-01-01T10:42:00.000Z`. */
import type { LockInfo } from '../types.ts';

export function describeHolder(lock: LockInfo): string {
  return `${lock.host} pid ${lock.pid} (${lock.command}) since ${lock.acquiredAt.toISOString()}`;
}
