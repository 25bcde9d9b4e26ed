/**
 * STUN (RFC 5389), the Binding method only: what the signal server needs to
 * tell a peer its public address and port, and what a test needs to ask.
 *
 * A message is a 20-byte header and 4-byte-aligned attributes:
 *
 *    0                   1                   2                   3
 *   |0 0|  type (14 bits: class + method) |     length (of attributes)    |
 *   |                  magic cookie 0x2112A442                           |
 *   |                  transaction ID (96 bits)                          |
 *   | attribute type                 | attribute length               |
 *   | value, padded to 4 bytes ...                                        |
 *
 * The answer carries XOR-MAPPED-ADDRESS (the source address of the request,
 * XORed with the cookie, and for IPv6 the transaction ID, so that NATs that
 * rewrite addresses in payloads leave it alone), SOFTWARE and FINGERPRINT.
 *
 * Why not a library: `stun` on npm is unmaintained and pulls in a CLI parser
 * and `ip`; its fork `@msimerson/stun` still brings four dependencies and no
 * types. The Binding exchange is under 200 lines, tested in test/unit/stun.test.ts.
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { crc32 } from 'node:zlib';
import { PeerlaneError } from '../core/errors.js';
import { ipv6Bytes, plainAddress } from './address-group.js';

const STUN_MAGIC_COOKIE = 0x2112a442;
const STUN_HEADER_BYTES = 20;
/** FINGERPRINT is CRC-32 of the message up to it, XORed with this ("STUN"). */
const FINGERPRINT_XOR = 0x5354554e;

export const STUN_BINDING_REQUEST = 0x0001;
export const STUN_BINDING_SUCCESS = 0x0101;

export const ATTR = {
  MAPPED_ADDRESS: 0x0001,
  XOR_MAPPED_ADDRESS: 0x0020,
  SOFTWARE: 0x8022,
  FINGERPRINT: 0x8028,
} as const;

export interface StunMessage {
  /** Class and method together, e.g. 0x0001 for a Binding request. */
  type: number;
  transactionId: Buffer;
  /** Attributes in order; a repeated type keeps the first, as RFC 5389 says. */
  attributes: Map<number, Buffer>;
}

export interface MappedAddress {
  family: 'IPv4' | 'IPv6';
  address: string;
  port: number;
}

/**
 * Parse a datagram as STUN. Returns undefined for anything that is not a
 * well-formed STUN message (wrong first bits, cookie, lengths, or FINGERPRINT),
 * so a server can drop it silently.
 */
export function parseStunMessage(buf: Buffer): StunMessage | undefined {
  if (buf.length < STUN_HEADER_BYTES) return undefined;
  const type = buf.readUInt16BE(0);
  const length = buf.readUInt16BE(2);
  if ((type & 0xc000) !== 0) return undefined;
  if (buf.readUInt32BE(4) !== STUN_MAGIC_COOKIE) return undefined;
  if (length % 4 !== 0 || STUN_HEADER_BYTES + length !== buf.length) return undefined;
  const attributes = new Map<number, Buffer>();
  let offset = STUN_HEADER_BYTES;
  while (offset < buf.length) {
    if (offset + 4 > buf.length) return undefined;
    const attrType = buf.readUInt16BE(offset);
    const attrLength = buf.readUInt16BE(offset + 2);
    const start = offset + 4;
    const end = start + attrLength;
    if (end > buf.length) return undefined;
    if (attrType === ATTR.FINGERPRINT) {
      if (attrLength !== 4 || end !== buf.length) return undefined;
      if (buf.readUInt32BE(start) !== fingerprint(buf.subarray(0, offset))) return undefined;
    }
    if (!attributes.has(attrType)) attributes.set(attrType, buf.subarray(start, end));
    offset = start + align4(attrLength);
  }
  return { type, transactionId: Buffer.from(buf.subarray(8, 20)), attributes };
}

/** Encode a message; with `withFingerprint`, FINGERPRINT is appended last. */
export function encodeStunMessage(
  type: number,
  transactionId: Buffer,
  attributes: readonly (readonly [number, Buffer])[],
  withFingerprint = true,
): Buffer {
  if (transactionId.length !== 12) throw new PeerlaneError('INTERNAL', 'a STUN transaction ID is 12 bytes');
  const parts: Buffer[] = [];
  for (const [attrType, value] of attributes) {
    const head = Buffer.alloc(4);
    head.writeUInt16BE(attrType, 0);
    head.writeUInt16BE(value.length, 2);
    parts.push(head, value, Buffer.alloc(align4(value.length) - value.length));
  }
  const body = Buffer.concat(parts);
  const header = Buffer.alloc(STUN_HEADER_BYTES);
  header.writeUInt16BE(type, 0);
  header.writeUInt16BE(body.length + (withFingerprint ? 8 : 0), 2);
  header.writeUInt32BE(STUN_MAGIC_COOKIE, 4);
  transactionId.copy(header, 8);
  const message = Buffer.concat([header, body]);
  if (!withFingerprint) return message;
  const fp = Buffer.alloc(8);
  fp.writeUInt16BE(ATTR.FINGERPRINT, 0);
  fp.writeUInt16BE(4, 2);
  fp.writeUInt32BE(fingerprint(message), 4);
  return Buffer.concat([message, fp]);
}

