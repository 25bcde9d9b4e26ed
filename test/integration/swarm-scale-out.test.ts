/**
 * The tracker across signal server instances sharing a real redis-server
 * (server/swarm-book.ts): members announced on two instances see each other,
 * link through relays that cross over pub/sub, and hear each other leave; a
 * member of an instance that died is dropped from its swarm.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { MessageLink } from '../../src/core/link.js';
import { swarmId } from '../../src/core/swarm/keys.js';
import type { SwarmConnector } from '../../src/swarm/connector.js';
import { joinSwarm } from '../../src/swarm/connector.js';
import { LOOPBACK } from '../../src/testing/harness.js';
import { redisSkipReason, useRedis } from '../../src/testing/redis.js';
import type { Started } from '../../src/testing/signal-clients.js';
import { SignalBench, v, WAIT_MS } from '../../src/testing/signal-clients.js';

const rtc = { iceServers: [], bindAddress: LOOPBACK, timeoutMs: 10_000 };
const SECRET = Uint8Array.from({ length: 16 }, (_, i) => 200 + i);
const SWARM = swarmId(SECRET);
const skip = redisSkipReason();

let redis: { readonly url: string };
const bench = new SignalBench();
const members: SwarmConnector[] = [];
const links: MessageLink[] = [];

async function instance(port = 0): Promise<Started> {
  return bench.start({}, { redisUrl: redis.url, port });
}

async function member(at: Started): Promise<SwarmConnector> {
  const m = await joinSwarm({ signal: at, secret: SECRET, rtc });
  members.push(m);
  return m;
}

describe.skipIf(skip !== undefined)(
  `the tracker on instances sharing Redis${skip ? ` [skipped: ${skip}]` : ''}`,
  () => {
    redis = useRedis({ beforeAll, afterAll, beforeEach });
    afterEach(async () => {
      for (const link of links.splice(0)) link.close();
      await Promise.all(members.splice(0).map((m) => m.close()));
      await bench.cleanup();
    });

    it('lets members on two instances see each other, link, and hear each other leave', async () => {
      const [one, two] = [await instance(), await instance()];
      const a = await member(one);
      const joined = new Promise<string>((resolve) => a.onMember((id, yes) => yes && resolve(id)));
      const b = await member(two);
      expect(b.members()).toEqual([a.memberId]);
      expect(await joined).toBe(b.memberId);

      const incoming = new Promise<{ link: MessageLink; from: string }>((resolve) =>
        a.onLink((link, from) => resolve({ link, from })),
      );
      const link = await b.connect(a.memberId);
      const accepted = await incoming;
      links.push(link, accepted.link);
      expect(accepted.from).toBe(b.memberId);
      const got = new Promise<Uint8Array>((resolve) => accepted.link.onMessage(resolve));
      link.send(Uint8Array.of(7, 8, 9));
      expect([...(await got)]).toEqual([7, 8, 9]);
      expect(one.server.swarmStats).toEqual({ swarms: 1, members: 1 });
      expect(two.server.swarmStats).toEqual({ swarms: 1, members: 1 });

      const left = new Promise<string>((resolve) => a.onMember((id, yes) => !yes && resolve(id)));
      await b.close();
      expect(await left).toBe(b.memberId);
      await expect.poll(() => two.server.swarmStats, { timeout: WAIT_MS }).toEqual({ swarms: 0, members: 0 });
    });

    it('drops a member of an instance that died when the swarm is next joined', async () => {
      const one = await instance();
      const admin = new Redis(redis.url);
      // What a killed instance leaves behind: its member, and no live key.
      await admin.hset(
        `peerlane:swarm:${SWARM}`,
        'D'.repeat(22),
        JSON.stringify({ instance: 'dead', client: 1 }),
      );
      const c = await bench.connect(one);
      c.sendJson({ v, type: 'announce', swarm: SWARM });
      expect(await c.next()).toMatchObject({ type: 'announced', members: [] });
      expect(await admin.hexists(`peerlane:swarm:${SWARM}`, 'D'.repeat(22))).toBe(0);
      admin.disconnect();
    });

    it('keeps a member whose instance restarts, under the same id, reachable from the other', async () => {
      const [one, two] = [await instance(), await instance()];
      const a = await member(one);
      const b = await member(two);
      const id = a.memberId;
      await one.server.close();
      const again = await instance(one.port);
      await expect
        .poll(() => again.server.swarmStats, { timeout: 10_000 })
        .toEqual({ swarms: 1, members: 1 });
      expect(a.memberId).toBe(id);
      await expect.poll(() => b.members(), { timeout: WAIT_MS }).toEqual([id]);
      const incoming = new Promise<MessageLink>((resolve) => b.onLink((link) => resolve(link)));
      const link = await a.connect(b.memberId);
      const accepted = await incoming;
      links.push(link, accepted);
      const got = new Promise<Uint8Array>((resolve) => accepted.onMessage(resolve));
      link.send(Uint8Array.of(4, 2));
      expect([...(await got)]).toEqual([4, 2]);
    });
  },
);
