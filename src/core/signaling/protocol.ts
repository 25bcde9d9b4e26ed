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
 *      | <- paired{answerer,sid}   | --- paired{offerer,sid} -- |
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
 * Discovery (opt-in per receiver): `register{name}` also makes the receiver
 * reachable by name, unique on the server, and with `listed` it shows in the
 * answer to `list`:
 *
 *   receiver                 signal server                  anyone
 *      | -- register{name,listed} -> |                          |
 *      | <- registered{nameplate,name}                          |
 *      |                           | <------------------ list -- |
 *      |                           | -- peers{peers:[{name}]} -> |
 *      |                           | <------ join{name} ------- |  (instead of join{nameplate})
 *      | <- paired{answerer}       | --- paired{offerer,nameplate} |
 *
 * A name only routes, like a nameplate: the sender still needs the secret
 * words, and the name resolves atomically to exactly one nameplate, so the
 * one-guess rule is the nameplate's. `paired` tells such a joiner the
 * nameplate, which the PAKE transcript binds; a server that lies about it
 * only makes the PAKE fail. A name is at least one letter, then lowercase
 * letters, digits or `_`: never a number (a nameplate), never a `-` (the
 * code's separator, so `laptop-orbit-lemon` parses one way only).
 *
 * `sid` is 128 random bits, base64url, the same in both halves of one
 * pairing and fresh for each: the session id of the peers' CPace (secure/).
 * It needs no secrecy and no trust; a server that hands the two sides
 * different ones only makes their PAKE fail. A server too old to send it is
 * told apart by the client (VERSION_MISMATCH).
 *
 * `turn` is there only when the server is configured for TURN (TURN_URLS,
 * TURN_SECRET): fresh coturn REST credentials, one pair per peer, issued at
 * pairing and so only to the two peers of an active session.
 *
 * The same port number answers STUN Binding requests over UDP (server/stun.ts), so a
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
 * The relayed payloads between peers are `RtcSignal`s (rtc-signal.ts), the
 * other half of this layer's contract; field validation for both is fields.ts.
 *
 * The same connection may instead make a client a swarm member (the server as
 * tracker): announce, members, member notices and sealed swarm relays. Their
 * kinds, limits and diagram are in swarm.ts; they are parsed here, under the
 * one version, as part of ClientMessage and ServerMessage.
 */

import type { ErrorCode } from '../errors.js';
import { isErrorCode, PeerlaneError } from '../errors.js';
import { parseJsonObject } from '../json.js';
import { bad, str } from './fields.js';
import type { SwarmClientMessage, SwarmServerMessage } from './swarm.js';
import { parseSwarmClientMessage, parseSwarmServerMessage } from './swarm.js';
import type { TurnGrant } from './turn-grant.js';
import { parseTurnGrant } from './turn-grant.js';

export type { TurnGrant } from './turn-grant.js';

export const SIGNAL_PROTOCOL_VERSION = 2;

/** An SDP offer is about 1 KiB and a candidate about 100 B; 64 KiB leaves room, and caps what a client can make the server buffer. */
export const MAX_SIGNAL_MESSAGE_BYTES = 64 * 1024;

/** Where a browser speaks this protocol: `GET /signal` upgraded to WebSocket on the server's port, each message a chunk of the same NDJSON. */
export const SIGNAL_WS_PATH = '/signal';

/**
 * A nameplate routes a joiner to a waiting receiver. It is short, so a human
 * can type it, and public: the secret part of a code never reaches the server.
 */
export const MAX_NAMEPLATE_LENGTH = 6;
const NAMEPLATE_PATTERN = /^[1-9][0-9]{0,5}$/;
/** A receiver's name (peer receive --name): short enough to type, and unlike any nameplate or code word list. */
export const MAX_PEER_NAME_LENGTH = 32;
const PEER_NAME_PATTERN = /^[a-z][a-z0-9_]{0,31}$/;
/**
 * Names in one `peers` answer, alphabetical: 100 of at most 32 bytes keep it
 * near 4 KiB, far under MAX_SIGNAL_MESSAGE_BYTES; a busier server is no place
 * to find a peer by reading a list anyway.
 */
export const MAX_LISTED_PEERS = 100;
/** A reclaim token or a session id: 128 random bits, base64url. */
const RESUME_PATTERN = /^[A-Za-z0-9_-]{22}$/;

export type ClientMessage =
  | { v: number; type: 'register'; name?: string; listed?: boolean }
  | { v: number; type: 'join'; nameplate: string }
  | { v: number; type: 'join'; name: string }
  | { v: number; type: 'list' }
  | { v: number; type: 'relay'; payload: string }
  | { v: number; type: 'reclaim'; nameplate: string; token: string }
  | { v: number; type: 'report'; path: SessionPath }
  | Versioned<SwarmClientMessage>;

/** A receiver in the answer to `list`. */
export interface ListedPeer {
  name: string;
}

/** How a session's data channel went: straight between the peers, or through TURN. */
export type SessionPath = 'direct' | 'relay';

export type ServerMessage =
  | { v: number; type: 'registered'; nameplate: string; resume?: string; name?: string }
  | {
      v: number;
      type: 'paired';
      role: PeerRole;
      sid?: string;
      turn?: TurnGrant;
      nameplate?: string;
      /** host:port of the instance whose relay both peers use (several instances share Redis). */
      relay?: string;
    }
  | { v: number; type: 'peers'; peers: ListedPeer[] }
  | { v: number; type: 'relay'; payload: string }
  | { v: number; type: 'peer-left' }
  | { v: number; type: 'error'; code: ErrorCode; message: string }
  | Versioned<SwarmServerMessage>;

// ---------------------------------------------------------------- the swarm's messages (swarm.ts)

/** A message of a layer that leaves the version to this module. */
type Versioned<T> = T extends unknown ? T & { v: number } : never;

/** The tracker's messages (swarm.ts), stamped with the version; undefined if `obj` is none of them. */
function swarmMessage<T>(
  obj: Record<string, unknown>,
  v: number,
  parse: (obj: Record<string, unknown>, maxPayload: number) => T | undefined,
): (T & { v: number }) | undefined {
  const msg = parse(obj, MAX_SIGNAL_MESSAGE_BYTES);
  return msg === undefined ? undefined : { ...msg, v };
}

/** The joiner makes the offer, so whichever side starts second drives ICE. */
export type PeerRole = 'offerer' | 'answerer';

// ---------------------------------------------------------------- encoding

type WithoutVersion<T> = T extends unknown ? Omit<T, 'v'> : never;

export function encodeMessage(msg: WithoutVersion<ClientMessage> | WithoutVersion<ServerMessage>): string {
  return `${JSON.stringify({ v: SIGNAL_PROTOCOL_VERSION, ...msg })}\n`;
}

// ---------------------------------------------------------------- validation

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

export function isValidPeerName(name: string): boolean {
  return PEER_NAME_PATTERN.test(name);
}

function peerName(obj: Record<string, unknown>, key: string): string {
  const name = str(obj, key, MAX_PEER_NAME_LENGTH);
  if (!isValidPeerName(name)) throw bad(`field "${key}" is not a valid name`);
  return name;
}

/** Parse one message from a client. Throws PeerlaneError (BAD_MESSAGE or VERSION_MISMATCH). */
export function parseClientMessage(raw: unknown): ClientMessage {
  const obj = parseJsonObject(raw);
  const v = checkVersion(obj);
  switch (obj.type) {
    case 'register': {
      if (obj.name === undefined) {
        if (obj.listed !== undefined) throw bad('field "listed" needs a "name"');
        return { v, type: 'register' };
      }
      if (obj.listed !== undefined && typeof obj.listed !== 'boolean')
        throw bad('field "listed" must be a boolean');
      return { v, type: 'register', name: peerName(obj, 'name'), listed: obj.listed === true };
    }
    case 'list':
      return { v, type: 'list' };
    case 'join': {
      if (obj.name !== undefined) {
        if (obj.nameplate !== undefined) throw bad('join by "nameplate" or by "name", not both');
        const name = str(obj, 'name', MAX_PEER_NAME_LENGTH);
        if (!isValidPeerName(name)) throw new PeerlaneError('BAD_CODE', 'the name is malformed');
        return { v, type: 'join', name };
      }
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
      return swarmMessage(obj, v, parseSwarmClientMessage) ?? unknownType(obj);
  }
}

function unknownType(obj: Record<string, unknown>): never {
  throw bad(`unknown message type ${JSON.stringify(obj.type)}`);
}

function nameplateField(obj: Record<string, unknown>): string {
  const nameplate = str(obj, 'nameplate', MAX_NAMEPLATE_LENGTH);
  if (!isValidNameplate(nameplate)) throw bad('the nameplate is malformed');
  return nameplate;
}

/** A host name or IP address (IPv6 in brackets), a colon and a port: where to dial the relay. */
const RELAY_ADDRESS_PATTERN = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;
const MAX_RELAY_ADDRESS_LENGTH = 262; // a 253-byte name, a colon and a port

/** Whether `address` is a `host:port` a peer may dial for the relay. */
export function isRelayAddress(address: string): boolean {
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  return (
    address.length <= MAX_RELAY_ADDRESS_LENGTH &&
    RELAY_ADDRESS_PATTERN.test(address) &&
    port >= 1 &&
    port <= 65535
  );
}

function relayAddressField(obj: Record<string, unknown>): string {
  const address = str(obj, 'relay', MAX_RELAY_ADDRESS_LENGTH);
  if (!isRelayAddress(address)) throw bad('field "relay" is malformed');
  return address;
}

function object(raw: unknown, what: string): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw bad(`field "${what}" must hold objects`);
  return raw as Record<string, unknown>;
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
      return {
        v,
        type: 'registered',
        nameplate,
        ...(obj.resume === undefined ? {} : { resume: resumeToken(obj, 'resume') }),
        ...(obj.name === undefined ? {} : { name: peerName(obj, 'name') }),
      };
    }
    case 'paired': {
      const role = obj.role;
      if (role !== 'offerer' && role !== 'answerer') throw bad('field "role" is invalid');
      return {
        v,
        type: 'paired',
        role,
        ...(obj.sid === undefined ? {} : { sid: resumeToken(obj, 'sid') }),
        ...(obj.turn === undefined ? {} : { turn: parseTurnGrant(obj.turn) }),
        ...(obj.nameplate === undefined ? {} : { nameplate: nameplateField(obj) }),
        ...(obj.relay === undefined ? {} : { relay: relayAddressField(obj) }),
      };
    }
    case 'peers': {
      const peers = obj.peers;
      if (!Array.isArray(peers) || peers.length > MAX_LISTED_PEERS) {
        throw bad(`field "peers" must list at most ${MAX_LISTED_PEERS} peers`);
      }
      return {
        v,
        type: 'peers',
        peers: peers.map((p: unknown) => ({ name: peerName(object(p, 'peers'), 'name') })),
      };
    }
    case 'relay':
      return { v, type: 'relay', payload: str(obj, 'payload', MAX_SIGNAL_MESSAGE_BYTES) };
    case 'peer-left':
      return { v, type: 'peer-left' };
    default:
      return swarmMessage(obj, v, parseSwarmServerMessage) ?? unknownType(obj);
  }
}
