/**
 * Offenders against the tracker (server/swarm.ts): each gets an error frame
 * with a stable code and is closed, while the swarm's honest members keep
 * being served, links included. And the tracker's caps: members per swarm,
 * swarms per connection, swarm relays per connection.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { MessageLink } from '../../src/core/link.js';
import { swarmId } from '../../src/core/swarm/keys.js';
import type { SignalLimits } from '../../src/server/server-config.js';
import type { SwarmConnector } from '../../src/swarm/connector.js';
import { joinSwarm } from '../../src/swarm/connector.js';
import { LOOPBACK } from '../../src/testing/harness.js';
import type { RawClient } from '../../src/testing/raw-client.js';
import type { Started } from '../../src/testing/signal-clients.js';
import { expectRejected, SignalBench, v, WAIT_MS } from '../../src/testing/signal-clients.js';

const rtc = { iceServers: [], bindAddress: LOOPBACK, timeoutMs: 10_000 };
const SECRET = Uint8Array.from({ length: 16 }, (_, i) => 100 + i);
const SWARM = swarmId(SECRET);
const MEMBER = /^[\w-]{22}$/;

const bench = new SignalBench();
const members: SwarmConnector[] = [];
const links: MessageLink[] = [];
afterEach(async () => {
  for (const link of links.splice(0)) link.close();
  await Promise.all(members.splice(0).map((m) => m.close()));
  await bench.cleanup();
});

/** A server, and two honest members of SWARM on it. */
async function swarmOf(limits: Partial<SignalLimits> = {}): Promise<{
  s: Started;
  a: SwarmConnector;
  b: SwarmConnector;
}> {
  const s = await bench.start(limits);
  const join = async (): Promise<SwarmConnector> => {
    const m = await joinSwarm({ signal: s, secret: SECRET, rtc });
    members.push(m);
    return m;
  };
  return { s, a: await join(), b: await join() };
}

/**
 * A raw client announced in `swarm` (as `as`, a member back on a new
 * connection); resolves with the server's answer.
 */
async function announced(
  s: Started,
  swarm = SWARM,
  as: { member: string; token: string } | Record<string, never> = {},
): Promise<{ c: RawClient; member: string; token: string; members: unknown }> {
  const c = await bench.connect(s);
  c.sendJson({ v, type: 'announce', swarm, ...as });
  const msg = await c.next();
  const token = expect.stringMatching(MEMBER);
  expect(msg).toMatchObject({ type: 'announced', swarm, member: expect.stringMatching(MEMBER), token });
  return { c, member: String(msg.member), token: String(msg.token), members: msg.members };
}

/** `a` still opens a working link to `b`. */
async function expectLinks(a: SwarmConnector, b: SwarmConnector): Promise<void> {
  const incoming = new Promise<MessageLink>((resolve) => b.onLink((link) => resolve(link)));
  const link = await a.connect(b.memberId);
  const other = await incoming;
  links.push(link, other);
  const got = new Promise<Uint8Array>((resolve) => other.onMessage(resolve));
  link.send(Uint8Array.of(1, 2, 3));
  expect([...(await got)]).toEqual([1, 2, 3]);
}

