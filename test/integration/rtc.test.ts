/**
 * The connection layer with two real PeerConnections on loopback. Signaling
 * goes through an in-memory pipe here so the tests can reorder and cut it
 * exactly; the data channel itself is real.
 */
import { describe, expect, it } from 'vitest';
import { PeerlaneError } from '../../src/core/errors.js';
import type { SignalPipe } from '../../src/core/signaling/pipe.js';
import { connectPeer } from '../../src/rtc/connect.js';
import type { Link } from '../../src/rtc/link.js';
import { LOOPBACK } from '../../src/testing/harness.js';
import { type PipeSide, pipePair } from '../../src/testing/pipes.js';

const rtc = { iceServers: [], bindAddress: LOOPBACK, timeoutMs: 10_000 };

/** Resolves once `done()` holds, checking every millisecond. */
function until(done: () => boolean): Promise<void> {
  return new Promise<void>((resolve) => {
    const check = (): void => {
      if (done()) resolve();
      else setTimeout(check, 1);
    };
    check();
  });
}

async function exchange(a: Link, b: Link): Promise<void> {
  const got = new Promise<Uint8Array>((resolve) => b.onMessage(resolve));
  a.send(Buffer.from('ping'));
  expect(Buffer.from(await got).toString()).toBe('ping');
  a.close();
  b.close();
}

