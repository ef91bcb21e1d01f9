/**
 * Client options as each driver takes them. A migrate-mongo project on the driver 4.x/5.x writes
 * its options for that driver, and mongrate's own client beside it is a 7.x: options 6.x/7.x no
 * longer know are translated where they still exist under another name (the `ssl*` family, which
 * 4.x read from files), dropped where they no longer do anything, and passed on otherwise (the
 * driver then names what it refuses). The project's own 4.x/5.x client gets them as written.
 */
import { readFileSync } from 'node:fs';
import type { MongoClientOptions } from 'mongodb';

/**
 * Options no driver since 4.0 does anything with; migrate-mongo's `init` template wrote them for
 * years, and the driver 7.x refuses them ("options usenewurlparser, useunifiedtopology are not
 * supported"), so they are dropped for every driver.
 */
const NO_EFFECT_OPTIONS: readonly string[] = ['useNewUrlParser', 'useUnifiedTopology'];

/** The options without those that do nothing, and the names of those dropped. */
export function withoutNoEffectOptions(options: MongoClientOptions): { options: MongoClientOptions; dropped: string[] } {
  const dropped = Object.keys(options).filter((key) => NO_EFFECT_OPTIONS.includes(key));
  if (dropped.length === 0) return { options, dropped };
  return { options: Object.fromEntries(Object.entries(options).filter(([key]) => !dropped.includes(key))), dropped };
}

type Translate = (value: unknown) => Record<string, unknown>;

const readFile = (path: unknown): string => readFileSync(String(path), { encoding: 'ascii' });

/** 4.x/5.x names, as 6.x/7.x say the same (4.x read the `ssl*` paths itself). */
const LEGACY_OPTIONS: Readonly<Record<string, Translate>> = {
  // TCP keep-alive is always on since 6.0; loggers and promise libraries are gone
  keepAlive: () => ({}),
  logger: () => ({}),
  loggerLevel: () => ({}),
  promiseLibrary: () => ({}),
  sslCA: (path) => ({ tlsCAFile: path }),
  sslCRL: (path) => ({ tlsCRLFile: path }),
  sslCert: (path) => ({ cert: readFile(path) }),
  tlsCertificateFile: (path) => ({ cert: readFile(path) }),
  sslKey: (path) => ({ key: readFile(path) }),
  sslPass: (passphrase) => ({ passphrase }),
  sslValidate: (validate) => ({ tlsAllowInvalidCertificates: validate === false }),
};

/** The options for a client of a driver of major `major`. */
export function clientOptionsFor(options: MongoClientOptions, major: number): MongoClientOptions {
  if (major < 6) return options;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options) as [string, unknown][]) {
    const translate = LEGACY_OPTIONS[key];
    if (translate === undefined) out[key] = value;
    else if (value !== undefined) Object.assign(out, translate(value));
  }
  return out;
}
