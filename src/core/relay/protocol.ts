/**
 * The relay: two peers that cannot reach each other over UDP meet on the
 * signal server's TCP port, by a token derived from their PAKE session key,
 * and the server glues their two byte streams together. Everything after the
 * server's PAIRED is the direct path's handshake and sealed records
 * (direct/handshake.ts, direct/tcp-link.ts), so the relay sees HELLOs, two
 * HMAC proofs and AES-256-GCM records: lengths and ciphertext, nothing it
 * could read, forge or join.
 *
 *   offerer                       signal server (relay)              answerer
 *     | -- RELAY {magic, version, token} -> |                            |
 *     |                                     | <- RELAY {magic, v, token} |
 *     | <- STATUS PAIRED ------------------ | -- STATUS PAIRED -------> |
 *     | == HELLO · PROOF · records, as on the direct path, byte for byte == |
 *
 * The token is SHA-256(HKDF(session key, "peerlane relay token")): the server
 * learns a value that names the pairing but gives nothing towards the key or
 * the direct-path key. Both sides compute the same token, so the server
 * pairs the first two connections that present it; a third is refused.
 *
 * A refusal is one STATUS record with a code and a short reason, then close.
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { ErrorCode } from '../errors.js';
import { PeerlaneError } from '../errors.js';

/** Changes whenever the relay's hello or status format changes. */
export const RELAY_VERSION = 1;
/**
 * The first bytes of a relay connection. The first byte, 0x00, is neither
 * the `{` of an NDJSON signaling line nor a letter of an HTTP method nor a
 * TLS record type (0x16), so the server tells the three apart by one byte.
 */
export const RELAY_MAGIC = Uint8Array.of(0x00, 0x50, 0x4c, 0x52, 0x45, 0x4c, 0x41, 0x59); // \0PLRELAY
export const RELAY_TOKEN_BYTES = 32;
/** magic(8) · version(1) · token(32) */
export const RELAY_HELLO_BYTES = RELAY_MAGIC.length + 1 + RELAY_TOKEN_BYTES;
/** The longest reason a STATUS carries: one line for the user, never a transcript. */
export const MAX_STATUS_REASON_BYTES = 200;

/** What the relay answers a hello with: PAIRED, or why not (the error code the peer then reports). */
export const RELAY_STATUS = {
  PAIRED: 0,
  RELAY_DISABLED: 1,
  RELAY_BUSY: 2,
  RELAY_QUOTA: 3,
  VERSION_MISMATCH: 4,
  RELAY_TOKEN_TAKEN: 5,
  RELAY_NO_PEER: 6,
  BAD_MESSAGE: 7,
} as const satisfies Record<string, number>;
export type RelayStatusName = keyof typeof RELAY_STATUS;

export interface RelayStatus {
  status: RelayStatusName;
  reason: string;
}

/** The pairing token both peers derive from the PAKE session key. */
export function relayToken(sessionSecret: Uint8Array): Uint8Array {
  const key = hkdf(
    sha256,
    sessionSecret,
    new Uint8Array(0),
    new TextEncoder().encode('peerlane relay token'),
    32,
  );
  return sha256(key);
}

export function encodeRelayHello(token: Uint8Array, version: number = RELAY_VERSION): Uint8Array {
  if (token.length !== RELAY_TOKEN_BYTES) throw new PeerlaneError('INTERNAL', 'a relay token is 32 bytes');
  const out = new Uint8Array(RELAY_HELLO_BYTES);
  out.set(RELAY_MAGIC, 0);
  out[RELAY_MAGIC.length] = version;
  out.set(token, RELAY_MAGIC.length + 1);
  return out;
}

/** The token of a complete hello, or a BAD_MESSAGE / VERSION_MISMATCH error. */
export function parseRelayHello(hello: Uint8Array): Uint8Array {
  if (hello.length !== RELAY_HELLO_BYTES) throw new PeerlaneError('BAD_MESSAGE', 'a relay hello is 41 bytes');
  for (let i = 0; i < RELAY_MAGIC.length; i++) {
    if (hello[i] !== RELAY_MAGIC[i]) throw new PeerlaneError('BAD_MESSAGE', 'not a relay hello');
  }
  const version = hello[RELAY_MAGIC.length];
  if (version !== RELAY_VERSION) {
    throw new PeerlaneError(
      'VERSION_MISMATCH',
      `the relay speaks version ${RELAY_VERSION}, the peer sent version ${String(version)}`,
    );
  }
  return hello.slice(RELAY_MAGIC.length + 1);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false });

/** status(1) · reason length(1) · reason (UTF-8, cut to MAX_STATUS_REASON_BYTES) */
export function encodeRelayStatus(status: RelayStatusName, reason = ''): Uint8Array {
  const text = encoder.encode(reason).slice(0, MAX_STATUS_REASON_BYTES);
  const out = new Uint8Array(2 + text.length);
  out[0] = RELAY_STATUS[status];
  out[1] = text.length;
  out.set(text, 2);
  return out;
}

/** Bytes a STATUS needs in all, from its first two; undefined until those two have arrived. */
export function relayStatusLength(head: Uint8Array): number | undefined {
  const len = head[1];
  return len === undefined ? undefined : 2 + len;
}

export function parseRelayStatus(record: Uint8Array): RelayStatus {
  const code = record[0];
  const status = (Object.keys(RELAY_STATUS) as RelayStatusName[]).find((k) => RELAY_STATUS[k] === code);
  const len = record[1];
  if (
    status === undefined ||
    len === undefined ||
    len > MAX_STATUS_REASON_BYTES ||
    record.length !== 2 + len
  ) {
    throw new PeerlaneError('BAD_MESSAGE', 'the relay answered with something that is not a relay status');
  }
  return { status, reason: decoder.decode(record.subarray(2)) };
}

/** The error a peer reports for a relay's refusal. */
export function relayRefusal(status: RelayStatus): PeerlaneError {
  const code: ErrorCode = status.status === 'PAIRED' ? 'INTERNAL' : status.status;
  return new PeerlaneError(
    code,
    status.reason.length > 0 ? status.reason : `the relay refused: ${status.status}`,
  );
}
