/**
 * Waiting without leaks: every timer the server sets goes through one `Timers`, cleared all at
 * once on close, and every wait on behalf of a command ends when the command's signal aborts
 * (killOp, a step-down, maxTimeMS, the connection closing), rejecting with the signal's reason.
 */

export class Timers {
  private readonly pending = new Set<NodeJS.Timeout>();

  after(ms: number, run: () => void): () => void {
    const timer = setTimeout(() => {
      this.pending.delete(timer);
      run();
    }, Math.max(0, ms));
    this.pending.add(timer);
    return () => {
      clearTimeout(timer);
      this.pending.delete(timer);
    };
  }

  clearAll(): void {
    for (const timer of this.pending) clearTimeout(timer);
    this.pending.clear();
  }
}

/** Resolves with `promise`, or rejects with the signal's reason once it aborts. */
export function until<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

export function sleep(timers: Timers, ms: number, signal: AbortSignal): Promise<void> {
  let cancel = (): void => undefined;
  const slept = new Promise<void>((resolve) => (cancel = timers.after(ms, resolve)));
  return until(slept, signal).finally(cancel);
}

/** A promise with its resolve function outside, for "wake everyone who waits for X". */
export function latch(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
