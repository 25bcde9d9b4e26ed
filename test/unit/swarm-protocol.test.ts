/**
 * The tracker's messages (core/signaling/swarm.ts), parsed as part of the
 * signaling protocol (protocol.ts), and the payloads members relay to each
 * other (core/swarm/member-pipe.ts): round trips, and what they refuse.
 */
import { describe, expect, it } from 'vitest';
import {
  encodeMessage,
  MAX_SIGNAL_MESSAGE_BYTES,
  parseClientMessage,
  parseServerMessage,
  SIGNAL_PROTOCOL_VERSION,
} from '../../src/core/signaling/protocol.js';
import { MAX_SWARM_MEMBERS } from '../../src/core/signaling/swarm.js';
import { encodeMemberPayload, newAttemptId, parseMemberPayload } from '../../src/core/swarm/member-pipe.js';
import { codeOf } from '../helpers.js';

const v = SIGNAL_PROTOCOL_VERSION;
const SWARM = '0123456789abcdef'.repeat(4);
const A = 'A'.repeat(22);
const B = `${'b_-'.repeat(7)}x`;

describe('the tracker’s messages', () => {
  it('round-trip, from clients and from the server', () => {
    for (const msg of [
      { type: 'announce', swarm: SWARM },
      { type: 'announce', swarm: SWARM, member: A, token: B },
      { type: 'swarm-relay', swarm: SWARM, to: A, payload: 'sealed "stuff" ✓' },
    ] as const) {
      expect(parseClientMessage(encodeMessage(msg))).toEqual({ v, ...msg });
    }
    const fromServer: Parameters<typeof encodeMessage>[0][] = [
      { type: 'announced', swarm: SWARM, member: A, token: B, members: [B] },
      { type: 'member', swarm: SWARM, member: B, joined: false },
      { type: 'swarm-relay', swarm: SWARM, from: A, payload: 'x' },
    ];
    for (const msg of fromServer) {
      expect(parseServerMessage(encodeMessage(msg))).toEqual({ v, ...msg });
    }
  });

  it.each([
    ['a short swarm id', { type: 'announce', swarm: 'ab' }],
    ['an upper-case swarm id', { type: 'announce', swarm: SWARM.toUpperCase() }],
    ['no swarm id', { type: 'announce' }],
    ['a member without its token', { type: 'announce', swarm: SWARM, member: A }],
    ['a malformed token', { type: 'announce', swarm: SWARM, member: A, token: 'x' }],
    ['a malformed member id', { type: 'swarm-relay', swarm: SWARM, to: 'abc', payload: 'x' }],
    [
      'a member id with a slash',
      { type: 'swarm-relay', swarm: SWARM, to: `${'a'.repeat(21)}/`, payload: 'x' },
    ],
    ['no payload', { type: 'swarm-relay', swarm: SWARM, to: A }],
    [
      'an oversize payload',
      { type: 'swarm-relay', swarm: SWARM, to: A, payload: 'x'.repeat(MAX_SIGNAL_MESSAGE_BYTES + 1) },
    ],
    ['a server-only kind', { type: 'announced', swarm: SWARM, member: A, members: [] }],
  ])('refuse %s from a client (BAD_MESSAGE)', (_what, msg) => {
    expect(codeOf(() => parseClientMessage({ v, ...msg }))).toBe('BAD_MESSAGE');
  });

  it.each([
    [
      'too many members',
      { type: 'announced', swarm: SWARM, member: A, members: Array(MAX_SWARM_MEMBERS + 1).fill(B) },
    ],
    ['no token', { type: 'announced', swarm: SWARM, member: A, members: [] }],
    ['a bad member in the list', { type: 'announced', swarm: SWARM, member: A, token: B, members: [42] }],
    ['members that are no list', { type: 'announced', swarm: SWARM, member: A, token: B, members: B }],
    ['a notice without joined', { type: 'member', swarm: SWARM, member: A }],
    ['a relay without from', { type: 'swarm-relay', swarm: SWARM, payload: 'x' }],
  ])('refuse %s from the server (BAD_MESSAGE)', (_what, msg) => {
    expect(codeOf(() => parseServerMessage({ v, ...msg }))).toBe('BAD_MESSAGE');
  });

  it('refuse another version (VERSION_MISMATCH)', () => {
    expect(codeOf(() => parseClientMessage({ v: v + 1, type: 'announce', swarm: SWARM }))).toBe(
      'VERSION_MISMATCH',
    );
  });
});

describe('member payloads', () => {
  it('round-trip, under fresh 128-bit attempt ids', () => {
    const c = newAttemptId();
    expect(c).toMatch(/^[\w-]{22}$/);
    expect(newAttemptId()).not.toBe(c);
    expect(parseMemberPayload(encodeMemberPayload({ c, p: '{"kind":"sealed"}' }))).toEqual({
      c,
      p: '{"kind":"sealed"}',
    });
  });

  it.each([
    ['not JSON', 'junk'],
    ['no attempt id', JSON.stringify({ p: 'x' })],
    ['a bad attempt id', JSON.stringify({ c: 'short', p: 'x' })],
    ['no payload', JSON.stringify({ c: A })],
  ])('refuse %s (BAD_MESSAGE)', (_what, raw) => {
    expect(codeOf(() => parseMemberPayload(raw))).toBe('BAD_MESSAGE');
  });
});
