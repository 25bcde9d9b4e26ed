/**
 * Behind a reverse proxy (Caddy, nginx) every page's WebSocket arrives from
 * the proxy's address, so the per-address limits would count all of them as
 * one client and the logs would name the proxy. The proxy says whom it
 * forwards in `X-Forwarded-For`; that header is anyone's to write, so it is
 * believed only from the proxies the operator names (SIGNAL_TRUST_PROXY), and
 * only its rightmost address that is not one of them: the one the last
 * trusted proxy saw, whatever a client put in front of it.
 */
import type http from 'node:http';
import net from 'node:net';
import { PeerlaneError } from '../../core/errors.js';
import { plainAddress } from '../address-group.js';

/** Addresses a forwarded header lists at most before the rest is ignored: no header is walked without end. */
const MAX_FORWARDED_HOPS = 16;

/** `--trust-proxy` / SIGNAL_TRUST_PROXY: comma-separated IP addresses; empty trusts none. */
export function parseTrustedProxies(raw: string | undefined): string[] {
  const list = (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const address of list) {
    if (net.isIP(address) === 0) {
      throw new PeerlaneError(
        'BAD_CONFIG',
        `--trust-proxy / SIGNAL_TRUST_PROXY must list IP addresses, not ${JSON.stringify(address)}`,
      );
    }
  }
  return list.map(plainAddress);
}

export class TrustedProxies {
  private readonly addresses: ReadonlySet<string>;

  constructor(addresses: readonly string[] = []) {
    this.addresses = new Set(addresses.map(plainAddress));
  }

  trusts(address: string): boolean {
    return this.addresses.has(plainAddress(address));
  }

  /**
   * Whom a request from `peer` is for: `peer` itself, unless `peer` is a
   * trusted proxy that names the client in X-Forwarded-For.
   */
  clientOf(req: http.IncomingMessage, peer: string): string {
    if (!this.trusts(peer)) return peer;
    const header = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(header) ? header.join(',') : (header ?? ''))
      .split(',')
      .slice(-MAX_FORWARDED_HOPS);
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = plainAddress(hops[i]?.trim() ?? '');
      if (net.isIP(hop) === 0) return peer; // a hop we cannot read: believe nothing further left
      if (!this.trusts(hop)) return hop;
    }
    return peer;
  }
}
