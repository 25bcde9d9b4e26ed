/**
 * HTTP on the signal server's main port (told apart by the first byte, see
 * demux.ts): the browser page (web/static.ts) and its configuration
 * (web/page-config.ts), and two WebSocket paths, which
 * a browser can reach and which pass proxies that allow only HTTP upgrades:
 * - `GET /signal` upgraded: the signaling protocol, each message a chunk of
 *   the same NDJSON a TCP client sends, each line of ours one text message.
 *   The stream goes to the server's own client handling, with its limits;
 * - `GET /relay` upgraded: the relay's byte stream.
 *
 * The connection has already passed the server's caps (connections per
 * address, in all) before it gets here; these limits bound what one HTTP
 * connection may cost.
 */
import http from 'node:http';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { RELAY_WS_MAX_MESSAGE_BYTES, RELAY_WS_PATH } from '../core/relay/protocol.js';
import { MAX_SIGNAL_MESSAGE_BYTES, SIGNAL_WS_PATH } from '../core/signaling/protocol.js';
import type { RelayHub } from './relay/hub.js';
import type { TrustedProxies } from './web/forwarded.js';
import { answerPageConfig, isPageConfig } from './web/page-config.js';
import { StaticPage } from './web/static.js';

/** A request's headers must arrive within this; a slow-headers client holds nothing for long. */
const HEADERS_TIMEOUT_MS = 5_000;
/** Enough for a browser's upgrade request with its cookies; far below Node's 16 KiB default. */
const MAX_HEADER_BYTES = 8 * 1024;
/**
 * One signaling message of the page is one line: at most the protocol's limit
 * and its newline. ws holds a message until it is whole, outside the line
 * decoder's accounting, so it may hold no more than the decoder would; a line
 * over the limit in one message still reaches the decoder (MESSAGE_TOO_LARGE,
 * as on TCP), a larger message is closed by ws (1009) unread.
 */
const SIGNAL_WS_MAX_MESSAGE_BYTES = MAX_SIGNAL_MESSAGE_BYTES + 1;

export interface PortHttpOptions {
  relay: RelayHub;
  /** Serve a signaling client reading from and writing to `stream`. */
  signal: (stream: Duplex, address: string) => void;
  /** The folder of the page's built files. */
  webRoot: string;
  /** The UDP port STUN answers on, for the page's configuration; undefined without STUN. */
  stunPort: () => number | undefined;
  /** Whose X-Forwarded-For names a WebSocket's client (web/forwarded.ts). */
  proxies: TrustedProxies;
  /**
   * Count a client a trusted proxy forwards against the per-address cap: a
   * release for when it leaves, or undefined if its address is over the cap.
   */
  countForwarded: (address: string) => (() => void) | undefined;
  log: (message: string) => void;
}

export class PortHttp {
  private readonly server: http.Server;
  private readonly relayWss = new WebSocketServer({ noServer: true, maxPayload: RELAY_WS_MAX_MESSAGE_BYTES });
  private readonly signalWss = new WebSocketServer({
    noServer: true,
    maxPayload: SIGNAL_WS_MAX_MESSAGE_BYTES,
  });
  private readonly addresses = new WeakMap<net.Socket, string>();

  constructor(private readonly options: PortHttpOptions) {
    const page = new StaticPage(options.webRoot);
    this.server = http.createServer(
      {
        maxHeaderSize: MAX_HEADER_BYTES,
        headersTimeout: HEADERS_TIMEOUT_MS,
        requestTimeout: HEADERS_TIMEOUT_MS,
      },
      (req, res) => {
        if (isPageConfig(req)) answerPageConfig(req, res, options.stunPort());
        else page.serve(req, res);
      },
    );
    this.server.on('upgrade', (req, socket, head) => this.upgrade(req, socket as net.Socket, head));
    this.server.on('clientError', (_err, socket) => socket.destroy());
  }

  /** Serve `socket` (its first bytes put back) as HTTP. */
  accept(socket: net.Socket, address: string): void {
    this.addresses.set(socket, address);
    this.server.emit('connection', socket);
    socket.resume(); // the demux paused it
  }

  private upgrade(req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    const path = (req.url ?? '').split('?', 1)[0];
    const websocket = req.headers.upgrade?.toLowerCase() === 'websocket';
    if (!websocket || (path !== RELAY_WS_PATH && path !== SIGNAL_WS_PATH)) {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    const peer = this.addresses.get(socket) ?? socket.remoteAddress ?? 'unknown';
    const { log, relay, signal, proxies } = this.options;
    const address = proxies.clientOf(req, peer);
    if (proxies.trusts(peer)) {
      const release = this.options.countForwarded(address);
      if (release === undefined) {
        socket.end('HTTP/1.1 429 Too Many Requests\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
        return;
      }
      socket.once('close', release);
    }
    if (path === RELAY_WS_PATH) {
      this.relayWss.handleUpgrade(req, socket, head, (ws) => {
        ws.on('error', (err) => log(`relay websocket from ${address}: ${err.message}`));
        relay.accept(createWebSocketStream(ws), address);
      });
    } else {
      this.signalWss.handleUpgrade(req, socket, head, (ws) => {
        ws.on('error', (err) => log(`signal websocket from ${address}: ${err.message}`));
        // Strings stay strings, so that each line of ours goes out as one text message.
        const stream = createWebSocketStream(ws, { decodeStrings: false });
        // The stream ends on its own only once both halves have; its client leaves when the peer does.
        ws.once('close', () => stream.destroy());
        signal(stream, address);
      });
    }
  }

  close(): void {
    for (const wss of [this.relayWss, this.signalWss]) {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    }
  }
}
