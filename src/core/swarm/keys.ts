/**
 * The keys a swarm's members derive from the 128-bit swarm secret the ticket
 * carries. A bearer secret: whoever holds the ticket is a member.
 *
 *   swarmId(secret)            what the tracker (the signal server) sees and routes by;
 *                              a hash, so it learns nothing of the secret
 *   swarmSealKey(secret)       root of every sealed member-to-member signaling payload
 *   pipeKeys(seal, c, pair)    the two per-direction keys of one link attempt `c`
 *   memberLinkKey(secret, a, b) proves and seals the direct TCP path between two members,
 *                              per attempt (attemptLinkKey)
 *
 * Member ids are the tracker's (announced{member}); they go into every key a
 * pair uses, so a tracker that misroutes a payload only makes it fail to open.
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { PeerlaneError } from '../errors.js';

/** 128 bits: unguessable, and short enough for a ticket on one line. */
export const SWARM_SECRET_BYTES = 16;
/** AES-256-GCM keys (core/secure/channel.ts) and the direct link's key. */
const KEY_BYTES = 32;

function checkSecret(secret: Uint8Array): void {
  if (secret.length !== SWARM_SECRET_BYTES) {
    throw new PeerlaneError(
      'BAD_CONFIG',
      `a swarm secret is ${SWARM_SECRET_BYTES} bytes, not ${secret.length}`,
    );
  }
}

/** Hex of SHA-256("peerlane swarm id" || secret): 64 lowercase hex digits. */
export function swarmId(secret: Uint8Array): string {
  checkSecret(secret);
  return bytesToHex(sha256(concatBytes(utf8ToBytes('peerlane swarm id'), secret)));
}

/** HKDF-SHA256(secret, info "peerlane swarm seal"): what every signaling payload between members is sealed under. */
export function swarmSealKey(secret: Uint8Array): Uint8Array {
  checkSecret(secret);
  return hkdf(sha256, secret, undefined, utf8ToBytes('peerlane swarm seal'), KEY_BYTES);
}

/**
 * The key of the direct TCP handshake between members `a` and `b` (either
 * order: both sides derive the same one), as `openLink` takes it.
 */
export function memberLinkKey(secret: Uint8Array, a: string, b: string): Uint8Array {
  checkSecret(secret);
  const [low, high] = [a, b].sort();
  return hkdf(sha256, secret, undefined, utf8ToBytes(`peerlane swarm link ${low} ${high}`), KEY_BYTES);
}

/**
 * What one link attempt `attempt` between `a` and `b` gives openLink:
 * memberLinkKey, made fresh per attempt. The relay's pairing token and the
 * direct path's proofs come from it, so two attempts of one pair (both
 * dialing at once, or one after another) never meet at the relay as one.
 */
export function attemptLinkKey(secret: Uint8Array, a: string, b: string, attempt: string): Uint8Array {
  const info = utf8ToBytes('peerlane swarm link attempt');
  return hkdf(sha256, memberLinkKey(secret, a, b), utf8ToBytes(attempt), info, KEY_BYTES);
}

/**
 * The keys of one link attempt between `me` and `them`, dialed by `dialer`
 * (one of the two): `seal` for what we send, `open` for what they send. A
 * fresh attempt id `attempt` makes fresh keys, so the channel's counter
 * nonces (starting at 0 each attempt) never repeat under one key; and who
 * dialed is in them, so an answer played back as if it opened an attempt
 * does not open.
 */
export function pipeKeys(
  sealKey: Uint8Array,
  attempt: string,
  pair: { me: string; them: string; dialer: string },
): { seal: Uint8Array; open: Uint8Array } {
  const { me, them, dialer } = pair;
  const direction = (from: string, to: string): Uint8Array => {
    const info = utf8ToBytes(`peerlane swarm pipe ${dialer} dials: ${from} to ${to}`);
    return hkdf(sha256, sealKey, utf8ToBytes(attempt), info, KEY_BYTES);
  };
  return { seal: direction(me, them), open: direction(them, me) };
}
