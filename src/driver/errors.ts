/**
 * Telling the driver's errors apart without `instanceof`. The error may come from the project's
 * own `mongodb` (any of 4.x-7.x) or from the one mongrate bundles, and the classes of one copy are
 * not the classes of another: `error instanceof MongoServerError` is silently false for an error
 * of the other copy. So a driver error is recognised by what every copy carries: the names of its
 * classes (each class of every driver version names itself, and a subclass keeps its parents'
 * names on its prototype chain), the server's numeric `code` and `codeName`, and `errorLabels`.
 * Nothing here reads an error's message.
 */

/**
 * Server codes that mean the server went away, or stopped being the primary, not that the command
 * was wrong: MongoDB's own list of retriable errors (`isRetriableError` in its error_labels.cpp)
 * plus the legacy NotMaster. A replica set elects a new primary within seconds (~12 s at worst),
 * so none of these says anything about the migration.
 */
const SERVER_WENT_AWAY: ReadonlySet<number> = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  89, // NetworkTimeout
  91, // ShutdownInProgress
  189, // PrimarySteppedDown
  9001, // SocketException
  10058, // LegacyNotPrimary (NotMaster before 4.4)
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

/** A unique index refused the write (DuplicateKey; 11001 from servers before 2.6 and some compatible ones). */
export const DUPLICATE_KEY_CODES: ReadonlySet<number> = new Set([11000, 11001]);

/** Server codes mongrate acts on, by their codeName. */
export const SERVER_CODES = {
  Unauthorized: 13,
  AuthenticationFailed: 18,
  IllegalOperation: 20,
  NamespaceNotFound: 26,
  IndexNotFound: 27,
  NamespaceExists: 48,
  CommandNotFound: 59,
  CommandNotSupported: 115,
  NotImplemented: 238,
  /** Amazon DocumentDB: "Retryable writes are not supported". */
  RetryableWritesNotSupported: 301,
  /** A command outside the Stable API version the client declared with `strict: true`. */
  APIStrictError: 323,
  /** Azure Cosmos DB for MongoDB (RU): the request rate exceeded the provisioned throughput (TooManyRequests). */
  TooManyRequests: 16500,
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

/**
 * The server went away: the connection is gone (or never came back), the primary stepped down or
 * is no longer primary, the server is shutting down, or the server or driver labelled the error
 * `RetryableWriteError` (it would have been retried, had the write been retryable, and a retry
 * was refused too). Nothing more can be written now, and nothing is known about the migration:
 * it is never recorded as failed for this.
 */
export function isConnectionLoss(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  if (isDriverError(error)) {
    const names = classNames(error);
    if (CONNECTION_LOST.some((name) => names.has(name))) return true;
    const code = serverCode(error);
    if (code !== undefined && SERVER_WENT_AWAY.has(code)) return true;
    if (hasErrorLabel(error, 'RetryableWriteError')) return true;
    // a bulk write that could not reach a server carries the driver's error as its response
    const response: unknown = (error as { errorResponse?: unknown }).errorResponse;
    if (response !== error && isDriverError(response) && isConnectionLoss(response)) return true;
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

/** The server said it cannot run this command at all (an older server, or a compatible one that lacks it). */
export function isUnsupportedCommand(error: unknown): boolean {
  return hasServerCode(error, SERVER_CODES.CommandNotFound, SERVER_CODES.CommandNotSupported, SERVER_CODES.NotImplemented);
}

/** Azure Cosmos DB (RU) throttled the request: nothing was done, and it may be sent again after a pause. */
export function isThrottled(error: unknown): boolean {
  return hasServerCode(error, SERVER_CODES.TooManyRequests);
}

/**
 * The driver refused the server before sending anything: its wire version is older than this
 * driver speaks. The driver reports it as a server selection timeout whose cause, or whose
 * servers' last error, is a MongoCompatibilityError.
 */
export function isServerTooOldForDriver(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  if (isDriverErrorNamed(error, 'MongoCompatibilityError')) return true;
  const cause: unknown = (error as { cause?: unknown }).cause;
  if (cause !== undefined && cause !== error && isServerTooOldForDriver(cause)) return true;
  const servers: unknown = (error as { reason?: { servers?: unknown } }).reason?.servers;
  if (!(servers instanceof Map)) return false;
  return [...(servers as Map<unknown, unknown>).values()].some((server) => isDriverErrorNamed((server as { error?: unknown } | null)?.error, 'MongoCompatibilityError'));
}
