import { describe, expect, it } from 'vitest';
import {
  encodeMessage,
  isValidNameplate,
  MAX_NAMEPLATE_LENGTH,
  MAX_SIGNAL_MESSAGE_BYTES,
  parseClientMessage,
  parseServerMessage,
  SIGNAL_PROTOCOL_VERSION,
} from '../../src/core/signaling/protocol.js';
import { encodeRtcSignal, parseRtcSignal } from '../../src/core/signaling/rtc-signal.js';
import { codeOf } from '../helpers.js';

const line = (obj: unknown): string => JSON.stringify(obj);
const v = SIGNAL_PROTOCOL_VERSION;

describe('parseClientMessage', () => {
  it('parses what encodeMessage writes: the version first, one trailing newline', () => {
    expect(encodeMessage({ type: 'register' })).toBe(`{"v":${SIGNAL_PROTOCOL_VERSION},"type":"register"}\n`);
  });

  it('round-trips every client message kind', () => {
    expect(parseClientMessage(encodeMessage({ type: 'register' }))).toEqual({ v, type: 'register' });
    expect(parseClientMessage(encodeMessage({ type: 'join', nameplate: '42' }))).toEqual({
      v,
      type: 'join',
      nameplate: '42',
    });
    const payload = '{"kind":"offer","sdp":"v=0\\r\\n"}\n with "quotes" and ünïcode';
    expect(parseClientMessage(encodeMessage({ type: 'relay', payload }))).toEqual({
      v,
      type: 'relay',
      payload,
    });
  });

  it('accepts an already-parsed object, but not an array', () => {
    expect(parseClientMessage({ v, type: 'register' })).toEqual({ v, type: 'register' });
    const array = Object.assign([], { v, type: 'register' });
    expect(codeOf(() => parseClientMessage(array))).toBe('BAD_MESSAGE');
    expect(codeOf(() => parseRtcSignal(Object.assign([], { kind: 'answer', sdp: 'x' })))).toBe('BAD_MESSAGE');
  });

  it.each([
    ['non-JSON', 'not json'],
    ['truncated JSON', `{"v":${v},"type":"reg`],
    ['an array', '[1,2]'],
    ['null', 'null'],
    ['a number', '42'],
    ['a string', '"register"'],
    ['missing v', line({ type: 'register' })],
    ['string v', line({ v: String(v), type: 'register' })],
    ['fractional v', line({ v: v + 0.5, type: 'register' })],
    ['missing type', line({ v })],
    ['unknown type', line({ v, type: 'shout' })],
    ['server-only type', line({ v, type: 'paired', role: 'offerer' })],
    ['join without nameplate', line({ v, type: 'join' })],
    ['join with the v1 field "code"', line({ v, type: 'join', code: '42' })],
    ['join with numeric nameplate', line({ v, type: 'join', nameplate: 42 })],
    [
      'join with over-long nameplate',
      line({ v, type: 'join', nameplate: '1'.repeat(MAX_NAMEPLATE_LENGTH + 1) }),
    ],
    ['relay without payload', line({ v, type: 'relay' })],
    ['relay with object payload', line({ v, type: 'relay', payload: { kind: 'offer' } })],
  ])('refuses %s with BAD_MESSAGE', (_label, raw) => {
    expect(codeOf(() => parseClientMessage(raw))).toBe('BAD_MESSAGE');
  });

  it('refuses non-string, non-object input with BAD_MESSAGE', () => {
    expect(codeOf(() => parseClientMessage(undefined))).toBe('BAD_MESSAGE');
    expect(codeOf(() => parseClientMessage(Buffer.from('{}')))).toBe('BAD_MESSAGE');
  });

  it('refuses another protocol version with VERSION_MISMATCH', () => {
    expect(codeOf(() => parseClientMessage(line({ v: 1, type: 'register' })))).toBe('VERSION_MISMATCH');
    expect(codeOf(() => parseClientMessage(line({ v: v + 1, type: 'register' })))).toBe('VERSION_MISMATCH');
    expect(codeOf(() => parseClientMessage(line({ v: 0, type: 'join', nameplate: '42' })))).toBe(
      'VERSION_MISMATCH',
    );
  });

  it.each([
    '',
    '0',
    '042',
    '-1',
    '+1',
    '1.5',
    '1e3',
    ' 42',
    '42 ',
    '4 2',
    '0x1f',
    '\u0664\u0662',
    '42\n',
    '../..',
  ])('refuses the malformed nameplate %j with BAD_CODE', (nameplate) => {
    expect(isValidNameplate(nameplate)).toBe(false);
    expect(codeOf(() => parseClientMessage(line({ v, type: 'join', nameplate })))).toBe('BAD_CODE');
  });

  it.each(['1234567', 'abcd-efgh-jkmn', '42-word-word', '../../etc'])(
    'refuses the over-long nameplate %j with BAD_MESSAGE, before looking at its form',
    (nameplate) => {
      expect(isValidNameplate(nameplate)).toBe(false);
      expect(codeOf(() => parseClientMessage(line({ v, type: 'join', nameplate })))).toBe('BAD_MESSAGE');
    },
  );

  it('accepts a relay payload of exactly the limit and refuses one byte more', () => {
    const max = 'x'.repeat(MAX_SIGNAL_MESSAGE_BYTES);
    expect(parseClientMessage(line({ v, type: 'relay', payload: max }))).toMatchObject({
      type: 'relay',
      payload: max,
    });
    const over = line({ v, type: 'relay', payload: `${max}x` });
    expect(codeOf(() => parseClientMessage(over))).toBe('BAD_MESSAGE');
  });
});

