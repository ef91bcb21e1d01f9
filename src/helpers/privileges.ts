/**
 * The privileges a helper will need, checked before it changes anything, where the server lists
 * the user's (`connectionStatus` with `showPrivileges`). A `readWrite` user copying a validated
 * collection got a raw Unauthorized from the first batch written into the copy (its inserts
 * bypass the validator: `bypassDocumentValidation`, in dbAdmin and restore), with the temporary
 * collection already created; `setValidator` needs `collMod` (dbAdmin). The refusal names each
 * missing action and a built-in role that has it. Where the server lists no privileges (auth
 * off, no user, a server without `showPrivileges`), nothing is checked: the server still refuses.
 */
import type { Db, Document } from 'mongodb';
import { isConnectionLoss } from '../driver/errors.ts';
import { MongrateError } from '../errors.ts';

/** A built-in role that grants each action a helper asks for, on one database. */
const ROLE_OF: Readonly<Record<string, string>> = {
  bypassDocumentValidation: 'dbAdmin (or restore)',
  collMod: 'dbAdmin',
  createCollection: 'readWrite',
  dropCollection: 'readWrite',
  insert: 'readWrite',
  createIndex: 'readWrite',
  renameCollectionSameDB: 'readWrite',
};

interface Privilege {
  resource?: { db?: unknown; collection?: unknown; anyResource?: unknown };
  actions?: unknown;
}

/** The user's privileges; undefined where the server does not list them. */
async function privilegesOf(db: Db): Promise<{ user: string; privileges: Privilege[] } | undefined> {
  let reply: Document;
  try {
    reply = await db.command({ connectionStatus: 1, showPrivileges: true });
  } catch (error) {
    if (isConnectionLoss(error)) throw error;
    return undefined;
  }
  const info = reply.authInfo as { authenticatedUsers?: unknown; authenticatedUserPrivileges?: unknown } | undefined;
  const users = Array.isArray(info?.authenticatedUsers) ? (info.authenticatedUsers as { user?: unknown; db?: unknown }[]) : [];
  if (users.length === 0 || !Array.isArray(info?.authenticatedUserPrivileges)) return undefined;
  const user = users.map((u) => `${String(u.user)}@${String(u.db)}`).join(', ');
  return { user, privileges: info.authenticatedUserPrivileges as Privilege[] };
}

/** Whether a privilege grants `action` on every collection of `database`, or on `collection`. */
function grants(privilege: Privilege, database: string, action: string, collection: string | undefined): boolean {
  const { resource } = privilege;
  const actions = Array.isArray(privilege.actions) ? (privilege.actions as unknown[]) : [];
  if (!actions.includes(action) && !actions.includes('anyAction')) return false;
  if (resource?.anyResource === true) return true;
  return (resource?.db === database || resource?.db === '') && (resource.collection === '' || (collection !== undefined && resource.collection === collection));
}

/**
 * Throws MIGRATION_FAILED naming what is missing when the user's listed privileges lack any of
 * `actions` on `db` (see the file header), each with what it is for; a grant on `collection`
 * alone counts too.
 */
export async function refuseMissingPrivileges(db: Db, actions: Readonly<Record<string, string>>, what: string, collection?: string): Promise<void> {
  const listed = await privilegesOf(db);
  if (listed === undefined) return;
  const missing = Object.keys(actions).filter((action) => !listed.privileges.some((privilege) => grants(privilege, db.databaseName, action, collection)));
  if (missing.length === 0) return;
  const roles = [...new Set(missing.map((action) => ROLE_OF[action] ?? 'a role with it'))];
  throw new MongrateError(
    'MIGRATION_FAILED',
    `${what} needs ${missing.map((action) => `${action} (${actions[action] ?? ''})`).join(', ')} on database '${db.databaseName}', which ${listed.user} lacks; ` +
      `grant ${roles.join(' and ')} on '${db.databaseName}' (or a role with those actions). Nothing was changed`,
  );
}
