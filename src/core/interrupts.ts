/** Ctrl-C for a migrator: `interrupt()` aborts the current run, or the next one when none is under way. */
import { MongrateError } from '../errors.ts';

export class Interrupts {
  private current: AbortController | undefined;
  /** interrupt() before a run started: that run starts already stopped. */
  private pending = false;

  interrupt(): void {
    if (this.current === undefined) this.pending = true;
    else this.current.abort(new MongrateError('INTERRUPTED', 'interrupted'));
  }

  /** A fresh signal for the run about to start. */
  begin(): AbortController {
    const abort = new AbortController();
    if (this.pending) abort.abort(new MongrateError('INTERRUPTED', 'interrupted'));
    this.pending = false;
    this.current = abort;
    return abort;
  }

  end(): void {
    this.current = undefined;
  }
}
