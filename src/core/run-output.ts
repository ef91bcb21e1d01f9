/**
 * What a migration said while it ran, kept with its history entry so `show <id>` answers "what
 * did it do?" a month later: its own `log()` lines, and the lines its helpers reported (each
 * helper's counts: `reshape(users): 3 matched, 3 modified, 0 deleted`). Kept bounded, since a
 * migration may log in a loop: at most LOG_LINES of its own lines and HELPER_LINES of its helpers',
 * the first and the last halves when there are more (a marker line says how many were left out),
 * each line cut to LINE_LENGTH characters: at most about 75 KB per history entry. Every line
 * is masked (connection strings' credentials) before it is stored.
 */
import type { RunOutput } from '../types.ts';

export const LOG_LINES = 100;
export const HELPER_LINES = 50;
export const LINE_LENGTH = 500;

/** Who said a line: the migration (`ctx.log`), or a helper reporting what it did. */
export type LineSource = 'migration' | 'helper';

/** The lines of one step, collected as they are logged (only the attempt that counted, in a transaction). */
export class StepOutput {
  private readonly lines: Record<LineSource, string[]> = { migration: [], helper: [] };

  add(line: string, from: LineSource): void {
    this.lines[from].push(line);
  }

  /** The lines as stored: bounded and masked; undefined when nothing was said. */
  stored(clean: (text: string) => string): RunOutput | undefined {
    const log = bounded(this.lines.migration, LOG_LINES, clean);
    const helpers = bounded(this.lines.helper, HELPER_LINES, clean);
    if (log.lines.length === 0 && helpers.lines.length === 0) return undefined;
    const omitted = log.omitted + helpers.omitted;
    return { log: log.lines, helpers: helpers.lines, ...(omitted > 0 ? { omitted } : {}) };
  }
}

function bounded(lines: string[], most: number, clean: (text: string) => string): { lines: string[]; omitted: number } {
  const cut = (line: string): string => {
    const masked = clean(line);
    return masked.length > LINE_LENGTH ? `${masked.slice(0, LINE_LENGTH - 1)}…` : masked;
  };
  if (lines.length <= most) return { lines: lines.map(cut), omitted: 0 };
  const half = Math.floor(most / 2);
  const omitted = lines.length - 2 * half;
  return { lines: [...lines.slice(0, half).map(cut), `… ${omitted} lines left out …`, ...lines.slice(-half).map(cut)], omitted };
}
