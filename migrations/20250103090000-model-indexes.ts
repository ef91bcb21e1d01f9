/**
 * Reference pattern 3, the indexes of the tutorial's models: unique `email`; single `created_at`
 * and `is_active` on users; on products compound `{ category, price }`, text on name +
 * description, multikey `tags`, and partial `price` where `active: true`.
 * Servers that lack an index kind (FerretDB 1.24: text and partial indexes) are told apart by the
 * error they answer with; the migration names what it could not build instead of hiding it.
 */
import type { Db, IndexDescription } from 'mongodb';
import { MongoServerError } from 'mongodb';
import { defineMigration } from 'mongrate';

const NOT_IMPLEMENTED = 238;
const INDEX_NOT_FOUND = 27; // FerretDB's answer to a text index spec

const INDEXES: Record<string, (IndexDescription & { name: string; feature?: string })[]> = {
  users: [
    { key: { email: 1 }, name: 'email_unique', unique: true },
    { key: { created_at: 1 }, name: 'created_at_1' },
    { key: { is_active: 1 }, name: 'is_active_1' },
  ],
  products: [
    { key: { category: 1, price: 1 }, name: 'category_1_price_1' },
    { key: { name: 'text', description: 'text' }, name: 'name_description_text', feature: 'text indexes' },
    { key: { tags: 1 }, name: 'tags_1' },
    { key: { price: 1 }, name: 'price_active_partial', partialFilterExpression: { active: true }, feature: 'partial indexes' },
  ],
};

async function existingNames(db: Db, collection: string): Promise<Set<string>> {
  const indexes = await db.collection(collection).listIndexes().toArray().catch(() => []);
  return new Set(indexes.map((index: { name?: unknown }) => String(index.name)));
}

export default defineMigration({
  description: 'Indexes of the user and product models',
  transaction: false,

  async up({ db, log }) {
    for (const [collection, specs] of Object.entries(INDEXES)) {
      for (const { feature, ...spec } of specs) {
        try {
          await db.collection(collection).createIndexes([spec]);
        } catch (error) {
          const unsupported = error instanceof MongoServerError && (error.code === NOT_IMPLEMENTED || error.code === INDEX_NOT_FOUND);
          if (feature === undefined || !unsupported) throw error;
          log(`not built: ${collection}.${spec.name} — this server does not support ${feature}`);
        }
      }
    }
  },

  async down({ db }) {
    for (const [collection, specs] of Object.entries(INDEXES)) {
      const present = await existingNames(db, collection);
      for (const spec of specs) if (present.has(spec.name)) await db.collection(collection).dropIndex(spec.name);
    }
  },
});
