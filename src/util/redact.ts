/**
 * Credentials in a connection string must never reach a terminal, a CI log, a JSON result or a
 * stored changelog/history document, however the string was mistyped: a wrong or missing scheme,
 * a password with unescaped '/', '@', ':', '"', '\', '?', '#' or spaces.
 *
 * - `secretsOf(uri)`: the password (and option secrets) of the connection string in use, in every
 *   form it may be printed in; `redactText(text, secrets)` masks those wherever they appear.
 * - `redactText` also masks, by pattern, `scheme://user:pass@host` and `user:pass@host` it finds in
 *   any text (driver messages, migration errors), so a URI nobody told us about is masked too.
 * - `redactUri(uri)`: one connection string, masked by position (`mongodb://user:***@host`).
 * - `redactValue(value, secrets)`: a deep copy of a result object with every string masked; JSON
 *   output is masked on values before serialising, never on serialised text (where a password's
 *   `"` or `\` has been escaped and no longer matches).
 */

import { isPlainObject } from './objects.ts';

export const MASK = '***';

/**
 * `mongodb://`, `mongodb+srv://` and their typos (`mongo://`, `mongodb:/`, `mongodb:`), or any
 * other `scheme://`. A non-mongo scheme needs a slash after the colon, so `bob:s3cret@h` is read as
 * a user and a password, not as the scheme `bob:`.
 */
