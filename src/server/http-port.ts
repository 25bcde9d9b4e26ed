/**
 * HTTP on the signal server's main port (told apart by the first byte, see
 * demux.ts): today the relay's WebSocket path, `GET /relay` upgraded, which a
 * browser can reach and which passes proxies that allow only HTTP upgrades.
 * Every other request is answered 404 and the connection closed.
 *
 * The connection has already passed the server's caps (connections per
 * address, in all) before it gets here; these limits bound what one HTTP
 * connection may cost.
 */
import http from 'node:http';
import type net from 'node:net';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { RELAY_WS_MAX_MESSAGE_BYTES, RELAY_WS_PATH } from '../core/relay/protocol.js';
import type { RelayHub } from './relay/hub.js';

/** A request's headers must arrive within this; a slow-headers client holds nothing for long. */
const HEADERS_TIMEOUT_MS = 5_000;
/** Enough for a browser's upgrade request with its cookies; far below Node's 16 KiB default. */
const MAX_HEADER_BYTES = 8 * 1024;

export class PortHttp {
  private readonly server: http.Server;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: RELAY_WS_MAX_MESSAGE_BYTES });

  constructor(
    private readonly relay: RelayHub,
    private readonly log: (message: string) => void,
  ) {
    this.server = http.createServer(
      {
        maxHeaderSize: MAX_HEADER_BYTES,
        headersTimeout: HEADERS_TIMEOUT_MS,
        requestTimeout: HEADERS_TIMEOUT_MS,
      },
      (_req, res) => {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
        res.end('not found\n');
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

  private readonly addresses = new WeakMap<net.Socket, string>();

  private upgrade(req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    const path = (req.url ?? '').split('?')[0];
    if (path !== RELAY_WS_PATH || req.headers.upgrade?.toLowerCase() !== 'websocket') {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    const address = this.addresses.get(socket) ?? socket.remoteAddress ?? 'unknown';
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', (err) => this.log(`relay websocket from ${address}: ${err.message}`));
      this.relay.accept(createWebSocketStream(ws), address);
    });
  }

  close(): void {
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }
}
