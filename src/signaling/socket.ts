/**
 * The signal client's connection in Node: one TCP socket per dial, as the
 * core client (core/signaling/client.ts) asks through SignalTransport.
 */
import net from 'node:net';
import { PeerlaneError } from '../core/errors.js';
import type { SignalDialer, SignalTransport } from '../core/signaling/client.js';
import { SignalClient } from '../core/signaling/client.js';

export interface SignalAddress {
  host: string;
  port: number;
}

/** TCP connect to a live server on any sane network takes well under this. */
const CONNECT_TIMEOUT_MS = 5_000;

/** Connect the signal client over TCP to `address` (and reconnect there, to reclaim). */
export function connectSignal(address: SignalAddress): Promise<SignalClient> {
  return SignalClient.connect(tcpDialer(address));
}

/** Dials TCP to `address`, once per call: the pair's SignalClient and the swarm's tracker client both take one. */
export function tcpDialer(address: SignalAddress): SignalDialer {
  return async () => socketTransport(await openSocket(address));
}

function socketTransport(socket: net.Socket): SignalTransport {
  let lastError: Error | undefined;
  socket.on('error', (err) => {
    lastError = err; // 'close' follows
  });
  return {
    write: (text) => {
      socket.write(text);
    },
    onData: (handler) => {
      socket.on('data', handler);
    },
    onClose: (handler) => {
      socket.on('close', () => handler(lastError));
    },
    close: () => {
      socket.end();
      socket.destroy();
    },
  };
}

function openSocket(address: SignalAddress): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const where = `${address.host}:${address.port}`;
    const socket = net.connect({ host: address.host, port: address.port });
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new PeerlaneError('SIGNAL_UNREACHABLE', `no answer from the signal server at ${where}`));
    }, CONNECT_TIMEOUT_MS);
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(
        new PeerlaneError('SIGNAL_UNREACHABLE', `cannot reach the signal server at ${where}: ${err.message}`),
      );
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}
