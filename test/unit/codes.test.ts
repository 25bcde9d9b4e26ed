import { describe, expect, it } from 'vitest';
import { generateCode } from '../../src/signaling/codes.js';
import { isValidCode } from '../../src/signaling/protocol.js';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

describe('generateCode', () => {
  it('is three hyphen-joined groups of four symbols from the alphabet', () => {
    for (let i = 0; i < 200; i++) {
      const code = generateCode();
      expect(code).toMatch(/^[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}$/);
      const groups = code.split('-');
      expect(groups).toHaveLength(3);
      for (const group of groups) {
        expect(group).toHaveLength(4);
        for (const ch of group) expect(ALPHABET).toContain(ch);
      }
      expect(isValidCode(code)).toBe(true);
    }
  });

  it('never uses the look-alikes i, l, o or u', () => {
    const all = Array.from({ length: 500 }, () => generateCode()).join('');
    expect(all).not.toMatch(/[ilou]/);
  });

  it('gives 1000 distinct codes', () => {
    const codes = new Set(Array.from({ length: 1000 }, () => generateCode()));
    expect(codes.size).toBe(1000);
  });

  it('uses the whole alphabet', () => {
    const seen = new Set(
      Array.from({ length: 500 }, () => generateCode())
        .join('')
        .replaceAll('-', ''),
    );
    // 6000 draws from 32 symbols: missing one has probability ~32 * (31/32)^6000, effectively zero.
    expect([...seen].sort().join('')).toBe(ALPHABET);
  });
});
