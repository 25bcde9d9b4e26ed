/**
 * Signaling protocol: newline-delimited JSON over TCP.
 *
 * The server introduces two peers and relays opaque payloads between them;
 * it never sees file data and never interprets a relayed payload.
 *
 *   receiver                 signal server                  sender
 *      | -- register ------------> |                           |
 *      | <------ registered{nameplate,resume?}                  |
 *      |  (the code, nameplate + secret words, goes by a human) |
 *      |                           | <------ join{nameplate} -- |
 *      | <- paired{answerer,turn?} | ---- paired{offerer,turn?} |
 *      |                           | <- relay{offer} ---------- |
 *      | <------------ relay{offer}|                           |
 *      | -- relay{answer} -------> | ------- relay{answer} ---> |
 *      | <== relay{candidate} ===> | <==== relay{candidate} ==> |
 *   (relayed payloads are PAKE messages, then sealed boxes: see secure/)
 *      | -- report{path} --------> |  <------ report{path} ---- |
 *      |  (data channel open; both keep their TCP for the session)
 *      | <== relay{keepalive} ====> | <==== relay{keepalive} ==> |  every 20 s
 *      |  (the data channel drops: either side, or both)        |
 *      | -- relay{restart{n}} ---> | ------------------------> |
 *      | <== relay{offer,answer,candidate for attempt n} =====> |
 *      |      (new data channel; the transfer resumes)          |
 *      |      (transfer done: both close their TCP)            |
 *
 * `resume` is there only when instances share state (REDIS_URL): a random
 * 128-bit token. A receiver whose connection drops while it waits reconnects,
 * to any instance, and sends `reclaim{nameplate,token}` instead of `register`;
 * the server answers `registered` with the same nameplate while its TTL lasts,
 * or PEER_NOT_FOUND. `report{path}` (optional, once the data channel is open)
 * tells the server whether the session went `direct` or through a TURN `relay`,
 * for its metrics; the server relays nothing of it.
 *
 * `turn` is there only when the server is configured for TURN (TURN_URLS,
 * TURN_SECRET): fresh coturn REST credentials, one pair per peer, issued at
 * pairing and so only to the two peers of an active session.
 *
 * The same port number answers STUN Binding requests over UDP (stun.ts), so a
 * peer needs no third-party STUN server to learn its public address:
 *
 *      peer --UDP Binding request--> signal server :port
 *      peer <--Binding success{XOR-MAPPED-ADDRESS}--
 *
 * Any message may be answered by `error{code,message}`, after which the server closes.
 * If one side of a pair disconnects, the other gets `peer-left`.
 *
 * Every message carries `v`. A peer or server that sees another version answers
 * VERSION_MISMATCH, so an old client is told to upgrade instead of failing oddly.
 *
 * The relayed payloads between peers are `RtcSignal`s, also defined here, since
 * they are the other half of this layer's contract.
 */

import type { ErrorCode } from '../errors.js';
import { isErrorCode, PeerlaneError } from '../errors.js';

export const SIGNAL_PROTOCOL_VERSION = 2;

/** An SDP offer is about 1 KiB and a candidate about 100 B; 64 KiB leaves room, and caps what a client can make the server buffer. */
export const MAX_SIGNAL_MESSAGE_BYTES = 64 * 1024;

/**
 * A nameplate routes a joiner to a waiting receiver. It is short, so a human
 * can type it, and public: the secret part of a code never reaches the server.
 */
export const MAX_NAMEPLATE_LENGTH = 6;
const NAMEPLATE_PATTERN = /^[1-9][0-9]{0,5}$/;
/** A reclaim token: 128 random bits, base64url. */
const RESUME_PATTERN = /^[A-Za-z0-9_-]{22}$/;

export type ClientMessage =
  | { v: number; type: 'register' }
  | { v: number; type: 'join'; nameplate: string }
  | { v: number; type: 'relay'; payload: string }
  | { v: number; type: 'reclaim'; nameplate: string; token: string }
  | { v: number; type: 'report'; path: SessionPath };

/** How a session's data channel went: straight between the peers, or through TURN. */
export type SessionPath = 'direct' | 'relay';

export type ServerMessage =
  | { v: number; type: 'registered'; nameplate: string; resume?: string }
  | { v: number; type: 'paired'; role: PeerRole; turn?: TurnGrant }
  | { v: number; type: 'relay'; payload: string }
  | { v: number; type: 'peer-left' }
  | { v: number; type: 'error'; code: ErrorCode; message: string };

