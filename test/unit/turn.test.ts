import { describe, expect, it } from 'vitest';
import { describeIceFailure, Observed } from '../../src/rtc/failure.js';
import {
  parseIceServerList,
  parseIceServerUrl,
  restUsernameExpiry,
  selectIceServers,
  turnServersFor,
} from '../../src/rtc/ice-servers.js';
import { issueTurnCredentials, resolveTurnConfig, turnPassword } from '../../src/server/turn.js';
import { codeOf } from '../helpers.js';

describe('TURN REST credentials', () => {
  it('username is <expiry>:<id>, password base64(HMAC-SHA1(secret, username))', () => {
    // Cross-checked with Python: base64(hmac.new(b'north', b'1700003600:alice', sha1).digest())
    expect(turnPassword('north', '1700003600:alice')).toBe('wjwSXO2ch1B6VaLTLMy2Avn5O9o=');
    const creds = issueTurnCredentials('north', 3600, { id: 'alice', nowMs: 1_700_000_000_500 });
    expect(creds).toEqual({
      username: '1700003600:alice',
      password: 'wjwSXO2ch1B6VaLTLMy2Avn5O9o=',
      expiresAt: 1_700_003_600,
    });
  });

  it('gives every holder its own id', () => {
    const a = issueTurnCredentials('s', 60);
    const b = issueTurnCredentials('s', 60);
    expect(a.username).not.toBe(b.username);
    expect(restUsernameExpiry(a.username)).toBe(a.expiresAt);
    expect(restUsernameExpiry('alice')).toBeUndefined();
  });

  it('attaches credentials to each URL in object form', () => {
    expect(
      turnServersFor(['turn:203.0.113.5:3478', 'turn:turn.example.org'], {
        username: 'u:1',
        password: 'p+/=',
      }),
    ).toEqual([
      { hostname: '203.0.113.5', port: 3478, username: 'u:1', password: 'p+/=', relayType: 'TurnUdp' },
      { hostname: 'turn.example.org', port: 3478, username: 'u:1', password: 'p+/=', relayType: 'TurnUdp' },
    ]);
  });

  it('takes turns: and ?transport=tcp URLs for browsers, and leaves them out of what a peer here uses', () => {
    const urls = 'turn:t:3478, turns:t.example.org:5349, turn:t:3478?transport=tcp';
    expect(resolveTurnConfig({ urls, secret: 's' })?.urls).toEqual([
      'turn:t:3478',
      'turns:t.example.org:5349',
      'turn:t:3478?transport=tcp',
    ]);
    expect(turnServersFor(urls.split(', '), { username: 'u', password: 'p' })).toEqual([
      { hostname: 't', port: 3478, username: 'u', password: 'p', relayType: 'TurnUdp' },
    ]);
    // Still refused where a peer here would have to use one itself.
    expect(codeOf(() => parseIceServerUrl('turns:u:p@t.example.org:5349'))).toBe('BAD_CONFIG');
  });

  it('resolves TURN_URLS, TURN_SECRET and TURN_TTL', () => {
    expect(resolveTurnConfig({})).toBeUndefined();
    expect(resolveTurnConfig({ urls: '', secret: '' })).toBeUndefined();
    expect(resolveTurnConfig({ urls: 'turn:t:3478', secret: 's' })).toEqual({
      urls: ['turn:t:3478'],
      secret: 's',
      ttlSeconds: 600, // minutes, not an hour: see DEFAULT_TURN_TTL_SECONDS
    });
    expect(resolveTurnConfig({ urls: 'turn:t:3478, turn:u', secret: 's', ttl: '60' })?.ttlSeconds).toBe(60);
    for (const bad of [
      { urls: 'turn:t', secret: '' },
      { urls: '', secret: 's' },
      { urls: 'turn:t', secret: 's', ttl: '0' },
      { urls: 'turn:t', secret: 's', ttl: '1.5' },
      { urls: 'turn:t', secret: 's', ttl: '86401' },
      { urls: 'turn:user:pw@t', secret: 's' },
      { urls: 'turns:user:pw@t:5349', secret: 's' },
      { urls: 'turns:t:5349?x', secret: 's' },
      { urls: 'stun:t', secret: 's' },
    ]) {
      expect(codeOf(() => resolveTurnConfig(bad))).toBe('BAD_CONFIG');
    }
  });
});

