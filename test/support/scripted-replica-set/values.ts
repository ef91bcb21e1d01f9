/**
 * BSON values as the server sees them. Documents are read with EXACT, so numbers stay
 * Int32/Double/Long/Decimal128 objects and regexes stay BSONRegExp, and written back unchanged.
 * Comparison follows MongoDB: its order of types, numbers equal across their types (1, 1.0 and
 * Long 1 are one value), objects compared field by field in order. `keyOf` turns a value into a
 * string such that equal values have equal keys: the `_id` of the store and of unique indexes.
 */
import { BSON, Decimal128, Double, Int32, Long, type Document } from 'mongodb';
import { fail } from './errors.ts';

/** Deserialize options that keep every value's BSON type. */
export const EXACT = { promoteValues: false, bsonRegExp: true } as const;

export const decode = (bytes: Uint8Array): Document => BSON.deserialize(bytes, EXACT);
export const encode = (document: Document): Uint8Array => BSON.serialize(document);
/** A deep copy that keeps every BSON type. */
export const copy = (document: Document): Document => decode(encode(document));

export const isDocument = (value: unknown): value is Document =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;

const bsontypeOf = (value: object): unknown => (value as { _bsontype?: unknown })._bsontype;

/** The `$type` alias of a value: 'double', 'string', 'object', 'array', 'int', 'long', ... */
export function typeOf(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'number') return Number.isInteger(value) && Math.abs(value) < 2 ** 31 ? 'int' : 'double';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'bigint') return 'long';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Date) return 'date';
  if (value instanceof RegExp) return 'regex';
  if (typeof value !== 'object') return 'javascript';
  const names: Record<string, string> = {
    Int32: 'int',
    Double: 'double',
    Long: 'long',
    Decimal128: 'decimal',
    ObjectId: 'objectId',
    Binary: 'binData',
    Timestamp: 'timestamp',
    BSONRegExp: 'regex',
    MinKey: 'minKey',
    MaxKey: 'maxKey',
    Code: 'javascript',
    BSONSymbol: 'symbol',
  };
  const bsontype = bsontypeOf(value);
  return typeof bsontype === 'string' ? (names[bsontype] ?? 'object') : 'object';
}

/** `$type`'s numeric codes. */
export const TYPE_NUMBERS: Record<string, number> = {
  double: 1, string: 2, object: 3, array: 4, binData: 5, undefined: 6, objectId: 7, bool: 8, date: 9, null: 10,
  regex: 11, javascript: 13, symbol: 14, int: 16, timestamp: 17, long: 18, decimal: 19, minKey: -1, maxKey: 127,
};

const NUMERIC = new Set(['int', 'long', 'double', 'decimal']);
export const isNumber = (value: unknown): boolean => NUMERIC.has(typeOf(value));

/** MongoDB's order of types, lowest first. */
const RANK: Record<string, number> = {
  minKey: 0, undefined: 1, null: 1, int: 2, long: 2, double: 2, decimal: 2, string: 3, symbol: 3, object: 4,
  array: 5, binData: 6, objectId: 7, bool: 8, date: 9, timestamp: 10, regex: 11, javascript: 12, maxKey: 13,
};
const rankOf = (value: unknown): number => RANK[typeOf(value)] ?? 4;

/** A number of any BSON type as a JS number (Long and Decimal128 rounded); undefined for other values. */
export function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Int32 || value instanceof Double) return value.valueOf();
  if (value instanceof Long) return value.toNumber();
  if (value instanceof Decimal128) return Number(value.toString());
  const type = typeOf(value);
  if (type === 'int' || type === 'double') return Number((value as { valueOf(): unknown }).valueOf());
  if (type === 'long') return (value as Long).toNumber();
  if (type === 'decimal') return Number(String(value));
  return undefined;
}

const hexOf = (value: unknown): string => (value as { toHexString(): string }).toHexString();
const binaryOf = (value: unknown): { sub_type: number; buffer: Uint8Array } => value as { sub_type: number; buffer: Uint8Array };
const regexOf = (value: unknown): { pattern: string; flags: string } =>
  value instanceof RegExp ? { pattern: value.source, flags: value.flags } : { pattern: (value as { pattern: string }).pattern, flags: (value as { options: string }).options };
const timestampOf = (value: unknown): [number, number] => [(value as { t: number }).t, (value as { i: number }).i];

const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);
const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** MongoDB's comparison: negative, 0 or positive. */
export function compare(a: unknown, b: unknown): number {
  const rank = rankOf(a);
  if (rank !== rankOf(b)) return rank - rankOf(b);
  const type = typeOf(a);
  if (NUMERIC.has(type)) {
    const [x, y] = [toNumber(a) ?? NaN, toNumber(b) ?? NaN];
    if (Number.isNaN(x) || Number.isNaN(y)) return Number(!Number.isNaN(x)) - Number(!Number.isNaN(y));
    return sign(x - y);
  }
  switch (type) {
    case 'string':
    case 'symbol':
    case 'javascript':
      return compareText(String(a), String(b));
    case 'object':
      return compareEntries(Object.entries(a as Document), Object.entries(b as Document));
    case 'array':
      return compareEntries(
        (a as unknown[]).map((v) => ['', v]),
        (b as unknown[]).map((v) => ['', v]),
      );
    case 'binData': {
      const [x, y] = [binaryOf(a), binaryOf(b)];
      return x.buffer.length - y.buffer.length || x.sub_type - y.sub_type || Buffer.compare(x.buffer, y.buffer);
    }
    case 'objectId':
      return compareText(hexOf(a), hexOf(b));
    case 'bool':
      return Number(a) - Number(b);
    case 'date':
      return sign((a as Date).getTime() - (b as Date).getTime());
    case 'timestamp': {
      const [x, y] = [timestampOf(a), timestampOf(b)];
      return sign(x[0] - y[0]) || sign(x[1] - y[1]);
    }
    case 'regex': {
      const [x, y] = [regexOf(a), regexOf(b)];
      return compareText(x.pattern, y.pattern) || compareText(x.flags, y.flags);
    }
    default:
      return 0; // null, undefined, minKey, maxKey: one value each
  }
}

