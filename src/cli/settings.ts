/**
 * A program's settings table (config.ts, Setting) into what yargs takes, and
 * back into typed values: one entry per setting makes its flag, its --help
 * line, its default from the variable, and its parsed value. Both programs
 * use it (cli/peer-settings.ts, cli/signal-settings.ts).
 */
import type { Options } from 'yargs';
import type { RawValue, Setting } from '../config.js';

/** The environment as the entry points hold it, config file already laid under it. */
export type Env = Readonly<Record<string, string | undefined>>;

/** What a setting's value is keyed by: its flag, or its variable when it has no flag. */
type KeyOf<S> = S extends { readonly flag: infer F extends string }
  ? F
  : S extends { readonly env: infer E extends string }
    ? E
    : never;
type ValueOf<S> = S extends { readonly parse: (raw: RawValue) => infer T } ? T : RawValue;

/** The parsed values of a table, keyed by flag (or variable). */
export type SettingValues<L extends readonly Setting[]> = { [S in L[number] as KeyOf<S>]: ValueOf<S> };

/** A number as a variable writes it: decimal digits only (Number() would also take `0x10`). */
const DECIMAL = /^\s*\d+(?:\.\d+)?\s*$/;

/** The variable, if set: empty counts as unset, so `PEER_CONNECT_TIMEOUT=` means the default. */
function fromEnv(s: Setting, env: Env): string | undefined {
  const value = s.env === undefined ? undefined : env[s.env];
  return value === undefined || value === '' ? undefined : value;
}

/** A setting's value from the environment, else its default (for defaultFrom). */
function variableIn(table: readonly Setting[], env: Env): (name: string) => RawValue {
  return (name) => {
    const s = table.find((t) => t.env === name);
    return s === undefined ? env[name] : (fromEnv(s, env) ?? s.default);
  };
}

/** What yargs fills in when the flag is not given: the variable, else the default. Secrets: nothing. */
function flagDefault(s: Setting, table: readonly Setting[], env: Env): RawValue {
  if (s.secret) return undefined;
  const value = fromEnv(s, env) ?? s.defaultFrom?.(variableIn(table, env)) ?? s.default;
  // --help shows a default as yargs would have read the flag: a string quoted, a number bare.
  // Anything else stays as written, for the parser to name in its message.
  const type = s.type ?? 'string';
  if (value !== undefined && type === 'string') return String(value);
  if (type === 'number' && typeof value === 'string' && DECIMAL.test(value)) return Number(value);
  return value;
}

/**
 * The yargs options of `settings` (entries of `table`, which defaultFrom may
 * read). yargs renders the whole help text each time a command runs, to cache
 * it in case it is asked for; measuring its strings costs 10-20 ms of every
 * start. Unless `shown` (help was asked for), the options are hidden from that
 * render.
 */
export function settingOptions(
  settings: readonly Setting[],
  env: Env,
  shown: boolean,
  table: readonly Setting[] = settings,
): Record<string, Options> {
  const options: Record<string, Options> = {};
  for (const s of settings) {
    if (s.flag === undefined) continue;
    const value = flagDefault(s, table, env);
    options[s.flag] = {
      type: s.type ?? 'string',
      describe: s.env === undefined ? s.describe : `${s.describe} [${s.env}]`,
      ...(value === undefined ? {} : { default: value }),
      ...(shown ? {} : { hidden: true }),
    };
  }
  return options;
}

/** One setting's raw value: the flag (yargs filled in the variable or default), else the variable. */
function rawValue(s: Setting, args: Readonly<Record<string, unknown>>, env: Env): RawValue {
  const given = s.flag === undefined ? undefined : args[s.flag];
  if (given !== undefined || (s.flag !== undefined && !s.secret)) return given;
  return fromEnv(s, env) ?? s.default;
}

/** Each setting of `table` parsed: throws its parser's PeerlaneError (BAD_CONFIG) on a bad value. */
export function readSettings<L extends readonly Setting[]>(
  table: L,
  args: Readonly<Record<string, unknown>>,
  env: Env,
): SettingValues<L> {
  const values: Record<string, unknown> = {};
  for (const s of table) {
    const raw = rawValue(s, args, env);
    values[s.flag ?? s.env ?? ''] = s.parse === undefined ? raw : s.parse(raw);
  }
  // Keyed and parsed entry by entry as SettingValues spells out; TypeScript cannot follow the loop.
  return values as SettingValues<L>;
}
