/**
 * The signal server as a swarm's tracker, and member-to-member links
 * (swarm/connector.ts) over it: a real server, real members in this process,
 * real links (direct TCP raced against a data channel) on 127.0.0.1.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PeerlaneError } from '../../src/core/errors.js';
import type { MessageLink } from '../../src/core/link.js';
import { swarmId } from '../../src/core/swarm/keys.js';
import type { SwarmConnector } from '../../src/swarm/connector.js';
import { joinSwarm, joinSwarmById } from '../../src/swarm/connector.js';
import { LOOPBACK } from '../../src/testing/harness.js';
import { useSignalServer } from '../../src/testing/hooks.js';

const rtc = { iceServers: [], bindAddress: LOOPBACK, timeoutMs: 10_000 };
const SECRET = Uint8Array.from({ length: 16 }, (_, i) => i + 1);

const { server } = useSignalServer({ beforeEach, afterEach });
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
  const atB = nextMessage(b);
  a.send(new TextEncoder().encode('ping'));
  expect(await atB).toBe('ping');
  const atA = nextMessage(a);
  b.send(new TextEncoder().encode('pong'));
  expect(await atA).toBe('pong');
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

  it('notice a member leaving', async () => {
    const a = await member();
    const b = await member();
    const left = new Promise<string>((resolve) => a.onMember((id, yes) => !yes && resolve(id)));
    await b.close();
    expect(await left).toBe(b.memberId);
    expect(a.members()).toEqual([]);
    await expect(a.connect(b.memberId)).rejects.toMatchObject({ code: 'PEER_NOT_FOUND' });
    await expect.poll(() => server.server.swarmStats).toEqual({ swarms: 1, members: 1 });
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
    const err: PeerlaneError = await rogue.connect(honest.memberId).catch((e) => e);
    expect(err.code).toBe('SWARM_AUTH_FAILED');
    await expect(honest.connect(rogue.memberId)).rejects.toMatchObject({ code: 'SWARM_AUTH_FAILED' });
    expect(linked).toBe(false);
  });
});
