/** Real loopback TCP sockets for tests of the direct path: a connected pair, and a listener to aim strangers at. */
import net from 'node:net';
import { LOOPBACK } from './harness.js';

export interface SocketPair {
  /** The side that connected. */
  dialer: net.Socket;
  /** The side the listener accepted, paused as DirectAttempt's listener leaves it. */
  listener: net.Socket;
}

/** Listen on `host` (127.0.0.1) port 0; `onConnection` gets every accepted socket, paused. */
export async function loopbackServer(
  onConnection: (socket: net.Socket) => void = () => {},
  host = LOOPBACK,
): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer({ pauseOnConnect: true }, onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  return { server, port: (server.address() as net.AddressInfo).port };
}

/** One TCP connection over loopback, both ends; the listener is closed once it has accepted. */
export async function socketPair(): Promise<SocketPair> {
  let accepted!: (socket: net.Socket) => void;
  const listener = new Promise<net.Socket>((resolve) => {
    accepted = resolve;
  });
  const { server, port } = await loopbackServer(accepted);
  const dialer = net.connect({ host: LOOPBACK, port });
  await new Promise<void>((resolve, reject) => {
    dialer.once('connect', resolve);
    dialer.once('error', reject);
  });
  const pair = { dialer, listener: await listener };
  server.close();
  return pair;
}

/** Resolves once `socket` has closed (at once if it already has); discards what it still reads, so the peer's FIN is seen. */
export function closed(socket: net.Socket): Promise<void> {
  if (socket.closed) return Promise.resolve();
  socket.on('error', () => {});
  socket.resume();
  return new Promise((resolve) => socket.once('close', () => resolve()));
}

/** Everything `socket` delivers until it has `bytes` (resolves early if it closes first). */
export function readBytes(socket: net.Socket, bytes: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let have = 0;
    const finish = (): void => {
      socket.off('data', onData);
      socket.off('close', finish);
      resolve(Buffer.concat(chunks));
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      have += chunk.length;
      if (have >= bytes) finish();
    };
    if (bytes === 0) return resolve(Buffer.alloc(0));
    socket.on('data', onData);
    socket.once('close', finish);
    socket.resume();
  });
}
