/**
 * The direct path's handshake on a fresh TCP connection (protocol.ts has the
 * diagram): both sides send HELLO at once, then a proof that they hold the
 * session's direct key, bound to both HELLOs and to which side dialed. A
 * proof reflected back, replayed from another connection or another attempt,
 * or made without the key does not verify, and the connection is closed.
 */
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type net from 'node:net';
import { encodeHello, HELLO_BYTES, helloProblem, NONCE_BYTES, PROOF_BYTES } from '../core/direct/protocol.js';
import { PeerlaneError } from '../core/errors.js';
import type { PeerRole } from '../core/signaling/protocol.js';
import type { DirectKeys } from './tcp-link.js';

export type DialSide = 'dialer' | 'listener';

export interface Handshaken {
  socket: net.Socket;
  keys: DirectKeys;
  /** What arrived after the proof: the start of the first record. */
  leftover: Buffer;
}

/** The session's key for the direct path, apart from every other use of the session key. */
export function directKey(sessionSecret: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', sessionSecret, Buffer.alloc(0), 'peerlane direct tcp key', 32));
}

function proof(key: Buffer, side: DialSide, helloD: Uint8Array, helloL: Uint8Array): Buffer {
  return createHmac('sha256', key)
    .update(`peerlane direct proof ${side}`)
    .update(helloD)
    .update(helloL)
    .digest();
}

function sealKey(key: Buffer, from: DialSide, helloD: Uint8Array, helloL: Uint8Array): Buffer {
  const salt = Buffer.concat([helloD, helloL]);
  return Buffer.from(hkdfSync('sha256', key, salt, `peerlane direct records from ${from}`, 32));
}

/** Read exactly `bytes` from `socket`, then pause it; whatever came beyond them is returned too. */
function readExactly(socket: net.Socket, bytes: number, buffered: Buffer): Promise<[Buffer, Buffer]> {
  return new Promise((resolve, reject) => {
    let have = buffered;
    const check = (): boolean => {
      if (have.length < bytes) return false;
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.pause();
      resolve([have.subarray(0, bytes), have.subarray(bytes)]);
      return true;
    };
    const onData = (chunk: Buffer): void => {
      have = Buffer.concat([have, chunk]);
      check();
    };
    const onClose = (): void => reject(new PeerlaneError('PEER_LOST', 'closed during the handshake'));
    if (check()) return;
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.resume();
  });
}

/** Run the handshake as `side` for attempt `n`; rejects (and destroys the socket) on any mismatch. */
export async function handshake(
  socket: net.Socket,
  side: DialSide,
  key: Buffer,
  attempt: { n: number; role: PeerRole },
  timeoutMs: number,
): Promise<Handshaken> {
  const { n, role } = attempt;
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  socket.on('error', () => {}); // a failed handshake is reported by its rejection
  try {
    const nonce = randomBytes(NONCE_BYTES);
    const ours = encodeHello(n, role, nonce);
    socket.write(ours);
    const [theirs, afterHello] = await readExactly(socket, HELLO_BYTES, Buffer.alloc(0));
    const problem = helloProblem(theirs, n, role);
    if (problem !== undefined) throw new PeerlaneError('BAD_MESSAGE', problem);
    const [helloD, helloL] = side === 'dialer' ? [ours, theirs] : [theirs, ours];
    const other: DialSide = side === 'dialer' ? 'listener' : 'dialer';
    socket.write(proof(key, side, helloD, helloL));
    const [got, leftover] = await readExactly(socket, PROOF_BYTES, afterHello);
    if (!timingSafeEqual(got, proof(key, other, helloD, helloL)))
      throw new PeerlaneError('BAD_MESSAGE', 'the direct connection did not prove the session key');
    return {
      socket,
      leftover,
      keys: {
        seal: sealKey(key, side, helloD, helloL),
        open: sealKey(key, other, helloD, helloL),
        localNonce: nonce.toString('hex'),
        remoteNonce: theirs.subarray(HELLO_BYTES - NONCE_BYTES).toString('hex'),
      },
    };
  } catch (err) {
    socket.destroy();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
