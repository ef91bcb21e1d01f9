/**
 * What the connected server can do. MongoDB-compatible servers (FerretDB, Amazon DocumentDB,
 * Azure Cosmos DB) answer MongoDB's wire protocol but lack features, and some pose as a recent
 * MongoDB in `buildInfo`, so a version check alone is not enough: `capabilitiesFrom` reads the
 * markers each one leaves in its `buildInfo`/`hello` replies. Code that needs a feature calls
 * `require()`, which fails with a message naming the feature instead of skipping silently.
 */
import type { ClientSession, Db, Document, MongoClient } from 'mongodb';
import { codeNameOf, hasServerCode, isConnectionLoss, isServerError, SERVER_CODES, serverCode } from '../driver/errors.ts';
import { MongrateError, messageOf } from '../errors.ts';
import { greetingOf } from './greeting.ts';

/**
 * `documentdb` is Amazon DocumentDB; `documentdb-gateway` the open-source DocumentDB (pg_documentdb)
 * behind its gateway; `cosmosdb` is Azure Cosmos DB for MongoDB (RU); `cosmosdb-vcore` its vCore
 * clusters, another engine.
 */
export type ServerFlavour = 'mongodb' | 'ferretdb' | 'documentdb' | 'documentdb-gateway' | 'cosmosdb' | 'cosmosdb-vcore' | 'unknown';
export type ServerTopology = 'standalone' | 'replicaset' | 'sharded';

export const FEATURES = [
  'transactions',
  'partialIndexes',
  'ttlIndexes',
  'textIndexes',
  'validators',
  '$out',
  '$merge',
  '$lookup',
  'pipelineUpdates',
  'renameDropTarget',
  'hiddenIndexes',
  'collMod',
  'views',
] as const;
export type Feature = (typeof FEATURES)[number];

/** How each feature is named in messages: the words a user would search the server's docs for. */
export const FEATURE_NAMES: Readonly<Record<Feature, string>> = {
  transactions: 'multi-document transactions',
  partialIndexes: 'partial indexes (partialFilterExpression)',
  ttlIndexes: 'TTL indexes (expireAfterSeconds)',
  textIndexes: 'text indexes',
  validators: 'collection validators (collMod / create with validator)',
  $out: 'the $out aggregation stage',
  $merge: 'the $merge aggregation stage',
  $lookup: 'the $lookup aggregation stage',
  pipelineUpdates: 'updates with an aggregation pipeline',
  renameDropTarget: 'renameCollection dropTarget',
  hiddenIndexes: 'hidden indexes (hidden, collMod index.hidden)',
  collMod: 'changing an index or a view in place (collMod)',
  views: 'views (create with viewOn and pipeline)',
};

export interface ServerInfo {
  flavour: ServerFlavour;
  /** The product's own version (FerretDB's, not the MongoDB version it poses as). */
  version: string;
  /** The MongoDB version the server reports in `buildInfo`. */
  mongodbVersion: string;
  topology: ServerTopology;
  /** Every supported feature, for display and JSON output. */
  features: readonly Feature[];
  /** Most statements one `update`/`delete` command may carry; helpers chunk bulk writes to it. */
  maxUpdatesPerCommand: number;
  /**
   * The client declared the Stable API with `strict: true` (Atlas's own snippet does): commands
   * outside API version 1 (`buildInfo`, `$currentOp`, `renameCollection` before 8.1...) are refused.
   */
  apiStrict: boolean;
  supports(feature: Feature): boolean;
  /** Why a feature is not supported, where there is more to say than "it lacks it" (Cosmos DB RU's transactions). */
  whyNot(feature: Feature): string | undefined;
  /** Throws a MIGRATION_FAILED error naming the feature and the server when it is missing. */
  require(feature: Feature, what: string): void;
  /** e.g. "FerretDB 1.24.2 (poses as MongoDB 7.0.42, standalone)". */
  describe(): string;
}

/** Statements per update command: MongoDB takes 100,000, but 1000 keeps each round trip short. */
const DEFAULT_MAX_UPDATES = 1000;
/**
 * FerretDB 1.x (SQLite) holds one pool connection per statement of an update command; with 100
 * statements the pool is exhausted, the command never returns and the database stays wedged.
 */
const FERRETDB_MAX_UPDATES = 50;

