/** The one "JSON, and an object" step every parser of received JSON starts with, and UTF-8 byte counts. */
import { describe, expect, it } from 'vitest';
import { utf8Length } from '../../src/core/bytes.js';
import { parseJsonObject } from '../../src/core/json.js';

describe('parseJsonObject', () => {
  it('parses a JSON string, and takes a value already parsed as it is', () => {
    expect(parseJsonObject('{"a":1,"b":[true]}')).toEqual({ a: 1, b: [true] });
    const parsed = { kind: 'x' };
    expect(parseJsonObject(parsed)).toBe(parsed);
  });

  it.each([
    ['invalid JSON', '{"a":', /^message is not valid JSON$/],
    ['an empty string', '', /^message is not valid JSON$/],
    ['an array', '[{"a":1}]', /^message is not a JSON object$/],
    ['null', 'null', /^message is not a JSON object$/],
    ['a number', '42', /^message is not a JSON object$/],
    ['a JSON string', '"{}"', /^message is not a JSON object$/],
    ['a parsed array', [1], /^message is not a JSON object$/],
    ['undefined', undefined, /^message is not a JSON object$/],
  ])('refuses %s with BAD_MESSAGE by default', (_label, raw, message) => {
    expect(() => parseJsonObject(raw)).toThrow(
      expect.objectContaining({ code: 'BAD_MESSAGE', message: expect.stringMatching(message) }),
    );
  });

  it('throws the code and names the thing it was given', () => {
    expect(() => parseJsonObject('[]', 'BAD_FRAME', 'control frame')).toThrow(
      expect.objectContaining({ code: 'BAD_FRAME', message: 'control frame is not a JSON object' }),
    );
    expect(() => parseJsonObject('{', 'INTERNAL', 'waiter record')).toThrow(
      expect.objectContaining({ code: 'INTERNAL', message: 'waiter record is not valid JSON' }),
    );
  });
});

describe('utf8Length', () => {
  it.each([
    '',
    'plain ascii',
    'é',
    '\u07ff\u0800',
    '€ and ☃',
    '😀 a pair',
    'lone \ud800 high',
    'lone \udc00 low',
    'reversed \udc00\ud800',
    'end \ud83d',
    `${'x'.repeat(1000)}😀é`,
  ])('counts %j as Node does', (text) => {
    expect(utf8Length(text)).toBe(Buffer.byteLength(text, 'utf8'));
  });
});
