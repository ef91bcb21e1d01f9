/**
 * A server's refusal of a command it does not implement, told apart from a command that is wrong,
 * becomes the error `ServerInfo.require` gives: MIGRATION_FAILED naming the feature. The capability
 * table cannot know every build of every compatible server (a DocumentDB that poses as MongoDB 7
 * and has no hidden indexes), so where the table grants a feature the server's answer has the last
 * word, and the user reads one kind of message either way.
 */
import { serverCode } from '../driver/errors.ts';
import { MongrateError, messageOf } from '../errors.ts';
import { FEATURE_NAMES, type Feature } from '../server/capabilities.ts';
import type { HelperContext } from './types.ts';

/** CommandNotFound (59), CommandNotSupported (115), NotImplemented (238): how servers say "not here". */
const NOT_IMPLEMENTED = new Set([59, 115, 238]);

/** Runs `command`; the server's "not implemented" answer becomes the error naming `feature`. */
export async function needing<T>(ctx: HelperContext, feature: Feature, what: string, command: () => Promise<T>): Promise<T> {
  try {
    return await command();
  } catch (error) {
    const code = serverCode(error);
    if (code === undefined || !NOT_IMPLEMENTED.has(code)) throw error;
    throw new MongrateError(
      'MIGRATION_FAILED',
      `${what} needs ${FEATURE_NAMES[feature]} [${feature}], which ${ctx.server.describe()} does not support (it answered: ${messageOf(error)})`,
      { cause: error },
    );
  }
}
