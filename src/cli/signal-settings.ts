/**
 * Every setting of the signal server (`peerlane-signal`, `npm run
 * serve:signal`), one entry each (config.ts, Setting), its limits included
 * (server/server-config.ts). cli/settings.ts makes the yargs options and the
 * values from these; .env.template documents each variable.
 */
import type { Setting } from '../config.js';
import {
  flagOff,
  JSON_SETTING,
  optionalString,
  parsePort,
  requiredString,
  SIGNAL_ADDR_SETTING,
  SIGNAL_PORT_SETTING,
} from '../config.js';
import { DEFAULT_HTTP_HOST } from '../server/options.js';
import { RELAY_SETTINGS } from '../server/relay/settings.js';
import { SIGNAL_LIMIT_SETTINGS } from '../server/server-config.js';
import { DEFAULT_TURN_TTL_SECONDS } from '../server/turn.js';
import { parseTrustedProxies } from '../server/web/forwarded.js';

/** A setting whose empty value means "none" rather than its default. */
function blankIsNone(raw: unknown): string | undefined {
  return String(raw ?? '').trim() || undefined;
}

export const SIGNAL_SETTINGS = [
  {
    ...SIGNAL_ADDR_SETTING,
    flag: 'host',
    describe: 'Address to listen on; 0.0.0.0 for all',
    parse: requiredString,
  },
  {
    ...SIGNAL_PORT_SETTING,
    flag: 'port',
    describe: 'TCP port, and UDP port for STUN; 0 picks a free one',
    parse: (raw) => parsePort(raw, '--port'),
  },
  {
    flag: 'turn-urls',
    env: 'TURN_URLS',
    default: '',
    describe: 'Comma-separated turn: (and, for browsers, turns:) URLs of coturn, without credentials',
    parse: requiredString,
  },
  // Secrets have no default in yargs: it would print it in --help.
  {
    flag: 'turn-secret',
    env: 'TURN_SECRET',
    secret: true,
    describe: "coturn's static-auth-secret; prefer the variable, flags show in ps",
    parse: requiredString,
  },
  {
    flag: 'turn-ttl',
    env: 'TURN_TTL',
    default: DEFAULT_TURN_TTL_SECONDS,
    // resolveTurnConfig checks it, with TURN_URLS and TURN_SECRET.
    describe: 'Seconds the issued TURN credentials stay valid',
    parse: optionalString,
  },
  {
    flag: 'redis-url',
    env: 'REDIS_URL',
    secret: true,
    describe: 'Share state with other instances through this Redis; empty: in memory',
    parse: blankIsNone,
  },
  {
    flag: 'http-port',
    env: 'SIGNAL_HTTP_PORT',
    default: '',
    describe: 'TCP port for /healthz and /metrics; empty: none, 0 picks one',
    parse: (raw) => {
      const port = blankIsNone(raw);
      return port === undefined ? undefined : parsePort(port, '--http-port');
    },
  },
  {
    flag: 'http-host',
    env: 'SIGNAL_HTTP_HOST',
    default: DEFAULT_HTTP_HOST,
    describe: 'Address the /healthz and /metrics port listens on',
    parse: (raw) => blankIsNone(raw) ?? DEFAULT_HTTP_HOST,
  },
  {
    flag: 'trust-proxy',
    env: 'SIGNAL_TRUST_PROXY',
    default: '',
    describe:
      "Reverse proxies' IP addresses (comma-separated) whose X-Forwarded-For names a WebSocket's client",
    parse: (raw) => parseTrustedProxies(optionalString(raw)),
  },
  {
    flag: 'tls-cert',
    env: 'TLS_CERT',
    default: '',
    describe: 'PEM certificate chain: serve HTTPS and wss:// on the port too; with --tls-key',
    parse: blankIsNone,
  },
  {
    flag: 'tls-key',
    env: 'TLS_KEY',
    default: '',
    describe: 'PEM private key of --tls-cert',
    parse: blankIsNone,
  },
  ...SIGNAL_LIMIT_SETTINGS,
  ...RELAY_SETTINGS,
  {
    flag: 'config',
    describe: 'Read settings from this file instead of ./.env',
    parse: optionalString,
  },
  JSON_SETTING,
  flagOff('quiet', 'Log nothing but errors'),
] as const satisfies readonly Setting[];
