/**
 * What a server's refusal of a command mongrate itself sent means, where it is the connection's
 * settings and not the command: a config error (exit 2) saying what to change, instead of the
 * server's raw words. Read by code (src/driver/errors.ts), never by message.
 */
import { hasServerCode, SERVER_CODES } from '../driver/errors.ts';
import { MongrateError, configError, messageOf } from '../errors.ts';

export function settingRefused(error: unknown, clean: (text: string) => string): MongrateError | undefined {
  const said = clean(messageOf(error));
  if (hasServerCode(error, SERVER_CODES.RetryableWritesNotSupported)) {
    // Amazon DocumentDB's answer to any write that carries a transaction number
    return configError(`the server does not support retryable writes (${said}): add retryWrites=false to the connection string (Amazon DocumentDB needs it)`, error);
  }
  if (hasServerCode(error, SERVER_CODES.APIStrictError)) {
    return configError(
      `the client declares the Stable API with strict: true, and the server refused a command outside API version 1 (${said}); ` +
        "give mongrate clientOptions.serverApi with strict: false, or no serverApi",
      error,
    );
  }
  return undefined;
}
