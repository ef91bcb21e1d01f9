/**
 * Opens a connection with the driver given (the project's, or the bundled one: see
 * `src/driver/drivers.ts`) and turns the driver's failures into typed errors: a malformed URI
 * is a usage error, found before any server is contacted; a server that does not answer in time
 * is UNREACHABLE; refused credentials are AUTH_FAILED; a server older than the driver speaks to
 * is a config error naming the oldest it takes. Messages carry the URI with its password masked.
 *
 * mongrate's client is safe on a replica set whatever the connection string says (see
 * `safeguarded`): it reads from the primary, and its writes wait for a majority.
 */
import type { MongoClient, MongoClientOptions, WriteConcernSettings } from 'mongodb';
import { clientOptionsFor } from '../driver/client-options.ts';
import { MAJORITY_WAIT_MS } from '../driver/own-documents.ts';
import type { Driver } from '../driver/drivers.ts';
import { hasServerCode, isDriverErrorNamed, isServerTooOldForDriver, SERVER_CODES } from '../driver/errors.ts';
import { oldestServerFor } from '../driver/find.ts';
import { MongrateError, configError, messageOf as errorMessage } from '../errors.ts';
import { greetingOf } from '../server/greeting.ts';
import type { ResolvedConfig } from '../types.ts';
import { redactText, redactUri, secretsOf } from '../util/redact.ts';

/** Amazon DocumentDB's cluster and instance endpoints; it refuses retryable writes. */
const DOCUMENTDB_HOST = /\.docdb(?:-elastic)?\.amazonaws\.com$/i;

/** The driver types it as always there; it is undefined when neither the URI nor the options name one. */
function writeConcernOf(options: { writeConcern?: WriteConcernSettings }): WriteConcernSettings {
  return options.writeConcern ?? {};
}

/**
 * The client options mongrate runs with, over what the URI and config ask:
 * - reads from the primary (a `readPreference=secondaryPreferred` URI would send the lock and
 *   changelog reads, the helpers' pages and counts, and every transaction to a lagging secondary,
 *   and the driver refuses a transaction that does not read from the primary);
 * - writes acknowledged by a majority (a `w:1` write, changelog or data, can be rolled back
 *   after a failover), waiting at most MAJORITY_WAIT_MS; a stronger concern the URI asks for
 *   (`w=3`, a tag) is kept. `w=0` (unacknowledged) is refused: mongrate must know what it wrote.
 * `parsed` is what the driver made of the URI and options alone.
 */
function safeguarded(options: MongoClientOptions, parsed: MongoClient['options'], shown: string): MongoClientOptions {
  const asked = writeConcernOf(parsed);
  if (asked.w === 0) {
    throw new MongrateError('USAGE', `the connection string ${shown} asks for unacknowledged writes (w=0): mongrate must know that its writes happened; remove w=0`);
  }
  // 'majority', a number of members over 1, or a tag set's name
  const stronger = (typeof asked.w === 'number' && asked.w > 1) || typeof asked.w === 'string';
  const writeConcern: WriteConcernSettings = {
    ...(asked.journal === undefined ? {} : { journal: asked.journal }),
    w: stronger ? asked.w : 'majority',
    wtimeoutMS: asked.wtimeoutMS ?? MAJORITY_WAIT_MS,
  };
  return { ...options, readPreference: 'primary', writeConcern };
}

/** A refusal before connecting: Amazon DocumentDB with retryable writes on (the driver's default). */
function refuseRetryableWritesOnDocumentDb(parsed: MongoClient['options'], shown: string): void {
  if (parsed.retryWrites && parsed.hosts.some((host) => DOCUMENTDB_HOST.test(host.host ?? ''))) {
    throw configError(`${shown} is Amazon DocumentDB, which does not support retryable writes: add retryWrites=false to the connection string (as AWS's own connection string does)`);
  }
}

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
    const parsed = new driver.mongodb.MongoClient(config.uri, { appName: 'mongrate', ...options });
    refuseRetryableWritesOnDocumentDb(parsed.options, shown);
    client = new driver.mongodb.MongoClient(config.uri, safeguarded({ appName: 'mongrate', ...options }, parsed.options, shown));
  } catch (error) {
    if (error instanceof MongrateError) throw error;
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
    // connect() alone can succeed lazily with some topologies; a hello proves the server answers,
    // and its reply is what the run reads of the server afterwards (greeting.ts)
    await greetingOf(client);
    return client;
  } catch (error) {
    await client.close().catch(() => undefined);
    if (isServerTooOldForDriver(error)) {
      const oldest = oldestServerFor(driver);
      throw configError(
        `the server at ${shown} is older than mongodb ${driver.version} (the driver mongrate runs on) can talk to` +
          `${oldest === undefined ? '' : `: it needs MongoDB ${oldest} or newer (or a compatible server that reports that wire version)`}; upgrade the server`,
        error,
      );
    }
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
