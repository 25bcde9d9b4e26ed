/**
 * Configuration: defaults, and parsers that turn env values and flags into
 * typed settings. Apart from loadConfigFile, which only the entry points call
 * (first thing, before they read a variable), this module reads nothing: the
 * entry points lay flags over variables and pass plain values in.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { PeerlaneError } from './core/errors.js';

export const DEFAULTS = {
  /** Where the signal server listens, and where peers look for it. Loopback unless deployed. */
  SIGNALING_SERVER_ADDR: '127.0.0.1',
  SIGNALING_SERVER_PORT: 8091,
  /**
   * Comma-separated stun:/turn: URLs. Unset or empty: the signal server's own
   * STUN (same host and port number, over UDP) plus any TURN credentials it
   * issues; `none` (or `--ice-servers ''`): host candidates only.
   */
  ICE_SERVERS: '',
  /** Local address ICE binds to; empty means every interface. */
  PEER_BIND_ADDRESS: '',
  /** Seconds to wait for the data channel to open once paired. */
  PEER_CONNECT_TIMEOUT: 30,
  /**
   * Reconnections allowed per outage; the time budget below is what usually
   * ends them. 20 attempts, backing off to 15 s apart, last past 5 minutes.
   */
  PEER_RECONNECTS: 20,
  /**
   * Seconds a session keeps trying for a new data channel after one drops:
   * rides out a router reboot or a Wi-Fi handover, not a lost peer.
   */
  PEER_RECONNECT_FOR: 120,
  /** Seconds a connected peer may move nothing on before STALLED (protocol.ts, STALL_TIMEOUT_MS). */
  PEER_STALL_TIMEOUT: 300,
  /** Which links a connection may use: see parseTransport. */
  PEER_TRANSPORT: 'auto',
} as const;

/** More than this is a loop, not resilience: each attempt may wait out --timeout. */
export const MAX_RECONNECTS = 20;
/** A day: longer is a lost peer, and its signal connection is long gone. */
export const MAX_RECONNECT_FOR_S = 86_400;

