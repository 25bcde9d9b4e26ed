/**
 * Configuration: defaults, and parsers that turn env values and flags into
 * typed settings. This module reads nothing by itself; the entry points load
 * `.env`, lay flags over variables, and pass plain values in.
 */
import { PeerlaneError } from './errors.js';

export const DEFAULTS = {
  /** Where the signal server listens, and where peers look for it. Loopback unless deployed. */
  SIGNALING_SERVER_ADDR: '127.0.0.1',
  SIGNALING_SERVER_PORT: 8091,
  /** Comma-separated stun:/turn: URLs; empty means host candidates only. */
  ICE_SERVERS: '',
  /** Local address ICE binds to; empty means every interface. */
  PEER_BIND_ADDRESS: '',
  /** Seconds to wait for the data channel to open once paired. */
  PEER_CONNECT_TIMEOUT: 30,
} as const;

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
