/**
 * The signal server as a swarm's tracker, and member-to-member links
 * (swarm/connector.ts) over it: a real server, real members in this process,
 * real links (direct TCP raced against a data channel) on 127.0.0.1.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toBase64 } from '../../src/core/bytes.js';
import type { PeerlaneError } from '../../src/core/errors.js';
import type { MessageLink } from '../../src/core/link.js';
import { encodeSecureMessage } from '../../src/core/secure/protocol.js';
import { SIGNAL_PROTOCOL_VERSION as v } from '../../src/core/signaling/protocol.js';
import { swarmId } from '../../src/core/swarm/keys.js';
import { encodeMemberPayload, newAttemptId, refusal } from '../../src/core/swarm/member-pipe.js';
import { SignalServer } from '../../src/server/server.js';
import type { SwarmConnector } from '../../src/swarm/connector.js';
import { joinSwarm, joinSwarmById } from '../../src/swarm/connector.js';
import { LOOPBACK } from '../../src/testing/harness.js';
import { useSignalServer } from '../../src/testing/hooks.js';
import { connectRawClient } from '../../src/testing/raw-client.js';
import { startRelayProxy } from '../../src/testing/relay-proxy.js';
import { withTimeout } from '../helpers.js';

const rtc = { iceServers: [], bindAddress: LOOPBACK, timeoutMs: 10_000 };
const SECRET = Uint8Array.from({ length: 16 }, (_, i) => i + 1);

const { h, server } = useSignalServer({ beforeEach, afterEach });
const members: SwarmConnector[] = [];
const links: MessageLink[] = [];

afterEach(async () => {
  for (const link of links.splice(0)) link.close();
  await Promise.all(members.splice(0).map((m) => m.close()));
});

async function member(secret = SECRET): Promise<SwarmConnector> {
  const m = await joinSwarm({ signal: server, secret, rtc });
  members.push(m);
  return m;
}

/** A member announced in `swarm` while holding `secret`, not that swarm's. */
async function impostor(secret: Uint8Array, swarm: string): Promise<SwarmConnector> {
  const m = await joinSwarmById({ signal: server, secret, rtc }, swarm);
  members.push(m);
  return m;
}

/** The next message `link` receives. */
function nextMessage(link: MessageLink): Promise<string> {
  return new Promise((resolve) => link.onMessage((msg) => resolve(new TextDecoder().decode(msg))));
}

/** `a` and `b` are the two ends of one working link: bytes go through both ways. */
async function expectJoined(a: MessageLink, b: MessageLink): Promise<void> {
  links.push(a, b);
  // Ends of two different links would never hear each other.
  const atB = nextMessage(b);
  a.send(new TextEncoder().encode('ping'));
  expect(await withTimeout(atB, 'ping through the link')).toBe('ping');
  const atA = nextMessage(a);
  b.send(new TextEncoder().encode('pong'));
  expect(await withTimeout(atA, 'pong through the link')).toBe('pong');
}

/** The next link `m` is opened to, and by whom. */
function nextLink(m: SwarmConnector): Promise<{ link: MessageLink; from: string }> {
  return new Promise((resolve) => m.onLink((link, from) => resolve({ link, from })));
}