describe('isValidNameplate', () => {
  it('accepts decimal numbers from 1 up to the length limit, without leading zeros', () => {
    for (const nameplate of ['1', '9', '42', '100', '999999', '9'.repeat(MAX_NAMEPLATE_LENGTH)]) {
      expect(isValidNameplate(nameplate)).toBe(true);
    }
    expect(MAX_NAMEPLATE_LENGTH).toBe(6);
    expect(isValidNameplate('1'.repeat(MAX_NAMEPLATE_LENGTH + 1))).toBe(false);
    expect(isValidNameplate('0')).toBe(false);
  });

  it('is the check a join goes through', () => {
    expect(parseClientMessage(line({ v, type: 'join', nameplate: '999999' }))).toEqual({
      v,
      type: 'join',
      nameplate: '999999',
    });
    // Too long is a malformed message before it is a malformed nameplate.
    const tooLong = line({ v, type: 'join', nameplate: '1234567' });
    expect(codeOf(() => parseClientMessage(tooLong))).toBe('BAD_MESSAGE');
  });
});

describe('parseServerMessage', () => {
  it('takes the relay instance named in paired, and refuses one that is not host:port', () => {
    for (const relay of ['relay-2.example.org:8091', '203.0.113.7:443', '[2001:db8::1]:8091']) {
      expect(parseServerMessage(encodeMessage({ type: 'paired', role: 'offerer', relay }))).toMatchObject({
        relay,
      });
    }
    for (const relay of ['no-port', 'host:0', 'host:70000', 'a b:1', `${'x'.repeat(300)}:1`, 'host:1/path']) {
      expect(() => parseServerMessage(encodeMessage({ type: 'paired', role: 'offerer', relay }))).toThrow(
        expect.objectContaining({ code: 'BAD_MESSAGE' }),
      );
    }
  });

  it('round-trips every server message kind', () => {
    expect(parseServerMessage(encodeMessage({ type: 'registered', nameplate: '42' }))).toEqual({
      v,
      type: 'registered',
      nameplate: '42',
    });
    for (const role of ['offerer', 'answerer'] as const) {
      expect(parseServerMessage(encodeMessage({ type: 'paired', role }))).toEqual({
        v,
        type: 'paired',
        role,
      });
      const sid = 'AAAAAAAAAAAAAAAAAAAAAA';
      expect(parseServerMessage(encodeMessage({ type: 'paired', role, sid }))).toEqual({
        v,
        type: 'paired',
        role,
        sid,
      });
    }
    expect(parseServerMessage(encodeMessage({ type: 'relay', payload: 'p' }))).toEqual({
      v,
      type: 'relay',
      payload: 'p',
    });
    expect(parseServerMessage(encodeMessage({ type: 'peer-left' }))).toEqual({ v, type: 'peer-left' });
    expect(
      parseServerMessage(encodeMessage({ type: 'error', code: 'PEER_NOT_FOUND', message: 'no such code' })),
    ).toEqual({ v, type: 'error', code: 'PEER_NOT_FOUND', message: 'no such code' });
  });

  it('maps an unknown error code to REMOTE_ERROR', () => {
    const msg = parseServerMessage(line({ v: 1, type: 'error', code: 'NO_SUCH_CODE', message: 'm' }));
    expect(msg).toEqual({ v: 1, type: 'error', code: 'REMOTE_ERROR', message: 'm' });
    const proto = parseServerMessage(line({ v: 1, type: 'error', code: 'toString', message: 'm' }));
    expect(proto).toMatchObject({ code: 'REMOTE_ERROR' });
  });

  it('understands an error of any version, and bounds its message', () => {
    const msg = parseServerMessage(
      line({ v: 9, type: 'error', code: 'VERSION_MISMATCH', message: 'x'.repeat(900) }),
    );
    expect(msg).toMatchObject({ v: 9, type: 'error', code: 'VERSION_MISMATCH' });
    expect(msg.type === 'error' && msg.message).toBe('x'.repeat(500));
    expect(parseServerMessage(line({ type: 'error' }))).toEqual({
      v: 0,
      type: 'error',
      code: 'REMOTE_ERROR',
      message: 'unknown error',
    });
  });

  it.each([
    ['non-JSON', '{'],
    ['an array', '[]'],
    ['unknown type', line({ v, type: 'hello' })],
    ['client-only type', line({ v, type: 'register' })],
    ['registered without nameplate', line({ v, type: 'registered' })],
    ['registered with the v1 field "code"', line({ v, type: 'registered', code: 'abcd-efgh-jkmn' })],
    ['registered with a malformed nameplate', line({ v, type: 'registered', nameplate: '007' })],
    ['registered with an over-long nameplate', line({ v, type: 'registered', nameplate: '1234567' })],
    ['paired with bad role', line({ v, type: 'paired', role: 'leader' })],
    ['paired with a malformed session id', line({ v, type: 'paired', role: 'offerer', sid: 'short' })],
    ['relay with numeric payload', line({ v, type: 'relay', payload: 5 })],
  ])('refuses %s with BAD_MESSAGE', (_label, raw) => {
    expect(codeOf(() => parseServerMessage(raw))).toBe('BAD_MESSAGE');
  });

  it('refuses another version with VERSION_MISMATCH', () => {
    expect(codeOf(() => parseServerMessage(line({ v: 1, type: 'peer-left' })))).toBe('VERSION_MISMATCH');
    expect(codeOf(() => parseServerMessage(line({ v: v + 1, type: 'peer-left' })))).toBe('VERSION_MISMATCH');
  });
});

