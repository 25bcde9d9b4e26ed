/** Discovery's edges: the name rules, its protocol messages, named codes, and the in-memory directory. */
import { describe, expect, it } from 'vitest';
import { isBareRoute, parseCode, parseSendCode } from '../../src/core/secure/code.js';
import {
  encodeMessage,
  isValidPeerName,
  MAX_LISTED_PEERS,
  parseClientMessage,
  parseServerMessage,
  SIGNAL_PROTOCOL_VERSION as v,
} from '../../src/core/signaling/protocol.js';
import { MemoryDirectory } from '../../src/server/directory.js';
import { codeOf } from '../helpers.js';

describe('isValidPeerName', () => {
  it('takes a lowercase letter, then up to 31 of a-z, 0-9 and _', () => {
    for (const ok of ['a', 'laptop', 'bob_2', `a${'b'.repeat(31)}`]) expect(isValidPeerName(ok)).toBe(true);
  });

  it.each(['', '42', '2fast', 'Laptop', 'my-laptop', `a${'b'.repeat(32)}`, ' a', 'café', '_x', 'a.b'])(
    'refuses %j: never a nameplate, never split by a code',
    (name) => {
      expect(isValidPeerName(name)).toBe(false);
    },
  );
});

describe('discovery messages', () => {
  it('round-trips register{name,listed}, join{name} and list', () => {
    expect(parseClientMessage(encodeMessage({ type: 'register', name: 'laptop', listed: true }))).toEqual({
      v,
      type: 'register',
      name: 'laptop',
      listed: true,
    });
    expect(parseClientMessage({ v, type: 'register', name: 'laptop' })).toEqual({
      v,
      type: 'register',
      name: 'laptop',
      listed: false,
    });
    expect(parseClientMessage(encodeMessage({ type: 'join', name: 'laptop' }))).toEqual({
      v,
      type: 'join',
      name: 'laptop',
    });
    expect(parseClientMessage(encodeMessage({ type: 'list' }))).toEqual({ v, type: 'list' });
  });

  it('round-trips registered{name}, paired{nameplate} and peers', () => {
    expect(parseServerMessage(encodeMessage({ type: 'registered', nameplate: '7', name: 'laptop' }))).toEqual(
      {
        v,
        type: 'registered',
        nameplate: '7',
        name: 'laptop',
      },
    );
    expect(parseServerMessage(encodeMessage({ type: 'paired', role: 'offerer', nameplate: '7' }))).toEqual({
      v,
      type: 'paired',
      role: 'offerer',
      nameplate: '7',
    });
    const peers = [{ name: 'attic' }, { name: 'laptop' }];
    expect(parseServerMessage(encodeMessage({ type: 'peers', peers }))).toEqual({ v, type: 'peers', peers });
  });

  it('refuses a bad name where it arrives: BAD_MESSAGE, or BAD_CODE on a join', () => {
    expect(codeOf(() => parseClientMessage({ v, type: 'register', name: 'A' }))).toBe('BAD_MESSAGE');
    expect(codeOf(() => parseClientMessage({ v, type: 'register', listed: true }))).toBe('BAD_MESSAGE');
    expect(codeOf(() => parseClientMessage({ v, type: 'join', name: 'a-b' }))).toBe('BAD_CODE');
    expect(codeOf(() => parseClientMessage({ v, type: 'join', name: 'a', nameplate: '1' }))).toBe(
      'BAD_MESSAGE',
    );
  });

  it('refuses a peers answer that is too long or holds a bad name', () => {
    const many = Array.from({ length: MAX_LISTED_PEERS + 1 }, (_, i) => ({ name: `p${i}` }));
    expect(codeOf(() => parseServerMessage({ v, type: 'peers', peers: many }))).toBe('BAD_MESSAGE');
    expect(codeOf(() => parseServerMessage({ v, type: 'peers', peers: [{ name: '\u001b[2J' }] }))).toBe(
      'BAD_MESSAGE',
    );
    expect(codeOf(() => parseServerMessage({ v, type: 'peers', peers: ['laptop'] }))).toBe('BAD_MESSAGE');
    expect(codeOf(() => parseServerMessage({ v, type: 'paired', role: 'offerer', nameplate: 'x' }))).toBe(
      'BAD_MESSAGE',
    );
  });
});

