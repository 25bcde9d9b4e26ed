/** X-Forwarded-For, believed only from the proxies the operator names (server/web/forwarded.ts). */
import type http from 'node:http';
import { describe, expect, it } from 'vitest';
import { parseTrustedProxies, TrustedProxies } from '../../src/server/web/forwarded.js';

const request = (xff?: string | string[]): http.IncomingMessage =>
  ({ headers: xff === undefined ? {} : { 'x-forwarded-for': xff } }) as unknown as http.IncomingMessage;

describe('forwarded clients', () => {
  const proxies = new TrustedProxies(parseTrustedProxies('127.0.0.1, ::1'));

  it('takes the rightmost address the trusted proxy did not add itself', () => {
    expect(proxies.clientOf(request('203.0.113.7'), '127.0.0.1')).toBe('203.0.113.7');
    // A client's own header in front is not believed: the proxy appends what it saw.
    expect(proxies.clientOf(request('10.9.9.9, 203.0.113.7'), '::ffff:127.0.0.1')).toBe('203.0.113.7');
    expect(proxies.clientOf(request('203.0.113.7, 127.0.0.1'), '::1')).toBe('203.0.113.7');
    expect(proxies.clientOf(request(['198.51.100.1', '203.0.113.9']), '127.0.0.1')).toBe('203.0.113.9');
    expect(proxies.clientOf(request('2001:db8::5'), '127.0.0.1')).toBe('2001:db8::5');
  });

  it('believes no header from anyone else, nor one it cannot read', () => {
    expect(proxies.clientOf(request('203.0.113.7'), '198.51.100.20')).toBe('198.51.100.20');
    expect(new TrustedProxies().clientOf(request('203.0.113.7'), '127.0.0.1')).toBe('127.0.0.1');
    expect(proxies.clientOf(request(), '127.0.0.1')).toBe('127.0.0.1');
    expect(proxies.clientOf(request('203.0.113.7, unknown'), '127.0.0.1')).toBe('127.0.0.1');
    expect(proxies.clientOf(request('127.0.0.1'), '127.0.0.1')).toBe('127.0.0.1');
  });

  it('refuses a setting that is not a list of IP addresses', () => {
    expect(parseTrustedProxies('')).toEqual([]);
    expect(parseTrustedProxies(undefined)).toEqual([]);
    expect(() => parseTrustedProxies('127.0.0.1, proxy.local')).toThrow(
      expect.objectContaining({ code: 'BAD_CONFIG' }),
    );
  });
});