const SCHEME = /^\s*(?:mongo[a-z0-9+.-]*:\/*|[a-z][a-z0-9+.-]*:\/\/?(?!\/))/i;
const MONGO_SCHEME = /^\s*mongo/i;

/** Secrets a connection string can carry in its options rather than in the userinfo. */
const OPTION_SECRETS = [/(tlsCertificateKeyFilePassword=)([^&#\s]*)/gi, /(AWS_SESSION_TOKEN[:=])([^,&#\s]*)/g];

/**
 * Very short secrets would mask ordinary words everywhere; such a password is still masked where
 * it stands in a URI (by position and by pattern), just not wherever the same letters occur.
 */
const MIN_SECRET_LENGTH = 3;

export interface ConnectionStringParts {
  /** The scheme as written (`mongodb://`, `mongo://`, `mongodb:/`, ...), or '' when there is none. */
  scheme: string;
  /** Whatever precedes the '@' that ends the userinfo, or undefined when there is no userinfo. */
  userinfo: string | undefined;
  /** The user name: the userinfo up to its first ':'. */
  user: string | undefined;
  /** The password: the userinfo after its first ':' (undefined without a ':'). */
  password: string | undefined;
  /** Everything after the userinfo: hosts, path and options. */
  rest: string;
}

/**
 * Where the userinfo ends in `afterScheme`. A well-formed URI has one '@' before its hosts (a
 * later one may sit in an option value: `?appName=a@b`), so the first '@' ends the userinfo when
 * what follows it parses as hosts, path and options. Otherwise the password itself holds an
 * unescaped '@', '/', '?' or '#', and the userinfo runs to the LAST '@': masking too much beats
 * printing the tail of a password.
 */
function userinfoEnd(afterScheme: string): number {
  const first = afterScheme.indexOf('@');
  if (first === -1) return -1;
  const last = afterScheme.lastIndexOf('@');
  if (first === last) return first;
  if (/[/?#]/.test(afterScheme.slice(0, first))) return last;
  const after = afterScheme.slice(first + 1);
  const hostsAndPath = after.slice(0, after.search(/[?#]|$/));
  if (hostsAndPath.includes('@')) return last;
  // in the options, an '@' only belongs to a `key=value` (`?appName=a@b`), after its '='
  const options = after.slice(hostsAndPath.length + 1);
  const at = options.indexOf('@');
  return at !== -1 && !options.slice(0, at).includes('=') ? last : first;
}

/** Splits a connection string (however malformed) into scheme, userinfo and the rest, by position. */
export function splitConnectionString(uri: string): ConnectionStringParts {
  const scheme = SCHEME.exec(uri)?.[0] ?? '';
  const afterScheme = uri.slice(scheme.length);
  const end = userinfoEnd(afterScheme);
  if (end === -1) return { scheme, userinfo: undefined, user: undefined, password: undefined, rest: afterScheme };
  const userinfo = afterScheme.slice(0, end);
  const colon = userinfo.indexOf(':');
  return {
    scheme,
    userinfo,
    user: colon === -1 ? userinfo : userinfo.slice(0, colon),
    password: colon === -1 ? undefined : userinfo.slice(colon + 1),
    rest: afterScheme.slice(end + 1),
  };
}

/** The forms a secret may be printed in: as typed, percent-decoded, percent-encoded, JSON-escaped. */
function formsOf(secret: string): string[] {
  const forms = new Set([secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)]);
  try {
    const decoded = decodeURIComponent(secret);
    forms.add(decoded);
    forms.add(JSON.stringify(decoded).slice(1, -1));
  } catch {
    // a malformed escape: the raw form is still masked
  }
  return [...forms];
}

/**
 * The secrets of one connection string, in every form they may be printed in: its password
 * (found by position, so spaces and unescaped characters are no obstacle, with or without a
 * scheme) and the secrets of its options (`tlsCertificateKeyFilePassword`, `AWS_SESSION_TOKEN`).
 */
export function secretsOf(uri: string | undefined): string[] {
  if (uri === undefined) return [];
  const { password, rest } = splitConnectionString(uri);
  const secrets = password === undefined || password === '' ? [] : [password];
  for (const pattern of OPTION_SECRETS) {
    for (const match of rest.matchAll(pattern)) if (match[2] !== undefined && match[2] !== '') secrets.push(match[2]);
  }
  return [...new Set(secrets.flatMap(formsOf))].filter((secret) => secret.length >= MIN_SECRET_LENGTH);
}

function maskOptionSecrets(text: string): string {
  return OPTION_SECRETS.reduce((out, pattern) => out.replace(pattern, (_m, key: string) => `${key}${MASK}`), text);
}

/**
 * One connection string with its password masked by position (`mongodb://user:***@host/db`),
 * whatever its scheme or its password's characters. For a text that may contain several URIs,
 * use `redactText`.
 */
export function redactUri(uri: string): string {
  const { scheme, user, password, rest } = splitConnectionString(uri);
  const masked = password === undefined ? uri : `${scheme}${user ?? ''}:${MASK}@${rest}`;
  return maskOptionSecrets(masked);
}

/** A `scheme:...@...` token of a text: from the scheme to the next whitespace. */
const URI_TOKEN = /(?:\bmongo[a-z0-9+.-]*:\/*|\b[a-z][a-z0-9+.-]*:\/\/?(?!\/))\S*@\S*/gi;

/**
 * `user:pass@host` without a scheme, where the user starts a word (after a space, quote, bracket,
 * '=' or ','): a time ("at 10:42"), an e-mail address ("bob@example.com") or a path
 * (`C:\Users\bob@corp`, `/a:b/@scope`) does not match. `mailto:`, `sip:`, `xmpp:`, `npm:` and
 * `jsr:` are schemes whose `x:y@z` is an address, not a password. `label:word@host` cannot be told
 * from a user and a password, and is masked.
 */
const BARE_CREDENTIALS =
  /(?<=^|[\s"'`(<[{=,;])(?!(?:mailto|sips?|xmpp|npm|jsr|tel|mongo[a-z0-9+.-]*):)([\w.%+-]+):([^\s/\\]\S*)@(?=[A-Za-z0-9[])/gi;

function maskUriToken(token: string): string {
  const { userinfo } = splitConnectionString(token);
  // `https://host:443/path/@scope`: outside mongo schemes, a '/' means a path, not a password
  if (userinfo === undefined || (!MONGO_SCHEME.test(token) && userinfo.includes('/'))) return token;
  return redactUri(token);
}

/**
 * Masks in any text the given secrets (see `secretsOf`) and every password of a connection
 * string or `user:pass@host` it finds by pattern.
 */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let out = text;
  // longest first, so a secret that contains another is masked whole
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length >= MIN_SECRET_LENGTH) out = out.split(secret).join(MASK);
  }
  out = out.replace(URI_TOKEN, maskUriToken);
  out = out.replace(BARE_CREDENTIALS, (_m, user: string) => `${user}:${MASK}@`);
  return maskOptionSecrets(out);
}

function redactDeep(value: unknown, secrets: readonly string[], copies: WeakMap<object, unknown>): unknown {
  if (typeof value === 'string') return redactText(value, secrets);
  if (typeof value !== 'object' || value === null) return value;
  const seen = copies.get(value);
  if (seen !== undefined) return seen;
  if (Array.isArray(value)) {
    const copy: unknown[] = [];
    copies.set(value, copy);
    for (const item of value as unknown[]) copy.push(redactDeep(item, secrets, copies));
    return copy;
  }
  // Dates, ObjectIds, Buffers and other class instances serialise on their own terms; they hold no URI
  if (!isPlainObject(value)) return value;
  const copy: Record<string, unknown> = {};
  copies.set(value, copy);
  for (const [key, item] of Object.entries(value)) copy[key] = redactDeep(item, secrets, copies);
  return copy;
}

/**
 * A copy of `value` with every string in its plain objects and arrays masked by `redactText`;
 * other objects (Dates, ObjectIds, ...) are kept as they are. Use it before `JSON.stringify`.
 */
export function redactValue<T>(value: T, secrets: readonly string[] = []): T {
  return redactDeep(value, secrets, new WeakMap()) as T;
}
