/**
 * The direct TCP path: the transfer's frames over one TCP connection between
 * the peers, sealed with keys from the PAKE session, for peers that can reach
 * each other (a public host, a LAN, a VPN). On a long or lossy path the
 * kernel's TCP moves far more than SCTP in userspace (see the README's WAN
 * table), so a session races it against the data channel (session/race.ts).
 *
 *   offerer                               answerer
 *     | -- direct{n, hints} (sealed signaling) -> |   both listen, both dial
 *     | <- direct{n, hints} --------------------- |   every hint of the other
 *     | == TCP connect (either way) ============= |
 *     | -- HELLO {magic, version, n, role, nonce} > |   both send at once
 *     | <- HELLO -------------------------------- |
 *     | -- PROOF HMAC(k, "dialer"|"listener", helloD, helloL) ->
 *     | <- PROOF --------------------------------  |   each checks the other's
 *     | == records: len(4) · AES-256-GCM(frame) == |   keys = HKDF(k, helloD|helloL)
 *     | -- USE (first record, offerer only) ----> |   this connection carries the transfer
 *
 * k is derived from the session key, so only the paired peer can prove it.
 * The offerer decides which link carries the transfer: the first TCP
 * connection whose handshake completes (it sends USE on it), or the data
 * channel if that opens first (it says choose{n, use: "rtc"} through the
 * signal server). A connection that fails its proof is closed at once.
 */

import { equalBytes } from '@noble/curves/utils.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import type { PeerRole } from '../signaling/protocol.js';

/** Changes whenever the handshake or record format changes. */
export const DIRECT_VERSION = 1;
export const MAGIC = utf8ToBytes('PLDIRECT');
export const NONCE_BYTES = 32;
/** magic(8) · version(1) · attempt(2) · role(1) · nonce(32) */
export const HELLO_BYTES = MAGIC.length + 1 + 2 + 1 + NONCE_BYTES;
/**
 * The sender of a HELLO is the offerer (1) or the answerer (2). A HELLO with
 * our own role is ourselves: a peer that hands our own hints back must not
 * make us connect to our own listener.
 */
const ROLE_BYTE = { offerer: 1, answerer: 2 } as const;
export const PROOF_BYTES = 32;
export const LENGTH_BYTES = 4;
export const GCM_TAG_BYTES = 16;

/**
 * The largest frame one record carries: what a data channel accepts from most
 * peers (256 KiB), so the sender's chunking is the same on either path.
 */
export const MAX_RECORD_PLAINTEXT = 256 * 1024;

/** The offerer's first record on the connection it chose. */
export const USE_RECORD = Uint8Array.of(0x55);

/** Addresses a side offers the other to dial, at most this many (interfaces with many addresses). */
export const MAX_HINTS = 8;
/** Connections a side accepts per attempt: enough for the peer's dials, few enough that a scanner can't hold it up. */
export const MAX_ACCEPTED = 8;

export interface Hint {
  host: string;
  port: number;
}

export function encodeHello(n: number, role: PeerRole, nonce: Uint8Array): Uint8Array {
  const hello = new Uint8Array(HELLO_BYTES);
  const view = new DataView(hello.buffer);
  hello.set(MAGIC, 0);
  view.setUint8(MAGIC.length, DIRECT_VERSION);
  view.setUint16(MAGIC.length + 1, n);
  view.setUint8(MAGIC.length + 3, ROLE_BYTE[role]);
  hello.set(nonce, MAGIC.length + 4);
  return hello;
}

/** Why a peer's HELLO is not the other side's for this attempt, or undefined if it is. */
export function helloProblem(hello: Uint8Array, n: number, role: PeerRole): string | undefined {
  if (!equalBytes(hello.subarray(0, MAGIC.length), MAGIC)) return 'not a peerlane direct connection';
  const view = new DataView(hello.buffer, hello.byteOffset, hello.byteLength);
  const version = view.getUint8(MAGIC.length);
  if (version !== DIRECT_VERSION) return `direct protocol version ${version}, not ${DIRECT_VERSION}`;
  if (view.getUint16(MAGIC.length + 1) !== n) return 'a connection for another attempt';
  const theirs = view.getUint8(MAGIC.length + 3);
  if (theirs === ROLE_BYTE[role]) return 'a connection to ourselves';
  if (theirs !== ROLE_BYTE.offerer && theirs !== ROLE_BYTE.answerer) return 'an unknown role';
  return undefined;
}
