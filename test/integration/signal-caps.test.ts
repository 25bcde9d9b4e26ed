/**
 * The signal server's limits on what all clients together can make it hold
 * (issue 14, item 8): connections in all, unfinished lines in all and by age,
 * and waiting receivers shared fairly between addresses, so that filling them
 * from a few addresses locks nobody else out. Each attack runs against a real
 * server over loopback, from several 127/8 addresses (IPv6 prefixes are
 * signal-ipv6.test.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RawClient } from '../../src/testing/raw-client.js';
import { canBind, expectRejected, SignalBench, sleep, v, WAIT_MS } from '../../src/testing/signal-clients.js';

const bench = new SignalBench();
afterEach(() => bench.cleanup());

/** `127.0.0.<10+i>`: a distinct address for each attacker, none of them the honest 127.0.0.1. */
const attacker = (i: number): string => `127.0.0.${10 + i}`;
const manyAddresses = await canBind(attacker(0));

describe('connections in all', () => {
  it.runIf(manyAddresses)(
    'past the global cap, a connection from a fresh address gets SERVER_BUSY',
    async () => {
      const s = await bench.start({ maxConnections: 10, maxConnectionsPerIp: 4 });
      // Ten addresses, one connection each: no address is near its own cap.
      const held = await Promise.all(
        Array.from({ length: 10 }, (_, i) => bench.register(s, { localAddress: attacker(i) })),
      );
      for (const c of held) expect(await c.next()).toMatchObject({ type: 'registered' });
      const late = await bench.connect(s, { localAddress: attacker(10) });
      await expectRejected(late, 'SERVER_BUSY', 'too many connections to this server');
      // One leaves, and there is room again.
      held[0]?.end();
      await expect.poll(() => s.server.accounting.connections, { timeout: WAIT_MS }).toBe(9);
      const next = await bench.register(s, { localAddress: attacker(11) });
      expect(await next.next()).toMatchObject({ type: 'registered' });
    },
  );
});

describe('unfinished lines', () => {
  it('past the global cap on their bytes, the client adding more gets SERVER_BUSY', async () => {
    const s = await bench.start({ maxPendingBytes: 200_000, maxConnectionsPerIp: 100 });
    // Each sends 60 kB of a line it never finishes: three fit under the cap, the rest do not.
    const unfinished = `{"v":${v},"type":"relay","payload":"${'x'.repeat(60_000)}`;
    const clients: RawClient[] = [];
    for (let i = 0; i < 6; i++) {
      const c = await bench.connect(s);
      c.socket.write(unfinished);
      clients.push(c);
      if (i < 3) {
        const held = unfinished.length * (i + 1);
        await expect.poll(() => s.server.buffered.pending, { timeout: WAIT_MS }).toBe(held);
      } else {
        await expectRejected(c, 'SERVER_BUSY', 'too many unfinished messages on this server');
      }
    }
    expect(clients.slice(0, 3).every((c) => !c.isClosed())).toBe(true);
    // The refused ones' bytes are given back as they close.
    await expect.poll(() => s.server.buffered.pending, { timeout: WAIT_MS }).toBe(unfinished.length * 3);
    // Whoever leaves gives its bytes back.
    for (const c of clients.slice(0, 3)) c.end();
    await expect.poll(() => s.server.buffered.pending, { timeout: WAIT_MS }).toBe(0);
  });

  it('a paired client trickling one line for longer than the handshake timeout is dropped', async () => {
    // Paired, the idle timeout (10 s here) would let it hold the line; the line's own age does not.
    const s = await bench.start({ handshakeTimeoutMs: 400, idleTimeoutMs: 10_000 });
    const { a, b } = await bench.pair(s);
    const started = performance.now();
    b.socket.write(`{"v":${v},"type":"relay","payload":"`);
    const drip = setInterval(() => b.socket.write('x'), 50);
    try {
      await expectRejected(b, 'BAD_MESSAGE', 'a message took too long to arrive');
    } finally {
      clearInterval(drip);
    }
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(350);
    expect(took).toBeLessThan(3_000);
    expect(await a.next()).toEqual({ v, type: 'peer-left' });
  });

  it('lines that each finish in time are never cut off, however the bytes are split', async () => {
    const s = await bench.start({ handshakeTimeoutMs: 400, idleTimeoutMs: 10_000 });
    const { a, b } = await bench.pair(s);
    // Always half a line outstanding at the end of each write, for three times the timeout.
    const line = (i: number): string => `${JSON.stringify({ v, type: 'relay', payload: String(i) })}\n`;
    b.socket.write(line(0).slice(0, 10));
    for (let i = 0; i < 12; i++) {
      await sleep(100);
      b.socket.write(line(i).slice(10) + line(i + 1).slice(0, 10));
    }
    for (let i = 0; i < 12; i++) expect(await a.next()).toEqual({ v, type: 'relay', payload: String(i) });
    expect(b.isClosed()).toBe(false);
  });
});

describe('waiting receivers, shared fairly between addresses', () => {
  it.runIf(manyAddresses)('20 addresses filling every place lock nobody else out', async () => {
    const places = 200;
    const s = await bench.start({ maxNameplates: places, maxConnectionsPerIp: 20, joinBurst: 20 });
    const squatters: RawClient[] = [];
    for (let i = 0; i < 20; i++) {
      const batch = await Promise.all(
        Array.from({ length: places / 20 }, () => bench.register(s, { localAddress: attacker(i) })),
      );
      for (const c of batch) expect(await c.next()).toMatchObject({ type: 'registered' });
      squatters.push(...batch);
    }
    expect(s.server.stats.waiting).toBe(places);
    // A squatter asking for more gets nothing: its address already holds as many as any.
    await expectRejected(await bench.register(s, { localAddress: attacker(0) }), 'SERVER_BUSY');

    // Honest receivers from three other addresses each get a place.
    const honest = await Promise.all(
      ['127.0.0.1', attacker(100), attacker(101)].map((localAddress) => bench.register(s, { localAddress })),
    );
    for (const c of honest) expect(await c.next()).toMatchObject({ type: 'registered' });
    expect(s.server.stats.waiting).toBe(places);
    // Each place came from a squatter, oldest first, and it was told why.
    await expect.poll(() => squatters.filter((c) => c.lines.length > 1).length, { timeout: WAIT_MS }).toBe(3);
    const pushedOut = squatters.filter((c) => c.lines.length > 1);
    for (const c of pushedOut) {
      await expectRejected(
        c,
        'SERVER_BUSY',
        'the server is full: this place went to an address with fewer receivers',
      );
    }
    expect(honest.every((c) => !c.isClosed())).toBe(true);
  });

  it.runIf(manyAddresses)('filling every place takes one address per place', async () => {
    const s = await bench.start({ maxNameplates: 30 });
    const one = await Promise.all(
      Array.from({ length: 30 }, (_, i) => bench.register(s, { localAddress: attacker(i) })),
    );
    for (const c of one) expect(await c.next()).toMatchObject({ type: 'registered' });
    // Everyone holds one: nobody is pushed out, and a newcomer is told the server is busy.
    await expectRejected(
      await bench.register(s, { localAddress: attacker(200) }),
      'SERVER_BUSY',
      'too many receivers are waiting',
    );
    expect(one.every((c) => !c.isClosed())).toBe(true);
  });
});
