/**
 * The core's IP parsing (core/ip.ts) against Node's, which it replaces in
 * the browser-safe code: the same family for every literal, and the same
 * private/public verdict (core/reach.ts) as net.BlockList over the same subnets.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { inSubnet, ipBytes, isIP, subnet } from '../../src/core/ip.js';
import { isPrivateAddress } from '../../src/core/reach.js';
import { prng } from '../../src/testing/prng.js';

const CORPUS = [
  ...['0.0.0.0', '1.1.1.1', '255.255.255.255', '192.168.1.20', '100.64.0.1', '100.128.0.1', '172.31.255.255'],
  ...['172.32.0.1', '169.254.1.1', '127.0.0.1', '8.8.8.8', '10.255.255.255', '11.0.0.0'],
  ...['01.1.1.1', '256.1.1.1', '1.1.1', '1.1.1.1.1', '0x1.1.1.1', ' 1.1.1.1', '1.1.1.1 ', '1..1.1', ''],
  ...[
    '::',
    '::1',
    '::2',
    '0::',
    '::0:0:0:0:0:0:0',
    '::0:0:0:0:0:0:0:0',
    '1:2:3:4:5:6:7:8',
    '1:2:3:4:5:6:7:8:9',
  ],
  ...[
    '1:2:3:4:5:6:7::',
    '::2:3:4:5:6:7:8',
    '1::2::3',
    '1:::2',
    ':1::',
    '1::2:',
    '12345::',
    '00000::1',
    'g::1',
  ],
  ...['FE80::1', 'fe80::1%eth0', 'fe80::1%', 'fe80::1%eth0%x', 'fe80::%eth0', '::1%1', 'febf::1', 'fec0::1'],
  ...['fc00::1', 'fd12:3456::1', 'fbff::1', '2001:db8::1', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
  ...['::ffff:10.1.2.3', '::ffff:a01:203', '::ffff:8.8.8.8', '::ffff:1.1.1.01', '::1.2.3.4', '1.2.3.4::'],
  ...['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:7:1.2.3.4', '::ffff:127.0.0.1%lo', '10.0.0.1%eth0', 'localhost'],
  ...['example.com', 'host.local', '1.1.1.1%a:b', '::ffff:0:10.0.0.1', '::ffff:ffff:10.0.0.1'],
];

/** Near-misses as well as literals: joins of pieces that each parser may take or refuse. */
function generated(count: number): string[] {
  const pieces = [
    '1',
    '0',
    'ffff',
    'fe80',
    'fc00',
    'abcd',
    '00000',
    'g',
    '10.0.0.1',
    '256.0.0.1',
    '01.2.3.4',
  ];
  const seps = [':', '::', '.', ':', ':'];
  const random = prng(17);
  const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)] as T;
  return Array.from({ length: count }, () => {
    let text = random() < 0.2 ? '::' : '';
    const n = 1 + Math.floor(random() * 9);
    for (let i = 0; i < n; i++) text += (i > 0 ? pick(seps) : '') + pick(pieces);
    if (random() < 0.1) text += '::';
    if (random() < 0.1) text += '%eth0';
    return text;
  });
}

const PRIVATE = new net.BlockList();
for (const [address, prefix] of [
  ['10.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['100.64.0.0', 10],
] as const)
  PRIVATE.addSubnet(address, prefix, 'ipv4');
for (const [address, prefix] of [
  ['fc00::', 7],
  ['fe80::', 10],
  ['::1', 128],
] as const)
  PRIVATE.addSubnet(address, prefix, 'ipv6');

/** What reach.ts answered when it used net.BlockList. */
function nodePrivate(address: string): boolean {
  if (address.endsWith('.local')) return true;
  const family = net.isIP(address);
  if (family === 0) return false;
  return PRIVATE.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

describe('isIP', () => {
  it('answers as net.isIP on literals and near-misses', () => {
    const cases = [...CORPUS, ...generated(3000)];
    const differ = cases.filter((c) => isIP(c) !== net.isIP(c));
    expect(differ).toEqual([]);
    // The generated cases are not all refused (or all taken): the comparison has teeth.
    const families = new Set(cases.map((c) => net.isIP(c)));
    expect([...families].sort()).toEqual([0, 4, 6]);
  });

  it('gives the bytes of each family', () => {
    expect(ipBytes('192.168.1.20')).toEqual(Uint8Array.from([192, 168, 1, 20]));
    expect(ipBytes('fe80::1:2')).toEqual(Uint8Array.from([0xfe, 0x80, ...new Array(10).fill(0), 0, 1, 0, 2]));
    expect(ipBytes('::ffff:10.1.2.3')?.subarray(10)).toEqual(Uint8Array.from([0xff, 0xff, 10, 1, 2, 3]));
  });
});

describe('subnets', () => {
  it('match on the prefix, bits and all', () => {
    const cgnat = subnet('100.64.0.0', 10);
    expect(inSubnet(ipBytes('100.127.255.255') as Uint8Array, cgnat)).toBe(true);
    expect(inSubnet(ipBytes('100.128.0.0') as Uint8Array, cgnat)).toBe(false);
    expect(inSubnet(ipBytes('::1') as Uint8Array, cgnat)).toBe(false);
    expect(() => subnet('10.0.0.0', 33)).toThrow();
  });
});

describe('isPrivateAddress', () => {
  it('answers as net.BlockList over the same subnets', () => {
    const cases = [...CORPUS, ...generated(3000)];
    const differ = cases.filter((c) => isPrivateAddress(c) !== nodePrivate(c));
    expect(differ).toEqual([]);
    expect(cases.filter((c) => nodePrivate(c)).length).toBeGreaterThan(20);
  });
});
