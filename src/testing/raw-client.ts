/**
 * A raw NDJSON client of the signal server, for tests that misbehave on
 * purpose: it sends whatever it is told and records every line it gets back.
 * Over TCP (rawSignalClient), or over the server's WebSocket path as a
 * browser speaks it (rawSignalWebSocket): one message per write, each of the
 * server's messages a chunk of lines.
 */
import net from 'node:net';
import WebSocket from 'ws';
import { SIGNAL_WS_PATH } from '../core/signaling/protocol.js';

export type RawLine = Record<string, unknown>;

/** What a test does with a raw client, whatever it travels over. */
export interface LineClient {
  /** Every line received so far, parsed as JSON. */
  lines: RawLine[];
  /** Resolves when the connection is fully closed, by either side. */
  closed: Promise<void>;
  isClosed: () => boolean;
  /** Whether the server ended the connection (we never ended it ourselves). */
  closedByServer: () => boolean;
  /** Write one JSON message and its newline. */
  sendJson(msg: unknown): void;
  /** Close our side politely. */
  end(): void;
  /** The next line not yet returned by next(); rejects after `timeoutMs` or on close. */
  next(timeoutMs?: number): Promise<RawLine>;
}

export interface RawClient extends LineClient {
  socket: net.Socket;
}

export interface WsRawClient extends LineClient {
  ws: WebSocket;
}

export interface RawClientOptions {
  localAddress?: string;
  /** Default wait of next(). */
  waitMs?: number;
}

/** The reading half of a raw client: chunks in, lines out, and who closed. */
interface LineSink {
  client: Omit<LineClient, 'sendJson' | 'end'>;
  push(chunk: string): void;
  serverEnded(): void;
  endedByUs(): void;
  closed(): void;
}

function lineSink(waitMs: number): LineSink {
  const lines: RawLine[] = [];
  let read = 0;
  let pending = '';
  let ourEnd = false;
  let serverEnd = false;
  let isClosed = false;
  let settle: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    settle = resolve;
  });
  const waiters: (() => void)[] = [];
  const wake = (): void => {
    for (const w of waiters.splice(0)) w();
  };
  const next = (timeoutMs = waitMs): Promise<RawLine> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no line within ${timeoutMs} ms`)), timeoutMs);
      const check = (): void => {
        const line = lines[read];
        if (line !== undefined) {
          read++;
          clearTimeout(timer);
          resolve(line);
        } else if (isClosed) {
          clearTimeout(timer);
          reject(new Error(`closed without a further line; got ${JSON.stringify(lines)}`));
        } else waiters.push(check);
      };
      check();
    });
  return {
    client: { lines, closed, isClosed: () => isClosed, closedByServer: () => serverEnd, next },
    push(chunk) {
      pending += chunk;
      for (let nl = pending.indexOf('\n'); nl !== -1; nl = pending.indexOf('\n')) {
        lines.push(JSON.parse(pending.slice(0, nl)) as RawLine);
        pending = pending.slice(nl + 1);
      }
      wake();
    },
    serverEnded() {
      if (!ourEnd) serverEnd = true;
    },
    endedByUs() {
      ourEnd = true;
    },
    closed() {
      isClosed = true;
      wake();
      settle();
    },
  };
}

export function rawSignalClient(
  to: { host: string; port: number },
  options: RawClientOptions = {},
): RawClient {
  const socket = net.connect({
    host: to.host,
    port: to.port,
    ...(options.localAddress ? { localAddress: options.localAddress } : {}),
  });
  socket.setNoDelay(true);
  // A reset or a write after the server hung up is expected of an offender.
  socket.on('error', () => {});
  const sink = lineSink(options.waitMs ?? 5_000);
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => sink.push(chunk));
  socket.on('end', () => sink.serverEnded());
  socket.once('close', () => sink.closed());
  return {
    ...sink.client,
    socket,
    sendJson(msg) {
      socket.write(`${JSON.stringify(msg)}\n`);
    },
    end() {
      sink.endedByUs();
      socket.end();
    },
  };
}

/** A raw client, once its TCP connection is up. */
export async function connectRawClient(
  to: { host: string; port: number },
  options: RawClientOptions = {},
): Promise<RawClient> {
  const client = rawSignalClient(to, options);
  await new Promise<void>((resolve, reject) => {
    client.socket.once('connect', resolve);
    client.socket.once('error', reject);
  });
  return client;
}

export interface WsClientOptions extends RawClientOptions {
  /** `wss:` instead of `ws:`, trusting this CA (PEM). */
  tlsCa?: string;
  /** Extra headers on the upgrade request (X-Forwarded-For, as a proxy adds it). */
  headers?: Record<string, string>;
}

/**
 * A raw client over the server's signaling WebSocket, once it is open; each
 * sendJson() is one text message, as the page sends them.
 */
export async function rawSignalWebSocket(
  to: { host: string; port: number },
  options: WsClientOptions = {},
): Promise<WsRawClient> {
  const scheme = options.tlsCa === undefined ? 'ws' : 'wss';
  const ws = new WebSocket(`${scheme}://${to.host}:${to.port}${SIGNAL_WS_PATH}`, {
    ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    ...(options.tlsCa === undefined ? {} : { ca: options.tlsCa }),
    ...(options.headers === undefined ? {} : { headers: options.headers }),
  });
  ws.on('error', () => {});
  const sink = lineSink(options.waitMs ?? 5_000);
  ws.on('message', (data: Buffer) => sink.push(data.toString('utf8')));
  ws.once('close', () => {
    sink.serverEnded();
    sink.closed();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return {
    ...sink.client,
    ws,
    sendJson(msg) {
      ws.send(`${JSON.stringify(msg)}\n`);
    },
    end() {
      sink.endedByUs();
      ws.close();
    },
  };
}