describe('named codes', () => {
  it('parse a name where the nameplate stands, with the same words', () => {
    expect(parseSendCode(' Laptop-Orbit lemon ')).toEqual({ name: 'laptop', secret: 'orbit-lemon' });
    expect(parseSendCode('42-orbit-lemon')).toEqual({ nameplate: '42', secret: 'orbit-lemon' });
  });

  it('are for senders only: peer receive <code> takes a number', () => {
    expect(codeOf(() => parseCode('laptop-orbit-lemon'))).toBe('BAD_CODE');
  });

  it('need the words, and spell-check them', () => {
    expect(codeOf(() => parseSendCode('laptop'))).toBe('BAD_CODE');
    expect(codeOf(() => parseSendCode('laptop-orbit'))).toBe('BAD_CODE');
    expect(codeOf(() => parseSendCode('laptop-orbit-lemonx'))).toBe('BAD_CODE');
  });

  it('a name or nameplate alone is a route to ask the words for', () => {
    expect(isBareRoute('laptop')).toBe(true);
    expect(isBareRoute(' 42 ')).toBe(true);
    expect(isBareRoute('laptop-orbit-lemon')).toBe(false);
    expect(isBareRoute('-')).toBe(false);
  });
});

describe('MemoryDirectory', () => {
  it('holds a name only while its waiter holds the nameplate', async () => {
    const holders = new Map([['7', 'token-a']]);
    const dir = new MemoryDirectory((nameplate, resume) => holders.get(nameplate) === resume);
    expect(await dir.reserve('laptop', { nameplate: '7', resume: 'token-a', listed: true }, 60_000)).toBe(
      true,
    );
    expect(await dir.reserve('laptop', { nameplate: '8', resume: 'token-b', listed: true }, 60_000)).toBe(
      false,
    );
    expect(await dir.list(10)).toEqual(['laptop']);
    holders.delete('7'); // paired or gone, and nobody told the directory
    expect(await dir.list(10)).toEqual([]);
    expect(await dir.lookup('laptop')).toBeUndefined();
    holders.set('8', 'token-b');
    expect(await dir.reserve('laptop', { nameplate: '8', resume: 'token-b', listed: false }, 60_000)).toBe(
      true,
    );
    expect(await dir.list(10)).toEqual([]);
    await dir.remove('laptop', 'token-a'); // an old holder's removal leaves the new one alone
    expect(await dir.lookup('laptop')).toMatchObject({ nameplate: '8' });
  });

  it('lists alphabetically, at most `max`, and forgets expired names', async () => {
    const dir = new MemoryDirectory(() => true);
    for (const name of ['c', 'a', 'b'])
      await dir.reserve(name, { nameplate: '1', resume: name, listed: true }, 60_000);
    await dir.reserve('old', { nameplate: '1', resume: 'x', listed: true }, -1);
    expect(await dir.list(2)).toEqual(['a', 'b']);
    expect(await dir.list(10)).toEqual(['a', 'b', 'c']);
  });

  it('expires a name by the clock it is given', async () => {
    let now = 5_000;
    const dir = new MemoryDirectory(
      () => true,
      () => now,
    );
    await dir.reserve('laptop', { nameplate: '1', resume: 'r', listed: true }, 1_000);
    now += 999;
    expect(await dir.lookup('laptop')).toMatchObject({ nameplate: '1' });
    now += 1;
    expect(await dir.lookup('laptop')).toBeUndefined();
    expect(await dir.list(10)).toEqual([]);
  });
});
