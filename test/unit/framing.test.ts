import { describe, expect, it } from 'vitest';
import { LineDecoder } from '../../src/core/signaling/framing.js';
import { prng } from '../../src/testing/prng.js';
import { codeOf } from '../helpers.js';

/** Feed `chunks` in order and collect every line produced. */
function decodeAll(decoder: LineDecoder, chunks: Buffer[]): string[] {
  return chunks.flatMap((chunk) => decoder.push(chunk));
}

const LINES = ['{"v":1,"type":"register"}', '', 'héllo wörld — ✓ 🚀', 'x'.repeat(300), 'last'];
const INPUT = Buffer.from(`${LINES.join('\n')}\n`, 'utf8');

describe('LineDecoder', () => {
  it('returns every line of a single chunk, without newlines', () => {
    expect(new LineDecoder(1024).push(INPUT)).toEqual(LINES);
  });

  it('keeps an unterminated tail until its newline arrives', () => {
    const decoder = new LineDecoder(1024);
    expect(decoder.push(Buffer.from('one\ntw'))).toEqual(['one']);
    expect(decoder.push(Buffer.from('o'))).toEqual([]);
    expect(decoder.push(Buffer.from('\n'))).toEqual(['two']);
    expect(decoder.push(Buffer.alloc(0))).toEqual([]);
  });

  it('splits lines fed one byte at a time', () => {
    const decoder = new LineDecoder(1024);
    const chunks = [...INPUT].map((byte) => Buffer.from([byte]));
    expect(decodeAll(decoder, chunks)).toEqual(LINES);
  });

  it('splits lines fed in random chunks', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const random = prng(seed);
      const chunks: Buffer[] = [];
      for (let at = 0; at < INPUT.length; ) {
        const size = 1 + Math.floor(random() * 40);
        chunks.push(INPUT.subarray(at, at + size));
        at += size;
      }
      expect(decodeAll(new LineDecoder(1024), chunks), `seed ${seed}`).toEqual(LINES);
    }
  });

  it('reassembles a multi-byte character split at every byte within it', () => {
    const text = 'a🚀b€c';
    const bytes = Buffer.from(`${text}\n`, 'utf8');
    for (let cut = 1; cut < bytes.length; cut++) {
      const decoder = new LineDecoder(64);
      expect(decoder.push(bytes.subarray(0, cut))).toEqual([]);
      expect(decoder.push(bytes.subarray(cut)), `cut at ${cut}`).toEqual([text]);
    }
    // The rocket is four bytes; feed each on its own.
    const decoder = new LineDecoder(64);
    expect(
      decodeAll(
        decoder,
        [...bytes].map((b) => Buffer.from([b])),
      ),
    ).toEqual([text]);
  });

  it('allows a line of exactly the limit, terminated or not', () => {
    const decoder = new LineDecoder(8);
    expect(decoder.push(Buffer.from('12345678'))).toEqual([]);
    expect(decoder.push(Buffer.from('\nabcdefgh\n'))).toEqual(['12345678', 'abcdefgh']);
  });

  it('refuses an unterminated line past the limit with MESSAGE_TOO_LARGE', () => {
    const decoder = new LineDecoder(8);
    expect(codeOf(() => decoder.push(Buffer.from('123456789')))).toBe('MESSAGE_TOO_LARGE');
  });

  it('refuses an unterminated line that grows past the limit across chunks', () => {
    const decoder = new LineDecoder(8);
    expect(decoder.push(Buffer.from('ok\n12345'))).toEqual(['ok']);
    expect(decoder.push(Buffer.from('678'))).toEqual([]);
    expect(codeOf(() => decoder.push(Buffer.from('9')))).toBe('MESSAGE_TOO_LARGE');
  });

  it('refuses a terminated line past the limit with MESSAGE_TOO_LARGE', () => {
    expect(codeOf(() => new LineDecoder(8).push(Buffer.from('123456789\n')))).toBe('MESSAGE_TOO_LARGE');
    const decoder = new LineDecoder(8);
    expect(decoder.push(Buffer.from('1234'))).toEqual([]);
    expect(codeOf(() => decoder.push(Buffer.from('56789\n')))).toBe('MESSAGE_TOO_LARGE');
  });

  it('counts the limit in bytes, not characters', () => {
    // Three characters, nine bytes.
    expect(codeOf(() => new LineDecoder(8).push(Buffer.from('€€€\n', 'utf8')))).toBe('MESSAGE_TOO_LARGE');
    expect(new LineDecoder(9).push(Buffer.from('€€€\n', 'utf8'))).toEqual(['€€€']);
  });

  it('decodes as Buffer did: U+FFFD for malformed bytes, a byte order mark kept', () => {
    const odd = Uint8Array.from([0xef, 0xbb, 0xbf, 0x7b, 0xff, 0xc3, 0x7d, 0x0a]);
    expect(new LineDecoder(64).push(odd)).toEqual([Buffer.from(odd.subarray(0, -1)).toString('utf8')]);
    expect(new LineDecoder(64).push(odd)).toEqual(['\ufeff{\ufffd\ufffd}']);
  });

  it('takes plain Uint8Arrays as well as Buffers, split anywhere', () => {
    const decoder = new LineDecoder(1024);
    const bytes = new Uint8Array(INPUT);
    expect([...decoder.push(bytes.subarray(0, 30)), ...decoder.push(bytes.subarray(30))]).toEqual(LINES);
  });
});
