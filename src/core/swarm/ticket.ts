/**
 * The ticket: one copyable line that lets its holder join a swarm and check
 * everything it receives. It carries the root (the manifest's SHA-256), the
 * 16-byte swarm secret (its hash is the swarm id the tracker sees; keys.ts
 * derives the sealing keys from it) and the signal server's address.
 *
 *   peerlane-swarm:<base64url of: version(1) root(32) secret(16) hostLen(1) host port(2) check(4)>
 *
 * `check` is the first 4 bytes of SHA-256 over the bytes before it, so a typo
 * or a truncated paste fails here, before any network. A bearer ticket: whoever
 * holds it is a member (README, "Sharing with many").
 *
 * A `.p2p` file is the ticket on its first line and the canonical manifest
 * (manifest.ts) after it, so `peer get file.p2p` needs no manifest fetch; the
 * manifest is still checked against the ticket's root.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { fromBase64, toBase64 } from '../bytes.js';
import { PeerlaneError } from '../errors.js';
import { SWARM_SECRET_BYTES } from './keys.js';
import type { SwarmManifest } from './manifest.js';
import { encodeManifest, MAX_MANIFEST_BYTES, verifyManifest } from './manifest.js';

export const TICKET_PREFIX = 'peerlane-swarm:';
export const TICKET_VERSION = 1;
const ROOT_BYTES = 32;
const CHECK_BYTES = 4;
/** A DNS name is at most 253 characters; one length byte holds it. */
const MAX_HOST_BYTES = 253;

export interface Ticket {
  /** The manifest's SHA-256, hex. */
  root: string;
  secret: Uint8Array;
  signal: { host: string; port: number };
}

function bad(message: string): PeerlaneError {
  return new PeerlaneError('BAD_TICKET', message);
}

function check(body: Uint8Array): Uint8Array {
  return sha256(body).subarray(0, CHECK_BYTES);
}

export function encodeTicket(t: Ticket): string {
  const host = new TextEncoder().encode(t.signal.host);
  if (host.length > MAX_HOST_BYTES) throw bad('the signal host name is too long for a ticket');
  const body = new Uint8Array(1 + ROOT_BYTES + SWARM_SECRET_BYTES + 1 + host.length + 2);
  let at = 0;
  body[at++] = TICKET_VERSION;
  body.set(hexToBytes(t.root), at);
  at += ROOT_BYTES;
  body.set(t.secret, at);
  at += SWARM_SECRET_BYTES;
  body[at++] = host.length;
  body.set(host, at);
  at += host.length;
  body[at++] = t.signal.port >> 8;
  body[at] = t.signal.port & 0xff;
  const all = new Uint8Array(body.length + CHECK_BYTES);
  all.set(body);
  all.set(check(body), body.length);
  return TICKET_PREFIX + toBase64(all).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Parse a ticket as pasted (white space around it is dropped). Throws BAD_TICKET. */
export function parseTicket(raw: unknown): Ticket {
  if (typeof raw !== 'string') throw bad('a ticket is a line of text');
  const text = raw.trim();
  if (!text.startsWith(TICKET_PREFIX)) throw bad(`a ticket starts with ${TICKET_PREFIX}`);
  const tail = text.slice(TICKET_PREFIX.length);
  if (!BASE64URL.test(tail)) throw bad('the ticket has characters no ticket has');
  const all = fromBase64(tail);
  const min = 1 + ROOT_BYTES + SWARM_SECRET_BYTES + 1 + 2 + CHECK_BYTES;
  if (all.length < min) throw bad('the ticket is cut short');
  const body = all.subarray(0, all.length - CHECK_BYTES);
  const sum = check(body);
  if (sum.some((b, i) => b !== all[body.length + i])) {
    throw bad('the ticket does not add up: a character was changed, lost or added');
  }
  if (body[0] !== TICKET_VERSION) throw bad(`ticket version ${body[0]} is not supported; upgrade peerlane`);
  let at = 1;
  const root = bytesToHex(body.subarray(at, at + ROOT_BYTES));
  at += ROOT_BYTES;
  const secret = body.slice(at, at + SWARM_SECRET_BYTES);
  at += SWARM_SECRET_BYTES;
  const hostLength = body[at++] ?? 0;
  if (body.length !== at + hostLength + 2) throw bad('the ticket has a bad length');
  const host = new TextDecoder().decode(body.subarray(at, at + hostLength));
  at += hostLength;
  const port = ((body[at] ?? 0) << 8) | (body[at + 1] ?? 0);
  if (host.length === 0 || port === 0) throw bad('the ticket has no signal server address');
  return { root, secret, signal: { host, port } };
}

/** The text of a `.p2p` file: the ticket, a newline, the canonical manifest, a newline. */
export function encodeP2p(ticket: string, manifest: SwarmManifest): string {
  return `${ticket}\n${new TextDecoder().decode(encodeManifest(manifest))}\n`;
}

/** The longest `.p2p` file read: a ticket line and a manifest at its limit. */
export const MAX_P2P_BYTES = MAX_MANIFEST_BYTES + 4096;

/** Parse a `.p2p` file: its ticket, and its manifest checked against the ticket's root. */
export function parseP2p(text: string): {
  ticket: Ticket;
  ticketText: string;
  manifest: SwarmManifest;
  encoded: Uint8Array;
} {
  const newline = text.indexOf('\n');
  if (newline < 0) throw new PeerlaneError('BAD_MANIFEST', 'a .p2p file holds a ticket line and a manifest');
  const ticketText = text.slice(0, newline).trim();
  const ticket = parseTicket(ticketText);
  const encoded = new TextEncoder().encode(text.slice(newline + 1).replace(/\n$/, ''));
  return { ticket, ticketText, manifest: verifyManifest(encoded, ticket.root), encoded };
}
