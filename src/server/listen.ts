/**
 * The signal server's sockets: TCP for the protocol, and UDP on the same port
 * number for STUN (stun.ts), so peers can learn their public address from the
 * server they already trust to introduce them. With port 0 the two must agree
 * on a number free on both, which is what the retry below is for.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { PeerlaneError } from '../core/errors.js';
import { answerBindingRequest } from './stun.js';

/** With port 0, how often to pick another TCP port when its number is taken on UDP. */
const UDP_PORT_ATTEMPTS = 8;

export interface Listening {
  tcp: net.Server;
  udp: dgram.Socket | undefined;
}

/**
 * Listen on TCP, then (with `stun`) bind UDP on the same port number. With
 * port 0, a TCP port whose number is taken on UDP is given back and another
 * one tried; `accept` serves every TCP connection.
 */
export async function listenTcpAndUdp(
  host: string,
  port: number,
  stun: boolean,
  accept: (socket: net.Socket) => void,
  log: (message: string) => void,
): Promise<Listening> {
  for (let attempt = 1; ; attempt++) {
    const tcp = net.createServer(accept);
    await listenTcp(tcp, host, port, log);
    if (!stun) return { tcp, udp: undefined };
    const bound = boundAddress(tcp);
    try {
      return { tcp, udp: await bindUdp(bound.host, bound.port) };
    } catch (err) {
      await new Promise((resolve) => tcp.close(resolve));
      const errno = (err as NodeJS.ErrnoException).code;
      if (port !== 0 || errno !== 'EADDRINUSE' || attempt >= UDP_PORT_ATTEMPTS) {
        throw new PeerlaneError(
          'LISTEN_FAILED',
          `cannot answer STUN on UDP ${bound.host}:${bound.port} (the signal server's port number): ${(err as Error).message}`,
        );
      }
    }
  }
}

/**
 * Answer STUN Binding requests arriving on `udp`, from addresses that `allow`
 * lets through (it spends a token of theirs); `answered` counts each answer.
 */
export function serveStun(
  udp: dgram.Socket,
  hooks: { allow: (address: string) => boolean; answered: () => void },
  log: (message: string) => void,
): void {
  udp.on('message', (datagram, from) => {
    const answer = answerBindingRequest(datagram, from);
    if (answer === undefined || !hooks.allow(from.address)) return;
    hooks.answered();
    udp.send(answer, from.port, from.address);
  });
  udp.on('error', (err) => log(`STUN socket error: ${err.message}`));
}

/** Where `server` listens; throws INTERNAL if it does not. */
export function boundAddress(server: net.Server): { host: string; port: number } {
  const addr = server.address();
  if (addr === null || typeof addr === 'string')
    throw new PeerlaneError('INTERNAL', 'server is not listening');
  return { host: addr.address, port: addr.port };
}

async function listenTcp(
  server: net.Server,
  host: string,
  port: number,
  log: (message: string) => void,
): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(new PeerlaneError('LISTEN_FAILED', `cannot listen on ${host}:${port}: ${err.message}`)),
    );
    server.listen(port, host, () => {
      server.removeAllListeners('error');
      server.on('error', (err) => log(`server error: ${err.message}`));
      resolve();
    });
  });
}

function bindUdp(host: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    socket.once('error', (err) => {
      try {
        socket.close();
      } catch {
        // never bound: nothing to close
      }
      reject(err);
    });
    socket.bind(port, host, () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}
