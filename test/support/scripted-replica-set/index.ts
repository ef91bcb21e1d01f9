/**
 * A scripted MongoDB replica set for tests: an in-process wire-protocol server (one TCP port per
 * member on 127.0.0.1) that the real `mongodb` driver (7.x, 6.x, 4.x) discovers and uses like a
 * replica set, the way the MongoDB drivers test what no local server can show. Every command is
 * recorded with the member that got it and whether it carried a transaction; any reply can be
 * scripted (an error with labels, a delay, no answer, a closed connection); failover, replication
 * lag, write concern and transactions behave as MongoDB documents them.
 *
 *   const rs = await startScriptedReplicaSet();            // primary + secondary, setName rs0
 *   const client = new MongoClient(rs.uri);                // mongodb://127.0.0.1:p1,…/?replicaSet=rs0
 *   rs.script({ name: 'insert' }, { code: 112, codeName: 'WriteConflict', errorLabels: ['TransientTransactionError'] });
 *   … rs.recorded({ name: 'commitTransaction' }) …
 *   await rs.close();
 *
 * It is complete enough for `mongrate up` end to end on small collections: find with sort, skip,
 * limit and projection; cursors; insert/update/delete/findAndModify with MongoDB's operators,
 * upserts and write errors; aggregate ($match $sort $skip $limit $project $group $count $unwind
 * $set...); create/drop/rename/collMod; createIndexes with unique enforcement (E11000); views
 * (`create` with viewOn/pipeline, read through their pipeline, redefined by `collMod`, listed as
 * type 'view', refused by the index commands); an index's `hidden` and TTL changed by `collMod`.
 *
 * To pose as a managed service's hosts (Cosmos DB, DocumentDB), connect with `rs.directUri(member)`
 * and `setHello(member, { hosts, me, primary })`: on a direct connection the driver does not
 * follow the hosts a server reports.
 *
 * What it does not model (use a real server for these): authentication (connect without
 * credentials) and TLS; compression (clients must not configure compressors); `$clusterTime`,
 * causal consistency and read concern levels (recorded, not honoured: reads see the member's
 * copy or the transaction's snapshot); sharding (the mongos flavour only poses as one); schema
 * validation, TTL expiry, hidden indexes, text/geo indexes and collations (stored and listed, not
 * applied: no query planner to hide an index from); the positional `$` update; `$lookup`, `$out`,
 * `$merge`, `$expr`; performance. Unique constraints are checked against what a statement sees,
 * so two transactions inserting the same unique key concurrently both commit. Elections happen
 * only when a test calls stepDown/failover (or a client sends replSetStepDown); sessions never
 * expire.
 */
export { ScriptedReplicaSet, type ElectionOptions, type MemberRef, type ScriptedReplicaSetOptions } from './replica-set.ts';
export { UPKEEP_COMMANDS, type CommandMatch, type MemberInfo, type MemberRole, type RecordedCommand, type ScriptAction, type ScriptMatch, type ScriptedError } from './scripts.ts';
export type { AuthInfo } from './admin.ts';
import { ScriptedReplicaSet, type ScriptedReplicaSetOptions } from './replica-set.ts';

/** Starts the set on free loopback ports; `close()` it at the end of the test. */
export function startScriptedReplicaSet(options: ScriptedReplicaSetOptions = {}): Promise<ScriptedReplicaSet> {
  return ScriptedReplicaSet.start(options);
}