describe('ICE server URLs', () => {
  it('keeps stun: as a URL and turns turn: into the object form', () => {
    expect(parseIceServerUrl('stun:stun.example.org')).toBe('stun:stun.example.org:3478');
    expect(parseIceServerUrl('stun:[2001:db8::1]:3479')).toBe('stun:[2001:db8::1]:3479');
    expect(parseIceServerUrl('turn:alice:secret@turn.example.org:3478?transport=udp')).toEqual({
      hostname: 'turn.example.org',
      port: 3478,
      username: 'alice',
      password: 'secret',
      relayType: 'TurnUdp',
    });
  });

  it('percent-decodes REST credentials exactly once', () => {
    // A REST username holds a colon, a base64 password + / =; in a URL they are percent-encoded.
    const url = 'turn:1700003600%3Aalice:wjwSXO2ch1B6VaLTLMy2Avn5O9o%3D@203.0.113.5:3478';
    expect(parseIceServerUrl(url)).toMatchObject({
      username: '1700003600:alice',
      password: 'wjwSXO2ch1B6VaLTLMy2Avn5O9o=',
      hostname: '203.0.113.5',
    });
    expect(parseIceServerUrl('turn:u:p%40ss%2Bw@h')).toMatchObject({ username: 'u', password: 'p@ss+w' });
  });

  it('refuses what libjuice cannot use, or what is malformed', () => {
    for (const bad of [
      'turn:host:3478',
      'turns:u:p@host:5349',
      'turn:u:p@host:3478?transport=tcp',
      'stun:u:p@host',
      'stun:host:0',
      'stun:host:99999',
      'turn:u:%ZZ@host',
      'http://host',
    ]) {
      expect(
        codeOf(() => parseIceServerUrl(bad)),
        bad,
      ).toBe('BAD_CONFIG');
    }
  });

  it('hides the password in error messages', () => {
    try {
      parseIceServerUrl('turns:alice:hunter2@host');
    } catch (err) {
      expect(String(err)).not.toContain('hunter2');
    }
  });

  it('parses a list, and none', () => {
    expect(parseIceServerList('stun:a, turn:u:p@b')).toEqual([
      'stun:a:3478',
      { hostname: 'b', port: 3478, username: 'u', password: 'p', relayType: 'TurnUdp' },
    ]);
    expect(parseIceServerList('none')).toEqual([]);
    expect(parseIceServerList('')).toEqual([]);
  });

  it('selects auto, none or a list', () => {
    expect(selectIceServers(undefined, undefined)).toEqual({ mode: 'auto' });
    expect(selectIceServers(undefined, '')).toEqual({ mode: 'auto' });
    expect(selectIceServers(undefined, '  ')).toEqual({ mode: 'auto' });
    expect(selectIceServers('', 'stun:a')).toEqual({ mode: 'none' });
    expect(selectIceServers('none', undefined)).toEqual({ mode: 'none' });
    expect(selectIceServers(undefined, 'none')).toEqual({ mode: 'none' });
    expect(selectIceServers(undefined, 'stun:a')).toEqual({ mode: 'list', servers: ['stun:a:3478'] });
    expect(selectIceServers('stun:b', 'stun:a')).toEqual({ mode: 'list', servers: ['stun:b:3478'] });
  });
});

/** An observation with these candidate types gathered here and received from the peer. */
function saw(local: string[], remote: string[], log: string[] = []): Observed {
  const seen = new Observed();
  for (const t of local) seen.local.add(t);
  for (const t of remote) seen.remote.add(t);
  for (const line of log) seen.noteLog(line);
  return seen;
}

describe('ICE_FAILED message', () => {
  const base = { timeoutMs: 10_000 };
  it('says what was tried, and concludes NAT only where both sides learned a public address', () => {
    const msg = describeIceFailure(
      { ...base, iceServers: ['stun:s:3478'] },
      saw(['host', 'srflx'], ['srflx', 'host']),
    );
    expect(msg).toContain('within 10 s');
    expect(msg).toContain('STUN stun:s:3478 and TURN none');
    expect(msg).toContain('candidates gathered here: host, srflx; received from the peer: host, srflx');
    expect(msg).toContain('both sides are behind NATs');
    expect(msg).toContain('at least one NAT');
    expect(msg).toContain('TURN_URLS and TURN_SECRET');
  });

  it('does not claim NATs on a plain link, nor "both sides" when only one learned a public address', () => {
    const plain = describeIceFailure({ ...base, iceServers: [] }, saw(['host'], ['host']));
    expect(plain).not.toMatch(/NATs|symmetric/);
    expect(plain).toContain("no STUN server was set, so only the peers' local addresses were tried");
    const one = describeIceFailure(
      { ...base, iceServers: ['stun:s:3478'] },
      saw(['host', 'srflx'], ['host']),
    );
    expect(one).not.toContain('both sides');
    expect(one).toContain('only this side learned a public address from STUN; the peer got no STUN answer');
  });

  it('after an outage, says the path that worked no longer answers instead of blaming NAT', () => {
    const msg = describeIceFailure(
      { ...base, iceServers: [], previousPath: { path: 'direct', local: 'host', remote: 'host' } },
      saw(['host'], ['host']),
    );
    expect(msg).toContain('a host ↔ host path worked earlier in this session and no longer answers');
    expect(msg).not.toMatch(/NAT|symmetric|TURN_URLS/);
  });

  it('tells --direct-only to go', () => {
    const msg = describeIceFailure({ ...base, iceServers: [], directOnly: true }, saw(['host'], []));
    expect(msg).toContain('TURN off (--direct-only)');
    expect(msg).toContain('run without --direct-only');
    expect(msg).toContain('received from the peer: none');
    expect(msg).toContain('the peer sent no candidates');
  });

  it('names expired REST credentials, and a TURN server that refused them', () => {
    const turn = {
      hostname: 't',
      port: 3478,
      username: '1700000000:x',
      password: 'p',
      relayType: 'TurnUdp' as const,
    };
    const msg = describeIceFailure(
      { ...base, iceServers: [turn] },
      saw(
        ['host', 'srflx'],
        ['srflx'],
        ['rtc::impl::IceTransport::LogCallback@391: juice: TURN authentication failed'],
      ),
      1_700_000_100_000,
    );
    expect(msg).toContain('the TURN server gave no relay address');
    expect(msg).toContain('the TURN server refused the credentials (TURN authentication failed)');
    expect(msg).toContain('the credentials for t:3478 expired 100 s ago');
  });
});
