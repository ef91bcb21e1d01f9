/** What kind of object a value is, for code that walks values it did not make (config, documents, results). */

/** An object that is neither null nor an array: a config section, or a provider that may be a class instance. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * An object literal (or `Object.create(null)`): not an array, and no class instance such as a Date,
 * an ObjectId or a Buffer, which keep their own shape when copied or serialised.
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
