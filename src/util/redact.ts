/**
 * Credentials in a connection string must never reach a terminal, a CI log or a JSON result.
 * `redactUri` masks the password of one URI; `redactSecrets` scrubs any text (error messages from
 * the driver included) of every URI password and of the raw secrets of the URI in use.
 */
const URI_CREDENTIALS = /(mongodb(?:\+srv)?:\/\/)([^@/\s?#]*)@/gi;

export function redactUri(uri: string): string {
  return uri.replace(URI_CREDENTIALS, (_match, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    const user = colon === -1 ? userinfo : userinfo.slice(0, colon);
    return colon === -1 ? `${scheme}${user}@` : `${scheme}${user}:***@`;
  });
}

/** Secrets embedded in a URI: the password, raw and percent-decoded, when long enough to be safe to search for. */
export function secretsOf(uri: string | undefined): string[] {
  if (uri === undefined) return [];
  const secrets = new Set<string>();
  for (const match of uri.matchAll(URI_CREDENTIALS)) {
    const userinfo = match[2] ?? '';
    const colon = userinfo.indexOf(':');
    if (colon === -1) continue;
    const password = userinfo.slice(colon + 1);
    secrets.add(password);
    try {
      secrets.add(decodeURIComponent(password));
    } catch {
      // a malformed escape: the raw form is still masked
    }
  }
  return [...secrets].filter((secret) => secret.length >= 3);
}

export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  let out = redactUri(text);
  for (const secret of secrets) out = out.split(secret).join('***');
  return out;
}