describe('parseRtcSignal', () => {
  it('round-trips offer, answer and candidate', () => {
    const signals = [
      { kind: 'offer', n: 0, sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' },
      { kind: 'answer', n: 2, sdp: 'v=0\r\n' },
      {
        kind: 'candidate',
        n: 1,
        candidate: 'a=candidate:1 1 UDP 2122317823 10.0.0.2 50000 typ host',
        mid: '0',
      },
      { kind: 'restart', n: 3, reason: 'dtls-stall' },
      { kind: 'keepalive' },
    ] as const;
    for (const signal of signals) expect(parseRtcSignal(encodeRtcSignal(signal))).toEqual(signal);
  });

  it.each([
    ['unknown kind', line({ kind: 'bye', sdp: 'x' })],
    ['missing kind', line({ sdp: 'x' })],
    ['offer without sdp', line({ kind: 'offer', n: 0 })],
    ['offer without attempt', line({ kind: 'offer', sdp: 'x' })],
    ['negative attempt', line({ kind: 'answer', n: -1, sdp: 'x' })],
    ['fractional attempt', line({ kind: 'answer', n: 1.5, sdp: 'x' })],
    ['attempt past the limit', line({ kind: 'restart', n: 1001, reason: 'peer-silent' })],
    ['restart for no known reason', line({ kind: 'restart', n: 1, reason: 'bored' })],
    ['candidate without mid', line({ kind: 'candidate', candidate: 'c' })],
    ['candidate over 1024 chars', line({ kind: 'candidate', candidate: 'c'.repeat(1025), mid: '0' })],
    ['an array', '[{"kind":"offer","sdp":"x"}]'],
    ['non-JSON', 'offer'],
  ])('refuses %s with BAD_MESSAGE', (_label, raw) => {
    expect(codeOf(() => parseRtcSignal(raw))).toBe('BAD_MESSAGE');
  });
});