export function encodeBindingRequest(transactionId: Buffer = randomBytes(12)): Buffer {
  return encodeStunMessage(STUN_BINDING_REQUEST, transactionId, []);
}

/** A Binding success response telling the requester where it came from. */
export function encodeBindingSuccess(transactionId: Buffer, mapped: MappedAddress): Buffer {
  return encodeStunMessage(STUN_BINDING_SUCCESS, transactionId, [
    [ATTR.XOR_MAPPED_ADDRESS, encodeXorAddress(mapped, transactionId)],
    [ATTR.SOFTWARE, Buffer.from('peerlane')],
  ]);
}

export function encodeXorAddress(mapped: MappedAddress, transactionId: Buffer): Buffer {
  const v4 = mapped.family === 'IPv4';
  const raw = v4 ? ipv4Bytes(mapped.address) : ipv6Bytes(mapped.address);
  const value = Buffer.alloc(4 + raw.length);
  value.writeUInt8(0, 0);
  value.writeUInt8(v4 ? 0x01 : 0x02, 1);
  value.writeUInt16BE(mapped.port ^ (STUN_MAGIC_COOKIE >>> 16), 2);
  const mask = xorMask(transactionId);
  for (let i = 0; i < raw.length; i++) value[4 + i] = (raw[i] ?? 0) ^ (mask[i] ?? 0);
  return value;
}

export function decodeXorAddress(value: Buffer, transactionId: Buffer): MappedAddress | undefined {
  if (value.length < 8) return undefined;
  const familyByte = value.readUInt8(1);
  const size = familyByte === 0x01 ? 4 : familyByte === 0x02 ? 16 : 0;
  if (size === 0 || value.length !== 4 + size) return undefined;
  const port = value.readUInt16BE(2) ^ (STUN_MAGIC_COOKIE >>> 16);
  const mask = xorMask(transactionId);
  const raw = Buffer.alloc(size);
  for (let i = 0; i < size; i++) raw[i] = (value[4 + i] ?? 0) ^ (mask[i] ?? 0);
  if (size === 4) return { family: 'IPv4', address: [...raw].join('.'), port };
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(raw.readUInt16BE(i).toString(16));
  // Let node:net canonicalise (compress zeros) by round-tripping through SocketAddress.
  const address = new net.SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
  return { family: 'IPv6', address, port };
}

/**
 * The server side: the answer to a datagram from `from`, or undefined if it
 * is not a Binding request (other STUN messages and non-STUN traffic get no
 * answer, so the port cannot be used to reflect arbitrary data).
 */
export function answerBindingRequest(datagram: Buffer, from: dgram.RemoteInfo): Buffer | undefined {
  const msg = parseStunMessage(datagram);
  if (msg === undefined || msg.type !== STUN_BINDING_REQUEST) return undefined;
  const address = plainAddress(from.address);
  const family = net.isIPv4(address) ? 'IPv4' : 'IPv6';
  return encodeBindingSuccess(msg.transactionId, { family, address, port: from.port });
}

/**
 * The client side: send a Binding request to `host:port` over UDP and resolve
 * with the address the server saw. Retransmits every 250 ms until `timeoutMs`.
 */
export async function stunBinding(
  host: string,
  port: number,
  options: { timeoutMs?: number; socket?: dgram.Socket } = {},
): Promise<MappedAddress> {
  const socket = options.socket ?? dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  const ownSocket = options.socket === undefined;
  const transactionId = randomBytes(12);
  const request = encodeBindingRequest(transactionId);
  try {
    return await new Promise<MappedAddress>((resolve, reject) => {
      const send = (): void => socket.send(request, port, host);
      const resend = setInterval(send, 250);
      const timer = setTimeout(() => {
        finish();
        reject(new PeerlaneError('CONNECT_TIMEOUT', `no STUN answer from ${host}:${port}`));
      }, options.timeoutMs ?? 3_000);
      const onMessage = (data: Buffer): void => {
        const msg = parseStunMessage(data);
        if (msg === undefined || !msg.transactionId.equals(transactionId)) return;
        const value = msg.attributes.get(ATTR.XOR_MAPPED_ADDRESS);
        const mapped = value === undefined ? undefined : decodeXorAddress(value, transactionId);
        if (msg.type !== STUN_BINDING_SUCCESS || mapped === undefined) return;
        finish();
        resolve(mapped);
      };
      const onError = (err: Error): void => {
        finish();
        reject(new PeerlaneError('CONNECT_TIMEOUT', `STUN request failed: ${err.message}`));
      };
      const finish = (): void => {
        clearInterval(resend);
        clearTimeout(timer);
        socket.off('message', onMessage);
        socket.off('error', onError);
      };
      socket.on('message', onMessage);
      socket.on('error', onError);
      send();
    });
  } finally {
    if (ownSocket) socket.close();
  }
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

function fingerprint(bytesBefore: Buffer): number {
  // The length field must already count the FINGERPRINT attribute, as it does
  // in every message we encode or accept.
  return (crc32(bytesBefore) ^ FINGERPRINT_XOR) >>> 0;
}

function xorMask(transactionId: Buffer): Buffer {
  const mask = Buffer.alloc(16);
  mask.writeUInt32BE(STUN_MAGIC_COOKIE, 0);
  transactionId.copy(mask, 4);
  return mask;
}

function ipv4Bytes(address: string): Buffer {
  return Buffer.from(address.split('.').map((part) => Number(part)));
}
