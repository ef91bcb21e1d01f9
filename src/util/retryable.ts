/**
 * A promise made once and shared by every caller, forgotten when it fails so that a later call
 * may try again (a connection, the server probe, the clock sample). `take()` forgets it on
 * purpose and hands it over, so its owner can close what it holds.
 */
export interface Retryable<T> {
  (): Promise<T>;
  take(): Promise<T> | undefined;
}

export function retryable<T>(make: () => Promise<T>): Retryable<T> {
  let cached: Promise<T> | undefined;
  const get = (): Promise<T> => {
    if (cached === undefined) {
      const made = make();
      cached = made;
      // only this attempt's failure forgets it: a newer attempt may be cached by then
      made.catch(() => {
        if (cached === made) cached = undefined;
      });
    }
    return cached;
  };
  const take = (): Promise<T> | undefined => {
    const taken = cached;
    cached = undefined;
    return taken;
  };
  return Object.assign(get, { take });
}
