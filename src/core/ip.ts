/**
 * IP address literals without node:net, for the browser-safe core: the same
 * answers as Node's `net.isIP` (test/unit/ip.test.ts checks them against it),
 * and the address's bytes for matching it against subnets.
 */

/** 0-255 in dotted decimal, without leading zeros (Node refuses those: some read them as octal). */
const V4_PART = /^(0|[1-9]\d{0,2})$/;
const V6_GROUP = /^[0-9a-fA-F]{1,4}$/;
/** What Node accepts after `%` in an IPv6 literal: a zone (interface) name or index. */
const ZONE = /^[0-9a-zA-Z.:-]+$/;
const V6_GROUPS = 8;

/** The 4 bytes of a dotted-decimal IPv4 literal, or undefined. */
function parseV4(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const bytes = parts.map((p) => (V4_PART.test(p) ? Number(p) : 256));
  return bytes.every((b) => b <= 255) ? bytes : undefined;
}

/** The 16-bit groups of a run of `a:b:c` (the last may be a dotted IPv4, two groups), or undefined. */
function parseGroups(run: string, mayEndInV4: boolean): number[] | undefined {
  if (run === '') return [];
  const groups: number[] = [];
  const parts = run.split(':');
  for (const [i, part] of parts.entries()) {
    if (V6_GROUP.test(part)) groups.push(Number.parseInt(part, 16));
    else if (mayEndInV4 && i === parts.length - 1) {
      const v4 = parseV4(part);
      if (v4 === undefined) return undefined;
      groups.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
    } else return undefined;
  }
  return groups;
}

/** The 16 bytes of an IPv6 literal (a zone, `%eth0`, allowed and ignored), or undefined. */
function parseV6(text: string): number[] | undefined {
  const percent = text.indexOf('%');
  if (percent !== -1 && !ZONE.test(text.slice(percent + 1))) return undefined;
  const address = percent === -1 ? text : text.slice(0, percent);
  const halves = address.split('::');
  if (halves.length > 2) return undefined;
  const [head = '', tail] = halves;
  const front = parseGroups(head, tail === undefined);
  const back = tail === undefined ? [] : parseGroups(tail, true);
  if (front === undefined || back === undefined) return undefined;
  const given = front.length + back.length;
  // Without `::` all eight groups are written; with it, `::` stands for at least one.
  if (tail === undefined ? given !== V6_GROUPS : given > V6_GROUPS - 1) return undefined;
  const groups = [...front, ...new Array<number>(V6_GROUPS - given).fill(0), ...back];
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

/** An IP literal's bytes: 4 for IPv4, 16 for IPv6; undefined if `text` is not one. */
export function ipBytes(text: string): Uint8Array | undefined {
  const bytes = text.includes(':') ? parseV6(text) : parseV4(text);
  return bytes === undefined ? undefined : Uint8Array.from(bytes);
}

/** 4 or 6 for an IPv4 or IPv6 literal, 0 for anything else (a name, garbage): as `net.isIP`. */
export function isIP(text: string): 0 | 4 | 6 {
  const bytes = ipBytes(text);
  if (bytes === undefined) return 0;
  return bytes.length === 4 ? 4 : 6;
}

/** A subnet: its address's bytes (4 or 16) and the prefix length in bits. */
export interface Subnet {
  bytes: Uint8Array;
  prefix: number;
}

/** `address/prefix` as a Subnet; throws on a malformed one (they are constants). */
export function subnet(address: string, prefix: number): Subnet {
  const bytes = ipBytes(address);
  if (bytes === undefined || prefix < 0 || prefix > bytes.length * 8)
    throw new Error(`bad subnet ${address}/${prefix}`);
  return { bytes, prefix };
}

/** Whether `bytes` (an address of the same family) lies in `net`. */
export function inSubnet(bytes: Uint8Array, net: Subnet): boolean {
  if (bytes.length !== net.bytes.length) return false;
  for (let bit = 0; bit < net.prefix; bit += 8) {
    const mask = (0xff << (8 - Math.min(8, net.prefix - bit))) & 0xff;
    const i = bit / 8;
    if (((bytes[i] ?? 0) & mask) !== ((net.bytes[i] ?? 0) & mask)) return false;
  }
  return true;
}
