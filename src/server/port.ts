/**
 * What the signal server's one TCP port does with a connection once it is
 * counted (server.ts): it becomes a client, with the handshake deadline, and
 * its first byte (demux.ts) sends it on: to the relay, to HTTP (the page, and
 * the WebSockets /signal and /relay: http-port.ts), to TLS (tls.ts: taken off
 * once, then the first byte of what it carried decides again), or to the
 * signaling handlers. A WebSocket on /signal and NDJSON over TLS become
 * clients like a TCP one, with the same limits: their TCP connection is the
 * one the caps counted.
 */
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { PeerlaneError } from '../core/errors.js';
import { addressGroup, plainAddress } from './address-group.js';
import type { Client } from './clients.js';
import { sniffProtocol } from './demux.js';
import type { SignalHandlers } from './handlers.js';
import { PortHttp } from './http-port.js';
import type { LineContext } from './line-reader.js';
import { readLines } from './line-reader.js';
import type { AddressLimiter } from './rate-limit.js';
import type { RelayHub } from './relay/hub.js';
import type { TlsPem } from './tls.js';
import { PortTls } from './tls.js';
import type { TrustedProxies } from './web/forwarded.js';
import { DEFAULT_WEB_ROOT } from './web/static.js';

/** What a relay-only process says to a signaling client. */
const RELAY_ONLY_REFUSAL =
  'this server only relays (--relay-only): point peers at the signal server, which names this relay in `paired`';

export interface PortOptions {
  lines: LineContext;
  relay: RelayHub;
  relayOnly: boolean;
  webRoot: string | undefined;
  /** The UDP port STUN answers on (the page's configuration tells the page); undefined without STUN. */
  stunPort: () => number | undefined;
  proxies: TrustedProxies;
  /** The per-address connection cap (server.ts's limiter), for the clients a trusted proxy forwards. */
  connections: Pick<AddressLimiter, 'connect' | 'disconnect'>;
  tls: TlsPem | undefined;
  log: (message: string) => void;
}

export class PortRouter {
  private readonly http: PortHttp;
  /** TLS on the port, when a certificate is configured. */
  private readonly tls: PortTls | undefined;
  private readonly handlers: SignalHandlers;
  private nextId = 1;

  constructor(private readonly options: PortOptions) {
    const { lines, relay, log } = options;
    this.handlers = lines.handlers;
    this.http = new PortHttp({
      relay,
      signal: (stream, address) => this.acceptWebSocket(stream, address),
      webRoot: options.webRoot ?? DEFAULT_WEB_ROOT,
      stunPort: options.stunPort,
      proxies: options.proxies,
      countForwarded: (address) => {
        const group = addressGroup(address, lines.limits.ipv6PrefixBits);
        // The cap counts a refused connection too, until it is released: release it at once.
        if (options.connections.connect(group)) return () => options.connections.disconnect(group);
        options.connections.disconnect(group);
        return undefined;
      },
      log,
    });
    this.tls =
      options.tls === undefined
        ? undefined
        : new PortTls(options.tls, lines.limits.handshakeTimeoutMs, (s) => this.acceptSecure(s), log);
  }

  /** A client on `socket` (TCP, TLS, or a WebSocket's stream), forgotten when it closes. */
  client(socket: Duplex, address: string): Client {
    const group = addressGroup(address, this.options.lines.limits.ipv6PrefixBits);
    const client: Client = { id: this.nextId++, socket, address, group, queued: 0, queue: Promise.resolve() };
    socket.on('error', () => {
      // A reset, a bad handshake, or a write after the peer left; 'close' follows and cleans up.
    });
    socket.on('close', () => this.handlers.drop(client));
    return client;
  }

  /**
   * Hand the client to what speaks the protocol its first byte names. TLS is
   * taken off once (`secure` then), and what it carried is told apart again.
   */
  serve(client: Client, socket: net.Socket, secure = false): void {
    // Opened first, so that a client that sends nothing meets the handshake timeout either way
    // (closed without a word: nobody knows what it speaks).
    client.unheard = true;
    this.handlers.open(client);
    void sniffProtocol(socket).then((protocol) => {
      client.unheard = false;
      const tls = protocol === 'tls' && !secure ? this.tls : undefined;
      if (protocol === 'relay' || protocol === 'http' || tls !== undefined) {
        this.handlers.drop(client);
        if (protocol === 'relay') this.options.relay.accept(socket, client.address);
        else if (tls !== undefined) tls.accept(socket);
        else this.http.accept(socket, client.address);
        return;
      }
      // Anything else is read as signaling, whose decoder refuses what is not.
      this.serveSignaling(client);
    });
  }

  close(): void {
    this.http.close();
  }

  /** A connection whose TLS handshake is done: counted already, as the TCP connection under it. */
  private acceptSecure(socket: TLSSocket): void {
    if (socket.remoteAddress === undefined) {
      socket.destroy();
      return;
    }
    this.serve(this.client(socket, plainAddress(socket.remoteAddress)), socket, true);
  }

  /** A signaling client over WebSocket (`GET /signal`): from here on a client like any other. */
  private acceptWebSocket(stream: Duplex, address: string): void {
    const client = this.client(stream, address);
    this.handlers.open(client);
    this.serveSignaling(client);
  }

  /** Hand the client's lines to the handlers (a relay-only process refuses it). */
  private serveSignaling(client: Client): void {
    if (this.options.relayOnly) {
      this.handlers.reject(client, new PeerlaneError('BAD_MESSAGE', RELAY_ONLY_REFUSAL));
      return;
    }
    readLines(client, this.options.lines);
    client.socket.resume();
  }
}
