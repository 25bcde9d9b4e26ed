/**
 * One connection attempt's direct side: a listener on an ephemeral port, the
 * addresses to tell the peer (hints), dials to the peer's hints, and the
 * handshake on every connection either way. Each connection that proves the
 * session key becomes a TcpLink; the session's race (session/race.ts) picks
 * one and `close()` ends the rest.
 */
import net from 'node:net';
import os from 'node:os';
import type { Hint } from '../core/direct/protocol.js';
import { MAX_ACCEPTED, MAX_HINTS } from '../core/direct/protocol.js';
import { handshake } from './handshake.js';
import { TcpLink } from './tcp-link.js';

export interface DirectOptions {
  /** Listen here and offer only this address; unset: every interface. */
  bindAddress?: string | undefined;
  key: Buffer;
  attempt: number;
  /** The offerer chooses; the answerer's links wait for the offerer's USE. */
  chooser: boolean;
  timeoutMs: number;
}

/**
 * This machine, however it is spelt: loopback, and the unspecified addresses,
 * which connect to it too (0.0.0.0, ::, ::ffff:127.0.0.1, 0:0:0:0:0:0:0:1 …).
 * BlockList matches IPv4-mapped IPv6 addresses against the IPv4 rules.
 */
const THIS_MACHINE = new net.BlockList();
THIS_MACHINE.addSubnet('127.0.0.0', 8, 'ipv4');
THIS_MACHINE.addSubnet('0.0.0.0', 8, 'ipv4');
THIS_MACHINE.addAddress('::1', 'ipv6');
THIS_MACHINE.addAddress('::', 'ipv6');

const isLoopback = (host: string): boolean => {
  const family = net.isIP(host);
  return family !== 0 && THIS_MACHINE.check(host, family === 6 ? 'ipv6' : 'ipv4');
};
const unspecified = (host: string | undefined): boolean =>
  host === undefined || host === '' || host === '0.0.0.0' || host === '::';

/** Addresses of this machine a peer might reach: the bound one, or every non-internal one. */
function localAddresses(bindAddress: string | undefined): string[] {
  if (!unspecified(bindAddress)) return [bindAddress as string];
  const found: string[] = [];
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) {
      // Link-local IPv6 needs a zone the peer cannot know.
      if (!a.internal && !(a.family === 'IPv6' && a.address.startsWith('fe80'))) found.push(a.address);
    }
  }
  return found.slice(0, MAX_HINTS);
}

export class DirectAttempt {
  private readonly sockets = new Set<net.Socket>();
  private readonly links = new Map<TcpLink, net.Socket>();
  private linkHandler: ((link: TcpLink) => void) | undefined;
  private accepted = 0;
  private closed = false;

  private constructor(
    private readonly server: net.Server,
    private readonly options: DirectOptions,
  ) {
    server.on('connection', (socket) => {
      if (++this.accepted > MAX_ACCEPTED || this.closed) socket.destroy();
      else this.shake(socket, 'listener');
    });
    server.on('error', () => {}); // a listener that fails only means no one dials us
  }

  static listen(options: DirectOptions): Promise<DirectAttempt> {
    const server = net.createServer({ pauseOnConnect: true });
    const host = unspecified(options.bindAddress) ? undefined : options.bindAddress;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: 0, ...(host ? { host } : {}) }, () => {
        server.off('error', reject);
        resolve(new DirectAttempt(server, options));
      });
    });
  }

  /** What to tell the peer: our addresses with the listener's port. */
  hints(): Hint[] {
    const { port } = this.server.address() as net.AddressInfo;
    return localAddresses(this.options.bindAddress).map((host) => ({ host, port }));
  }

  /**
   * Dial what the peer offered. Loopback is dialed only from loopback: a
   * peer must not point us at services on our own machine.
   */
  dial(hints: Hint[]): void {
    const fromLoopback =
      !unspecified(this.options.bindAddress) && isLoopback(this.options.bindAddress as string);
    for (const hint of hints.slice(0, MAX_HINTS)) {
      if (this.closed || isLoopback(hint.host) !== fromLoopback) continue;
      const socket = net.connect({
        host: hint.host,
        port: hint.port,
        ...(fromLoopback ? { localAddress: this.options.bindAddress } : {}),
      });
      socket.on('error', () => {}); // an unreachable hint is expected; others may work
      socket.once('connect', () => this.shake(socket, 'dialer'));
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    }
  }

  /** `handler` gets every connection that completed the handshake, including earlier ones. */
  onLink(handler: (link: TcpLink) => void): void {
    this.linkHandler = handler;
    for (const link of this.links.keys()) handler(link);
  }

  /** Stop listening and dialing; close every link but `keep`. */
  close(keep?: TcpLink): void {
    this.closed = true;
    this.server.close();
    const kept = keep === undefined ? undefined : this.links.get(keep);
    for (const link of this.links.keys()) if (link !== keep) link.close();
    for (const socket of this.sockets) if (socket !== kept) socket.destroy();
  }

  private shake(socket: net.Socket, side: 'dialer' | 'listener'): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    const { key, attempt, timeoutMs, chooser } = this.options;
    const role = chooser ? 'offerer' : 'answerer';
    handshake(socket, side, key, { n: attempt, role }, timeoutMs).then(
      ({ keys, leftover }) => {
        if (this.closed) {
          socket.destroy();
          return;
        }
        const link = new TcpLink(socket, keys, leftover, { expectUse: !chooser });
        this.links.set(link, socket);
        this.linkHandler?.(link);
      },
      () => {
        // Not the peer, or not in time: handshake() has closed it.
      },
    );
  }
}
