/**
 * How a direct path reaches the peer, in words a person knows: on the same
 * network, through a NAT, or across the internet between public addresses.
 * The ICE candidate types alone cannot say it: a peer-reflexive (prflx)
 * candidate is a NAT's mapping when its address is public, but on a LAN (or
 * loopback) it is just a host address whose candidate arrived after the first
 * connectivity check.
 */
import type { Subnet } from './ip.js';
import { inSubnet, ipBytes, subnet } from './ip.js';

export type Reach = 'same-network' | 'through-nat' | 'internet';

/** Addresses that are not routed on the internet: a peer there is on our network (or our VPN). */
const PRIVATE: Subnet[] = [
  subnet('10.0.0.0', 8),
  subnet('172.16.0.0', 12),
  subnet('192.168.0.0', 16),
  subnet('127.0.0.0', 8),
  subnet('169.254.0.0', 16),
  subnet('100.64.0.0', 10), // carrier-grade NAT space, also used by mesh VPNs
  subnet('fc00::', 7),
  subnet('fe80::', 10),
  subnet('::1', 128),
];

/** ::ffff:a.b.c.d is an IPv4 address as an IPv6 socket sees it: judged as the IPv4 one. */
const V4_MAPPED = subnet('::ffff:0.0.0.0', 96);

export function isPrivateAddress(address: string): boolean {
  // An mDNS name (libjuice's obfuscated host candidates) resolves on the local link only.
  if (address.endsWith('.local')) return true;
  let bytes = ipBytes(address);
  if (bytes === undefined) return false;
  if (inSubnet(bytes, V4_MAPPED)) bytes = bytes.subarray(12);
  const ip = bytes;
  return PRIVATE.some((net) => inSubnet(ip, net));
}

interface Candidate {
  type: string;
  address: string;
}

/** A direct pair's reach: through a NAT if either side's address is a mapping. */
export function directReach(local: Candidate, remote: Candidate): Reach {
  const mapped = (c: Candidate): boolean =>
    c.type === 'srflx' || (c.type === 'prflx' && !isPrivateAddress(c.address));
  if (mapped(local) || mapped(remote)) return 'through-nat';
  return isPrivateAddress(remote.address) ? 'same-network' : 'internet';
}
