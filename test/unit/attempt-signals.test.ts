/**
 * The session's routing of the peer's signals to connection attempts
 * (session/attempt-signals.ts), driven through a stand-in for the sealed pipe.
 */
import { describe, expect, it } from 'vitest';
import { PeerlaneError } from '../../src/core/errors.js';
import type { SignalsHost } from '../../src/core/session/attempt-signals.js';
import { AttemptSignals } from '../../src/core/session/attempt-signals.js';
import type { RtcSignal } from '../../src/core/signaling/rtc-signal.js';
import { encodeRtcSignal } from '../../src/core/signaling/rtc-signal.js';

/** AttemptSignals over a pipe the test feeds, and a host that records what it was told. */
function setup(state: { connecting?: boolean; linked?: boolean } = {}) {
  let hear: (payload: string) => void = () => {};
  let fail: (err: PeerlaneError) => void = () => {};
  const sent: string[] = [];
  const told: string[] = [];
  const host: SignalsHost = {
    connecting: () => state.connecting === true,
    linked: () => state.linked === true,
    peerMovedOn: (superseded) => told.push(`moved on: ${superseded.message}`),
    peerCalled: () => told.push('called'),
    wake: () => told.push('wake'),
  };
  const signals = new AttemptSignals(
    {
      sendPayload: (p) => sent.push(p),
      onPayload: (h) => {
        hear = h;
      },
      onFailure: (h) => {
        fail = h;
      },
    },
    host,
  );
  const peer = (msg: RtcSignal): void => hear(encodeRtcSignal(msg));
  const candidate = (n: number): RtcSignal => ({ kind: 'candidate', n, candidate: `c${n}`, mid: '0' });
  return {
    signals,
    state,
    peer,
    candidate,
    sent,
    told,
    fail: (err: PeerlaneError) => fail(err),
    raw: (p: string) => hear(p),
  };
}

/** What attempt `n`'s pipe delivers from now on (queued payloads first). */
function listen(signals: AttemptSignals, n: number): { got: string[]; errors: string[] } {
  const got: string[] = [];
  const errors: string[] = [];
  const pipe = signals.pipe(n);
  pipe.onPayload((p) => got.push(p));
  pipe.onFailure((e) => errors.push(e.code));
  return { got, errors };
}

describe('AttemptSignals', () => {
  it("delivers the running attempt's signals, and keeps a later attempt's until it starts", () => {
    const { signals, state, peer, candidate, told } = setup({ connecting: true });
    const first = listen(signals, 0);
    peer(candidate(0));
    expect(first.got).toEqual([encodeRtcSignal(candidate(0))]);
    // The peer is already on attempt 1: we are told, and its signals wait for ours.
    peer(candidate(1));
    expect(told).toEqual(['moved on: the peer started connection attempt 1']);
    expect(signals.peerAttempt).toBe(1);
    expect(first.got).toHaveLength(1);
    state.connecting = false;
    expect(signals.next()).toBe(1);
    state.connecting = true;
    expect(listen(signals, 1).got).toEqual([encodeRtcSignal(candidate(1))]);
  });

  it("drops an earlier attempt's signals, and the current one's once its channel is open", () => {
    const { signals, state, peer, candidate } = setup({ connecting: true });
    signals.next();
    const current = listen(signals, 1);
    peer(candidate(0));
    state.connecting = false;
    state.linked = true;
    peer(candidate(1));
    expect(current.got).toEqual([]);
    // Nothing was queued either: the next attempt hears none of it.
    state.linked = false;
    signals.next();
    expect(listen(signals, 2).got).toEqual([]);
  });

  it('a restart while no attempt runs calls us at once; one during an attempt only moves us on', () => {
    const idle = setup();
    idle.peer({ kind: 'restart', n: 1, reason: 'link-closed' });
    expect(idle.told).toEqual(['moved on: the peer started connection attempt 1', 'called']);
    const busy = setup({ connecting: true });
    busy.peer({ kind: 'restart', n: 1, reason: 'link-closed' });
    expect(busy.told).toEqual(['moved on: the peer started connection attempt 1']);
    // Keepalives say nothing to anyone.
    busy.peer({ kind: 'keepalive' });
    expect(busy.told).toHaveLength(1);
  });

  it('a lost signal connection reaches the running attempt, wakes the session, and later attempts at once', () => {
    const { signals, fail, told, sent } = setup({ connecting: true });
    const running = listen(signals, 0);
    fail(new PeerlaneError('SIGNAL_CLOSED', 'gone'));
    expect(running.errors).toEqual(['SIGNAL_CLOSED']);
    expect(told).toEqual(['wake']);
    expect(signals.error?.code).toBe('SIGNAL_CLOSED');
    expect(listen(signals, 1).errors).toEqual(['SIGNAL_CLOSED']);
    // Nothing more is sent through a pipe known to be gone.
    signals.say({ kind: 'keepalive' });
    expect(sent).toEqual([]);
  });

  it('a payload that does not parse fails the signal connection as BAD_MESSAGE', () => {
    const { signals, raw } = setup({ connecting: true });
    const running = listen(signals, 0);
    raw('{"kind":"offer","n":-1}');
    expect(running.errors).toEqual(['BAD_MESSAGE']);
    expect(signals.error?.code).toBe('BAD_MESSAGE');
  });
});