describe('the tracker, against offenders', () => {
  it.each([
    ['too short', 'ab'.repeat(31)],
    ['upper case', 'AB'.repeat(32)],
    ['not hex', 'zz'.repeat(32)],
    ['not a string', 42],
  ])('drops a client announcing a swarm id %s', async (_what, swarm) => {
    const { s, a, b } = await swarmOf();
    const c = await bench.connect(s);
    c.sendJson({ v, type: 'announce', swarm });
    await expectRejected(c, 'BAD_MESSAGE');
    await expectLinks(a, b);
  });

  it('drops a relay in a swarm the client did not announce, and answers one to a member gone', async () => {
    const { s, a, b } = await swarmOf();
    const { c } = await announced(s);
    // Still a member: a relay to someone who is not one gets a notice, not a drop (it may just have left).
    c.sendJson({ v, type: 'swarm-relay', swarm: SWARM, to: 'A'.repeat(22), payload: 'x' });
    expect(await c.next()).toEqual({
      v,
      type: 'member',
      swarm: SWARM,
      member: 'A'.repeat(22),
      joined: false,
    });
    // Into a swarm it never announced: it has no business there.
    c.sendJson({ v, type: 'swarm-relay', swarm: 'cd'.repeat(32), to: a.memberId, payload: 'x' });
    await expectRejected(c, 'BAD_MESSAGE');
    // Nor before announcing at all.
    const early = await bench.connect(s);
    early.sendJson({ v, type: 'swarm-relay', swarm: SWARM, to: a.memberId, payload: 'x' });
    await expectRejected(early, 'BAD_MESSAGE');
    await expectLinks(a, b);
  });

  it('drops a member that floods relays, and one that sends an oversize line', async () => {
    const { s, a, b } = await swarmOf({ swarmRelayBurst: 20, swarmRelayRatePerMinute: 1 });
    const flooder = await announced(s);
    for (let i = 0; i < 40; i++) {
      flooder.c.sendJson({ v, type: 'swarm-relay', swarm: SWARM, to: a.memberId, payload: 'junk' });
    }
    await expectRejected(flooder.c, 'RATE_LIMITED');
    const big = await announced(s);
    big.c.sendJson({ v, type: 'swarm-relay', swarm: SWARM, to: a.memberId, payload: 'x'.repeat(70_000) });
    await expectRejected(big.c, 'MESSAGE_TOO_LARGE');
    // The honest members heard both come and go, and still link (the junk reached none of their attempts).
    await expect.poll(() => a.members().length, { timeout: WAIT_MS }).toBe(1);
    await expectLinks(a, b);
  });

  it('holds a swarm to SIGNAL_SWARM_MEMBERS and a connection to SIGNAL_SWARMS_PER_CONNECTION', async () => {
    const { s } = await swarmOf({ swarmMembers: 3, swarmsPerConnection: 2 });
    const third = await announced(s);
    const fourth = await bench.connect(s);
    fourth.sendJson({ v, type: 'announce', swarm: SWARM });
    await expectRejected(fourth, 'SERVER_BUSY');
    third.c.sendJson({ v, type: 'announce', swarm: SWARM });
    await expectRejected(third.c, 'BAD_MESSAGE', 'already announced in that swarm');
    // Once one leaves, there is room again.
    const again = await announced(s);
    again.c.sendJson({ v, type: 'announce', swarm: 'cd'.repeat(32) });
    expect(await again.c.next()).toMatchObject({ type: 'announced', members: [] });
    again.c.sendJson({ v, type: 'announce', swarm: 'ef'.repeat(32) });
    await expectRejected(again.c, 'RATE_LIMITED');
  });

  it('keeps pairing and swarms apart on one connection', async () => {
    const { s } = await swarmOf();
    const member = await announced(s);
    member.c.sendJson({ v, type: 'register' });
    await expectRejected(member.c, 'BAD_MESSAGE');
    const receiver = await bench.register(s);
    expect(await receiver.next()).toMatchObject({ type: 'registered' });
    receiver.sendJson({ v, type: 'announce', swarm: SWARM });
    await expectRejected(receiver, 'BAD_MESSAGE', 'already registered');
  });

  it('lets only the token’s holder come back as a member, and its old connection’s end removes nothing', async () => {
    const { s, a, b } = await swarmOf();
    const first = await announced(s);
    const impostor = await bench.connect(s);
    impostor.sendJson({ v, type: 'announce', swarm: SWARM, member: first.member, token: 'T'.repeat(22) });
    await expectRejected(impostor, 'BAD_MESSAGE', 'that member id is held with another token');
    // The holder, on a second connection while the first is still open: it moves there.
    const back = await announced(s, SWARM, { member: first.member, token: first.token });
    expect(back.member).toBe(first.member);
    expect(back.token).toBe(first.token);
    expect(new Set(back.members as string[])).toEqual(new Set([a.memberId, b.memberId]));
    const payload = 'for the member, wherever it is now';
    const relay = { v, type: 'swarm-relay', swarm: SWARM, to: first.member, payload };
    const viaB = await announced(s); // a raw sender, to see what arrives where
    expect(await back.c.next()).toMatchObject({ type: 'member', member: viaB.member, joined: true });
    viaB.c.sendJson(relay);
    expect(await back.c.next()).toEqual({ v, type: 'swarm-relay', swarm: SWARM, from: viaB.member, payload });
    // The old connection ends: the member stays (a leaving member would be told to a and b).
    first.c.end();
    await first.c.closed;
    viaB.c.sendJson(relay);
    expect(await back.c.next()).toMatchObject({ type: 'swarm-relay', payload });
    expect(a.members()).toContain(first.member);
    await expectLinks(a, b);
  });
});
