/**
 * Reference pattern 4, a `$jsonSchema` validator on `products`: `name` and `price` required,
 * `price` a number >= 0, `tags` an array of strings. `setValidator` uses `collMod` (or `create`
 * when `products` does not exist yet); `down` removes the validator again. Servers without
 * validators (FerretDB 1.24 has no `collMod`) are named in the output, and nothing is set there.
 */
import { defineMigration, FEATURE_NAMES, type MigrationContext } from 'mongrate';

const PRODUCT_SCHEMA = {
  bsonType: 'object',
  required: ['name', 'price'],
  properties: {
    name: { bsonType: 'string' },
    price: { bsonType: ['double', 'int', 'long', 'decimal'], minimum: 0 },
    tags: { bsonType: 'array', items: { bsonType: 'string' } },
  },
};

/** Whether the server has validators; logs why not when it has none. */
function canValidate({ server, log }: MigrationContext, what: string): boolean {
  if (server.supports('validators')) return true;
  log(`${what}: this server has no ${FEATURE_NAMES.validators}`);
  return false;
}

export default defineMigration({
  description: 'products $jsonSchema validator: name and price required, price >= 0, tags strings',
  transaction: false,

  async up(ctx) {
    if (!canValidate(ctx, 'validator not set')) return;
    await ctx.helpers.setValidator('products', PRODUCT_SCHEMA, { level: 'strict', action: 'error' });
  },

  async down(ctx) {
    if (!canValidate(ctx, 'no validator to remove')) return;
    await ctx.helpers.setValidator('products', null);
  },
});
