/**
 * How `history` and `show` print events: one line each, in columns (when, event, migration, how
 * long, who, version and environment), the CI job that ran it and the outcome of a failure,
 * repair or unlock wrapped under it. Plain lines rather than a table: an outcome is free text,
 * and a log of events reads top to bottom.
 */
import type { ChalkInstance } from 'chalk';
import type { CiJob, HistoryEntry, HistoryEventName } from '../index.ts';
import { formatDuration } from './format.ts';
import type { Renderer } from './renderer.ts';
import { wrapLine } from './wrap.ts';

const EVENT_COLOURS: Record<HistoryEventName, (c: ChalkInstance) => ChalkInstance> = {
  applied: (c) => c.green,
  reverted: (c) => c.cyan,
  failed: (c) => c.red,
  interrupted: (c) => c.red,
  'rolled back': (c) => c.yellow,
  repaired: (c) => c.magenta,
  baselined: (c) => c.cyan,
  imported: (c) => c.cyan,
  unlocked: (c) => c.magenta,
};

const colourOf = (event: string): ((c: ChalkInstance) => ChalkInstance) => (Object.hasOwn(EVENT_COLOURS, event) ? EVENT_COLOURS[event as HistoryEventName] : (c) => c.reset);

/** `2026-11-26 10:42:00Z`: to the second, in UTC, as the server recorded it. */
export function whenText(date: Date | undefined): string {
  return date?.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') ?? '';
}

/** `failed (down)`: the event with the direction where it is not obvious. */
function eventText(entry: HistoryEntry): string {
  return entry.direction === 'down' && entry.event !== 'reverted' ? `${entry.event} (down)` : entry.event;
}

/** `ci: GitHub Actions deploy / migrate #8675309 https://github.com/acme/app/actions/runs/8675309`. */
export function ciText(ci: CiJob): string {
  return ['ci:', ci.service, ci.job, ci.id === undefined ? undefined : `#${ci.id}`, ci.url].filter((part) => part !== undefined).join(' ');
}

/** Prints events oldest first, aligned in columns; `withId: false` leaves the migration out (show's own events). */
export function printHistory(out: Renderer, entries: HistoryEntry[], options: { withId: boolean; indent?: string }): void {
  const { chalk } = out;
  const indent = options.indent ?? '';
  const rows = entries.map((entry) => ({
    entry,
    cells: [
      whenText(entry.at),
      eventText(entry),
      ...(options.withId ? [entry.id ?? '(lock)'] : []),
      formatDuration(entry.durationMs),
      `${entry.user}@${entry.host} pid ${entry.pid}`,
      `mongrate ${entry.toolVersion}${entry.environment === undefined ? '' : `  env ${entry.environment}`}`,
    ],
  }));
  const widths = rows.reduce<number[]>((max, { cells }) => cells.map((cell, i) => Math.max(max[i] ?? 0, cell.length)), []);
  const width = out.width();
  for (const { entry, cells } of rows) {
    const padded = cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)));
    padded[1] = colourOf(entry.event)(chalk)(padded[1] ?? '');
    out.out(`${indent}${padded.join('  ')}`.trimEnd());
    if (entry.outcome !== undefined) {
      const text = entry.outcome.replace(/\s*\n\s*/g, ' ');
      for (const line of wrapLine(text, width - indent.length - 4, '')) out.out(chalk.dim(`${indent}    ${line}`));
    }
    if (entry.ci !== undefined) for (const line of wrapLine(ciText(entry.ci), width - indent.length - 4, '')) out.out(chalk.dim(`${indent}    ${line}`));
  }
}