function compareEntries(a: [string, unknown][], b: [string, unknown][]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const [[ka, va], [kb, vb]] = [a[i] as [string, unknown], b[i] as [string, unknown]];
    const byValueType = rankOf(va) - rankOf(vb);
    if (byValueType !== 0) return byValueType;
    const byName = compareText(ka, kb);
    if (byName !== 0) return byName;
    const byValue = compare(va, vb);
    if (byValue !== 0) return byValue;
  }
  return a.length - b.length;
}

export const equal = (a: unknown, b: unknown): boolean => compare(a, b) === 0;

/** A string equal for equal values and different for different ones (numbers by value, -0 as 0). */
export function keyOf(value: unknown): string {
  const type = typeOf(value);
  if (NUMERIC.has(type)) return `n${String(toNumber(value))}`;
  switch (type) {
    case 'string':
    case 'symbol':
      return `s${JSON.stringify(String(value))}`;
    case 'object':
      return `{${Object.entries(value as Document)
        .map(([k, v]) => `${JSON.stringify(k)}:${keyOf(v)}`)
        .join(',')}}`;
    case 'array':
      return `[${(value as unknown[]).map(keyOf).join(',')}]`;
    case 'binData':
      return `b${binaryOf(value).sub_type}:${Buffer.from(binaryOf(value).buffer).toString('hex')}`;
    case 'objectId':
      return `o${hexOf(value)}`;
    case 'date':
      return `d${(value as Date).getTime()}`;
    case 'timestamp':
      return `t${timestampOf(value).join(':')}`;
    case 'regex':
      return `r/${regexOf(value).pattern}/${regexOf(value).flags}`;
    case 'undefined':
      return 'null';
    default:
      return type === 'bool' ? String(value) : type;
  }
}

/** A value as MongoDB prints it in messages (`"a@b.c"`, `ObjectId('…')`, `{ a: 1 }`). */
export function inspect(value: unknown): string {
  const type = typeOf(value);
  if (NUMERIC.has(type)) return String(toNumber(value));
  switch (type) {
    case 'string':
      return JSON.stringify(value);
    case 'object':
      return `{ ${Object.entries(value as Document)
        .map(([k, v]) => `${k}: ${inspect(v)}`)
        .join(', ')} }`;
    case 'array':
      return `[ ${(value as unknown[]).map(inspect).join(', ')} ]`;
    case 'objectId':
      return `ObjectId('${hexOf(value)}')`;
    case 'date':
      return `new Date(${(value as Date).getTime()})`;
    case 'bool':
      return String(value);
    default:
      return type;
  }
}

/** A JS RegExp for a BSONRegExp/RegExp or a `$regex` string with `$options`; `x` drops unescaped whitespace and `#` comments. */
export function toRegExp(pattern: unknown, options = ''): RegExp {
  const { pattern: source, flags } = typeof pattern === 'string' ? { pattern, flags: options } : regexOf(pattern);
  const all = flags + options;
  const text = all.includes('x') ? source.replace(/\\.|#[^\n]*|\s+/g, (m) => (m.startsWith('\\') ? m : '')) : source;
  try {
    return new RegExp(text, [...new Set(all)].filter((f) => 'ims'.includes(f)).join(''));
  } catch (error) {
    // MongoDB's PCRE takes some patterns JS does not (inline flags, possessive quantifiers)
    return fail('BadValue', `Regular expression is invalid (here as a JS RegExp): ${error instanceof Error ? error.message : String(error)}`);
  }
}

export const isRegex = (value: unknown): boolean => typeOf(value) === 'regex';

/** `a + b` with MongoDB's result types: decimal > double > long > int (int overflowing to long). */
export function add(a: unknown, b: unknown, op: (x: number, y: number) => number = (x, y) => x + y): unknown {
  const types = [typeOf(a), typeOf(b)];
  const [x, y] = [toNumber(a) ?? 0, toNumber(b) ?? 0];
  if (types.includes('decimal')) return Decimal128.fromString(String(op(x, y)));
  if (types.includes('double')) return new Double(op(x, y));
  if (types.includes('long')) {
    const [lx, ly] = [Long.fromNumber(x), Long.fromNumber(y)];
    return op === MULTIPLY ? lx.multiply(ly) : lx.add(ly);
  }
  const result = op(x, y);
  return Math.abs(result) < 2 ** 31 ? new Int32(result) : Long.fromNumber(result);
}
export const MULTIPLY = (x: number, y: number): number => x * y;