/** Azure Cosmos DB for MongoDB (RU) accounts: `<account>.mongo.cosmos.azure.com` (3.6+), `<account>.documents.azure.com` (3.2). */
const COSMOS_RU_HOST = /\.mongo\.cosmos\.azure\.(?:com|cn|us)(?::\d+)?$|\.documents\.azure\.(?:com|cn|us)(?::\d+)?$/i;
/** Azure Cosmos DB for MongoDB vCore clusters: `*.mongocluster.cosmos.azure.com` (a different engine from RU). */
export const COSMOS_VCORE_HOST = /\.mongocluster\.cosmos\.azure\.(?:com|cn|us)(?::\d+)?$/i;
const DOCUMENTDB_HOST = /\.docdb(?:-elastic)?\.amazonaws\.com(?::\d+)?$/i;

type Version = readonly [number, number, number];

function parseVersion(text: string): Version | undefined {
  const match = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (match === null) return undefined;
  return [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)];
}

function atLeast(version: Version, major: number, minor = 0): boolean {
  return version[0] > major || (version[0] === major && version[1] >= minor);
}

function stringField(document: Document, key: string): string | undefined {
  const value: unknown = document[key];
  return typeof value === 'string' ? value : undefined;
}

/** Host names the server reports about itself; managed services answer with their own domains. */
function reportedHosts(hello: Document): string[] {
  const hosts: unknown[] = [hello.me, hello.primary];
  for (const key of ['hosts', 'passives', 'arbiters']) {
    const list: unknown = hello[key];
    if (Array.isArray(list)) hosts.push(...(list as unknown[]));
  }
  return hosts.filter((host): host is string => typeof host === 'string');
}

function topologyOf(hello: Document): ServerTopology {
  if (hello.msg === 'isdbgrid') return 'sharded';
  if (typeof hello.setName === 'string') return 'replicaset';
  return 'standalone';
}

/** FerretDB 1.x answers `ferretdbVersion`; 2.x a `ferretdb` document with a `version`. */
function ferretDbVersion(buildInfo: Document): string | undefined {
  const v1 = stringField(buildInfo, 'ferretdbVersion');
  if (v1 !== undefined) return v1.replace(/^v/, '');
  const v2: unknown = buildInfo.ferretdb;
  if (typeof v2 === 'object' && v2 !== null) {
    const version = stringField(v2, 'version');
    return (version ?? 'unknown').replace(/^v/, '');
  }
  return undefined;
}

/** The open-source DocumentDB gateway answers `hello` as a mongos with its own `internal` topology document. */
function isDocumentDbGateway(hello: Document): boolean {
  const internal: unknown = hello.internal;
  return hello.msg === 'isdbgrid' && typeof internal === 'object' && internal !== null;
}

function flavourOf(buildInfo: Document, hello: Document): ServerFlavour {
  if (ferretDbVersion(buildInfo) !== undefined) return 'ferretdb';
  if (isDocumentDbGateway(hello)) return 'documentdb-gateway';
  const hosts = reportedHosts(hello);
  // vCore first: its host names end in .cosmos.azure.com too, and it is another engine with other limits
  if (hosts.some((h) => COSMOS_VCORE_HOST.test(h))) return 'cosmosdb-vcore';
  // Cosmos DB's RU API marks its replies with .NET type names and reports the Chakra JS engine
  if (buildInfo._t === 'BuildInfoResponse' || buildInfo.javascriptEngine === 'Chakra' || hosts.some((h) => COSMOS_RU_HOST.test(h))) {
    return 'cosmosdb';
  }
  if (hosts.some((h) => DOCUMENTDB_HOST.test(h))) return 'documentdb';
  if (stringField(buildInfo, 'version') === undefined) return 'unknown';
  return 'mongodb';
}

type FeatureTable = Record<Feature, boolean>;

function mongodbFeatures(v: Version, topology: ServerTopology): FeatureTable {
  return {
    transactions: (topology === 'replicaset' && atLeast(v, 4)) || (topology === 'sharded' && atLeast(v, 4, 2)),
    partialIndexes: atLeast(v, 3, 2),
    ttlIndexes: true,
    textIndexes: true,
    validators: atLeast(v, 3, 6),
    $out: true,
    $merge: atLeast(v, 4, 2),
    $lookup: atLeast(v, 3, 2),
    pipelineUpdates: atLeast(v, 4, 2),
    renameDropTarget: true,
    hiddenIndexes: atLeast(v, 4, 4),
    // an index's expireAfterSeconds since 2.2; a view's pipeline since views (3.4)
    collMod: atLeast(v, 2, 2),
    views: atLeast(v, 3, 4),
  };
}

/**
 * Measured on FerretDB 1.24.2 (SQLite): none of these work; aggregation stages it lists itself.
 * Transactions are judged as on any server: by topology, then a real commit (`probeTransactions`).
 * FerretDB 1.24 answers as a standalone, so it is never probed; one reporting a replica set is.
 */
