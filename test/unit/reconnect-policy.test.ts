/** The session's reconnection rules (session/reconnect-policy.ts). */
import { describe, expect, it } from 'vitest';
import { PeerlaneError } from '../../src/core/errors.js';
import {
  backoff,
  firstRetry,
  gaveUp,
  reasonFor,
  withoutSignal,
} from '../../src/core/session/reconnect-policy.js';
import { limitTo } from '../../src/session/peer-session.js';

describe('reconnect policy', () => {
  it('backs off 0, 1, 2, 4, 8, then 15 s between attempt starts', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map(backoff)).toEqual([0, 1000, 2000, 4000, 8000, 15000, 15000, 15000]);
  });

  it('cuts only a longer ICE deadline', () => {
    const rtc = { iceServers: [], timeoutMs: 30_000 };
    expect(limitTo(rtc, 5_000).timeoutMs).toBe(5_000);
    expect(limitTo(rtc, 60_000)).toBe(rtc);
  });

  it('tells the peer what failed: handshakes, no path, or the link', () => {
    const reasons = [
      'HANDSHAKE_STALLED',
      'HANDSHAKE_FAILED',
      'ICE_FAILED',
      'CONNECT_TIMEOUT',
      'PEER_LOST',
    ].map((code) => reasonFor(new PeerlaneError(code as 'PEER_LOST', 'x')));
    expect(reasons).toEqual(['dtls-stall', 'dtls-stall', 'ice-failed', 'ice-failed', 'link-closed']);
  });

  it('a first attempt is retried only where a second can mend it: a handshake, a frozen attempt process, a peer moved on', () => {
    const retry = (code: string, peerMovedOn = false) =>
      firstRetry(new PeerlaneError(code as 'PEER_LOST', 'x'), peerMovedOn);
    expect(retry('HANDSHAKE_STALLED')).toBe('dtls-stall');
    // --isolate: the attempt's child stopped beating and was killed.
    expect(retry('RTC_STALLED')).toBe('link-closed');
    expect(retry('ICE_FAILED')).toBeUndefined();
    expect(retry('ICE_FAILED', true)).toBe('peer-request');
  });

  it("giving up keeps a never-connected session's own code, and says how long it tried", () => {
    const stalled = new PeerlaneError('HANDSHAKE_STALLED', 'stuck');
    expect(gaveUp(stalled, false, 3, 41_400)).toMatchObject({
      code: 'HANDSHAKE_STALLED',
      message: 'stuck; gave up after 3 reconnection attempts in 41 s',
    });
    expect(gaveUp(stalled, true, 1, 5_000)).toMatchObject({
      code: 'PEER_LOST',
      message: 'stuck; gave up after 1 reconnection attempt in 5 s',
    });
    expect(gaveUp(stalled, true, 0, 0).message).toBe('stuck; reconnection is off');
  });

  it('without the signal connection: PEER_LOST, saying the cause once', () => {
    const gone = new PeerlaneError('PEER_LOST', 'the other peer left the signal server');
    expect(withoutSignal(gone, gone).message).toBe('the other peer left the signal server');
    const lost = new PeerlaneError('PEER_LOST', 'the data channel closed');
    expect(withoutSignal(lost, gone).message).toBe(
      'the data channel closed; then the other peer left the signal server: it is gone, not just its path',
    );
    const closed = new PeerlaneError('SIGNAL_CLOSED', 'the server went away');
    expect(withoutSignal(lost, closed)).toMatchObject({
      code: 'PEER_LOST',
      message:
        'the data channel closed; then the signal connection ended (the server went away), and there is no reconnection without it',
    });
  });
});
