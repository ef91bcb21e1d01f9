// Where the transaction tests run, decided once from the test server (MONGRATE_TEST_URI) with
// `probeServer`, and named in every test's title:
// - a server that commits transactions (a replica set, a sharded cluster): for real. Tests that read
//   the commands sent (or inject a failure) go through the transaction shim in `record` mode in
//   front of it, which forwards every byte unchanged; it cannot relay TLS or mongodb+srv, so there
//   those tests skip, saying why.
// - a server without them (FerretDB here): through the transaction shim, commands only. Tests
//   that need the server to roll back or to hold a write lock skip, saying why.
// A real server is also asked whether an error inside a transaction aborts it, as on MongoDB:
// DocumentDB keeps the transaction going, and tests of what follows such an abort skip there.
import { it, type TestContext } from 'node:test';
import { MongoClient } from 'mongodb';
import { probeServer } from '../../src/server/capabilities.ts';
import { testUri, uniqueDbName } from './database.ts';
import { startTransactionShim, type TransactionShim } from './transaction-shim.ts';

/** What a test connects through. */
export interface Gateway {
  /** The migrator's connection string: the shim or recording proxy, or the test server itself. */
  uri: string;
  /** The shim (or recording proxy) in between, when there is one. */
  shim: TransactionShim | undefined;
  /** The server really runs transactions (rolls back, holds write locks). */
  real: boolean;
}

export interface Needs {
  /** Reads the commands sent or injects a failure: needs the shim, or the recording proxy on a real server. */
  commands?: boolean;
  /** Needs a server that really rolls back or blocks: what for, e.g. 'that the first attempt's writes were rolled back'. */
  realServer?: string;
  /**
   * Needs a server whose transaction an error inside it aborts, as MongoDB's does (DocumentDB
   * runs each statement under a savepoint and keeps the transaction going): what for.
   */
  abortsOnError?: string;
}

interface Venue {
  real: boolean;
  /** A real server: an error inside a transaction aborts it (the next command gets NoSuchTransaction). */
  abortsOnError: boolean;
  /** The server, e.g. 'FerretDB', 'replica set'. */
  server: string;
  /** host:port the shim or recording proxy relays to. */
  upstream: string | undefined;
}

/** The URI's credentials, database and options, pointed at `address` alone (`directConnection`, no `replicaSet`). */
function uriThrough(uri: string, address: string): string {
  const match = /^mongodb:\/\/([^@/]*@)?[^/?]*(\/[^?]*)?(?:\?(.*))?$/.exec(uri);
  const options = (match?.[3] ?? '').split('&').filter((option) => option !== '' && !/^(replicaSet|directConnection)=/i.test(option));
  return `mongodb://${match?.[1] ?? ''}${address}${match?.[2] ?? '/'}?${[...options, 'directConnection=true'].join('&')}`;
}

/** A plain mongodb:// URI without TLS: the shim can sit in front of it. */
const relayable = (uri: string): boolean => uri.startsWith('mongodb://') && !/[?&](tls|ssl)=true/i.test(uri);

/** Whether a duplicate key inside a transaction aborts it, as on MongoDB, asked of the server itself. */
async function errorAbortsTransaction(client: MongoClient): Promise<boolean> {
  const db = client.db(uniqueDbName('venue_abort'));
  const session = client.startSession();
  try {
    await db.collection('docs').insertOne({ _id: 1 } as never);
    session.startTransaction();
    await db.collection('docs').insertOne({ _id: 1 } as never, { session }).catch(() => undefined);
    return await db
      .collection('docs')
      .insertOne({ _id: 2 } as never, { session })
      .then(
        () => false,
        () => true,
      );
  } finally {
    if (session.inTransaction()) await session.abortTransaction().catch(() => undefined);
    await session.endSession().catch(() => undefined);
    await db.dropDatabase().catch(() => undefined);
  }
}

async function findVenue(): Promise<Venue> {
  const uri = testUri();
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
  try {
    // a database of its own: MongoDB refuses transactions on `admin`, so a probe there says "none"
    const probed = client.db(uniqueDbName('venue'));
    const info = await probeServer(probed).finally(() => probed.dropDatabase().catch(() => undefined));
    const hello = await client.db('admin').command({ hello: 1 });
    const primary = typeof hello.primary === 'string' ? hello.primary : typeof hello.me === 'string' ? hello.me : undefined;
    const first = /^mongodb:\/\/(?:[^@/]*@)?([^/?,]+)/.exec(uri)?.[1];
    if (info.supports('transactions')) {
      const server = info.topology === 'sharded' ? 'sharded cluster' : 'replica set';
      return { real: true, abortsOnError: await errorAbortsTransaction(client), server, upstream: relayable(uri) ? (primary ?? first) : undefined };
    }
    return { real: false, abortsOnError: false, server: info.flavour === 'ferretdb' ? 'FerretDB' : info.describe(), upstream: first };
  } finally {
    await client.close();
  }
}

const venue = await findVenue();

/** Where a test with these needs runs, for its title. */
export function whereItRuns(needs: Needs): string {
  if (needs.realServer !== undefined || needs.abortsOnError !== undefined) return `(real ${venue.real ? venue.server : 'replica set'}${needs.commands === true ? ', through a recording proxy' : ''})`;
  if (!venue.real) return `(transaction shim over ${venue.server}: commands only)`;
  return `(real ${venue.server}${needs.commands === true ? ', through a recording proxy' : ''})`;
}

function skipReason(needs: Needs): string | undefined {
  if (needs.abortsOnError !== undefined && venue.real && !venue.abortsOnError) {
    return `needs a server whose transaction an error inside it aborts (as MongoDB's does), to check ${needs.abortsOnError}: this ${venue.server} keeps the transaction going after an error`;
  }
  const real = needs.realServer ?? needs.abortsOnError;
  if (real !== undefined && !venue.real) {
    return `needs a server with real transactions, to check ${real}: the transaction shim over ${venue.server} accepts transaction-shaped commands but undoes nothing and locks nothing (set MONGODB_URI to a replica set)`;
  }
  if (needs.commands === true && venue.upstream === undefined) {
    return 'reads the commands sent through a recording proxy, which cannot relay a TLS or mongodb+srv connection';
  }
  return undefined;
}

/** Opens what the test connects through; `close()` when done. */
async function openGateway(needs: Needs): Promise<Gateway & { close(): Promise<void> }> {
  const uri = testUri();
  if (venue.real && needs.commands !== true) return { uri, shim: undefined, real: true, close: () => Promise.resolve() };
  const shim = await startTransactionShim(venue.upstream ?? '', venue.real ? 'record' : 'shim');
  return { uri: uriThrough(uri, shim.address), shim, real: venue.real, close: () => shim.close() };
}

/** `it(<name> <where it runs>)`, skipped (naming why) where its needs cannot be met. */
export function venueIt(name: string, needs: Needs, fn: (gateway: Gateway, t: TestContext) => Promise<void>): void {
  const skip = skipReason(needs);
  void it(`${name} ${whereItRuns(needs)}`, skip === undefined ? {} : { skip }, async (t) => {
    const gateway = await openGateway(needs);
    try {
      await fn(gateway, t);
    } finally {
      await gateway.close();
    }
  });
}
