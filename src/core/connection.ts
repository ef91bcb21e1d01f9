/**
 * Opens a connection with the driver given (the project's, or the bundled one: see
 * `src/driver/drivers.ts`) and turns the driver's failures into typed errors: a malformed URI
 * is a usage error, found before any server is contacted; a server that does not answer in time
 * is UNREACHABLE; refused credentials are AUTH_FAILED. Messages carry the URI with its password
 * masked.
 */
import type { MongoClient } from 'mongodb';
import { clientOptionsFor } from '../driver/client-options.ts';
import type { Driver } from '../driver/drivers.ts';
import { hasServerCode, isDriverErrorNamed, SERVER_CODES } from '../driver/errors.ts';
import { MongrateError, configError, messageOf as errorMessage } from '../errors.ts';
import type { ResolvedConfig } from '../types.ts';
import { redactText, redactUri, secretsOf } from '../util/redact.ts';

/** Whether the URI alone parses: then what the driver refused with the client options was the options. */
function parses(driver: Driver, uri: string): boolean {
  try {
    new driver.mongodb.MongoClient(uri);
    return true;
  } catch {
    return false;
  }
}

export async function connect(config: Pick<ResolvedConfig, 'uri' | 'clientOptions'>, driver: Driver): Promise<MongoClient> {
  const secrets = secretsOf(config.uri);
  // masked by position first: a malformed URI (wrong scheme, unescaped '@' or '/') is shown too
  const shown = redactText(redactUri(config.uri), secrets);
  // driver messages may quote the URI or parts of it
  const messageOf = (error: unknown): string => redactText(errorMessage(error), secrets);
  let options: ReturnType<typeof clientOptionsFor>;
  try {
    options = clientOptionsFor(config.clientOptions, driver.major);
  } catch (error) {
    // a certificate file the 4.x-era options name cannot be read
    throw configError(`client options: ${messageOf(error)}`, error);
  }
  let client: MongoClient;
  try {
    client = new driver.mongodb.MongoClient(config.uri, { appName: 'mongrate', ...options });
  } catch (error) {
    // the constructor only parses: whatever it throws is about the URI or the client options,
    // and the URI alone tells which
    if (Object.keys(config.clientOptions).length > 0 && parses(driver, config.uri)) {
      throw configError(`the config's client options are refused by mongodb ${driver.version}: ${messageOf(error)}`, error);
    }
    throw new MongrateError('USAGE', `invalid connection string ${shown}: ${messageOf(error)}`);
  }
  // The parser lets an empty host through (`mongodb://h:1,/`): the driver would fail on it only
  // while connecting, after the server selection timeout, and with an unhandled error besides.
  const empty = client.options.hosts.findIndex((host) => host.socketPath === undefined && (host.host ?? '') === '');
  if (empty !== -1) {
    await client.close().catch(() => undefined);
    throw new MongrateError('USAGE', `invalid connection string ${shown}: host ${empty + 1} of ${client.options.hosts.length} is empty (a stray ',')`);
  }
  try {
    await client.connect();
    // connect() alone can succeed lazily with some topologies; a ping proves the server answers
    await client.db('admin').command({ ping: 1 });
    return client;
  } catch (error) {
    await client.close().catch(() => undefined);
    if (isDriverErrorNamed(error, 'MongoServerSelectionError')) {
      const timeout = config.clientOptions.serverSelectionTimeoutMS ?? 30000;
      throw new MongrateError(
        'UNREACHABLE',
        `cannot reach MongoDB at ${shown} within ${timeout} ms (${messageOf(error)}); is the server running and the URI right?`,
      );
    }
    if (isDriverErrorNamed(error, 'MongoServerError') && hasServerCode(error, SERVER_CODES.AuthenticationFailed)) {
      throw new MongrateError('AUTH_FAILED', `authentication failed for ${shown}: check the user name and password (and authSource)`);
    }
    if (isDriverErrorNamed(error, 'MongoParseError') || isDriverErrorNamed(error, 'MongoInvalidArgumentError')) {
      throw new MongrateError('USAGE', `invalid connection string ${shown}: ${messageOf(error)}`);
    }
    throw new MongrateError('UNREACHABLE', `cannot connect to ${shown}: ${messageOf(error)}`, { cause: error });
  }
}
