/**
 * CPace over ristretto255 with SHA-512 (CPACE-RISTR255-SHA512), as
 * draft-irtf-cfrg-cpace-21 writes it: §7.2 for the protocol, §8.1 and §8.3
 * for the generator, Appendix A for the string functions, §10.4 for key
 * confirmation. Composed from audited primitives: @noble/curves for the group
 * and its element derivation (RFC 9496), @noble/hashes for SHA-512, HMAC and
 * HKDF (no node:crypto, so it also runs in a browser). Nothing here implements
 * a primitive; test/unit/cpace.test.ts checks it against the draft's test
 * vectors (Appendix B.3).
 *
 *   g   = element_derivation(SHA-512(generator_string(DSI, PRS, CI, sid)))
 *   y   = sample_scalar();  Y = y·g                         sent with AD
 *   K   = scalar_mult_vfy(y, Y');  abort if K is the identity
 *   ISK = SHA-512(lv_cat(DSI || "_ISK", sid, K) || transcript_ir(Ya, ADa, Yb, ADb))
 *   mac_key = SHA-512("CPaceMac" || sid || ISK)             §10.4
 *   Ta = HMAC(mac_key, lv_cat(Ya, ADa)),  Tb = HMAC(mac_key, lv_cat(Yb, ADb))
 *   keys = HKDF-SHA-512(ISK, label)                         one key per purpose (§10.3)
 *
 * Our inputs (handshake.ts): PRS is the code's secret words; CI binds the secure
 * protocol version and the nameplate; sid is the random session id the signal
 * server hands out with `paired`, fresh per pairing; ADa and ADb bind each
 * side's role and intent. A = the offerer (initiator), B = the answerer.
 *
 * The sid is the server's: the peers cannot agree on one of their own before
 * the generator without another round trip. A hostile server that repeats or
 * splits it gains nothing: each side's share comes from a fresh scalar and
 * enters the ISK through the transcript, so the key is fresh whatever the
 * sid (the analysis of CPace without a pre-agreed sid, draft §10, [BGHJ24]).
 */
import { ristretto255, ristretto255_hasher } from '@noble/curves/ed25519.js';
import { bytesToNumberLE, equalBytes } from '@noble/curves/utils.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { concatBytes, randomBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { PeerlaneError } from '../errors.js';

/** G_Ristretto255.DSI (§8.3). */
export const DSI = utf8ToBytes('CPaceRistretto255');
const DSI_ISK = utf8ToBytes('CPaceRistretto255_ISK');
const MAC_PREFIX = utf8ToBytes('CPaceMac');
/** H.s_in_bytes: SHA-512 takes its input in 128-byte blocks (§6.2). */
const SHA512_BLOCK_BYTES = 128;
/** G.field_size_bytes (§8.3): element_derivation takes twice this. */
const FIELD_BYTES = 32;
/** G.group_size_bits: sample_scalar clears the bits above it (§8.3). */
const GROUP_SIZE_BITS = 252;
const KEY_BYTES = 32;
/** G.I, the encoding of the identity. */
const IDENTITY = ristretto255.Point.ZERO.toBytes();

type Point = InstanceType<typeof ristretto255.Point>;
export type Bytes = Uint8Array | string;

function bytes(item: Bytes): Uint8Array {
  return typeof item === 'string' ? utf8ToBytes(item) : item;
}

/** prepend_len (A.1.1): the length in LEB128, then the bytes. */
export function prependLen(data: Bytes): Uint8Array {
  const value = bytes(data);
  const length: number[] = [];
  let n = value.length;
  do {
    length.push((n & 0x7f) | (n >= 0x80 ? 0x80 : 0));
    n >>>= 7;
  } while (n > 0);
  return concatBytes(Uint8Array.from(length), value);
}

/** lv_cat (A.1.3): prefix-free, so no two inputs share an encoding. */
export function lvCat(...items: Bytes[]): Uint8Array {
  return concatBytes(...items.map(prependLen));
}

/**
 * generator_string (§8.1, A.2): zero padding fills the first hash block after
 * DSI and PRS, so the hashed length does not depend on a short password's.
 */
export function generatorString(prs: Bytes, ci: Bytes, sid: Bytes): Uint8Array {
  const password = bytes(prs);
  const zpad = Math.max(0, SHA512_BLOCK_BYTES - 1 - prependLen(password).length - prependLen(DSI).length);
  return lvCat(DSI, password, new Uint8Array(zpad), ci, sid);
}

/**
 * element_derivation of RFC 9496 §4.3.4. The library types it as optional
 * (not every curve has one); ristretto255's always does.
 */
const elementDerivation = (() => {
  const derive = ristretto255_hasher.deriveToCurve;
  if (derive === undefined) throw new Error('@noble/curves lacks ristretto255 element derivation');
  return derive.bind(ristretto255_hasher);
})();