/** Short-lived TURN credentials for the peers of one pairing (see turn.ts). */
export interface TurnGrant {
  /** `turn:` URLs without credentials. */
  urls: string[];
  username: string;
  password: string;
  /** Unix seconds after which the TURN server refuses them. */
  expiresAt: number;
}

const MAX_TURN_URLS = 8;
const MAX_TURN_FIELD_BYTES = 512;

/** The joiner makes the offer, so whichever side starts second drives ICE. */
export type PeerRole = 'offerer' | 'answerer';

/**
 * Why a side starts a new connection attempt: its peer went silent, the data
 * channel or connection closed, DTLS stalled after ICE connected (the
 * watchdog), an attempt found no path, or the peer asked for one.
 */
export const RESTART_REASONS = [
  'peer-silent',
  'link-closed',
  'dtls-stall',
  'ice-failed',
  'peer-request',
] as const;
export type RestartReason = (typeof RESTART_REASONS)[number];

/** Attempt numbers past this are nonsense: no budget allows that many reconnections. */
export const MAX_ATTEMPT = 1000;

/**
 * What the peers say to each other through the relay once the PAKE is done
 * (sealed). `n` is the connection attempt: 0 for the first data channel, one
 * more for each reconnection in the same session, so a late candidate of an
 * abandoned attempt is never applied to the next one.
 */
export type RtcSignal =
  | { kind: 'offer'; n: number; sdp: string }
  | { kind: 'answer'; n: number; sdp: string }
  | { kind: 'candidate'; n: number; candidate: string; mid: string }
  | { kind: 'restart'; n: number; reason: RestartReason }
  | { kind: 'keepalive' };

// ---------------------------------------------------------------- encoding

type WithoutVersion<T> = T extends unknown ? Omit<T, 'v'> : never;

export function encodeMessage(msg: WithoutVersion<ClientMessage> | WithoutVersion<ServerMessage>): string {
  return `${JSON.stringify({ v: SIGNAL_PROTOCOL_VERSION, ...msg })}\n`;
}

export function encodeRtcSignal(signal: RtcSignal): string {
  return JSON.stringify(signal);
}

// ---------------------------------------------------------------- validation

function bad(message: string): PeerlaneError {
  return new PeerlaneError('BAD_MESSAGE', message);
}

function parseJsonObject(raw: unknown): Record<string, unknown> {
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      throw bad('message is not valid JSON');
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw bad('message is not a JSON object');
  }
  return value as Record<string, unknown>;
}

function str(obj: Record<string, unknown>, key: string, max: number): string {
  const value = obj[key];
  if (typeof value !== 'string') throw bad(`field "${key}" must be a string`);
  // Limits are in bytes, as on the wire: a character can take up to four.
  if (value.length > max || Buffer.byteLength(value, 'utf8') > max) throw bad(`field "${key}" is too long`);
  return value;
}

function checkVersion(obj: Record<string, unknown>): number {
  const v = obj.v;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw bad('field "v" must be an integer');
  if (v !== SIGNAL_PROTOCOL_VERSION) {
    throw new PeerlaneError(
      'VERSION_MISMATCH',
      `signaling protocol version ${v} is not supported (this side speaks ${SIGNAL_PROTOCOL_VERSION})`,
    );
  }
  return v;
}

export function isValidNameplate(nameplate: string): boolean {
  return NAMEPLATE_PATTERN.test(nameplate);
}

/** Parse one message from a client. Throws PeerlaneError (BAD_MESSAGE or VERSION_MISMATCH). */
export function parseClientMessage(raw: unknown): ClientMessage {
  const obj = parseJsonObject(raw);
  const v = checkVersion(obj);
  switch (obj.type) {
    case 'register':
      return { v, type: 'register' };
    case 'join': {
      const nameplate = str(obj, 'nameplate', MAX_NAMEPLATE_LENGTH);
      if (!isValidNameplate(nameplate)) throw new PeerlaneError('BAD_CODE', 'the nameplate is malformed');
      return { v, type: 'join', nameplate };
    }
    case 'relay':
      return { v, type: 'relay', payload: str(obj, 'payload', MAX_SIGNAL_MESSAGE_BYTES) };
    case 'reclaim': {
      const nameplate = str(obj, 'nameplate', MAX_NAMEPLATE_LENGTH);
      if (!isValidNameplate(nameplate)) throw new PeerlaneError('BAD_CODE', 'the nameplate is malformed');
      return { v, type: 'reclaim', nameplate, token: resumeToken(obj, 'token') };
    }
    case 'report': {
      const path = obj.path;
      if (path !== 'direct' && path !== 'relay') throw bad('field "path" must be "direct" or "relay"');
      return { v, type: 'report', path };
    }
    default:
      throw bad(`unknown message type ${JSON.stringify(obj.type)}`);
  }
}

