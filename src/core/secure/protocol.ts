/**
 * Messages of the secure layer, carried as relay payloads through the signal
 * server (see handshake.ts for the sequence). Validated on arrival like every
 * other input: a peer, or a server relaying for one, may send anything.
 */
import { PeerlaneError } from '../errors.js';
import { parseJsonObject } from '../json.js';

/**
 * 2: CPace as draft-irtf-cfrg-cpace-21 writes it, with the server's session id,
 * 64-byte tags, and the answerer confirming first (handshake.ts). Version 1 peers
 * are refused with VERSION_MISMATCH: the two derive unrelated keys.
 */
export const SECURE_PROTOCOL_VERSION = 2;

export type Intent = 'send' | 'receive';

/**
 * What kind of program a peer is, said with its PAKE share: the CLI (or the
 * library) or the browser page. Only a hint for tuning (a CLI on loopback
 * uses an SCTP MTU a browser would drop: rtc/sctp.ts), never for trust: it
 * is not authenticated, and lying costs the liar only its own throughput.
 */
export const PEER_AGENTS = ['cli', 'page'] as const;
export type PeerAgent = (typeof PEER_AGENTS)[number];

export type SecureMessage =
  | { kind: 'pake'; v: number; share: string; ad: string; agent?: PeerAgent }
  | { kind: 'confirm'; tag: string }
  /** The peer's tag did not check out: sent in the clear, it says only what leaving would. */
  | { kind: 'refused' }
  | { kind: 'sealed'; box: string };

/** base64 of a 32-byte ristretto255 element is 44 characters. */
const MAX_SHARE_CHARS = 64;
/** base64 of a 64-byte HMAC-SHA-512 tag is 88 characters. */
const MAX_TAG_CHARS = 88;
const MAX_AD_CHARS = 128;
/** A sealed SDP is well under this; the signaling frame limit is the outer bound anyway. */
const MAX_BOX_CHARS = 60 * 1024;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function bad(message: string): PeerlaneError {
  return new PeerlaneError('BAD_MESSAGE', message);
}

function field(obj: Record<string, unknown>, key: string, max: number, base64 = true): string {
  const value = obj[key];
  if (typeof value !== 'string' || value.length > max) throw bad(`field "${key}" is missing or too long`);
  if (base64 && !BASE64.test(value)) throw bad(`field "${key}" is not base64`);
  return value;
}

/** Absent from older peers; a kind this version does not know is no hint at all. */
function agentField(obj: Record<string, unknown>): { agent?: PeerAgent } {
  const agent = PEER_AGENTS.find((a) => a === obj.agent);
  return agent === undefined ? {} : { agent };
}

export function encodeSecureMessage(msg: SecureMessage): string {
  return JSON.stringify(msg);
}

export function parseSecureMessage(raw: unknown): SecureMessage {
  const obj = parseJsonObject(raw, 'BAD_MESSAGE', 'secure message');
  switch (obj.kind) {
    case 'pake': {
      const v = obj.v;
      if (typeof v !== 'number' || !Number.isInteger(v)) throw bad('field "v" must be an integer');
      return {
        kind: 'pake',
        v,
        share: field(obj, 'share', MAX_SHARE_CHARS),
        ad: field(obj, 'ad', MAX_AD_CHARS, false),
        ...agentField(obj),
      };
    }
    case 'confirm':
      return { kind: 'confirm', tag: field(obj, 'tag', MAX_TAG_CHARS) };
    case 'refused':
      return { kind: 'refused' };
    case 'sealed':
      return { kind: 'sealed', box: field(obj, 'box', MAX_BOX_CHARS) };
    default:
      throw bad(`unknown secure message kind ${JSON.stringify(obj.kind)}`);
  }
}
