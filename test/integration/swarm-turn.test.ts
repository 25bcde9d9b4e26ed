/**
 * TURN credentials for swarm members: the tracker's `announced` carries a
 * grant on a server configured for TURN (none without, none past the
 * address's hourly budget, fresh ones on an announce again), and members'
 * links use it: relay-only links through a real coturn on loopback, and none
 * started on credentials about to expire.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { PeerlaneError } from '../../src/core/errors.js';
import { parseServerMessage, SIGNAL_PROTOCOL_VERSION as v } from '../../src/core/signaling/protocol.js';
import type { TurnGrant } from '../../src/core/signaling/turn-grant.js';
import type { RtcOptions } from '../../src/rtc/connect.js';
import { restUsernameExpiry } from '../../src/rtc/ice-servers.js';
import { SignalServer } from '../../src/server/server.js';
import type { TurnConfig } from '../../src/server/turn.js';
import { turnPassword } from '../../src/server/turn.js';
import type { SwarmConnector } from '../../src/swarm/connector.js';
import { joinSwarm } from '../../src/swarm/connector.js';
import type { CoturnHandle } from '../../src/testing/coturn.js';
import { coturnSkipReason, startCoturn } from '../../src/testing/coturn.js';
import { LOOPBACK } from '../../src/testing/harness.js';
import type { RawClient } from '../../src/testing/raw-client.js';
import { connectRawClient } from '../../src/testing/raw-client.js';

const TURN_SECRET = 'swarm-turn-secret';
/** coturn's relays, apart from the members' 127.0.0.1 (see startCoturn). */
const RELAY_IP = '127.0.0.2';
const SWARM_SECRET = Uint8Array.from({ length: 16 }, (_, i) => i + 7);
const turn: TurnConfig = { urls: ['turn:203.0.113.5:3478'], secret: TURN_SECRET, ttlSeconds: 600 };

const servers: SignalServer[] = [];
const raws: RawClient[] = [];
const members: SwarmConnector[] = [];
let coturn: CoturnHandle | undefined;

