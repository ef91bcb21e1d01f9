/**
 * Telling the driver's errors apart without `instanceof`. The error may come from the project's
 * own `mongodb` (any of 4.x-7.x) or from the one mongrate bundles, and the classes of one copy are
 * not the classes of another: `error instanceof MongoServerError` is silently false for an error
 * of the other copy. So a driver error is recognised by what every copy carries: the names of its
 * classes (each class of every driver version names itself, and a subclass keeps its parents'
 * names on its prototype chain), the server's numeric `code` and `codeName`, and `errorLabels`.
 * Nothing here reads an error's message.
 */

/** Server codes that mean the server is going away, not that the command was wrong. */
const SHUTTING_DOWN: ReadonlySet<number> = new Set([
  91, // ShutdownInProgress
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
]);

/** A unique index refused the write (DuplicateKey; 11001 from servers before 2.6 and some compatible ones). */
export const DUPLICATE_KEY_CODES: ReadonlySet<number> = new Set([11000, 11001]);

/** Server codes mongrate acts on, by their codeName. */
export const SERVER_CODES = {
  AuthenticationFailed: 18,
  IllegalOperation: 20,
  NamespaceNotFound: 26,
  IndexNotFound: 27,
  NamespaceExists: 48,
} as const;

/** Classes whose errors mean the connection is gone (or never came back): nothing more can be written now. */
const CONNECTION_LOST = [
  // MongoNetworkTimeoutError and MongoPoolClearedError are MongoNetworkErrors
  'MongoNetworkError',
  'MongoServerSelectionError',
  'MongoTopologyClosedError',
  'MongoNotConnectedError',
  'MongoServerClosedError',
  'MongoClientClosedError',
];

/** What every driver version's errors carry, read without trusting their class. */
export interface DriverError extends Error {
  code?: number | string;
  codeName?: string;
  errorLabels?: readonly string[];
  /** A duplicate key's index key, where the server names it. */
  keyPattern?: unknown;
}

/** The names of the error's classes, most specific first (`MongoNetworkTimeoutError`, `MongoNetworkError`, ..., `Error`). */
function classNames(error: object): Set<string> {
  const names = new Set<string>();
  for (let proto: unknown = Object.getPrototypeOf(error); proto !== null && typeof proto === 'object'; proto = Object.getPrototypeOf(proto)) {
    const constructor: unknown = (proto as { constructor?: unknown }).constructor;
    if (typeof constructor === 'function' && constructor.name !== '') names.add(constructor.name);
  }
  const name: unknown = (error as { name?: unknown }).name;
  if (typeof name === 'string') names.add(name);
  return names;
}

/** Whether `error` is (a subclass of) the driver class called `name`, from whichever copy of the driver. */
export function isDriverErrorNamed(error: unknown, name: string): error is DriverError {
  return typeof error === 'object' && error !== null && classNames(error).has(name);
}

/** A driver error, as opposed to one of ours or one a migration threw. */
export function isDriverError(error: unknown): error is DriverError {
  return isDriverErrorNamed(error, 'MongoError');
}

/** The server refused a command (as opposed to a network or client-side failure). */
export function isServerError(error: unknown): error is DriverError {
  return isDriverErrorNamed(error, 'MongoServerError');
}

/** The server's numeric error code, when the error is the server's answer. */
export function serverCode(error: unknown): number | undefined {
  if (!isDriverError(error)) return undefined;
  return typeof error.code === 'number' ? error.code : undefined;
}

/** The server answered with one of these codes. */
export function hasServerCode(error: unknown, ...codes: number[]): boolean {
  const code = serverCode(error);
  return code !== undefined && codes.includes(code);
}

/** The server's codeName (`IllegalOperation`), when it sent one. */
export function codeNameOf(error: unknown): string | undefined {
  if (!isDriverError(error)) return undefined;
  return typeof error.codeName === 'string' ? error.codeName : undefined;
}

/** A unique index refused the write: by the server's code, never by the wording of its message. */
export function isDuplicateKey(error: unknown): boolean {
  const code = serverCode(error);
  return code !== undefined && DUPLICATE_KEY_CODES.has(code);
}

/** The driver (or the server) labelled the error, e.g. `TransientTransactionError`. */
export function hasErrorLabel(error: unknown, label: string): boolean {
  if (!isDriverError(error)) return false;
  const labels: unknown = error.errorLabels;
  return Array.isArray(labels) && labels.includes(label);
}

/** The connection to the server is gone (or never came back): nothing more can be written now. */
export function isConnectionLoss(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  if (isDriverError(error)) {
    const names = classNames(error);
    if (CONNECTION_LOST.some((name) => names.has(name))) return true;
    const code = serverCode(error);
    if (code !== undefined && SHUTTING_DOWN.has(code)) return true;
  }
  // bulkWrite wraps a connection error met mid-batch in a MongoBulkWriteError with no write errors,
  // copying its own fields: a server selection error's `reason`, a network error's `beforeHandshake`
  if (isDriverErrorNamed(error, 'MongoBulkWriteError')) {
    const { writeErrors } = error as { writeErrors?: unknown };
    if ((!Array.isArray(writeErrors) || writeErrors.length === 0) && ('reason' in error || 'beforeHandshake' in error)) return true;
  }
  // a helper may wrap the driver's error
  const cause: unknown = (error as { cause?: unknown }).cause;
  return cause !== undefined && cause !== error && isConnectionLoss(cause);
}
