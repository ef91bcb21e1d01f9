// Changelog records for the planner's unit tests: an applied record with every stored field, dated
// by a number of milliseconds, the fields a test cares about given.
import type { ChangelogRecord } from '../../src/changelog/contract.ts';

/** An applied record of `id` finished at `atMs` (checksum `sha256:<id>`), with `fields` over it. */
export function appliedRecord(id: string, atMs: number, fields: Partial<ChangelogRecord> = {}): ChangelogRecord {
  const finishedAt = new Date(atMs);
  return { _id: id, state: 'applied', checksum: `sha256:${id}`, description: undefined, startedAt: finishedAt, finishedAt, durationMs: 1, runId: 'run', host: 'h', pid: 1, toolVersion: '0', ...fields };
}
