import { ristretto255 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { shortAuthString } from '../../src/secure/channel.js';
import { formatCode, generateSecret, parseCode } from '../../src/secure/code.js';
import type { CpaceParty } from '../../src/secure/cpace.js';
import { confirmationTag, lv, startCpace, tagsEqual } from '../../src/secure/cpace.js';

const CI = 'peerlane/1/nameplate=42';

function run(a: CpaceParty, b: CpaceParty) {
  const t = {
    shareA: a.share,
    adA: 'role=offerer;intent=send',
    shareB: b.share,
    adB: 'role=answerer;intent=receive',
  };
  return [a.finish(b.share, t), b.finish(a.share, t)] as const;
}

describe('CPace', () => {
  it('gives both sides the same keys for the same password', () => {
    const [ka, kb] = run(startCpace('orbit-lemon', CI), startCpace('orbit-lemon', CI));
    expect(ka.sealAB.equals(kb.sealAB)).toBe(true);
    expect(ka.sealBA.equals(kb.sealBA)).toBe(true);
    expect(ka.confirmA.equals(kb.confirmA)).toBe(true);
    expect(ka.sas.equals(kb.sas)).toBe(true);
    // Keys for different purposes differ.
    expect(ka.sealAB.equals(ka.sealBA)).toBe(false);
    expect(ka.confirmA.equals(ka.confirmB)).toBe(false);
  });

  it('gives different keys for a different password or channel', () => {
    const [ka, kb] = run(startCpace('orbit-lemon', CI), startCpace('orbit-lime', CI));
    expect(ka.sealAB.equals(kb.sealAB)).toBe(false);
    const tagA = confirmationTag(ka.confirmA, 'a', ka.transcriptHash);
    expect(tagsEqual(tagA, confirmationTag(kb.confirmA, 'a', kb.transcriptHash))).toBe(false);
    const [kc, kd] = run(startCpace('orbit-lemon', CI), startCpace('orbit-lemon', 'peerlane/1/nameplate=43'));
    expect(kc.sealAB.equals(kd.sealAB)).toBe(false);
  });

  it('uses a fresh share every run', () => {
    expect(startCpace('x-y', CI).share.equals(startCpace('x-y', CI).share)).toBe(false);
  });

  it('refuses invalid peer shares with BAD_CODE', () => {
    const a = startCpace('orbit-lemon', CI);
    const t = { shareA: a.share, adA: 'a', shareB: a.share, adB: 'b' };
    const identity = ristretto255.Point.ZERO.toBytes();
    for (const bad of [Buffer.alloc(31), Buffer.alloc(33), Buffer.from(identity), Buffer.alloc(32, 0xff)]) {
      expect(() => a.finish(bad, t)).toThrow(expect.objectContaining({ code: 'BAD_CODE' }));
    }
  });

  it('lv() is unambiguous', () => {
    expect(lv('ab', 'c').equals(lv('a', 'bc'))).toBe(false);
  });

  it('the short authentication string is symmetric and depends on the fingerprints', () => {
    const key = Buffer.alloc(32, 7);
    const s1 = shortAuthString(key, 'AA:BB', 'CC:DD');
    expect(s1).toBe(shortAuthString(key, 'cc:dd', 'aa:bb'));
    expect(s1.split(' ')).toHaveLength(4);
    expect(shortAuthString(key, 'AA:BB', 'CC:DE')).not.toBe(s1);
  });
});

describe('codes', () => {
  it('generates nameplate-word-word codes that parse back', () => {
    const secret = generateSecret();
    expect(secret).toMatch(/^[a-z]+-[a-z]+$/);
    expect(parseCode(formatCode({ nameplate: '42', secret }))).toEqual({ nameplate: '42', secret });
    expect(generateSecret(5).split('-')).toHaveLength(5);
  });

  it('normalises case and spacing', () => {
    expect(parseCode(' 42-Orbit lemon ')).toEqual({ nameplate: '42', secret: 'orbit-lemon' });
  });

  it.each([
    '',
    '42',
    '42-orbit',
    'x-orbit-lemon',
    '042-orbit-lemon',
    '42-orbit-lemonx',
    '1234567-orbit-lemon',
  ])('refuses %j with BAD_CODE', (text) => {
    expect(() => parseCode(text)).toThrow(expect.objectContaining({ code: 'BAD_CODE' }));
  });

  it('refuses a word count outside 2..8', () => {
    expect(() => generateSecret(1)).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
    expect(() => generateSecret(9)).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
  });
});
