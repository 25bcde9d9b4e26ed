/**
 * A paired client that stops reading while its partner floods relays (issue
 * 14, item 1). Before the bytes queued toward a client were capped, the server
 * buffered whatever the flooder sent: 75 MB to 1.37 GB of RSS in 40 s. Now the
 * flooder is paused while its partner's queue is half full, relays are paid
 * from a bucket per paired client, and a client that lets its queue overflow
 * (or the server's, across clients) is dropped.
 *
 * The RSS test runs the real `serve:signal` as its own process and reads its
 * memory from /proc, so that the test's own buffers do not count.
 */
import fs from 'node:fs';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness } from '../../src/testing/harness.js';
import type { RedisHandle } from '../../src/testing/redis.js';
import { redisSkipReason, startRedis } from '../../src/testing/redis.js';
import { expectRejected, SignalBench, sleep, v, WAIT_MS } from '../../src/testing/signal-clients.js';

const h = new Harness();
const bench = new SignalBench();
afterEach(async () => {
  await bench.cleanup();
  await h.cleanup();
});

/** What the issue asks the server to stay under during the flood. */
const RSS_LIMIT_MB = 150;
const FLOOD_MS = 6_000;
/** One relay line of about 60 kB, near the protocol's 64 KiB limit. */
const BIG_RELAY = Buffer.from(`${JSON.stringify({ v, type: 'relay', payload: 'x'.repeat(60_000) })}\n`);

