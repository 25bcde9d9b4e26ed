/** What the shared store gives back is parsed, never cast: a malformed record is INTERNAL, named. */
import { describe, expect, it } from 'vitest';
import { parseNameEntry, parseWaiter } from '../../src/server/records.js';

const internal = (message: RegExp) =>
  expect.objectContaining({ code: 'INTERNAL', message: expect.stringMatching(message) });

describe('parseWaiter', () => {
  it('takes a waiter as RedisState writes it, with or without a reclaim token', () => {
    const waiter = { instance: '0f1e2d3c4b5a6978', client: 7, resume: 'a'.repeat(22) };
    expect(parseWaiter(JSON.stringify(waiter))).toEqual(waiter);
    expect(parseWaiter(JSON.stringify({ instance: 'i', client: 1, resume: undefined }))).toEqual({
      instance: 'i',
      client: 1,
    });
    expect(parseWaiter({ instance: 'i', client: 3 })).toEqual({ instance: 'i', client: 3 });
  });

  it('keeps nothing but its fields', () => {
    expect(parseWaiter('{"instance":"i","client":2,"extra":{"x":1}}')).toEqual({ instance: 'i', client: 2 });
  });

  it.each([
    ['not JSON', '{"instance":', /waiter record is not valid JSON/],
    ['an array', '[1,2]', /waiter record is not a JSON object/],
    ['null', 'null', /not a JSON object/],
    ['no instance', '{"client":1}', /waiter with a bad "instance"/],
    ['an empty instance', '{"instance":"","client":1}', /"instance"/],
    ['a numeric instance', '{"instance":5,"client":1}', /"instance"/],
    ['a string client', '{"instance":"i","client":"1"}', /waiter with a bad "client"/],
    ['a fractional client', '{"instance":"i","client":1.5}', /"client"/],
    ['a negative client', '{"instance":"i","client":-1}', /"client"/],
    ['a huge client', `{"instance":"i","client":${2 ** 60}}`, /"client"/],
    ['a numeric token', '{"instance":"i","client":1,"resume":42}', /waiter with a bad "resume"/],
  ])('refuses %s with INTERNAL', (_label, raw, message) => {
    expect(() => parseWaiter(raw)).toThrow(internal(message));
  });
});

describe('parseNameEntry', () => {
  it('takes an entry as RedisDirectory writes it', () => {
    const entry = { nameplate: '42', resume: 'b'.repeat(22), listed: true };
    expect(parseNameEntry(JSON.stringify(entry))).toEqual(entry);
    expect(parseNameEntry({ ...entry, listed: false, more: 1 })).toEqual({ ...entry, listed: false });
  });

  it.each([
    ['not JSON', 'nope', /name record is not valid JSON/],
    ['a string', '"42"', /name record is not a JSON object/],
    ['no nameplate', '{"resume":"r","listed":true}', /name entry with a bad "nameplate"/],
    ['a numeric nameplate', '{"nameplate":42,"resume":"r","listed":true}', /"nameplate"/],
    ['no token', '{"nameplate":"42","listed":true}', /name entry with a bad "resume"/],
    ['an empty token', '{"nameplate":"42","resume":"","listed":true}', /"resume"/],
    ['no listed', '{"nameplate":"42","resume":"r"}', /name entry with a bad "listed"/],
    ['a string listed', '{"nameplate":"42","resume":"r","listed":"yes"}', /"listed"/],
  ])('refuses %s with INTERNAL', (_label, raw, message) => {
    expect(() => parseNameEntry(raw)).toThrow(internal(message));
  });
});
