/**
 * Environments and variables in a config. `environments: { <name>: { ...config keys } }` are
 * merged over the rest of the config when one is chosen (`--env <name>`, `MONGRATE_ENV`, or
 * `loadConfig({ environment })`): plain objects key by key (`lock`, `clientOptions`), anything
 * else replaced. Then `${VAR}` and `${VAR:-default}` in string values expand from the environment
 * variables, so only what the chosen environment uses must be set; an unset variable without a
 * default is an error naming it and the key (a secret missing from a deploy stops the command
 * before it connects). `$${` is a literal `${`. Migrations given in code are never expanded.
 */
import { configError } from '../errors.ts';
import type { ChosenEnvironment, EnvironmentConfig, MongrateConfig } from '../types.ts';
import { isPlainObject } from '../util/objects.ts';

/** Keys of which a config sets one at most: an environment that sets one replaces the other. */
const REPLACES: Partial<Record<keyof MongrateConfig, keyof MongrateConfig>> = {
  database: 'databases',
  databases: 'database',
  migrationsDir: 'migrations',
  migrations: 'migrationsDir',
};

/** `over`'s keys over `base`'s; plain objects merge key by key, `undefined` leaves the base value. */
function mergePlain(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    const current = merged[key];
    merged[key] = isPlainObject(current) && isPlainObject(value) ? mergePlain(current, value) : value;
  }
  return merged;
}

/**
 * The config as the chosen environment makes it (without `environments`), and that environment.
 * No name: the config's own keys. A name the config does not list is an error naming those it does.
 */
export function chooseEnvironment(
  config: MongrateConfig,
  name: string | undefined,
  source: string,
): { config: MongrateConfig; environment: ChosenEnvironment | undefined } {
  const { environments, ...base } = config;
  if (name === undefined) return { config: base, environment: undefined };
  const known = Object.keys(environments ?? {});
  const chosen: EnvironmentConfig | undefined = environments !== undefined && Object.hasOwn(environments, name) ? environments[name] : undefined;
  if (chosen === undefined) {
    const listed = known.length === 0 ? 'it has no `environments`' : `it has ${known.map((k) => `'${k}'`).join(', ')}`;
    throw configError(`${source}: no environment '${name}' (chosen by --env or MONGRATE_ENV): ${listed}`);
  }
  const { protected: isProtected, ...keys } = chosen;
  const cleared: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(keys as Record<string, unknown>)) {
    const other = REPLACES[key as keyof MongrateConfig];
    if (other !== undefined && value !== undefined) delete cleared[other];
  }
  return { config: mergePlain(cleared, keys), environment: { name, protected: isProtected === true } };
}

const REFERENCE = /\$\$\{|\$\{([^}]*)\}?/g;
const NAME_AND_DEFAULT = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

/** One string with its `${VAR}`s expanded; `key` names it in errors. */
export function expandString(text: string, variables: NodeJS.ProcessEnv, key: string, source: string): string {
  return text.replace(REFERENCE, (whole: string, inner: string | undefined) => {
    if (whole === '$${') return '${';
    const parsed = whole.endsWith('}') && inner !== undefined ? NAME_AND_DEFAULT.exec(inner) : null;
    if (parsed === null) {
      throw configError(`${source}: config key '${key}' has a malformed reference '${whole}': write \${NAME} or \${NAME:-default} (and $\${ for a literal \${)`);
    }
    const [, name = '', fallback] = parsed;
    const value = variables[name];
    // as in a shell, `:-` also covers a variable set to the empty string
    if (fallback !== undefined) return value === undefined || value === '' ? fallback : value;
    if (value === undefined) throw configError(`${source}: config key '${key}' uses \${${name}}, and the environment variable ${name} is not set (give it a default with \${${name}:-...})`);
    return value;
  });
}

function expandValue(value: unknown, variables: NodeJS.ProcessEnv, key: string, source: string): unknown {
  if (typeof value === 'string') return expandString(value, variables, key, source);
  if (Array.isArray(value)) return value.map((item, index) => expandValue(item, variables, `${key}[${index}]`, source));
  // class instances (a Buffer of a CA, a driver object) and functions are left as they are
  if (!isPlainObject(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandValue(v, variables, key === '' ? k : `${key}.${k}`, source)]));
}

/** The config with `${VAR}` references expanded in every string value (not in `migrations`). */
export function expandVariables(config: MongrateConfig, variables: NodeJS.ProcessEnv, source: string): MongrateConfig {
  const { migrations, ...rest } = config;
  const expanded = expandValue(rest, variables, '', source) as MongrateConfig;
  return migrations === undefined ? expanded : { ...expanded, migrations };
}
