/**
 * The peer's agent hint: parsed from a PAKE share only when it names a kind
 * this version knows, and what it changes, the SCTP MTU on loopback (a
 * browser drops DTLS datagrams over 2048 bytes; a CLI takes 4096).
 */
import { describe, expect, it } from 'vitest';
import { encodeSecureMessage, parseSecureMessage } from '../../src/core/secure/protocol.js';
import { mtuFor } from '../../src/rtc/sctp.js';

const share = { kind: 'pake', v: 2, share: 'AAAA', ad: 'role=offerer;intent=send' } as const;

describe('the agent a PAKE share names', () => {
  it('is kept when it is one this version knows', () => {
    for (const agent of ['cli', 'page'] as const) {
      expect(parseSecureMessage(encodeSecureMessage({ ...share, agent }))).toEqual({ ...share, agent });
    }
  });

  it('is no hint at all when absent (an older peer) or unknown (a newer kind)', () => {
    expect(parseSecureMessage(JSON.stringify(share))).toEqual(share);
    for (const agent of ['robot', 7, null, { kind: 'cli' }]) {
      expect(parseSecureMessage(JSON.stringify({ ...share, agent }))).toEqual(share);
    }
  });
});

describe('the SCTP MTU for a bind address and a peer', () => {
  it('is 4096 on loopback with a CLI, 2048 with a browser or a peer that said nothing', () => {
    expect(mtuFor('127.0.0.1', 'cli')).toBe(4096);
    expect(mtuFor('::1', 'cli')).toBe(4096);
    expect(mtuFor('127.0.0.1', 'page')).toBe(2048);
    expect(mtuFor('127.0.0.1', undefined)).toBe(2048);
  });

  it('is the internet-safe 1280 anywhere else, whatever the peer', () => {
    for (const agent of ['cli', 'page', undefined] as const) {
      expect(mtuFor(undefined, agent)).toBe(1280);
      expect(mtuFor('192.168.1.4', agent)).toBe(1280);
      expect(mtuFor('0.0.0.0', agent)).toBe(1280);
    }
  });
});