/** calculate_generator (§8.3): the generator as a decoded point. */
export function calculateGenerator(prs: Bytes, ci: Bytes, sid: Bytes): Point {
  return elementDerivation(sha512(generatorString(prs, ci, sid)).subarray(0, 2 * FIELD_BYTES));
}

/** sample_scalar as §8.3 recommends: 32 random bytes, bits above 252 cleared; never zero. */
export function sampleScalar(): bigint {
  for (;;) {
    const raw = randomBytes(FIELD_BYTES);
    raw[FIELD_BYTES - 1] = (raw[FIELD_BYTES - 1] ?? 0) & (0xff >> (8 * FIELD_BYTES - GROUP_SIZE_BITS));
    const scalar = bytesToNumberLE(raw);
    if (scalar !== 0n) return scalar;
  }
}

/** scalar_mult_vfy (§8.3): y·decode(X), or G.I if X does not decode. */
export function scalarMultVfy(scalar: bigint, encoded: Uint8Array): Uint8Array {
  let point: Point;
  try {
    point = ristretto255.Point.fromBytes(encoded);
  } catch {
    return IDENTITY;
  }
  return point.is0() ? IDENTITY : point.multiply(scalar).toBytes();
}

/** transcript_ir (A.3.4): initiator first, as our roles are fixed. */
export function transcriptIr(ya: Bytes, adA: Bytes, yb: Bytes, adB: Bytes): Uint8Array {
  return concatBytes(lvCat(ya, adA), lvCat(yb, adB));
}

/** ISK (§7.2). */
export function intermediateSessionKey(sid: Bytes, k: Uint8Array, transcript: Uint8Array): Uint8Array {
  return sha512(concatBytes(lvCat(DSI_ISK, sid, k), transcript));
}

export interface CpaceInput {
  /** The password-related string: the code's secret words. */
  prs: Bytes;
  /** Channel identifier, the same on both sides, never sent. */
  ci: Bytes;
  /** Session id, the same on both sides, public, fresh per pairing. */
  sid: Bytes;
  /** Our associated data, sent with our share. */
  ad: Bytes;
  /** Whether we are A, the initiator (the offerer), whose share comes first in the transcript. */
  initiator: boolean;
}

export interface SessionKeys {
  /** Key-confirmation tags (§10.4) of A and of B. */
  tagA: Uint8Array;
  tagB: Uint8Array;
  /** AEAD keys for sealed signaling, one per direction (a→b, b→a). */
  sealAB: Uint8Array;
  sealBA: Uint8Array;
  /** Root of the short authentication string shown by --verify. */
  sas: Uint8Array;
}

export interface CpaceParty {
  /** Our public share Y, to send to the peer with our AD. */
  readonly share: Uint8Array;
  /** Combine with the peer's share and AD into the session keys; throws BAD_CODE for an invalid share. */
  finish(peerShare: Uint8Array, peerAd: Bytes): SessionKeys;
}

function badShare(why: string): PeerlaneError {
  return new PeerlaneError('BAD_CODE', `the peer's key share is invalid: ${why}`);
}

/** One side of CPace. `scalar` is for the test vectors only; a session samples a fresh one. */
export function startCpace(input: CpaceInput, scalar: bigint = sampleScalar()): CpaceParty {
  const share = calculateGenerator(input.prs, input.ci, input.sid).multiply(scalar).toBytes();
  return {
    share,
    finish(peerShare, peerAd) {
      if (peerShare.length !== FIELD_BYTES) throw badShare('wrong length');
      const k = scalarMultVfy(scalar, peerShare);
      if (equalBytes(k, IDENTITY)) throw badShare('not a group element, or the identity');
      const [ya, adA, yb, adB] = input.initiator
        ? [share, input.ad, peerShare, peerAd]
        : [peerShare, peerAd, share, input.ad];
      const isk = intermediateSessionKey(input.sid, k, transcriptIr(ya, adA, yb, adB));
      const macKey = sha512(concatBytes(MAC_PREFIX, bytes(input.sid), isk));
      const derive = (label: string): Uint8Array =>
        hkdf(sha512, isk, undefined, utf8ToBytes(`peerlane ${label}`), KEY_BYTES);
      return {
        tagA: hmac(sha512, macKey, lvCat(ya, adA)),
        tagB: hmac(sha512, macKey, lvCat(yb, adB)),
        sealAB: derive('seal a->b'),
        sealBA: derive('seal b->a'),
        sas: derive('sas'),
      };
    },
  };
}

/** Constant-time comparison of two tags. */
export function tagsEqual(a: Uint8Array, b: Uint8Array): boolean {
  return equalBytes(a, b);
}