function ferretDbFeatures(buildInfo: Document, topology: ServerTopology): FeatureTable {
  const features: unknown = buildInfo.ferretdbFeatures;
  const stagesValue: unknown = typeof features === 'object' && features !== null ? (features as Document).aggregationStages : undefined;
  const stages = Array.isArray(stagesValue) ? (stagesValue as unknown[]) : [];
  return {
    transactions: topology !== 'standalone',
    partialIndexes: false,
    ttlIndexes: false,
    textIndexes: false,
    validators: false,
    $out: stages.includes('$out'),
    $merge: stages.includes('$merge'),
    $lookup: stages.includes('$lookup'),
    pipelineUpdates: false,
    renameDropTarget: false,
    hiddenIndexes: false,
    collMod: false,
    views: false,
  };
}

/** From Amazon DocumentDB's "supported MongoDB APIs" pages (not measured here). */
function documentDbFeatures(v: Version, topology: ServerTopology): FeatureTable {
  return {
    // elastic clusters (sharded) have no transactions
    transactions: topology === 'replicaset' && atLeast(v, 4),
    partialIndexes: atLeast(v, 5),
    ttlIndexes: true,
    textIndexes: atLeast(v, 5),
    validators: atLeast(v, 4),
    $out: true,
    $merge: atLeast(v, 5),
    $lookup: true,
    pipelineUpdates: atLeast(v, 5),
    renameDropTarget: true,
    hiddenIndexes: atLeast(v, 8),
    collMod: true,
    views: atLeast(v, 8),
  };
}

/**
 * The open-source DocumentDB (measured here): MongoDB's features, but renameCollection with
 * dropTarget drops the target, then renames: a reader polling the target found it missing.
 */
function documentDbGatewayFeatures(v: Version, topology: ServerTopology): FeatureTable {
  return { ...mongodbFeatures(v, topology), renameDropTarget: false };
}

/**
 * Why Cosmos DB RU's transactions are not used: from its documentation, a multi-document
 * transaction there holds one collection (of one shard) and is aborted after 5 s, while a
 * migration's transaction holds its own writes and its changelog record.
 */
const COSMOS_RU_TRANSACTIONS =
  "Azure Cosmos DB for MongoDB (RU) runs a transaction on one collection for at most 5 s, and a migration's transaction holds its own writes and its changelog record";

/**
 * From Azure Cosmos DB for MongoDB (RU) feature-support pages (not measured here). It has
 * transactions, but none a migration fits in (COSMOS_RU_TRANSACTIONS).
 */
function cosmosDbFeatures(v: Version): FeatureTable {
  return {
    transactions: false,
    partialIndexes: false,
    // TTL only on the system `_ts` field, so a TTL index on a document field fails
    ttlIndexes: false,
    textIndexes: false,
    validators: false,
    $out: atLeast(v, 3, 6),
    $merge: atLeast(v, 4, 2),
    $lookup: atLeast(v, 3, 6),
    pipelineUpdates: atLeast(v, 4, 2),
    renameDropTarget: false,
    hiddenIndexes: false,
    collMod: false,
    views: false,
  };
}

/**
 * From Azure Cosmos DB for MongoDB vCore's compatibility and limits pages (not measured here; it
 * runs the open-source DocumentDB engine, which the test suite does run against): MongoDB's
 * features, with transactions of at most 30 s. No atomic renameCollection with dropTarget: on
 * that engine it drops the target, then renames (measured on the open-source one: a reader
 * polling the target found it missing; vCore itself not measured), so replacing a collection
 * there is a brief gap, which copyAndRename takes only with allowBriefGap.
 */
function cosmosDbVcoreFeatures(v: Version, topology: ServerTopology): FeatureTable {
  return { ...documentDbGatewayFeatures(v, topology), transactions: topology !== 'standalone' };
}

const FLAVOUR_NAMES: Readonly<Record<ServerFlavour, string>> = {
  mongodb: 'MongoDB',
  ferretdb: 'FerretDB',
  documentdb: 'Amazon DocumentDB',
  'documentdb-gateway': 'DocumentDB open source',
  cosmosdb: 'Azure Cosmos DB for MongoDB (RU)',
  'cosmosdb-vcore': 'Azure Cosmos DB for MongoDB vCore',
  unknown: 'this server',
};

/**
 * The MongoDB version a wire version stands for, where `buildInfo` cannot be asked (it is outside
 * the Stable API): the oldest release that speaks it.
 */
const WIRE_VERSIONS: readonly (readonly [number, string])[] = [
  [27, '8.2'],
  [26, '8.1'],
  [25, '8.0'],
  [21, '7.0'],
  [17, '6.0'],
  [13, '5.0'],
  [9, '4.4'],
  [8, '4.2'],
  [7, '4.0'],
  [6, '3.6'],
];

