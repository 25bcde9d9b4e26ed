/**
 * Configuration: what a setting is (Setting; the programs' tables are in
 * cli/), the defaults they share, and parsers that turn env values and flags
 * into typed settings. Apart from loadConfigFile, which only the entry points call
 * (first thing, before they read a variable), this module reads nothing: the
 * entry points lay flags over variables and pass plain values in.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { PeerlaneError } from './core/errors.js';

/** A value as yargs or the environment hands it over, before its parser has seen it. */
export type RawValue = unknown;

/**
 * One setting of a program, in one entry: its flag, its variable, its default,
 * its parser and its --help line. Each program has one table of them
 * (cli/peer-settings.ts, cli/signal-settings.ts); cli/settings.ts makes the
 * yargs options and reads the variables from the table, and
 * test/unit/config.test.ts checks every table against .env.template.
 */
export interface Setting<T = unknown> {
  /** The flag, without its dashes; absent: the variable alone sets it. */
  readonly flag?: string;
  /** The variable that sets it (in .env.template); absent: a flag only. */
  readonly env?: string;
  /** How yargs reads the flag, and what --help calls it; `string` when absent. */
  readonly type?: 'string' | 'number' | 'boolean';
  /** The value when neither flag nor variable is given, as .env.template writes it; absent: unset. */
  readonly default?: string | number | boolean;
  /** A default made of other variables (`--signal`: SIGNALING_SERVER_ADDR and _PORT). */
  readonly defaultFrom?: (variable: (name: string) => RawValue) => RawValue;
  /** What --help says; the generator adds the variable's name in []. */
  readonly describe: string;
  /** --help never shows its value, so the variable is read after yargs, not as the flag's default. */
  readonly secret?: true;
  /** Taken from the real environment only, never from a config file (see ENVIRONMENT_ONLY). */
  readonly environmentOnly?: true;
  /** The raw value (flag, else variable, else default) into what the program uses; BAD_CONFIG when bad. */
  readonly parse?: (raw: RawValue) => T;
}

export { DEFAULTS } from './core/session/defaults.js';

/**
 * Where the signal server listens, and where peers look for it: loopback
 * unless deployed. Both programs' tables read these two variables (the server
 * as --host and --port, peers as --signal).
 */
export const SIGNAL_ADDR_SETTING = { env: 'SIGNALING_SERVER_ADDR', default: '127.0.0.1' } as const;
export const SIGNAL_PORT_SETTING = { env: 'SIGNALING_SERVER_PORT', default: 8091 } as const;

/** More than this is a loop, not resilience: each attempt may wait out --timeout. */
const MAX_RECONNECTS = 20;
/** A day: longer is a lost peer, and its signal connection is long gone. */
const MAX_RECONNECT_FOR_S = 86_400;

/** `--reconnect-for`: seconds, or a number with `s`, `m` or `h` (`90`, `120s`, `2m`). */
export function parseReconnectFor(value: unknown): number {
  return parseDuration(value, '--reconnect-for / PEER_RECONNECT_FOR', MAX_RECONNECT_FOR_S);
}

/** A duration in seconds: a number, or a number with `s`, `m` or `h`; at most `maxSeconds`. */
export function parseDuration(value: unknown, name: string, maxSeconds: number): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h)?$/i.exec(String(value).trim());
  const unit = { s: 1, m: 60, h: 3600 }[(m?.[2] ?? 's').toLowerCase() as 's' | 'm' | 'h'];
  const seconds = m?.[1] === undefined ? Number.NaN : Number(m[1]) * unit;
  if (!Number.isFinite(seconds) || seconds > maxSeconds) {
    throw new PeerlaneError(
      'BAD_CONFIG',
      `${name} must be a duration like 90, 120s or 2m, up to ${maxSeconds / 3600}h, not ${JSON.stringify(value)}`,
    );
  }
  return seconds;
}

export function parseReconnects(value: unknown): number {
  const text = String(value).trim();
  const n = /^\d{1,3}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(n) || n > MAX_RECONNECTS) {
    throw new PeerlaneError(
      'BAD_CONFIG',
      `--reconnects / PEER_RECONNECTS must be an integer from 0 to ${MAX_RECONNECTS}, not ${JSON.stringify(value)}`,
    );
  }
  return n;
}

export function parsePort(value: unknown, name: string): number {
  // Decimal digits only: Number() would read '' as 0 and '0x1f90' as 8080.
  const text = typeof value === 'number' ? String(value) : String(value).trim();
  const n = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new PeerlaneError(
      'BAD_CONFIG',
      `${name} must be a port number from 0 to 65535, not ${JSON.stringify(value)}`,
    );
  }
  return n;
}

export function parseSeconds(value: unknown, name: string): number {
  const n = typeof value === 'number' ? value : Number(String(value).trim());
  if (!Number.isFinite(n) || n <= 0) {
    throw new PeerlaneError(
      'BAD_CONFIG',
      `${name} must be a positive number of seconds, not ${JSON.stringify(value)}`,
    );
  }
  return n;
}

/** `host:port`, `[v6]:port`, or a bare host (then `defaultPort`). */
export function parseHostPort(value: string, defaultPort: number): { host: string; port: number } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  if (v6?.[1] !== undefined) return { host: v6[1], port: v6[2] ? parsePort(v6[2], '--signal') : defaultPort };
  const i = value.lastIndexOf(':');
  if (i === -1) return { host: value, port: defaultPort };
  const host = value.slice(0, i);
  if (host.length === 0 || host.includes(':')) {
    throw new PeerlaneError('BAD_CONFIG', `--signal must look like host:port, not ${JSON.stringify(value)}`);
  }
  return { host, port: parsePort(value.slice(i + 1), '--signal') };
}

