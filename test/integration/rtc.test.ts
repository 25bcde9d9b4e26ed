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

const rtc = { iceServers: [], bindAddress: LOOPBACK, timeoutMs: 10_000 };

interface TestPipe extends SignalPipe {
  /** Report a signaling failure, as the client does on `peer-left`. */
  failWith(err: PeerlaneError): void;
  received: string[];
}

/**
 * Two pipes wired to each other; `hold` may delay a payload for the other
 * side, and `rewrite` change it.
 */
function pipePair(
  hold: (payload: string, to: 'offerer' | 'answerer') => number = () => 0,
  rewrite: (payload: string, to: 'offerer' | 'answerer') => string = (p) => p,
) {
  /** Every delivery in order, as "to:kind". */
  const log: string[] = [];
  const make = (): TestPipe & { deliver(p: string): void } => {
    let handler: ((p: string) => void) | undefined;
    let onFail: ((e: PeerlaneError) => void) | undefined;
    const pending: string[] = [];
    return {
      received: [],
      sendPayload: () => {},
      onPayload(h) {
        handler = h;
        for (const p of pending.splice(0)) h(p);
      },
      onFailure(h) {
        onFail = h;
      },
      failWith(err) {
        onFail?.(err);
      },
      deliver(p) {
        this.received.push(p);
        log.push(`${this === offerer ? 'offerer' : 'answerer'}:${(JSON.parse(p) as { kind: string }).kind}`);
        if (handler) handler(p);
        else pending.push(p);
      },
    };
  };
  const offerer = make();
  const answerer = make();
  const route = (to: typeof offerer, name: 'offerer' | 'answerer') => (sent: string) => {
    const p = rewrite(sent, name);
    const delay = hold(p, name);
    if (delay > 0) setTimeout(() => to.deliver(p), delay);
    else to.deliver(p);
  };
  offerer.sendPayload = route(answerer, 'answerer');
  answerer.sendPayload = route(offerer, 'offerer');
  return { offerer, answerer, log };
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
    const { offerer, answerer } = pipePair((p, to) => (to === 'offerer' && p.includes('"answer"') ? 150 : 0));
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
    // as it does when the offerer's end opened first and it left the server.
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (answerer.received.length > 0) resolve();
        else setTimeout(check, 1);
      };
      check();
    });
    answerer.failWith(new PeerlaneError('PEER_LOST', 'the other peer left before the connection was made'));
    const [a, b] = await Promise.all([offering, answering]);
    await exchange(a, b);
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
  const editAnswer = (edit: (sdp: string) => string) => (payload: string, to: 'offerer' | 'answerer') => {
    const msg = JSON.parse(payload) as { kind: string; sdp?: string };
    if (to !== 'offerer' || msg.kind !== 'answer' || msg.sdp === undefined) return payload;
    return JSON.stringify({ ...msg, sdp: edit(msg.sdp) });
  };

  async function bothFail(rewrite: ReturnType<typeof editAnswer>): Promise<PeerlaneError[]> {
    const { offerer, answerer } = pipePair(undefined, rewrite);
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