/** e.g. `7.0` for a `hello` whose maxWireVersion is 21 (or 22-24). */
export function versionFromWire(hello: Document): string | undefined {
  const wire: unknown = hello.maxWireVersion;
  if (typeof wire !== 'number') return undefined;
  return WIRE_VERSIONS.find(([min]) => wire >= min)?.[1];
}

/**
 * Decides flavour, topology and features from the `buildInfo` and `hello` replies (pure).
 * `probed.transactions` is the outcome of a real transaction attempt (see `probeTransactions`);
 * without it, transactions count as supported wherever the server's kind and version allow.
 */
export function capabilitiesFrom(buildInfo: Document, hello: Document, probed: { transactions?: boolean; apiStrict?: boolean } = {}): ServerInfo {
  const flavour = flavourOf(buildInfo, hello);
  const topology = topologyOf(hello);
  const mongodbVersion = stringField(buildInfo, 'version') ?? 'unknown';
  const version = flavour === 'ferretdb' ? (ferretDbVersion(buildInfo) ?? 'unknown') : mongodbVersion;
  const parsed = parseVersion(mongodbVersion) ?? [0, 0, 0];
  const table =
    flavour === 'ferretdb' ? ferretDbFeatures(buildInfo, topology)
    : flavour === 'documentdb' ? documentDbFeatures(parsed, topology)
    : flavour === 'documentdb-gateway' ? documentDbGatewayFeatures(parsed, topology)
    : flavour === 'cosmosdb' ? cosmosDbFeatures(parsed)
    : flavour === 'cosmosdb-vcore' ? cosmosDbVcoreFeatures(parsed, topology)
    : mongodbFeatures(parsed, topology);
  if (probed.transactions !== undefined) table.transactions &&= probed.transactions;

  const batchLimit = typeof hello.maxWriteBatchSize === 'number' && hello.maxWriteBatchSize > 0 ? hello.maxWriteBatchSize : DEFAULT_MAX_UPDATES;
  const ferretDbMajor = parseVersion(version)?.[0] ?? 1;
  const maxUpdatesPerCommand = flavour === 'ferretdb' && ferretDbMajor < 2 ? FERRETDB_MAX_UPDATES : Math.min(DEFAULT_MAX_UPDATES, batchLimit);

  const features = FEATURES.filter((feature) => table[feature]);
  const whyNot = (feature: Feature): string | undefined => (flavour === 'cosmosdb' && feature === 'transactions' && topology !== 'standalone' ? COSMOS_RU_TRANSACTIONS : undefined);
  const describe = (): string => {
    // the gateway reports no version of its own, only the MongoDB version it poses as
    if (flavour === 'documentdb-gateway') return `${FLAVOUR_NAMES[flavour]} (poses as MongoDB ${mongodbVersion}, ${topology})`;
    const poses = flavour === 'ferretdb' ? `poses as MongoDB ${mongodbVersion}, ` : '';
    const name = flavour === 'unknown' ? 'an unidentified MongoDB-compatible server' : FLAVOUR_NAMES[flavour];
    return `${name} ${version} (${poses}${topology})`;
  };
  return {
    flavour,
    version,
    mongodbVersion,
    topology,
    features,
    maxUpdatesPerCommand,
    apiStrict: probed.apiStrict === true,
    supports: (feature) => table[feature],
    whyNot,
    require(feature, what) {
      if (table[feature]) return;
      const why = whyNot(feature);
      throw new MongrateError(
        'MIGRATION_FAILED',
        `${what} needs ${FEATURE_NAMES[feature]} [${feature}], which ${describe()} does not support${why === undefined ? '' : ` (${why})`}`,
      );
    },
    describe,
  };
}

/**
 * A failed probe as a typed error: UNREACHABLE (5) when the connection went, SERVER_PROBE_FAILED
 * (5) when the server answered with an error. Either way the run must not guess what it supports.
 */
export function probeFailure(error: unknown, what: string): MongrateError {
  if (isConnectionLoss(error)) {
    return new MongrateError('UNREACHABLE', `lost the connection to the server while asking ${what}: ${messageOf(error)}`, { cause: error });
  }
  return new MongrateError('SERVER_PROBE_FAILED', `could not ask the server ${what}: ${messageOf(error)}`, { cause: error });
}

const ILLEGAL_OPERATION = 20;
const COMMAND_NOT_FOUND = 59;
const COMMAND_NOT_SUPPORTED = 115;
const NOT_IMPLEMENTED = 238;
const FAILED_TO_PARSE = 9;