describe('swarm members', () => {
  it('see each other and open a working link', async () => {
    const a = await member();
    const joined = new Promise<string>((resolve) => a.onMember((id, yes) => yes && resolve(id)));
    const b = await member();
    expect(await joined).toBe(b.memberId);
    expect(a.members()).toEqual([b.memberId]);
    expect(b.members()).toEqual([a.memberId]);
    expect(a.memberId).toMatch(/^[\w-]{22}$/);
    const incoming = nextLink(b);
    const link = await a.connect(b.memberId);
    const accepted = await incoming;
    expect(accepted.from).toBe(a.memberId);
    await expectJoined(link, accepted.link);
    expect(server.server.swarmStats).toEqual({ swarms: 1, members: 2 });
    expect(await server.server.metrics.registry.metrics()).toMatch(/^peerlane_signal_swarm_members 2$/m);
  });

  // webrtc: the SDP surely goes through the tracker; auto: TCP wins, and the data channel's late signals follow.
  it.each(['webrtc', 'auto'] as const)(
    'show the server neither SDP nor addresses, and leave no stray attempt behind (%s)',
    async (transport) => {
      const proxy = await startRelayProxy(server);
      try {
        const join = async (): Promise<SwarmConnector> => {
          const m = await joinSwarm({ signal: proxy, secret: SECRET, rtc: { ...rtc, transport } });
          members.push(m);
          return m;
        };
        const [a, b] = [await join(), await join()];
        const incoming = nextLink(b);
        await expectJoined(await a.connect(b.memberId), (await incoming).link);
        await new Promise((resolve) => setTimeout(resolve, 500)); // for anything late
        const relayed = proxy.lines.filter((line) => line.includes('"swarm-relay"'));
        expect(relayed.length).toBeGreaterThan(3);
        for (const line of proxy.lines) {
          expect(line).not.toMatch(/v=0|candidate|127\.0\.0\.1|offer|answer/);
          // A late payload of a finished attempt taken for a new one would be refused.
          expect(line).not.toContain('refused');
        }
      } finally {
        await proxy.close();
      }
    },
  );

  it('link through the signal server’s relay, two links of one pair at once', async () => {
    const relaying = await h.signalServer({ relay: { enabled: true } });
    const join = async (): Promise<SwarmConnector> => {
      const m = await joinSwarm({ signal: relaying, secret: SECRET, rtc: { ...rtc, transport: 'relay' } });
      members.push(m);
      return m;
    };
    const [a, b] = [await join(), await join()];
    const toB = nextLink(b);
    const ab = await a.connect(b.memberId);
    await expectJoined(ab, (await toB).link);
    // The pair's second link: its own pairing at the relay, not the first one's.
    const toA = nextLink(a);
    const ba = await b.connect(a.memberId);
    await expectJoined(ba, (await toA).link);
    expect([ab.transport, ba.transport]).toEqual(['relay', 'relay']);
    await expectJoined(ab, (await toB).link);
  });

  it('notice a member leaving', async () => {
    const a = await member();
    const b = await member();
    const left = new Promise<string>((resolve) => a.onMember((id, yes) => !yes && resolve(id)));
    await b.close();
    expect(await left).toBe(b.memberId);
    expect(a.members()).toEqual([]);
    await expect(a.connect(b.memberId)).rejects.toMatchObject({ code: 'PEER_NOT_FOUND' });
    await expect.poll(() => server.server.swarmStats).toEqual({ swarms: 1, members: 1 });
    // Nor is there a link to oneself, or to what is no member id.
    await expect(a.connect(a.memberId)).rejects.toMatchObject({ code: 'PEER_NOT_FOUND' });
    await expect(a.connect('nobody')).rejects.toMatchObject({ code: 'PEER_NOT_FOUND' });
  });

  it('leave when the abort signal they joined with fires, and refuse to join with one fired', async () => {
    const a = await member();
    const abort = new AbortController();
    const b = await joinSwarm({ signal: server, secret: SECRET, rtc, abort: abort.signal });
    members.push(b);
    const left = new Promise<string>((resolve) => a.onMember((id, yes) => !yes && resolve(id)));
    abort.abort();
    expect(await left).toBe(b.memberId);
    await expect(b.connect(a.memberId)).rejects.toMatchObject({ code: 'INTERRUPTED' });
    await expect(
      joinSwarm({ signal: server, secret: SECRET, rtc, abort: abort.signal }),
    ).rejects.toMatchObject({
      code: 'INTERRUPTED',
    });
  });

  it('connect pairwise, three of them', async () => {
    const [a, b, c] = [await member(), await member(), await member()];
    for (const [x, y] of [
      [a, b],
      [a, c],
      [b, c],
    ] as const) {
      const incoming = nextLink(y);
      const link = await x.connect(y.memberId);
      await expectJoined(link, (await incoming).link);
    }
  });

  it('make one link when two dial each other at once', async () => {
    for (let round = 0; round < 3; round++) {
      const [a, b] = [await member(), await member()];
      let unasked = 0;
      for (const m of [a, b]) m.onLink(() => unasked++);
      const [ab, ba] = await Promise.all([a.connect(b.memberId), b.connect(a.memberId)]);
      await expectJoined(ab, ba);
      expect(unasked).toBe(0);
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('cannot open a link with a member of another secret', async () => {
    const honest = await member();
    let linked = false;
    honest.onLink(() => {
      linked = true;
    });
    const other = SECRET.slice();
    other[0] = 99;
    expect(swarmId(other)).not.toBe(swarmId(SECRET));
    const rogue = await impostor(other, swarmId(SECRET));
    // Each side refuses the other's first payload at once: no waiting out the 10 s timeout.
    const started = Date.now();
    const err: PeerlaneError = await rogue.connect(honest.memberId).catch((e) => e);
    expect(err.code).toBe('SWARM_AUTH_FAILED');
    await expect(honest.connect(rogue.memberId)).rejects.toMatchObject({ code: 'SWARM_AUTH_FAILED' });
    expect(Date.now() - started).toBeLessThan(rtc.timeoutMs / 2);
    expect(linked).toBe(false);
  });

  it('answer an attempt that does not open with one refusal, and set nothing up for it', async () => {
    const honest = await member();
    const raw = await connectRawClient(server, { waitMs: 5_000 });
    try {
      const swarm = swarmId(SECRET);
      raw.sendJson({ v, type: 'announce', swarm });
      expect(await raw.next()).toMatchObject({ type: 'announced', members: [honest.memberId] });
      const c = newAttemptId();
      const forged = encodeSecureMessage({ kind: 'sealed', box: toBase64(new Uint8Array(48)) });
      const payload = encodeMemberPayload({ c, p: forged });
      raw.sendJson({ v, type: 'swarm-relay', swarm, to: honest.memberId, payload });
      expect(await raw.next()).toEqual({
        v,
        type: 'swarm-relay',
        swarm,
        from: honest.memberId,
        payload: refusal(c),
      });
      // Not its direct hints, nor anything else of an attempt; and the rest of that attempt goes unanswered.
      raw.sendJson({ v, type: 'swarm-relay', swarm, to: honest.memberId, payload });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(raw.lines).toHaveLength(2);
    } finally {
      raw.socket.destroy();
    }
  });

  it('come back as the same members when the server restarts, their links carrying on', async () => {
    const [a, b] = [await member(), await member()];
    const incoming = nextLink(b);
    const before = await a.connect(b.memberId);
    const accepted = (await incoming).link;
    const ids = [a.memberId, b.memberId];
    const { port } = server;
    await server.server.close();
    const again = new SignalServer({ host: LOOPBACK, port });
    try {
      await again.listen();
      await expect.poll(() => again.swarmStats, { timeout: 10_000 }).toEqual({ swarms: 1, members: 2 });
      expect([a.memberId, b.memberId]).toEqual(ids);
      expect(a.members()).toEqual([b.memberId]);
      await expectJoined(before, accepted);
      const c = await member();
      expect(c.members().sort()).toEqual([...ids].sort());
      const toC = nextLink(c);
      await expectJoined(await a.connect(c.memberId), (await toC).link);
    } finally {
      await Promise.all(members.splice(0).map((m) => m.close()));
      await again.close();
    }
  });
});
