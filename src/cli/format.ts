/** How counts, durations, rates and progress read in the CLI's lines. */
import type { HelperProgress } from '../index.ts';

/** `1 migration`, `3 migrations`: a count with its noun (regular plurals only). */
export function countOf(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return '';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
}

/** A time still to go, rounded the way a person estimates: `40 s`, `3 min 10 s`, `2 h 5 min`. */
export function formatEta(seconds: number): string {
  const s = Math.max(1, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** `bumpSchemaVersion users: 400/1000 (40%), 38 docs/s, ETA 16 s`: the same on a spinner and in a log line. */
export function progressWords({ helper, collection, done, total, docsPerSecond }: HelperProgress): string {
  const percent = total > 0 ? ` (${Math.floor((done / total) * 100)}%)` : '';
  const rate = `${Math.round(docsPerSecond)} docs/s`;
  const eta = done >= total ? 'done' : docsPerSecond > 0 ? `ETA ${formatEta((total - done) / docsPerSecond)}` : 'ETA unknown';
  return `${helper} ${collection}: ${done}/${total}${percent}, ${rate}, ${eta}`;
}