/**
 * Whether an error of the transaction probe is the server saying "no transactions here", as
 * opposed to a failure (a network blip, a permission, a timeout) that says nothing about it:
 * - IllegalOperation (20), "Transaction numbers are only allowed on a replica set member or mongos" (a standalone mongod);
 * - CommandNotFound (59), e.g. FerretDB 1.x: "no such command: 'commitTransaction'";
 * - CommandNotSupported (115) and NotImplemented (238), how compatible services refuse a command;
 * - FailedToParse (9) naming a transaction field, e.g. FerretDB's `unknown field "startTransaction"`.
 */
export function meansNoTransactions(error: unknown): boolean {
  if (!isServerError(error)) return false;
  const message = error.message;
  switch (serverCode(error)) {
    case ILLEGAL_OPERATION:
      return /transaction/i.test(message);
    case COMMAND_NOT_FOUND:
    case COMMAND_NOT_SUPPORTED:
    case NOT_IMPLEMENTED:
      return true;
    case FAILED_TO_PARSE:
      return /startTransaction|autocommit|txnNumber/.test(message);
    default:
      return codeNameOf(error) === 'NotImplemented' || codeNameOf(error) === 'CommandNotFound';
  }
}

/**
 * Really starts a trivial transaction (a read, then commit). Servers that accept the
 * transaction fields on a read but lack the commit command (FerretDB) fail here. Only the
 * server's "not supported" answers mean false; any other error is thrown (see `probeFailure`),
 * so a network blip cannot turn `transactions: 'auto'` into "never" for a whole run.
 */
export async function probeTransactions(client: MongoClient, db: Db): Promise<boolean> {
  const session: ClientSession = client.startSession();
  try {
    // as every migration's transaction: on the primary, whatever the connection string prefers
    // (the driver refuses a transaction with any other read preference)
    session.startTransaction({ readPreference: 'primary' });
    await db.collection('mongrate_transaction_probe').findOne({}, { session });
    await session.commitTransaction();
    return true;
  } catch (error) {
    if (session.inTransaction()) await session.abortTransaction().catch(() => undefined);
    if (meansNoTransactions(error)) return false;
    throw probeFailure(error, 'whether it supports transactions');
  } finally {
    await session.endSession().catch(() => undefined);
  }
}

/**
 * `buildInfo`, or, where the client declared the Stable API strict and the server refuses
 * `buildInfo` (it is not part of API version 1), the version `hello`'s wire version stands for.
 */
async function readBuildInfo(admin: Db, hello: Document, apiStrict: boolean): Promise<Document> {
  try {
    return await admin.command({ buildInfo: 1 });
  } catch (error) {
    const version = versionFromWire(hello);
    if (!apiStrict || !hasServerCode(error, SERVER_CODES.APIStrictError) || version === undefined) throw error;
    return { version, ok: 1 };
  }
}

/**
 * Whether the server takes a `comment` on every command: MongoDB 4.4 made it a generic argument
 * (wire version 9), FerretDB and the open-source DocumentDB take it (measured). Amazon DocumentDB
 * documents it on queries only, and Cosmos DB RU not at all: neither is sent one.
 */
export function takesComments(hello: Document): boolean {
  const wire: unknown = hello.maxWireVersion;
  const hosts = reportedHosts(hello);
  return typeof wire === 'number' && wire >= 9 && !hosts.some((h) => COSMOS_RU_HOST.test(h) || DOCUMENTDB_HOST.test(h));
}

/**
 * Asks the server what it is; runs a real transaction probe only where one could work. `known.hello`:
 * the reply of the connection's hello, where the caller has it (`db` may be a wrapper of the client
 * that asked it); else the client's greeting (greeting.ts) is used, or asked.
 */
export async function probeServer(db: Db, known: { hello?: Document } = {}): Promise<ServerInfo> {
  let buildInfo: Document;
  let hello: Document;
  // typed as always there, undefined when the client declares no Stable API
  const apiStrict = (db.client.options.serverApi as { strict?: boolean } | undefined)?.strict === true;
  try {
    // the connection's hello (greeting.ts): what it says does not change under a connection
    hello = known.hello ?? (await greetingOf(db.client)).reply;
    buildInfo = await readBuildInfo(db.client.db('admin'), hello, apiStrict);
  } catch (error) {
    throw probeFailure(error, 'what it supports (buildInfo/hello)');
  }
  const info = capabilitiesFrom(buildInfo, hello, { apiStrict });
  if (!info.supports('transactions')) return info;
  return capabilitiesFrom(buildInfo, hello, { apiStrict, transactions: await probeTransactions(db.client, db) });
}
