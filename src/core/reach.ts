/**
 * How a direct path reaches the peer, in words a person knows: on the same
 * network, through a NAT, or across the internet between public addresses.
 * The ICE candidate types alone cannot say it: a peer-reflexive (prflx)
 * candidate is a NAT's mapping when its address is public, but on a LAN (or
 * loopback) it is just a host address whose candidate arrived after the first
 * connectivity check.
 */
import net from 'node:net';

export type Reach = 'same-network' | 'through-nat' | 'internet';

/** Addresses that are not routed on the internet: a peer there is on our network (or our VPN). */
const PRIVATE = new net.BlockList();
for (const [address, prefix] of [
  ['10.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['100.64.0.0', 10], // carrier-grade NAT space, also used by mesh VPNs
] as const) {
  PRIVATE.addSubnet(address, prefix, 'ipv4');
}
for (const [address, prefix] of [
  ['fc00::', 7],
  ['fe80::', 10],
  ['::1', 128],
] as const) {
  PRIVATE.addSubnet(address, prefix, 'ipv6');
}

export function isPrivateAddress(address: string): boolean {
  // An mDNS name (libjuice's obfuscated host candidates) resolves on the local link only.
  if (address.endsWith('.local')) return true;
  const family = net.isIP(address);
  if (family === 0) return false;
  return PRIVATE.check(address, family === 6 ? 'ipv6' : 'ipv4');
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
