/**
 * The peer's side of the relay (core/relay/protocol.ts has the diagram):
 * dial the signal server's port, present the pairing token, wait for PAIRED,
 * then run the direct path's handshake over the glued stream and carry the
 * transfer in its sealed records. The relay sees ciphertext and lengths.
 */
import { hkdfSync } from 'node:crypto';
import net from 'node:net';
import { PeerlaneError } from '../core/errors.js';
import {
  encodeRelayHello,
  parseRelayStatus,
  relayRefusal,
  relayStatusLength,
  relayToken,
} from '../core/relay/protocol.js';
import type { PeerRole } from '../core/signaling/protocol.js';
import { handshake } from '../direct/handshake.js';
import { TcpLink } from '../direct/tcp-link.js';

export interface RelayDialOptions {
  host: string;
  port: number;
  /** The PAKE session key: the token and the link's key both come from it. */
  sessionSecret: Uint8Array;
  attempt: { n: number; role: PeerRole };
  /** For the whole dial: connect, pairing and handshake. */
  timeoutMs: number;
  /** Gives up the dial (another link won): the relay frees the pairing at once. */
  abort?: AbortSignal | undefined;
}

/**
 * The key the relayed link's handshake proves, apart from the direct path's:
 * a proof made for one never verifies on the other.
 */
function relayLinkKey(sessionSecret: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', sessionSecret, Buffer.alloc(0), 'peerlane relay link key', 32));
}

/** A sealed link to the peer through the relay; rejects with the relay's refusal or PEER_LOST. */
export async function dialRelay(options: RelayDialOptions): Promise<TcpLink> {
  const started = Date.now();
  const socket = net.connect({ host: options.host, port: options.port });
  socket.on('error', () => {}); // reported through the steps below
  const budget = (): number => Math.max(1, options.timeoutMs - (Date.now() - started));
  const giveUp = (): void => {
    socket.destroy();
  };
  options.abort?.addEventListener('abort', giveUp, { once: true });
  if (options.abort?.aborted === true) giveUp();
  try {
    await connected(socket, budget());
    socket.write(encodeRelayHello(relayToken(options.sessionSecret)));
    const leftover = await paired(socket, budget());
    if (leftover.length > 0) socket.unshift(leftover);
    const side = options.attempt.role === 'offerer' ? 'dialer' : 'listener';
    const done = await handshake(
      socket,
      side,
      relayLinkKey(options.sessionSecret),
      options.attempt,
      budget(),
    );
    return new TcpLink(done.socket, done.keys, done.leftover, {
      expectUse: options.attempt.role === 'answerer',
      relayed: true,
    });
  } catch (err) {
    socket.destroy();
    throw err;
  } finally {
    options.abort?.removeEventListener('abort', giveUp);
  }
}

function connected(socket: net.Socket, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(lost('the relay did not accept the connection in time')),
      timeoutMs,
    );
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(lost(`cannot reach the relay: ${err.message}`));
    });
  });
}

/** Read the relay's STATUS; resolves with what came after it if PAIRED, else rejects with the refusal. */
function paired(socket: net.Socket, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const finish = (fn: () => void): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.pause();
      fn();
    };
    const onData = (chunk: Buffer): void => {
      got = Buffer.concat([got, chunk]);
      const need = relayStatusLength(got);
      if (need === undefined || got.length < need) return;
      finish(() => {
        try {
          const status = parseRelayStatus(got.subarray(0, need));
          if (status.status === 'PAIRED') resolve(got.subarray(need));
          else reject(relayRefusal(status));
        } catch (err) {
          reject(err);
        }
      });
    };
    const onClose = (): void => finish(() => reject(lost('the relay closed the connection before pairing')));
    const timer = setTimeout(
      () => finish(() => reject(lost('the relay did not pair us in time'))),
      timeoutMs,
    );
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

function lost(message: string): PeerlaneError {
  return new PeerlaneError('PEER_LOST', message);
}