/** `--reconnect-for`: seconds, or a number with `s`, `m` or `h` (`90`, `120s`, `2m`). */
export function parseReconnectFor(value: unknown): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h)?$/i.exec(String(value).trim());
  const unit = { s: 1, m: 60, h: 3600 }[(m?.[2] ?? 's').toLowerCase() as 's' | 'm' | 'h'];
  const seconds = m?.[1] === undefined ? Number.NaN : Number(m[1]) * unit;
  if (!Number.isFinite(seconds) || seconds > MAX_RECONNECT_FOR_S) {
    throw new PeerlaneError(
      'BAD_CONFIG',
      `--reconnect-for / PEER_RECONNECT_FOR must be a duration like 90, 120s or 2m, up to 24h, not ${JSON.stringify(value)}`,
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

/** Comma-separated `stun:` / `turn:` / `turns:` URLs. */
export function parseIceServers(value: string): string[] {
  const urls = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  for (const url of urls) {
    if (!/^(stun|turn|turns):/.test(url)) {
      throw new PeerlaneError(
        'BAD_CONFIG',
        `ICE_SERVERS entries must start with stun:, turn: or turns:, not ${JSON.stringify(url)}`,
      );
    }
  }
  return urls;
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

/** A TURN server in node-datachannel's object form; credentials travel unencoded. */
export interface TurnServer {
  hostname: string;
  port: number;
  username: string;
  password: string;
  relayType: 'TurnUdp' | 'TurnTcp' | 'TurnTls';
}

/** A STUN server in object form (no credentials, no relay type). */
export interface StunServer {
  hostname: string;
  port: number;
}

/** What RtcOptions.iceServers holds: a `stun:` URL, or the object forms. */
export type IceServer = string | StunServer | TurnServer;

export function isTurnServer(server: IceServer): server is TurnServer {
  return typeof server === 'object' && 'relayType' in server;
}

/** Percent-decode one userinfo part, naming the variable if it is malformed. */
function decodePart(part: string, url: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new PeerlaneError(
      'BAD_CONFIG',
      `bad percent-encoding in ICE server ${JSON.stringify(redact(url))}`,
    );
  }
}

/** A URL with its password hidden, for messages. */
export function redact(url: string): string {
  return url.replace(/^(turns?:[^:@]*:)[^@]*@/, '$1***@');
}

/**
 * One ICE server URL. `stun:host[:port]` stays a string (node-datachannel
 * parses it). `turn:user:pass@host[:port][?transport=udp]` becomes the object
 * form: libdatachannel's URL parser wants user and password percent-encoded,
 * and TURN REST usernames hold a colon and base64 passwords `+/=`, so a
 * credential pasted as-is into a URL makes coturn answer 401. Here each part
 * is percent-decoded once (`%3A` → `:`) and passed as it is.
 *
 * TURN over TCP or TLS (`turns:`, `?transport=tcp`) is refused: the ICE agent
 * in node-datachannel's prebuilt binaries (libjuice) only relays over UDP and
 * would silently skip it.
 */
export function parseIceServerUrl(
  url: string,
  options: { credentials?: 'required' | 'forbidden' } = {},
): IceServer {
  const m =
    /^(stun|stuns|turn|turns):(?:\/\/)?(?:(.*)@)?(\[[^\]]+\]|[^:/?@[\]]+)(?::(\d{1,5}))?(?:\?transport=(udp|tcp))?$/i.exec(
      url,
    );
  const scheme = m?.[1]?.toLowerCase();
  const host = m?.[3];
  if (m === null || scheme === undefined || host === undefined) {
    throw new PeerlaneError(
      'BAD_CONFIG',
      `ICE server ${JSON.stringify(redact(url))} must look like stun:host[:port] or turn:user:pass@host[:port]`,
    );
  }
  const hostname = host.replace(/^\[|\]$/g, '');
  const port = m[4] === undefined ? (scheme.endsWith('s') ? 5349 : 3478) : parsePort(m[4], 'ICE server port');
  if (port === 0)
    throw new PeerlaneError('BAD_CONFIG', `ICE server ${JSON.stringify(redact(url))} needs a port above 0`);
  const userinfo = m[2];
  if (scheme === 'stun' || scheme === 'stuns') {
    if (userinfo !== undefined) throw new PeerlaneError('BAD_CONFIG', 'stun: URLs take no credentials');
    if (scheme === 'stuns') throw new PeerlaneError('BAD_CONFIG', 'stuns: is not supported; use stun:');
    return `stun:${host}:${port}`;
  }
  if (scheme === 'turns' || m[5]?.toLowerCase() === 'tcp') {
    throw new PeerlaneError(
      'BAD_CONFIG',
      `${JSON.stringify(redact(url))}: TURN over TCP/TLS is not supported by node-datachannel's ICE agent (libjuice); use turn: over UDP`,
    );
  }
  const base = { hostname, port, relayType: 'TurnUdp' as const };
  if (options.credentials === 'forbidden') {
    if (userinfo !== undefined) {
      throw new PeerlaneError('BAD_CONFIG', `TURN_URLS entries take no credentials: ${redact(url)}`);
    }
    return { ...base, username: '', password: '' };
  }
  const colon = userinfo?.indexOf(':') ?? -1;
  if (userinfo === undefined || colon <= 0) {
    throw new PeerlaneError(
      'BAD_CONFIG',
      `${JSON.stringify(redact(url))} needs credentials: turn:user:password@host:port (percent-encode ":" "@" "/" "+" "=" in them)`,
    );
  }
  return {
    ...base,
    username: decodePart(userinfo.slice(0, colon), url),
    password: decodePart(userinfo.slice(colon + 1), url),
  };
}

/** Comma-separated ICE server URLs into node-datachannel's forms; `none` or empty gives []. */
export function parseIceServerList(value: string): IceServer[] {
  if (value.trim().toLowerCase() === 'none') return [];
  return parseIceServers(value).map((url) => parseIceServerUrl(url));
}

/**
 * Which ICE servers a peer uses, from `--ice-servers` (undefined when not
 * given) and ICE_SERVERS:
 * - neither set (or ICE_SERVERS empty): `auto`, the signal server's STUN and
 *   the TURN credentials it issues;
 * - `--ice-servers ''` or `none` in either: `none`, host candidates only;
 * - a list: those servers, plus the TURN credentials the signal server issues.
 */
export type IceSelection = { mode: 'auto' } | { mode: 'none' } | { mode: 'list'; servers: IceServer[] };

export function selectIceServers(flag: string | undefined, envValue: string | undefined): IceSelection {
  const explicit = flag ?? (envValue !== undefined && envValue.trim() !== '' ? envValue : undefined);
  if (explicit === undefined) return { mode: 'auto' };
  const servers = parseIceServerList(explicit);
  return servers.length === 0 ? { mode: 'none' } : { mode: 'list', servers };
}

// ---------------------------------------------------------------- the config file

/**
 * Variables taken from the real environment only, never from a file: a file
 * can arrive from a peer (`peer receive` writes into the current folder), and
 * a code in it would send the next `peer send` to whoever planted it.
 */
export const ENVIRONMENT_ONLY: readonly string[] = ['PEER_CODE'];

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
