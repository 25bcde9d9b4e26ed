import { describe, expect, it } from 'vitest';
import { addressGroup, ipv6Bytes, plainAddress } from '../../src/server/address-group.js';

describe('addressGroup', () => {
  it('keeps IPv4 addresses as they are, mapped ones included', () => {
    expect(addressGroup('192.0.2.7', 64)).toBe('192.0.2.7');
    expect(addressGroup('::ffff:192.0.2.7', 64)).toBe('192.0.2.7');
    expect(plainAddress('::FFFF:10.0.0.1')).toBe('10.0.0.1');
  });

  it('groups IPv6 addresses by their first prefix bits, however they are written', () => {
    const a = addressGroup('2001:db8:0:1::5', 64);
    expect(a).toBe('2001:db8:0:1::/64');
    expect(addressGroup('2001:0db8:0000:0001:ffff:ffff:ffff:ffff', 64)).toBe(a);
    expect(addressGroup('2001:db8:0:2::5', 64)).not.toBe(a);
    expect(addressGroup('2001:db8:0:2::5', 48)).toBe('2001:db8::/48');
    expect(addressGroup('2001:db8:0:1::5', 128)).toBe('2001:db8:0:1::5/128');
    expect(addressGroup('2001:db8:0:1:8000::', 65)).toBe('2001:db8:0:1:8000::/65');
    expect(addressGroup('::1', 64)).toBe('::/64');
  });

  it('reads a trailing dotted quad', () => {
    expect([...ipv6Bytes('64:ff9b::192.0.2.1').subarray(12)]).toEqual([192, 0, 2, 1]);
  });
});
