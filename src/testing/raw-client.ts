/**
 * A raw NDJSON client of the signal server, for tests that misbehave on
 * purpose: it sends whatever it is told and records every line it gets back.
 */
import net from 'node:net';

export type RawLine = Record<string, unknown>;

export interface RawClient {
  socket: net.Socket;
  /** Every line received so far, parsed as JSON. */
  lines: RawLine[];
  /** Resolves when the socket is fully closed, by either side. */
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

export interface RawClientOptions {
  localAddress?: string;
  /** Default wait of next(). */
  waitMs?: number;
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
  const lines: RawLine[] = [];
  let read = 0;
  let pending = '';
  let endedByUs = false;
  let serverEnded = false;
  let isClosed = false;
  const waiters: (() => void)[] = [];
  const wake = (): void => {
    for (const w of waiters.splice(0)) w();
  };
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    pending += chunk;
    for (let nl = pending.indexOf('\n'); nl !== -1; nl = pending.indexOf('\n')) {
      lines.push(JSON.parse(pending.slice(0, nl)) as RawLine);
      pending = pending.slice(nl + 1);
    }
    wake();
  });
  socket.on('end', () => {
    if (!endedByUs) serverEnded = true;
  });
  const closed = new Promise<void>((resolve) => {
    socket.once('close', () => {
      isClosed = true;
      wake();
      resolve();
    });
  });
  return {
    socket,
    lines,
    closed,
    isClosed: () => isClosed,
    closedByServer: () => serverEnded,
    sendJson(msg) {
      socket.write(`${JSON.stringify(msg)}\n`);
    },
    end() {
      endedByUs = true;
      socket.end();
    },
    next(timeoutMs = options.waitMs ?? 5_000) {
      return new Promise((resolve, reject) => {
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