function resumeToken(obj: Record<string, unknown>, key: string): string {
  const token = str(obj, key, 22);
  if (!RESUME_PATTERN.test(token)) throw bad(`field "${key}" is malformed`);
  return token;
}

/** Parse one message from the server. Throws PeerlaneError. */
export function parseServerMessage(raw: unknown): ServerMessage {
  const obj = parseJsonObject(raw);
  // An error frame is understood whatever its version, so that a version
  // mismatch reported by the server reaches the user as such.
  if (obj.type === 'error') {
    const code = obj.code;
    return {
      v: typeof obj.v === 'number' ? obj.v : 0,
      type: 'error',
      code: isErrorCode(code) ? code : 'REMOTE_ERROR',
      message: typeof obj.message === 'string' ? obj.message.slice(0, 500) : 'unknown error',
    };
  }
  const v = checkVersion(obj);
  switch (obj.type) {
    case 'registered': {
      const nameplate = str(obj, 'nameplate', MAX_NAMEPLATE_LENGTH);
      if (!isValidNameplate(nameplate)) throw bad('the nameplate is malformed');
      if (obj.resume === undefined) return { v, type: 'registered', nameplate };
      return { v, type: 'registered', nameplate, resume: resumeToken(obj, 'resume') };
    }
    case 'paired': {
      const role = obj.role;
      if (role !== 'offerer' && role !== 'answerer') throw bad('field "role" is invalid');
      if (obj.turn === undefined) return { v, type: 'paired', role };
      return { v, type: 'paired', role, turn: parseTurnGrant(obj.turn) };
    }
    case 'relay':
      return { v, type: 'relay', payload: str(obj, 'payload', MAX_SIGNAL_MESSAGE_BYTES) };
    case 'peer-left':
      return { v, type: 'peer-left' };
    default:
      throw bad(`unknown message type ${JSON.stringify(obj.type)}`);
  }
}

function parseTurnGrant(raw: unknown): TurnGrant {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw bad('field "turn" must be an object');
  const obj = raw as Record<string, unknown>;
  const urls = obj.urls;
  if (!Array.isArray(urls) || urls.length === 0 || urls.length > MAX_TURN_URLS) {
    throw bad(`field "turn.urls" must list 1 to ${MAX_TURN_URLS} URLs`);
  }
  const expiresAt = obj.expiresAt;
  if (typeof expiresAt !== 'number' || !Number.isSafeInteger(expiresAt) || expiresAt < 0) {
    throw bad('field "turn.expiresAt" must be Unix seconds');
  }
  return {
    urls: urls.map((url: unknown) => {
      if (typeof url !== 'string' || Buffer.byteLength(url, 'utf8') > MAX_TURN_FIELD_BYTES) {
        throw bad('field "turn.urls" must hold short strings');
      }
      return url;
    }),
    username: str(obj, 'username', MAX_TURN_FIELD_BYTES),
    password: str(obj, 'password', MAX_TURN_FIELD_BYTES),
    expiresAt,
  };
}

/** Parse a payload relayed from the other peer. */
function attempt(obj: Record<string, unknown>): number {
  const n = obj.n;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_ATTEMPT)
    throw bad(`field "n" must be an attempt number from 0 to ${MAX_ATTEMPT}`);
  return n;
}

export function parseRtcSignal(raw: unknown): RtcSignal {
  const obj = parseJsonObject(raw);
  switch (obj.kind) {
    case 'offer':
    case 'answer':
      return { kind: obj.kind, n: attempt(obj), sdp: str(obj, 'sdp', MAX_SIGNAL_MESSAGE_BYTES) };
    case 'candidate':
      return {
        kind: 'candidate',
        n: attempt(obj),
        candidate: str(obj, 'candidate', 1024),
        mid: str(obj, 'mid', 64),
      };
    case 'restart': {
      const reason = obj.reason;
      if (!RESTART_REASONS.includes(reason as RestartReason))
        throw bad('field "reason" is not a known reason');
      return { kind: 'restart', n: attempt(obj), reason: reason as RestartReason };
    }
    case 'keepalive':
      return { kind: 'keepalive' };
    default:
      throw bad(`unknown signal kind ${JSON.stringify(obj.kind)}`);
  }
}