/** A string setting that may be unset (undefined stays undefined). */
export function optionalString(value: unknown): string | undefined {
  return value === undefined ? undefined : String(value);
}

/** A string setting with a default, so never unset. */
export function requiredString(value: unknown): string {
  return String(value ?? '');
}

/** A number as yargs gives it (NaN for a flag that is not one), or undefined when unset. */
export function optionalNumber(value: unknown): number | undefined {
  return value === undefined ? undefined : Number(value);
}

/** A boolean flag: yargs gives true or false, never anything else. */
function flagSwitch(value: unknown): boolean {
  return value === true;
}

/** A flag without a variable that is off unless given (`--yes`, `--json`). */
export function flagOff<F extends string>(flag: F, describe: string) {
  return { flag, type: 'boolean', default: false, describe, parse: flagSwitch } as const;
}

/** Both programs' --json. */
export const JSON_SETTING = flagOff('json', 'One JSON event per line on stdout');

const SWITCH_WORDS: Readonly<Record<string, boolean>> = {
  '': false,
  0: false,
  false: false,
  no: false,
  off: false,
  1: true,
  true: true,
  yes: true,
  on: true,
};

/** A boolean flag that a variable can also set (`PEERLANE_DEBUG_ICE=1`): 1/0, true/false, yes/no, on/off. */
export function parseSwitch(value: unknown, name: string): boolean {
  if (typeof value === 'boolean' || value === undefined) return value === true;
  const on = SWITCH_WORDS[String(value).trim().toLowerCase()];
  if (on === undefined) {
    throw new PeerlaneError(
      'BAD_CONFIG',
      `${name} must be 1 or 0 (true/false, yes/no, on/off), not ${JSON.stringify(value)}`,
    );
  }
  return on;
}

/** SCTP MTU for the data channel: at least the IPv6 minimum, below where libjuice truncates. */
export function parseMtu(value: unknown): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1280 || n > 4096) {
    throw new PeerlaneError(
      'BAD_CONFIG',
      `--mtu / PEER_MTU must be an integer from 1280 to 4096, not ${JSON.stringify(value)}`,
    );
  }
  return n;
}

/**
 * Which links a connection attempt may use (`peer --transport`): `auto` races
 * a direct TCP connection (for peers that can reach each other) against the
 * WebRTC data channel (session/race.ts); `tcp` and `webrtc` use only that one.
 */
export type Transport = 'auto' | 'tcp' | 'webrtc' | 'relay';
export const TRANSPORTS: readonly Transport[] = ['auto', 'tcp', 'webrtc', 'relay'];

export function parseTransport(value: unknown): Transport {
  const text = String(value).trim();
  if (!(TRANSPORTS as readonly string[]).includes(text)) {
    throw new PeerlaneError(
      'BAD_CONFIG',
      `--transport / PEER_TRANSPORT must be one of ${TRANSPORTS.join(', ')}, not ${JSON.stringify(value)}`,
    );
  }
  return text as Transport;
}

// ---------------------------------------------------------------- the config file

/**
 * Variables taken from the real environment only, never from a file: a file
 * can arrive from a peer (`peer receive` writes into the current folder), and
 * a code in it would send the next `peer send` to whoever planted it.
 */
export const PEER_CODE_SETTING = {
  env: 'PEER_CODE',
  environmentOnly: true,
  describe: "The other side's code, for `peer send` without --to and `peer receive` without one",
  parse: optionalString,
} as const satisfies Setting;

const ENVIRONMENT_ONLY: readonly string[] = [PEER_CODE_SETTING.env];

/** `--config FILE` or `--config=FILE` among the raw arguments, if given. */
export function configFlag(args: readonly string[]): string | undefined {
  for (const [i, arg] of args.entries()) {
    if (arg === '--config') {
      const file = args[i + 1];
      if (file === undefined || file.startsWith('-'))
        throw new PeerlaneError('USAGE', '--config needs a file');
      return file;
    }
    if (arg.startsWith('--config=')) return arg.slice('--config='.length);
  }
  return undefined;
}

/**
 * Where `peer` reads its settings unless --config names a file:
 * `$XDG_CONFIG_HOME/peerlane/.env`, by default `~/.config/peerlane/.env`.
 * Never the current folder, which received files may have written.
 */
export function peerConfigPath(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CONFIG_HOME?.startsWith('/')
    ? env.XDG_CONFIG_HOME
    : path.join(os.homedir(), '.config');
  return path.join(base, 'peerlane', '.env');
}

/**
 * Lay the variables of the dotenv file `file` under `env`: the real
 * environment wins over the file. A missing file is fine unless `required`
 * (it was named with --config). A file that sets an ENVIRONMENT_ONLY variable
 * is refused (BAD_CONFIG), not quietly half-used.
 */
export function loadConfigFile(file: string, env: NodeJS.ProcessEnv, required: boolean): void {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (!required && (err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new PeerlaneError('BAD_CONFIG', `cannot read the config file ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const values = parseDotenv(text);
  for (const name of ENVIRONMENT_ONLY) {
    if ((values[name] ?? '') !== '') {
      throw new PeerlaneError(
        'BAD_CONFIG',
        `${file} sets ${name}, which is read from the environment only (PEER_CODE=… peer send)`,
      );
    }
  }
  for (const [name, value] of Object.entries(values)) {
    if (!ENVIRONMENT_ONLY.includes(name) && env[name] === undefined) env[name] = value;
  }
}