afterEach(async () => {
  for (const raw of raws.splice(0)) raw.end();
  await Promise.all(members.splice(0).map((m) => m.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await coturn?.stop();
  coturn = undefined;
});

async function startServer(options: Partial<ConstructorParameters<typeof SignalServer>[0]> = {}) {
  const server = new SignalServer({ host: LOOPBACK, port: 0, ...options });
  servers.push(server);
  return server.listen();
}

/** A raw announce in swarm `n` (64 hex digits made of it); resolves with the parsed `announced`. */
async function announce(to: { host: string; port: number }, n: number, again?: object) {
  const raw = await connectRawClient(to);
  raws.push(raw);
  const swarm = n.toString(16).padStart(64, '0');
  raw.sendJson({ v, type: 'announce', swarm, ...again });
  const msg = parseServerMessage(JSON.stringify(await raw.next()));
  if (msg.type !== 'announced') throw new Error(`expected announced, got ${JSON.stringify(msg)}`);
  return { raw, msg };
}

function expectValid(grant: TurnGrant | undefined, urls: string[]): void {
  expect(grant).toBeDefined();
  if (grant === undefined) return;
  expect(grant.urls).toEqual(urls);
  expect(grant.password).toBe(turnPassword(TURN_SECRET, grant.username));
  expect(restUsernameExpiry(grant.username)).toBe(grant.expiresAt);
  expect(grant.expiresAt).toBeGreaterThan(Date.now() / 1000 + 500);
}

describe('the tracker’s TURN grants', () => {
  it('come with `announced` on a server configured for TURN, and fresh ones on an announce again', async () => {
    const to = await startServer({ turn });
    const first = await announce(to, 1);
    expectValid(first.msg.turn, turn.urls);
    // Back on a new connection as the same member: new credentials, for links to come.
    first.raw.end();
    const { member, token } = first.msg;
    const again = await announce(to, 1, { member, token });
    expect(again.msg.member).toBe(member);
    expectValid(again.msg.turn, turn.urls);
    expect(again.msg.turn?.username).not.toBe(first.msg.turn?.username);
  });

  it('are renewed on `swarm-turn`, from the same budget; only in a swarm the member announced', async () => {
    const to = await startServer({ turn, limits: { turnGrantsPerHour: 2 } });
    const { raw, msg } = await announce(to, 1);
    raw.sendJson({ v, type: 'swarm-turn', swarm: msg.swarm });
    const renewed = parseServerMessage(JSON.stringify(await raw.next()));
    expect(renewed).toMatchObject({ type: 'swarm-turn', swarm: msg.swarm });
    const fresh = renewed.type === 'swarm-turn' ? renewed.turn : undefined;
    expectValid(fresh, turn.urls);
    expect(fresh?.username).not.toBe(msg.turn?.username);
    // The budget (2) is spent: the answer comes, without credentials.
    raw.sendJson({ v, type: 'swarm-turn', swarm: msg.swarm });
    expect(await raw.next()).toEqual({ v, type: 'swarm-turn', swarm: msg.swarm });
    raw.sendJson({ v, type: 'swarm-turn', swarm: 'f'.repeat(64) });
    expect(await raw.next()).toMatchObject({ type: 'error', code: 'BAD_MESSAGE' });
  });

  it('are absent on a server without TURN', async () => {
    const to = await startServer();
    const { msg } = await announce(to, 1);
    expect(msg).not.toHaveProperty('turn');
  });

  it('share the per-address hourly budget with pairings: past it, members announce without', async () => {
    const to = await startServer({ turn, limits: { turnGrantsPerHour: 2 } });
    const grants = [];
    for (let n = 1; n <= 4; n++) grants.push((await announce(to, n)).msg.turn !== undefined);
    expect(grants).toEqual([true, true, false, false]);
  });
});

describe.skipIf(coturnSkipReason() !== undefined)('members’ links with the tracker’s TURN', () => {
  /** Relay candidates only: a link opens only through the TURN server the tracker named. */
  const relayOnly: RtcOptions = {
    iceServers: [],
    iceTransportPolicy: 'relay',
    bindAddress: LOOPBACK,
    timeoutMs: 10_000,
  };

  async function member(to: { host: string; port: number }): Promise<SwarmConnector> {
    const m = await joinSwarm({ signal: to, secret: SWARM_SECRET, rtc: relayOnly });
    members.push(m);
    return m;
  }

  it('open relay-only through a loopback coturn with no ICE servers of their own', async () => {
    coturn = await startCoturn(TURN_SECRET, { relayIp: RELAY_IP });
    const to = await startServer({
      turn: { urls: [`turn:${LOOPBACK}:${coturn.port}`], secret: TURN_SECRET, ttlSeconds: 600 },
    });
    const [a, b] = [await member(to), await member(to)];
    const incoming = new Promise<string>((resolve) => b.onLink((link) => resolve(link.pathInfo().path)));
    const link = await a.connect(b.memberId);
    expect(link.transport).toBe('webrtc');
    expect(link.pathInfo()).toMatchObject({ path: 'relay', local: 'relay', remote: 'relay' });
    expect(await incoming).toBe('relay');
    link.close();
  });

  it('ask the tracker for new credentials when theirs are about to expire, and link on those', async () => {
    coturn = await startCoturn(TURN_SECRET, { relayIp: RELAY_IP });
    // 17 s: out of the 15 s margin for a second or two, then near expiry.
    const to = await startServer({
      turn: { urls: [`turn:${LOOPBACK}:${coturn.port}`], secret: TURN_SECRET, ttlSeconds: 17 },
    });
    const [a, b] = [await member(to), await member(to)];
    await new Promise((r) => setTimeout(r, 2_500));
    const link = await a.connect(b.memberId);
    expect(link.pathInfo()).toMatchObject({ path: 'relay', local: 'relay', remote: 'relay' });
    link.close();
  });

  it('start no link on credentials about to expire: relay-only has no TURN server at all', async () => {
    coturn = await startCoturn(TURN_SECRET, { relayIp: RELAY_IP });
    // Valid for 5 s, well inside the margin a link needs to allocate its relay; new ones too.
    const to = await startServer({
      turn: { urls: [`turn:${LOOPBACK}:${coturn.port}`], secret: TURN_SECRET, ttlSeconds: 5 },
    });
    const [a, b] = [await member(to), await member(to)];
    const err = await a.connect(b.memberId).then(
      () => undefined,
      (e: PeerlaneError) => e,
    );
    expect(err?.code).toBe('BAD_CONFIG');
    expect(err?.message).toContain('TURN');
  });
});
