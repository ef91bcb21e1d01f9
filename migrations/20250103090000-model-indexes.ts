/**
 * Reference pattern 3, the indexes of the tutorial's models: unique `email`; single `created_at`
 * and `is_active` on users; on products compound `{ category, price }`, text on name +
 * description, multikey `tags`, and partial `price` where `active: true`.
 *
 * `ensureIndexes` builds only what is missing and fails on an index kind the server lacks, so the
 * migration asks the server first (`ctx.server.supports`) and names every index it leaves out and
 * why (FerretDB 1.24 has neither text nor partial indexes). `down` drops them all; `dropIndexes`
 * passes over the ones that were never built.
 */
import type { IndexDescription } from 'mongodb';
import { defineMigration, FEATURE_NAMES, type Feature } from 'mongrate';

interface ModelIndex extends IndexDescription {
  name: string;
  /** What the server must support to build it. */
  needs?: Feature;
}

const INDEXES: Record<string, ModelIndex[]> = {
  users: [
    { key: { email: 1 }, name: 'email_unique', unique: true },
    { key: { created_at: 1 }, name: 'created_at_1' },
    { key: { is_active: 1 }, name: 'is_active_1' },
  ],
  products: [
    { key: { category: 1, price: 1 }, name: 'category_1_price_1' },
    { key: { name: 'text', description: 'text' }, name: 'name_description_text', needs: 'textIndexes' },
    { key: { tags: 1 }, name: 'tags_1' },
    { key: { price: 1 }, name: 'price_active_partial', partialFilterExpression: { active: true }, needs: 'partialIndexes' },
  ],
};

export default defineMigration({
  description: 'Indexes of the user and product models',
  transaction: false,

  async up({ helpers, server, log }) {
    for (const [collection, indexes] of Object.entries(INDEXES)) {
      const buildable: IndexDescription[] = [];
      for (const { needs, ...spec } of indexes) {
        if (needs === undefined || server.supports(needs)) buildable.push(spec);
        else log(`not built: ${collection}.${spec.name} (this server has no ${FEATURE_NAMES[needs]})`);
      }
      await helpers.ensureIndexes(collection, buildable);
    }
  },

  async down({ helpers }) {
    for (const [collection, indexes] of Object.entries(INDEXES)) {
      await helpers.dropIndexes(collection, indexes.map((index) => index.name));
    }
  },
});
