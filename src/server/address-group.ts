/**
 * Which addresses the signal server counts as one, for every per-address limit
 * (connections, register/join buckets, waiting receivers, TURN credentials,
 * STUN answers).
 *
 * An IPv4 address is one subscriber at most. An IPv6 subscriber usually gets
 * a whole /64 (often a /56 or /48), so counting single IPv6 addresses would
 * give one host 2^64 fresh identities: IPv6 clients are grouped by their first
 * `prefixBits` bits (SIGNAL_IPV6_PREFIX, 64 by default).
 */
import net from 'node:net';

/** `::ffff:192.0.2.1` (an IPv4 client of a dual-stack socket) as `192.0.2.1`; anything else as it is. */
export function plainAddress(address: string): string {
  return address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
}

/** The key `address` is counted under: an IPv4 address itself, an IPv6 address's prefix (`2001:db8:0:1::/64`). */
export function addressGroup(address: string, prefixBits: number): string {
  const plain = plainAddress(address);
  if (!net.isIPv6(plain)) return plain;
  const bytes = ipv6Bytes(plain);
  for (let bit = prefixBits; bit < 128; bit++) {
    const i = bit >> 3;
    bytes[i] = (bytes[i] ?? 0) & ~(0x80 >> (bit & 7));
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  // Let node:net compress the zeros, so that equal prefixes always read the same.
  const masked = new net.SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
  return `${masked}/${prefixBits}`;
}

/** The 16 bytes of a textual IPv6 address (a trailing dotted quad included). */
export function ipv6Bytes(address: string): Buffer {
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  const text =
    quad === null
      ? address
      : `${address.slice(0, quad.index)}${hex16(quad[1], quad[2])}:${hex16(quad[3], quad[4])}`;
  const [head = '', tail] = text.split('::');
  const parse = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => Number.parseInt(g, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => {
    out.writeUInt16BE(g, i * 2);
  });
  return out;
}

function hex16(high: string | undefined, low: string | undefined): string {
  return ((Number(high) << 8) | Number(low)).toString(16);
}
