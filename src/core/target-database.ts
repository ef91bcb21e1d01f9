/**
 * The one database a migrator works on: its connection (its own client, or one shared by the
 * migrators of a command across databases), its changelog and lock stores, and what is measured
 * once per migrator (the server's clock, the server probe). Clients are made with the project's
 * driver (`src/driver/drivers.ts`); where migrate-mongo files run on the project's 4.x/5.x, they
 * get a second client of that driver, opened when a migration first needs it.
 */
import type { Db, MongoClient } from 'mongodb';
import type { ChangelogStore } from '../changelog/contract.ts';
import { MongoChangelogStore } from '../changelog/mongo-changelog-store.ts';
import { commentedDb } from '../driver/commented.ts';
import { driversFor, type MigrationDrivers } from '../driver/drivers.ts';
import { MongoLockStore } from '../lock/mongo-lock-store.ts';
import { measureServerClock, type ServerClock } from '../server/clock.ts';
import { probeServer, takesComments, type ServerInfo } from '../server/capabilities.ts';
import { greetingOf } from '../server/greeting.ts';
import type { ResolvedConfig } from '../types.ts';
import { retryable } from '../util/retryable.ts';
import { connect } from './connection.ts';
import { readLockState } from './lease.ts';
import { currentComment } from './run-comment.ts';

export interface Connection {
  client: MongoClient;
  db: Db;
  store: ChangelogStore;
  drivers: MigrationDrivers;
}

/** What migration functions are given as `ctx.client`/`ctx.db` (migrate-mongo's `(db, client)`). */
export interface MigrationTarget {
  client: MongoClient;
  db: Db;
}

export class TargetDatabase {
  /** The connection, opened when first needed; a failed one may be retried by a later call. */
  readonly open = retryable(async (): Promise<Connection> => {
    const drivers = driversFor(this.config);
    const client = this.sharedClient ?? (await connect(this.config, drivers.bookkeeping));
    // every operation through this handle (changelog, lock, helpers, the migrations' ctx.db) names its run
    const comments = takesComments((await greetingOf(client)).reply);
    const db = commentedDb(client.db(this.config.database), () => (comments ? currentComment() : undefined));
    return { client, db, store: new MongoChangelogStore(db, this.config), drivers };
  });
  /** The connection itself, or a client of the project's 4.x/5.x driver for migrate-mongo files. */
  readonly forMigrations = retryable(async (): Promise<MigrationTarget> => {
    const { client, db, drivers } = await this.open();
    if (drivers.migrations === drivers.bookkeeping) return { client, db };
    const apart = await connect(this.config, drivers.migrations);
    return { client: apart, db: apart.db(this.config.database) };
  });
  private prepared = false;
  readonly server: () => Promise<ServerInfo>;
  private readonly measuredClock: () => Promise<ServerClock>;

  /** With `sharedClient`, the caller owns the client: `close()` leaves it open. */
  constructor(
    private readonly config: ResolvedConfig,
    private readonly sharedClient?: MongoClient,
  ) {
    // what the server is and supports: probed once per migrator, when first needed
    this.server = retryable(async () => {
      const { client, db } = await this.open();
      return probeServer(db, { hello: (await greetingOf(client)).reply });
    });
    this.measuredClock = retryable(async () => {
      const { client, db } = await this.open();
      // the connection's hello is the first sample: one more is sent
      return measureServerClock(db, { earlier: (await greetingOf(client)).reading });
    });
  }

  async close(): Promise<void> {
    const given = await this.forMigrations.take()?.catch(() => undefined);
    const connection = await this.open.take()?.catch(() => undefined);
    if (given !== undefined && given.client !== connection?.client) await given.client.close();
    if (connection === undefined || this.sharedClient !== undefined) return;
    await connection.client.close();
  }

  /** The changelog and history collections exist before the first lock is taken (so never first inside a transaction). */
  async prepare(connection: Connection): Promise<void> {
    if (this.prepared) return;
    await connection.store.prepare();
    this.prepared = true;
  }

  lockStore(db: Db): MongoLockStore {
    return new MongoLockStore(db, this.config.lockCollection);
  }

  /**
   * The server's clock, measured once per migrator and refreshed when its sample is a minute old.
   * Lease expiry and every date mongrate writes use it, never this machine's clock.
   */
  async clock(): Promise<ServerClock> {
    return (await this.measuredClock()).refreshIfOlderThan(60_000);
  }

  /** The run id holding a lock whose lease is live on the server's clock, if any. */
  async liveOwner(db: Db): Promise<string | undefined> {
    const { lock, live } = await readLockState(this.lockStore(db), await this.clock());
    return live ? lock?.owner : undefined;
  }
}
