/**
 * Telling the driver's errors apart where the outcome depends on it: a lost server (exit 5, the
 * run says what state it left) is not a failed migration (exit 1).
 */
import {
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerClosedError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from 'mongodb';

/** Server codes that mean the server is going away, not that the command was wrong. */
const SHUTTING_DOWN = new Set([
  91, // ShutdownInProgress
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
]);

/** The connection to the server is gone (or never came back): nothing more can be written now. */
export function isConnectionLoss(error: unknown): boolean {
  if (
    error instanceof MongoNetworkError ||
    error instanceof MongoServerSelectionError ||
    error instanceof MongoTopologyClosedError ||
    error instanceof MongoNotConnectedError ||
    error instanceof MongoServerClosedError
  ) {
    return true;
  }
  if (error instanceof MongoError && typeof error.code === 'number' && SHUTTING_DOWN.has(error.code)) return true;
  // a helper may wrap the driver's error
  return error instanceof Error && error.cause !== undefined && error.cause !== error && isConnectionLoss(error.cause);
}

/** A driver error, as opposed to one of ours or one the migration threw. */
export function isDriverError(error: unknown): error is MongoError {
  return error instanceof MongoError;
}
