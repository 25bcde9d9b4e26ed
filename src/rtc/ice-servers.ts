/**
 * ICE servers as a peer uses them: `stun:`/`turn:` URLs (ICE_SERVERS,
 * `--ice-servers`) into node-datachannel's forms, which of them a peer uses,
 * and the TURN servers the signal server issues credentials for at pairing.
 * The signal server validates its own TURN_URLS with the same parser.
 */
import { parsePort } from '../config.js';
import { PeerlaneError } from '../core/errors.js';

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
function redact(url: string): string {
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

/** The expiry of a REST-style username (`<expiry>:<id>`), or undefined for any other username. */
export function restUsernameExpiry(username: string): number | undefined {
  const m = /^(\d{9,12}):/.exec(username);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

/**
 * TURN over TLS or TCP (`turns:`, `?transport=tcp`): what a browser on a
 * network that blocks UDP relays over, and what libjuice cannot use. The
 * signal server may issue such URLs (TURN_URLS) with its credentials, for the
 * browser page; a peer here leaves them out.
 */
function browserOnlyTurn(url: string): boolean {
  return /^turns:|\?transport=tcp$/i.test(url);
}

/**
 * node-datachannel's object form for each URL it can relay over (UDP), with
 * the credentials attached; browser-only URLs are checked, then left out.
 */
export function turnServersFor(urls: readonly string[], creds: { username: string; password: string }) {
  return urls.flatMap((url): TurnServer[] => {
    const browserOnly = browserOnlyTurn(url);
    // The same checks for all: a browser-only URL is parsed as its UDP twin.
    const udp = browserOnly ? url.replace(/^turns:/i, 'turn:').replace(/\?transport=tcp$/i, '') : url;
    const server = parseIceServerUrl(udp, { credentials: 'forbidden' });
    if (typeof server === 'string' || !isTurnServer(server)) {
      throw new PeerlaneError(
        'BAD_CONFIG',
        `TURN_URLS entries must be turn: or turns: URLs, not ${JSON.stringify(url)}`,
      );
    }
    return browserOnly ? [] : [{ ...server, username: creds.username, password: creds.password }];
  });
}
