/**
 * The browser-safe sealing (core/secure/channel.ts on @noble/ciphers and
 * @noble/hashes) and the node:crypto AES-GCM the CLI gives it, against what
 * they replaced: the boxes and the short authentication string are byte for
 * byte what node:crypto gave, so a peer on this build pairs with one on the
 * last, and a browser with the CLI. Also the core's base64 against
 * Buffer's, and the unbiased draw of code words.
 */
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fromBase64, toBase64 } from '../../src/core/bytes.js';
import type { PeerlaneError } from '../../src/core/errors.js';
import type { Aead } from '../../src/core/secure/channel.js';
import { counterNonce, nobleAesGcm, SecureChannel, shortAuthString } from '../../src/core/secure/channel.js';
import { randomBelow } from '../../src/core/secure/code.js';
import { encodeSecureMessage, parseSecureMessage } from '../../src/core/secure/protocol.js';
import type { SignalPipe } from '../../src/core/signaling/pipe.js';
import { nodeAesGcm } from '../../src/secure/node-aead.js';

const KEY = Uint8Array.from({ length: 32 }, (_, i) => i + 1);

/** A SecureChannel over a pipe that records what it would send. */
function channel(aead: Aead): { ch: SecureChannel; sent: string[] } {
  const sent: string[] = [];
  const pipe: SignalPipe = { sendPayload: (p) => sent.push(p), onPayload: () => {}, onFailure: () => {} };
  return { ch: new SecureChannel(pipe, KEY, KEY, KEY, aead), sent };
}

/** The core's default, and what the CLI passes in. */
const AEADS: [string, Aead][] = [
  ['@noble/ciphers', nobleAesGcm],
  ['node:crypto', nodeAesGcm],
];

function boxOf(payload: string): Buffer {
  const msg = parseSecureMessage(payload);
  if (msg.kind !== 'sealed') throw new Error(`not sealed: ${payload}`);
  return Buffer.from(msg.box, 'base64');
}

function nodeSeal(plain: string, counter: bigint): string {
  const cipher = crypto.createCipheriv('aes-256-gcm', KEY, counterNonce(counter));
  const box = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return encodeSecureMessage({ kind: 'sealed', box: box.toString('base64') });
}

describe.each(AEADS)('sealing with %s, as node:crypto sealed', (_name, aead) => {
  it('gives the boxes the node:crypto build gave', () => {
    const { ch, sent } = channel(aead);
    ch.sendPayload('héllo');
    ch.sendPayload('second');
    // Recorded from the build that sealed with createCipheriv.
    expect(sent).toEqual([
      '{"kind":"sealed","box":"rrpyddE6TF+nOhgvpXAJSXkodECYsw=="}',
      '{"kind":"sealed","box":"362J08tkVm7kRaDV3KJ130jUiyDlyg=="}',
    ]);
  });

  it('opens what node:crypto seals, and node:crypto opens what it seals', () => {
    const { ch, sent } = channel(aead);
    const got: string[] = [];
    ch.onPayload((p) => got.push(p));
    const text = `{"kind":"offer","sdp":"${'v=0 ✓ '.repeat(200)}"}`;
    ch.receive(nodeSeal(text, 0n));
    ch.receive(nodeSeal('again', 1n));
    expect(got).toEqual([text, 'again']);

    ch.sendPayload(text);
    const box = boxOf(sent[0] ?? '');
    const decipher = crypto.createDecipheriv('aes-256-gcm', KEY, counterNonce(0n));
    decipher.setAuthTag(box.subarray(box.length - 16));
    const plain = Buffer.concat([decipher.update(box.subarray(0, box.length - 16)), decipher.final()]);
    expect(plain.toString('utf8')).toBe(text);
  });

  it.each([
    ['a flipped bit', (): string => nodeSeal('hello', 0n).replace('"box":"', '"box":"A')],
    ['a replayed counter', (): string => nodeSeal('hello', 7n)],
    ['a box shorter than its tag', (): string => encodeSecureMessage({ kind: 'sealed', box: 'AAAA' })],
    ['a message in the clear', (): string => encodeSecureMessage({ kind: 'refused' })],
  ])('fails with BAD_MESSAGE on %s', (_what, payload) => {
    const { ch } = channel(aead);
    const failures: PeerlaneError[] = [];
    const got: string[] = [];
    ch.onFailure((err) => failures.push(err));
    ch.onPayload((p) => got.push(p));
    ch.receive(payload());
    expect(failures.map((e) => e.code)).toEqual(['BAD_MESSAGE']);
    expect(got).toEqual([]);
  });

  it('puts the counter big-endian in the last 8 bytes of the nonce', () => {
    expect(counterNonce(0x0102n)).toEqual(Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2]));
    expect(counterNonce(2n ** 64n - 1n).subarray(4)).toEqual(new Uint8Array(8).fill(0xff));
  });

  it('derives the short authentication string the node:crypto build derived', () => {
    expect(shortAuthString(KEY, 'AA:BB:CC', 'dd:ee:ff')).toBe('confirm expire master sheriff');
  });
});

describe('bytes without Buffer', () => {
  it('base64 round-trips as Buffer encodes and decodes it, in both alphabets', () => {
    for (let length = 0; length < 70; length++) {
      const bytes = crypto.randomBytes(length);
      expect(toBase64(bytes)).toBe(bytes.toString('base64'));
      expect(fromBase64(bytes.toString('base64'))).toEqual(new Uint8Array(bytes));
      expect(fromBase64(bytes.toString('base64url'))).toEqual(new Uint8Array(bytes));
    }
    // Stray bits past the last whole byte are dropped, as Buffer drops them.
    expect(fromBase64('AB')).toEqual(new Uint8Array(Buffer.from('AB', 'base64')));
    expect(() => fromBase64('AB*C')).toThrow(expect.objectContaining({ code: 'BAD_MESSAGE' }));
  });
});

describe('randomBelow', () => {
  it('draws again rather than fold a draw past the last whole multiple', () => {
    // 2^32 % 3 = 1: 0xffffffff is the one draw of 2^32 that would favour 0.
    const draws = [
      [0xff, 0xff, 0xff, 0xff],
      [0, 0, 0, 5],
    ];
    let calls = 0;
    const source = (bytes: number): Uint8Array => {
      expect(bytes).toBe(4);
      return Uint8Array.from(draws[calls++] ?? []);
    };
    expect(randomBelow(3, source)).toBe(2);
    expect(calls).toBe(2);
  });

  it('covers every word of the list about evenly', () => {
    const counts = new Array<number>(2048).fill(0);
    for (let i = 0; i < 2048 * 50; i++) {
      const n = randomBelow(2048);
      counts[n] = (counts[n] ?? 0) + 1;
    }
    // Mean 50, sd ~7: a word outside 10..100 in a fair draw is a one-in-billions event.
    expect(Math.min(...counts)).toBeGreaterThan(10);
    expect(Math.max(...counts)).toBeLessThan(100);
  });
});
