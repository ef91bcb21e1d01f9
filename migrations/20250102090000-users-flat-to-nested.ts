/**
 * Reference pattern 2, collection migration flat -> nested: every user is copied, in batches, into
 * a new collection in the nested shape
 * `{ _id, email, name, profile: { bio, avatar_url, location }, settings: { notifications, theme },
 * created_at, updated_at }`, the indexes of `users` are rebuilt on it, and the copy is renamed over
 * `users`. Fields outside that shape stay in the original, which is kept as `users_flat_v1`, so
 * `down` brings back the flat documents exactly.
 *
 * The tutorial drops `users` before renaming, leaving a moment with no `users` at all; where the
 * server can rename with `dropTarget` the swap is one step. FerretDB 1.24 cannot: there the swap is
 * two renames back to back (`allowBriefGap`), and the migration says so in its output.
 */
import type { Document } from 'mongodb';
import { defineMigration, type MigrationContext } from 'mongrate';

const KEPT = 'users_flat_v1';

function toNested(user: Document, now: Date): Document {
  return {
    _id: user._id as unknown,
    email: user.email as unknown,
    name: user.name as unknown,
    profile: { bio: (user.bio as unknown) ?? null, avatar_url: (user.avatar_url as unknown) ?? null, location: (user.location as unknown) ?? null },
    settings: { notifications: (user.notifications as unknown) ?? true, theme: (user.theme as unknown) ?? 'light' },
    created_at: (user.created_at as unknown) ?? now,
    updated_at: (user.updated_at as unknown) ?? now,
  };
}

/** Servers without renameCollection dropTarget need a brief gap; say so where it happens. */
function briefGap({ server, log }: MigrationContext): boolean {
  const allowed = !server.supports('renameDropTarget');
  if (allowed) log(`this server has no renameCollection dropTarget: 'users' is missing for a moment between two renames`);
  return allowed;
}

export default defineMigration({
  description: 'Users flat -> nested profile/settings, copied and renamed over users',
  transaction: false,

  async up(ctx) {
    const now = new Date();
    await ctx.helpers.copyAndRename('users', {
      transform: (user) => toNested(user, now),
      keepOriginalAs: KEPT,
      allowBriefGap: briefGap(ctx),
    });
  },

  async down(ctx) {
    // the kept originals, unchanged, become `users` again; users_flat_v1 is gone afterwards
    await ctx.helpers.copyAndRename(KEPT, { to: 'users', allowBriefGap: briefGap(ctx) });
  },
});
