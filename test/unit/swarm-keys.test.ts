/**
 * The swarm's keys (core/swarm/keys.ts): fixed vectors, computed once with
 * node:crypto's own SHA-256 and HKDF (an implementation independent of the
 * @noble one the core uses), and the properties the connector relies on.
 */
import { createHash, hkdfSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { attemptLinkKey, memberLinkKey, pipeKeys, swarmId, swarmSealKey } from '../../src/core/swarm/keys.js';

const SECRET = Uint8Array.from(Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex'));
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('swarm keys', () => {
  it('match fixed vectors', () => {
    expect(swarmId(SECRET)).toBe('c0bd96392e7c40ff4b069c286403d70e9486762d5ac83e084e6be97c3a2eb993');
    expect(hex(swarmSealKey(SECRET))).toBe(
      'ed1f26d61ae3bd570fd7f7678152f78bbffddb441d32526f600abceda840bbb3',
    );
    expect(hex(memberLinkKey(SECRET, 'BBBB', 'AAAA'))).toBe(
      '9b36c31f4e73644453dae18711031e3c9e4ff2cb8a1c09bdf92a0aa0983cfd01',
    );
  });

  it('agree with node:crypto for any secret', () => {
    for (let i = 0; i < 20; i++) {
      const secret = Uint8Array.from(createHash('md5').update(String(i)).digest());
      const id = createHash('sha256').update('peerlane swarm id').update(secret).digest('hex');
      expect(swarmId(secret)).toBe(id);
      const seal = hkdfSync('sha256', secret, Buffer.alloc(0), 'peerlane swarm seal', 32);
      expect(hex(swarmSealKey(secret))).toBe(Buffer.from(seal).toString('hex'));
    }
  });

  it('give both members of a pair the same link key, and other pairs other keys', () => {
    expect(memberLinkKey(SECRET, 'a', 'b')).toEqual(memberLinkKey(SECRET, 'b', 'a'));
    expect(memberLinkKey(SECRET, 'a', 'b')).not.toEqual(memberLinkKey(SECRET, 'a', 'c'));
    const other = SECRET.slice();
    other[0] = 1;
    expect(memberLinkKey(other, 'a', 'b')).not.toEqual(memberLinkKey(SECRET, 'a', 'b'));
  });

  it('give each link attempt of a pair its own key, from the pair’s', () => {
    const pair = memberLinkKey(SECRET, 'a', 'b');
    const expected = hkdfSync('sha256', pair, Buffer.from('attempt-1'), 'peerlane swarm link attempt', 32);
    expect(hex(attemptLinkKey(SECRET, 'b', 'a', 'attempt-1'))).toBe(Buffer.from(expected).toString('hex'));
    expect(attemptLinkKey(SECRET, 'a', 'b', 'attempt-2')).not.toEqual(
      attemptLinkKey(SECRET, 'a', 'b', 'attempt-1'),
    );
  });

  it('give each direction, attempt and dialer its own pipe keys, mirrored between the two sides', () => {
    const seal = swarmSealKey(SECRET);
    const mine = pipeKeys(seal, 'attempt-1', { me: 'a', them: 'b', dialer: 'a' });
    const theirs = pipeKeys(seal, 'attempt-1', { me: 'b', them: 'a', dialer: 'a' });
    expect(mine.seal).toEqual(theirs.open);
    expect(mine.open).toEqual(theirs.seal);
    expect(mine.seal).not.toEqual(mine.open);
    expect(pipeKeys(seal, 'attempt-2', { me: 'a', them: 'b', dialer: 'a' }).seal).not.toEqual(mine.seal);
    // b's answer, taken by a as if b had dialed, does not open.
    expect(pipeKeys(seal, 'attempt-1', { me: 'a', them: 'b', dialer: 'b' }).open).not.toEqual(theirs.seal);
  });

  it('refuse a secret of the wrong size', () => {
    expect(() => swarmId(new Uint8Array(15))).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
    expect(() => swarmSealKey(new Uint8Array(32))).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
  });
});
