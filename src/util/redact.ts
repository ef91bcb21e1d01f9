/**
 * Credentials in a connection string must never reach a terminal, a CI log or a JSON result.
 * `redactUri` masks the password of one URI; `redactSecrets` scrubs any text (error messages from
 * the driver included) of every URI password and of the raw secrets of the URI in use.
 */
// userinfo runs to the LAST '@' of the URI: users paste passwords with unescaped '@', '/', '?' or '#'
const URI_CREDENTIALS = /(mongodb(?:\+srv)?:\/\/)(\S*)@(?=[^@\s]*(?:\s|$))/gi;

export function redactUri(uri: string): string {
  return uri.replace(URI_CREDENTIALS, (_match, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    const user = colon === -1 ? userinfo : userinfo.slice(0, colon);
    return colon === -1 ? `${scheme}${user}@` : `${scheme}${user}:***@`;
  });
}

/**
 * Secrets of one connection string: the password, raw and percent-decoded. Parsed by position
 * (scheme .. last '@'), not by pattern, so even a password with spaces is found.
 */
export function secretsOf(uri: string | undefined): string[] {
  if (uri === undefined) return [];
  const scheme = /^\s*mongodb(?:\+srv)?:\/\//i.exec(uri);
  const at = uri.lastIndexOf('@');
  if (scheme === null || at < scheme[0].length) return [];
  const userinfo = uri.slice(scheme[0].length, at);
  const colon = userinfo.indexOf(':');
  if (colon === -1) return [];
  const password = userinfo.slice(colon + 1);
  const secrets = new Set([password]);
  try {
    secrets.add(decodeURIComponent(password));
  } catch {
    // a malformed escape: the raw form is still masked
  }
  // very short secrets would mask ordinary words; the URI pattern still masks them in place
  return [...secrets].filter((secret) => secret.length >= 3);
}

export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  let out = redactUri(text);
  for (const secret of secrets) out = out.split(secret).join('***');
  return out;
}