function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for ${pid}`);
  return Number(kb) / 1024;
}

/**
 * Write `frame` as fast as `socket` takes it while `going()`; resolves with the
 * bytes it took. It lets the event loop run every 64 KiB, since the kernel may
 * take everything at once and this process has clients of its own to read.
 */
async function flood(socket: net.Socket, frame: Buffer, going: () => boolean): Promise<number> {
  let bytes = 0;
  while (going() && !socket.destroyed) {
    bytes += frame.length;
    if (bytes % (64 * 1024) < frame.length) await new Promise(setImmediate);
    if (!socket.write(frame)) {
      await Promise.race([
        new Promise((resolve) => socket.once('drain', resolve)),
        new Promise((resolve) => socket.once('close', resolve)),
        sleep(100),
      ]);
    }
  }
  return bytes;
}

describe('a partner that stops reading', () => {
  it(`a flood toward it keeps the server under ${RSS_LIMIT_MB} MB, and other pairings keep working`, async () => {
    // Relay buckets out of the way: this is about what the server queues, not how often it relays.
    const server = await h.signalProcess(['--relay-rate', '1000000000', '--relay-burst', '1000000000']);
    const pid = server.process.child.pid ?? 0;
    const { a: deaf, b: flooder } = await bench.pair(server);
    deaf.socket.pause();
    const before = rssMb(pid);
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssMb(pid));
    }, 50);

    let going = true;
    const flooded = flood(flooder.socket, BIG_RELAY, () => going);
    // Meanwhile another pairing talks, and every round trip comes back promptly.
    const { a, b } = await bench.pair(server);
    const started = performance.now();
    let slowest = 0;
    for (let i = 0; performance.now() - started < FLOOD_MS; i++) {
      const sent = performance.now();
      b.sendJson({ v, type: 'relay', payload: `ping ${i}` });
      expect(await a.next()).toEqual({ v, type: 'relay', payload: `ping ${i}` });
      slowest = Math.max(slowest, performance.now() - sent);
      await sleep(50);
    }
    going = false;
    const bytes = await flooded;
    clearInterval(sampler);
    peak = Math.max(peak, rssMb(pid));
    console.log(
      `flood: server RSS ${before.toFixed(0)} -> peak ${peak.toFixed(0)} MB; flooder got ${(bytes / 2 ** 20).toFixed(1)} MiB out in ${FLOOD_MS} ms; slowest round trip beside it ${slowest.toFixed(0)} ms`,
    );
    expect(peak).toBeLessThan(RSS_LIMIT_MB);
    expect(slowest).toBeLessThan(2_000);
    // The flooder was stalled, not dropped: it is back-pressured like any fast sender.
    expect(flooder.isClosed()).toBe(false);
    expect(deaf.isClosed()).toBe(false);
  });

  it('with the default limits, a relay flood ends in RATE_LIMITED for the flooder', async () => {
    const server = await h.signalProcess();
    const { a: reader, b: flooder } = await bench.pair(server);
    const small = Buffer.from(`${JSON.stringify({ v, type: 'relay', payload: 'x'.repeat(100) })}\n`);
    void flood(flooder.socket, small, () => !flooder.isClosed());
    await expectRejected(flooder, 'RATE_LIMITED', 'too many relayed messages');
    // The burst (200) got through, and little more: the bucket refills 5 a second.
    await expect.poll(() => reader.lines.at(-1), { timeout: WAIT_MS }).toEqual({ v, type: 'peer-left' });
    const relayed = reader.lines.filter((l) => l.type === 'relay').length;
    expect(relayed).toBeGreaterThanOrEqual(200);
    expect(relayed).toBeLessThan(260);
  });
});

describe('bytes queued toward all clients', () => {
  it('past the server-wide cap, a client that does not read is dropped', async () => {
    const MiB = 1024 * 1024;
    // Each deaf client may hold 4 MiB (its flooder pauses at 2), the server 3 MiB in all.
    const s = await bench.start({
      clientQueueBytes: 4 * MiB,
      maxQueuedBytes: 3 * MiB,
      relayRatePerMinute: 1e9,
      relayBurst: 1e9,
      maxConnectionsPerIp: 100,
    });
    const pairs = [await bench.pair(s), await bench.pair(s)];
    for (const { a } of pairs) a.socket.pause();
    let going = true;
    const floods = pairs.map(({ b }) => flood(b.socket, BIG_RELAY, () => going));
    const noRoom = 'rejected: SERVER_BUSY: the server has no room for messages this client does not read';
    await expect.poll(() => s.log.filter((l) => l.includes(noRoom)).length, { timeout: WAIT_MS }).toBe(1);
    expect(s.server.buffered.queued).toBeLessThanOrEqual(3 * MiB + BIG_RELAY.length);
    // Its flooder learns that its partner left (and what it relays after that is refused as usual).
    await expect
      .poll(() => pairs.filter(({ b }) => b.lines.some((l) => l.type === 'peer-left')).length, {
        timeout: WAIT_MS,
      })
      .toBe(1);
    going = false;
    await Promise.all(floods);
    bench.dropClients();
    // Nothing of the flood stays behind, as /metrics shows too.
    await expect.poll(() => s.server.buffered, { timeout: WAIT_MS }).toEqual({ queued: 0, pending: 0 });
    const metrics = await s.server.metrics.registry.metrics();
    expect(metrics).toMatch(/^peerlane_signal_queued_bytes 0$/m);
    expect(metrics).toMatch(/^peerlane_signal_rejected_clients_total\{code="SERVER_BUSY"\} 1$/m);
  });
});

const noRedis = redisSkipReason();

describe.skipIf(noRedis !== undefined)(
  `a partner on another instance${noRedis ? ` [skipped: ${noRedis}]` : ''}`,
  () => {
    let redis: RedisHandle | undefined;
    afterEach(async () => {
      await bench.cleanup();
      await redis?.stop();
    });

    it('cannot be paused from there: past its queue cap, the client that does not read is dropped', async () => {
      redis = await startRedis();
      const limits = { clientQueueBytes: 512 * 1024, relayRatePerMinute: 1e9, relayBurst: 1e9 };
      const one = await bench.start(limits, { redisUrl: redis.url });
      const two = await bench.start(limits, { redisUrl: redis.url });
      const deaf = await bench.register(one);
      const { nameplate } = await deaf.next();
      const flooder = await bench.connect(two);
      flooder.sendJson({ v, type: 'join', nameplate });
      expect(await flooder.next()).toMatchObject({ type: 'paired' });
      await expect.poll(() => deaf.lines.some((l) => l.type === 'paired'), { timeout: WAIT_MS }).toBe(true);
      deaf.socket.pause();

      let going = true;
      const flooded = flood(flooder.socket, BIG_RELAY, () => going);
      const piledUp = 'rejected: RATE_LIMITED: messages for this client piled up unread';
      await expect.poll(() => one.log.some((l) => l.includes(piledUp)), { timeout: WAIT_MS }).toBe(true);
      await expect
        .poll(() => flooder.lines.some((l) => l.type === 'peer-left'), { timeout: WAIT_MS })
        .toBe(true);
      going = false;
      await flooded;
      expect(one.server.buffered.queued).toBe(0);
    });
  },
);
