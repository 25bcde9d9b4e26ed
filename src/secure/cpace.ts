/**
 * CPace (draft-irtf-cfrg-cpace) over ristretto255, composed from audited
 * primitives: @noble/curves for the group and hash-to-curve, node:crypto for
 * SHA-512, HKDF and HMAC. Nothing here implements a primitive; it only wires
 * them together in the order CPace prescribes.
 *
 *   g   = hash_to_curve(lv(password, channel id), DST)    both sides alike
 *   y   = random scalar;  Y = y·g                          sent in the clear
 *   K   = y·Y'  (identity refused)                         shared iff same password
 *   ISK = SHA-512(lv(DSI_ISK, K, Ya, ADa, Yb, ADb))        ordered by role
 *   keys = HKDF-SHA256(ISK, transcript, label)             one key per purpose
 *
 * The channel identifier binds the protocol version and the nameplate; the
 * associated data of each side binds its role and intent. A peer that lies
 * about any of them derives another key and fails key confirmation.
 */
import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { ristretto255, ristretto255_hasher } from '@noble/curves/ed25519.js';
import { PeerlaneError } from '../errors.js';

const DSI = 'peerlane-CPace-ristretto255';
const DSI_ISK = `${DSI}-ISK`;
const POINT_BYTES = 32;
const KEY_BYTES = 32;

type Point = InstanceType<typeof ristretto255.Point>;

/** Length-value concatenation: unambiguous, so no two inputs share an encoding. */
export function lv(...items: (Uint8Array | string)[]): Buffer {
  const parts: Buffer[] = [];
  for (const item of items) {
    const bytes = typeof item === 'string' ? Buffer.from(item, 'utf8') : Buffer.from(item);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(bytes.length);
    parts.push(len, bytes);
  }
  return Buffer.concat(parts);
}

export interface CpaceParty {
  /** Our public share, to send to the peer. */
  readonly share: Buffer;
  /** Combine with the peer's share into the session keys. */
  finish(peerShare: Uint8Array, transcript: Transcript): SessionKeys;
}

/** What both sides must agree on, in role order: the offerer is "a". */
export interface Transcript {
  shareA: Uint8Array;
  adA: string;
  shareB: Uint8Array;
  adB: string;
}

export interface SessionKeys {
  /** HMAC keys for key confirmation, one per role. */
  confirmA: Buffer;
  confirmB: Buffer;
  /** AEAD keys for sealed signaling, one per direction (a→b, b→a). */
  sealAB: Buffer;
  sealBA: Buffer;
  /** Root of the short authentication string shown by --verify. */
  sas: Buffer;
  /** SHA-256 of the transcript, confirmed by both tags. */
  transcriptHash: Buffer;
}

function badShare(why: string): PeerlaneError {
  return new PeerlaneError('BAD_CODE', `the peer's key share is invalid: ${why}`);
}

/** Start one side of CPace with `password` in the channel `channelId`. */
export function startCpace(password: string, channelId: string): CpaceParty {
  const generator: Point = ristretto255_hasher.hashToCurve(lv(password, channelId), { DST: DSI });
  // A uniform non-zero scalar, by the library's hash-to-field over fresh randomness.
  let scalar = 0n;
  while (scalar === 0n) scalar = ristretto255_hasher.hashToScalar(randomBytes(64), { DST: `${DSI}-scalar` });
  const share = Buffer.from(generator.multiply(scalar).toBytes());

  return {
    share,
    finish(peerShare, transcript) {
      if (peerShare.length !== POINT_BYTES) throw badShare('wrong length');
      let peer: Point;
      try {
        peer = ristretto255.Point.fromBytes(peerShare);
      } catch {
        throw badShare('not a group element');
      }
      if (peer.is0()) throw badShare('the identity');
      const shared = peer.multiply(scalar);
      if (shared.is0()) throw badShare('degenerate');

      const t = lv(transcript.shareA, transcript.adA, transcript.shareB, transcript.adB);
      const isk = createHash('sha512')
        .update(lv(DSI_ISK, channelId, shared.toBytes(), t))
        .digest();
      const transcriptHash = createHash('sha256').update(lv(channelId, t)).digest();
      const derive = (label: string): Buffer =>
        Buffer.from(hkdfSync('sha256', isk, transcriptHash, `peerlane ${label}`, KEY_BYTES));
      return {
        confirmA: derive('confirm a'),
        confirmB: derive('confirm b'),
        sealAB: derive('seal a->b'),
        sealBA: derive('seal b->a'),
        sas: derive('sas'),
        transcriptHash,
      };
    },
  };
}

/** The key-confirmation tag of one role over the transcript. */
export function confirmationTag(key: Buffer, role: 'a' | 'b', transcriptHash: Buffer): Buffer {
  return createHmac('sha256', key)
    .update(lv(`confirm ${role}`, transcriptHash))
    .digest();
}

export function tagsEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