describe('connectPeer', () => {
  it('opens a data channel between two peers', async () => {
    const { offerer, answerer } = pipePair();
    const [a, b] = await Promise.all([
      connectPeer('offerer', offerer, rtc),
      connectPeer('answerer', answerer, rtc),
    ]);
    // The remote may be learnt from its first check (prflx) before its candidate arrives.
    expect(a.pathInfo()).toMatchObject({ path: 'direct', local: 'host' });
    expect(['host', 'prflx']).toContain(a.pathInfo().remote);
    await exchange(a, b);
  });

  it('holds the offerer candidates until the answer is applied', async () => {
    const { offerer, answerer, log } = pipePair();
    const [a, b] = await Promise.all([
      connectPeer('offerer', offerer, rtc),
      connectPeer('answerer', answerer, rtc),
    ]);
    const answerAt = log.indexOf('offerer:answer');
    const firstCandidate = log.indexOf('answerer:candidate');
    expect(answerAt).toBeGreaterThan(0);
    expect(firstCandidate).toBeGreaterThan(answerAt);
    await exchange(a, b);
  });

  it('queues candidates that arrive before the remote description', async () => {
    // Delay the answer to the offerer so the answerer's candidates overtake it.
    const { offerer, answerer } = pipePair({
      hold: (p, to) => (to === 'offerer' && p.includes('"answer"') ? 150 : 0),
    });
    const [a, b] = await Promise.all([
      connectPeer('offerer', offerer, rtc),
      connectPeer('answerer', answerer, rtc),
    ]);
    const kinds = offerer.received.map((p) => (JSON.parse(p) as { kind: string }).kind);
    expect(kinds.indexOf('candidate')).toBeLessThan(kinds.indexOf('answer'));
    await exchange(a, b);
  });

  it('survives the peer leaving signaling once descriptions are exchanged', async () => {
    const { offerer, answerer } = pipePair();
    const answering = connectPeer('answerer', answerer, rtc);
    const offering = connectPeer('offerer', offerer, rtc);
    // The moment the answerer has the offer, the server reports the offerer gone,
    // as it does when only the offerer's connection to the server dropped.
    await until(() => answerer.received.length > 0);
    answerer.failWith(new PeerlaneError('PEER_LOST', 'the other peer left before the connection was made'));
    const [a, b] = await Promise.all([offering, answering]);
    await exchange(a, b);
  });

  it('opens without the signal server when it is lost once the answer is applied', async () => {
    // From the moment the offerer has the answer and one candidate, nothing more
    // crosses, and both sides hear that the server is gone (SIGNAL_CLOSED).
    let cut = false;
    const { offerer, answerer } = pipePair({ hold: (_p, _to) => (cut ? -1 : 0) });
    const lost = new PeerlaneError('SIGNAL_CLOSED', 'the signal server closed the connection');
    const answering = connectPeer('answerer', answerer, rtc);
    const offering = connectPeer('offerer', offerer, rtc);
    await until(() => {
      const kinds = offerer.received.map((p) => (JSON.parse(p) as { kind: string }).kind);
      return kinds.includes('answer') && kinds.includes('candidate');
    });
    cut = true;
    offerer.failWith(lost);
    answerer.failWith(lost);
    const [a, b] = await Promise.all([offering, answering]);
    await exchange(a, b);
  });

  it('a peer that is really gone fails the attempt once the grace has passed', async () => {
    const { offerer, answerer } = pipePair({
      hold: (p, to) => (to === 'offerer' || p.includes('"answer"') ? -1 : 0),
    });
    const answering = connectPeer('answerer', answerer, rtc);
    const started = Date.now();
    void connectPeer('offerer', offerer, { ...rtc, timeoutMs: 2_000 }).catch(() => {});
    await until(() => answerer.received.length > 0);
    answerer.failWith(new PeerlaneError('PEER_LOST', 'the other peer left the signal server'));
    await expect(answering).rejects.toMatchObject({ code: 'PEER_LOST' });
    // Not at once, and not the 10 s deadline: the 5 s grace.
    expect(Date.now() - started).toBeGreaterThan(4_500);
    expect(Date.now() - started).toBeLessThan(8_000);
  });

  it('an attempt aborted before it starts, or whose pipe has already failed, rejects without throwing', async () => {
    const { answerer } = pipePair();
    const abort = new AbortController();
    abort.abort(new PeerlaneError('INTERRUPTED', 'interrupted'));
    await expect(connectPeer('offerer', answerer, rtc, { abort: abort.signal })).rejects.toMatchObject({
      code: 'INTERRUPTED',
    });
    const gone: SignalPipe = {
      sendPayload: () => {},
      onPayload: () => {},
      // As a session's pipe does when its signal connection ended before this attempt.
      onFailure: (handler) => handler(new PeerlaneError('SIGNAL_CLOSED', 'gone before the attempt')),
    };
    for (const role of ['offerer', 'answerer'] as const) {
      await expect(connectPeer(role, gone, rtc)).rejects.toMatchObject({ code: 'SIGNAL_CLOSED' });
    }
  });

  it('fails at once when signaling is lost before any description', async () => {
    const { answerer } = pipePair();
    const answering = connectPeer('answerer', answerer, rtc);
    answerer.failWith(new PeerlaneError('PEER_LOST', 'gone'));
    await expect(answering).rejects.toMatchObject({ code: 'PEER_LOST' });
  });

  it('gives up with CONNECT_TIMEOUT when nobody answers', async () => {
    const { offerer } = pipePair();
    offerer.sendPayload = () => {};
    const started = Date.now();
    await expect(connectPeer('offerer', offerer, { ...rtc, timeoutMs: 500 })).rejects.toMatchObject({
      code: 'CONNECT_TIMEOUT',
    });
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});

describe('connectPeer failures, by layer', () => {
  /** The answer as the offerer receives it, with `edit` applied to its SDP. */
  const editAnswer = (edit: (sdp: string) => string) => (payload: string, to: PipeSide) => {
    const msg = JSON.parse(payload) as { kind: string; sdp?: string };
    if (to !== 'offerer' || msg.kind !== 'answer' || msg.sdp === undefined) return payload;
    return JSON.stringify({ ...msg, sdp: edit(msg.sdp) });
  };

  async function bothFail(rewrite: ReturnType<typeof editAnswer>): Promise<PeerlaneError[]> {
    const { offerer, answerer } = pipePair({ rewrite });
    const started = Date.now();
    const results = await Promise.allSettled([
      connectPeer('offerer', offerer, rtc),
      connectPeer('answerer', answerer, rtc),
    ]);
    // Not the 10 s ICE deadline: the failure is reported as it happens.
    expect(Date.now() - started).toBeLessThan(5_000);
    return results.map((r) => {
      if (r.status === 'fulfilled') throw new Error('connected despite the tampered answer');
      return r.reason as PeerlaneError;
    });
  }

  it('a DTLS failure after ICE connected is HANDSHAKE_FAILED naming DTLS, not a missing path', async () => {
    // The offerer checks the answerer's certificate against a fingerprint that is not its own.
    const [offering] = await bothFail(
      editAnswer((sdp) =>
        sdp.replace(
          /(a=fingerprint:\S+ )(..)/,
          (_m, p: string, b: string) => `${p}${b === '00' ? '11' : '00'}`,
        ),
      ),
    );
    expect(offering).toMatchObject({ code: 'HANDSHAKE_FAILED' });
    // The peer's address is known as prflx when its check arrived before its candidate.
    expect(offering?.message).toMatch(
      /^ICE connected \(host ↔ (host|prflx)\), but the DTLS handshake failed \(/,
    );
    expect(offering?.message).not.toMatch(/NAT|symmetric|no network path/);
  });

  it('an SCTP failure after DTLS finished is HANDSHAKE_FAILED naming SCTP', async () => {
    // DTLS succeeds; the offerer's SCTP then talks to a port nobody listens on.
    const [offering] = await bothFail(
      editAnswer((sdp) => sdp.replace(/a=sctp-port:\d+/, 'a=sctp-port:6000')),
    );
    expect(offering).toMatchObject({ code: 'HANDSHAKE_FAILED' });
    expect(offering?.message).toContain('the DTLS handshake finished, but the SCTP association');
  });
});
