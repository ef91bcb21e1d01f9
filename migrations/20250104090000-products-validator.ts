/**
 * Reference pattern 4, a `$jsonSchema` validator on `products`: `name` and `price` required,
 * `price` a number >= 0, `tags` an array of strings. Set with `collMod` (or `create` when the
 * collection does not exist yet); `down` removes it. FerretDB 1.24 has neither `collMod` nor
 * validators: there the migration says so and records nothing to undo.
 */
import { MongoServerError } from 'mongodb';
import { defineMigration } from 'mongrate';

const NOT_IMPLEMENTED = 238;
const COMMAND_NOT_FOUND = 59;

const PRODUCT_SCHEMA = {
  bsonType: 'object',
  required: ['name', 'price'],
  properties: {
    name: { bsonType: 'string' },
    price: { bsonType: ['double', 'int', 'long', 'decimal'], minimum: 0 },
    tags: { bsonType: 'array', items: { bsonType: 'string' } },
  },
};

function unsupported(error: unknown): boolean {
  return error instanceof MongoServerError && (error.code === NOT_IMPLEMENTED || error.code === COMMAND_NOT_FOUND);
}

export default defineMigration({
  description: 'products $jsonSchema validator: name and price required, price >= 0, tags strings',
  transaction: false,

  async up({ db, log }) {
    const exists = (await db.listCollections({ name: 'products' }, { nameOnly: true }).toArray()).length > 0;
    try {
      if (exists) {
        await db.command({ collMod: 'products', validator: { $jsonSchema: PRODUCT_SCHEMA }, validationLevel: 'strict', validationAction: 'error' });
      } else {
        await db.createCollection('products', { validator: { $jsonSchema: PRODUCT_SCHEMA }, validationLevel: 'strict', validationAction: 'error' });
      }
    } catch (error) {
      if (!unsupported(error)) throw error;
      log('not set: this server does not support validators (collMod)');
    }
  },

  async down({ db, log }) {
    try {
      await db.command({ collMod: 'products', validator: {}, validationLevel: 'off' });
    } catch (error) {
      if (!unsupported(error)) throw error;
      log('nothing to remove: this server does not support validators (collMod)');
    }
  },
});
