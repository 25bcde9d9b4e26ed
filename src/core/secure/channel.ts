/**
 * The sealed signaling channel the key exchange (handshake.ts) ends in: every
 * payload between the peers (SDP offer, answer, ICE candidates, direct hints)
 * sealed with AES-256-GCM under the session keys, one key per direction and a
 * counter nonce, so that a payload the relay forges, replays, reorders or
 * drops fails authentication. And the short authentication string (--verify)
 * both sides derive from the session.
 */
import { gcm } from '@noble/ciphers/aes.js';
import { bytesToUtf8 } from '@noble/ciphers/utils.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { fromBase64, toBase64 } from '../bytes.js';
import { PeerlaneError, toPeerlaneError } from '../errors.js';
import type { SignalPipe } from '../signaling/pipe.js';
import type { PeerAgent } from './protocol.js';
import { encodeSecureMessage, parseSecureMessage } from './protocol.js';

const GCM_NONCE_BYTES = 12;
const GCM_TAG_BYTES = 16;

/**
 * AES-256-GCM as the channel uses it: the box is the ciphertext, then the
 * 16-byte tag; `open` throws on a box that fails authentication.
 */
export interface Aead {
  seal(key: Uint8Array, nonce: Uint8Array, plain: Uint8Array): Uint8Array;
  open(key: Uint8Array, nonce: Uint8Array, box: Uint8Array): Uint8Array;
}

/**
 * @noble/ciphers' AES-GCM: runs anywhere, the browser included. Warm, a
 * signaling-sized seal takes tens of microseconds (`npm run bench:crypto`);
 * cold, the first few dozen take tens of milliseconds together, all on the way
 * to the first byte, so Node passes node:crypto's instead (secure/node-aead.ts).
 */
export const nobleAesGcm: Aead = {
  seal: (key, nonce, plain) => gcm(key, nonce).encrypt(plain),
  open: (key, nonce, box) => gcm(key, nonce).decrypt(box),
};

/** A SignalPipe whose payloads are sealed under the PAKE session key. */
export class SecureChannel implements SignalPipe {
  private sendCounter = 0n;
  private receiveCounter = 0n;
  private handler: ((payload: string) => void) | undefined;
  private early: string[] = [];
  private failureHandler: ((err: PeerlaneError) => void) | undefined;
  private failure: PeerlaneError | undefined;
  /** What the peer said it is with its PAKE share (protocol.ts PeerAgent): a hint, not a proof. */
  peerAgent: PeerAgent | undefined;

  constructor(
    private readonly client: SignalPipe,
    private readonly sealKey: Uint8Array,
    private readonly openKey: Uint8Array,
    /** Root of the short authentication string; see `shortAuthString`. */
    readonly sasKey: Uint8Array,
    private readonly aead: Aead = nobleAesGcm,
  ) {}

  sendPayload(payload: string): void {
    const box = this.aead.seal(this.sealKey, counterNonce(this.sendCounter++), utf8ToBytes(payload));
    this.client.sendPayload(encodeSecureMessage({ kind: 'sealed', box: toBase64(box) }));
  }

  onPayload(handler: (payload: string) => void): void {
    this.handler = handler;
    for (const p of this.early.splice(0)) handler(p);
  }

  onFailure(handler: (err: PeerlaneError) => void): void {
    this.failureHandler = handler;
    if (this.failure !== undefined) handler(this.failure);
  }

  /** Feed a raw relayed payload (after the handshake). */
  receive(raw: string): void {
    try {
      const msg = parseSecureMessage(raw);
      if (msg.kind !== 'sealed')
        throw new PeerlaneError('BAD_MESSAGE', `unexpected ${msg.kind} after the handshake`);
      const box = fromBase64(msg.box);
      if (box.length < GCM_TAG_BYTES) throw new PeerlaneError('BAD_MESSAGE', 'sealed box too short');
      const nonce = counterNonce(this.receiveCounter++);
      let plain: string;
      try {
        plain = bytesToUtf8(this.aead.open(this.openKey, nonce, box));
      } catch {
        // Forged, replayed, reordered or dropped: whoever relays it is tampering.
        throw new PeerlaneError('BAD_MESSAGE', 'a sealed signaling message failed authentication');
      }
      if (this.handler !== undefined) this.handler(plain);
      else this.early.push(plain);
    } catch (err) {
      this.fail(toPeerlaneError(err, 'BAD_MESSAGE'));
    }
  }

  fail(err: PeerlaneError): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    this.failureHandler?.(err);
  }
}

/**
 * 96-bit GCM nonce from a per-direction message counter: unique per key,
 * never random. The counter goes big-endian into the last 8 bytes as two
 * 32-bit halves: the direct link takes one per record, and a DataView per
 * call costs several times as much.
 */
export function counterNonce(counter: bigint): Uint8Array {
  const nonce = new Uint8Array(GCM_NONCE_BYTES);
  putUint32(nonce, GCM_NONCE_BYTES - 8, Number(counter >> 32n));
  putUint32(nonce, GCM_NONCE_BYTES - 4, Number(counter & 0xffffffffn));
  return nonce;
}

function putUint32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 24;
  bytes[at + 1] = (value >>> 16) & 0xff;
  bytes[at + 2] = (value >>> 8) & 0xff;
  bytes[at + 3] = value & 0xff;
}

/**
 * A short authentication string from the session key and both DTLS
 * fingerprints: the same four words on both sides unless someone sits in the
 * middle of the data channel. Order-independent, so both sides compute it alike.
 */
export function shortAuthString(sasKey: Uint8Array, fingerprintA: string, fingerprintB: string): string {
  const [first, second] = [fingerprintA.toUpperCase(), fingerprintB.toUpperCase()].sort();
  const bytes = hkdf(sha256, sasKey, undefined, utf8ToBytes(`peerlane sas ${first} ${second}`), 8);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const words: string[] = [];
  for (let i = 0; i < 4; i++) words.push(wordlist[view.getUint16(i * 2) % wordlist.length] ?? '?');
  return words.join(' ');
}
