/**
 * What registers, joins, waiting and silence may cost the signal server, over
 * raw TCP clients on loopback: per-address token buckets (on a clock the test
 * moves), the nameplate TTL, the cap on waiting receivers, the idle timeout of
 * a pairing, and close() leaving nothing behind. Limits are tiny here so that
 * every deadline passes in well under a second.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RawClient } from '../../src/testing/raw-client.js';
import {
  canBind,
  expectEmpty,
  expectRejected,
  expectServes,
  OTHER_ADDRESS,
  SignalBench,
  sleep,
  v,
  WAIT_MS,
} from '../../src/testing/signal-clients.js';

const bench = new SignalBench();
afterEach(() => bench.cleanup());

const otherAddressWorks = await canBind(OTHER_ADDRESS);

describe('registers and joins per address', () => {
  it('the (burst+1)-th register gets RATE_LIMITED, and joins pay too', async () => {
    const burst = 5;
    const s = await bench.start({ joinBurst: burst, joinRatePerMinute: 1, maxConnectionsPerIp: 100 });
    const waiting: RawClient[] = [];
    for (let i = 0; i < burst; i++) {
      const c = await bench.register(s);
      expect(await c.next()).toMatchObject({ type: 'registered' });
      waiting.push(c);
    }
    await expectRejected(
      await bench.register(s),
      'RATE_LIMITED',
      'too many registers or joins from this address',
    );

    // A join for a nameplate that does wait is refused just the same: no token, no lookup.
    const joiner = await bench.connect(s);
    joiner.sendJson({ v, type: 'join', nameplate: waiting[0]?.lines[0]?.nameplate });
    await expectRejected(joiner, 'RATE_LIMITED');
    // Those already waiting are untouched.
    expect(s.server.stats).toEqual({ clients: burst, waiting: burst });
    expect(waiting.every((c) => !c.isClosed() && c.lines.length === 1)).toBe(true);
    expect(s.server.accounting.buckets).toBe(1);

    if (otherAddressWorks) {
      const other = await bench.register(s, { localAddress: OTHER_ADDRESS });
      expect(await other.next()).toMatchObject({ type: 'registered' });
    }
  });

  it('refills at the configured rate, by the server clock', async () => {
    // Two in a row, then one every 200 ms, on a clock that moves only when told.
    let now = 0;
    const s = await bench.start({ joinBurst: 2, joinRatePerMinute: 300 }, { now: () => now });
    for (let i = 0; i < 2; i++)
      expect(await (await bench.register(s)).next()).toMatchObject({ type: 'registered' });
    await expectRejected(await bench.register(s), 'RATE_LIMITED');
    now += 199;
    await expectRejected(await bench.register(s), 'RATE_LIMITED');
    now += 1;
    expect(await (await bench.register(s)).next()).toMatchObject({ type: 'registered' });
    await expectRejected(await bench.register(s), 'RATE_LIMITED');
    // However long it rests, it holds the burst and no more.
    now += 3_600_000;
    for (let i = 0; i < 2; i++)
      expect(await (await bench.register(s)).next()).toMatchObject({ type: 'registered' });
    await expectRejected(await bench.register(s), 'RATE_LIMITED');
  });
});

describe('waiting receivers', () => {
  it('a nameplate expires after its TTL: NAMEPLATE_EXPIRED, and it is freed', async () => {
    const s = await bench.start({ nameplateTtlMs: 300 });
    const started = performance.now();
    const receiver = await bench.register(s);
    const { nameplate } = await receiver.next();
    expect(s.server.stats).toEqual({ clients: 1, waiting: 1 });
    await expectRejected(receiver, 'NAMEPLATE_EXPIRED', 'no sender came in time');
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    expect(s.server.stats).toEqual({ clients: 0, waiting: 0 });

    const late = await bench.connect(s);
    late.sendJson({ v, type: 'join', nameplate });
    await expectRejected(late, 'PEER_NOT_FOUND');
    await expectServes(bench, s);
  });

  it('the TTL stops counting once a sender has joined', async () => {
    const s = await bench.start({ nameplateTtlMs: 200, idleTimeoutMs: 5_000 });
    const { a, b } = await bench.pair(s);
    await sleep(400);
    b.sendJson({ v, type: 'relay', payload: 'still here' });
    expect(await a.next()).toEqual({ v, type: 'relay', payload: 'still here' });
    expect(a.isClosed()).toBe(false);
  });

  it('SERVER_BUSY past the maximum of waiting receivers, until one leaves', async () => {
    const s = await bench.start({ maxNameplates: 3 });
    const waiting: RawClient[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await bench.register(s);
      expect(await c.next()).toMatchObject({ type: 'registered' });
      waiting.push(c);
    }
    await expectRejected(await bench.register(s), 'SERVER_BUSY', 'too many receivers are waiting');
    // Joining is still possible at capacity, and frees a place.
    const joiner = await bench.connect(s);
    joiner.sendJson({ v, type: 'join', nameplate: waiting[0]?.lines[0]?.nameplate });
    expect(await joiner.next()).toMatchObject({ type: 'paired' });
    await expectServes(bench, s);
    await expect.poll(() => s.server.stats.waiting, { timeout: WAIT_MS }).toBe(2);
    // So does a receiver that gives up.
    const [, second, third] = waiting;
    const filler = await bench.register(s);
    expect(await filler.next()).toMatchObject({ type: 'registered' });
    await expectRejected(await bench.register(s), 'SERVER_BUSY');
    second?.end();
    await expect.poll(() => s.server.stats.waiting, { timeout: WAIT_MS }).toBe(2);
    await expectServes(bench, s);
    expect(third?.isClosed()).toBe(false);
  });
});

describe('paired connections', () => {
  it('relays are paid from a bucket per client that refills by the server clock', async () => {
    // Three in a row, then one a second.
    let now = 0;
    const s = await bench.start({ relayBurst: 3, relayRatePerMinute: 60 }, { now: () => now });
    const { a, b } = await bench.pair(s);
    const relay = async (payload: string): Promise<void> => {
      b.sendJson({ v, type: 'relay', payload });
      expect(await a.next()).toEqual({ v, type: 'relay', payload });
    };
    for (let i = 0; i < 3; i++) await relay(`burst ${i}`);
    now += 1_000;
    await relay('refilled');
    b.sendJson({ v, type: 'relay', payload: 'one too many' });
    await expectRejected(b, 'RATE_LIMITED', 'too many relayed messages');
    expect(await a.next()).toEqual({ v, type: 'peer-left' });
  });

  it('one that sends nothing for the idle timeout is dropped; its partner learns of it', async () => {
    const s = await bench.start({ idleTimeoutMs: 500 });
    const { a, b } = await bench.pair(s);
    const started = performance.now();
    // B talks for a while, which moves its own deadline; A only listens, and
    // receiving does not count as activity.
    for (let i = 0; i < 3; i++) {
      await sleep(100);
      b.sendJson({ v, type: 'relay', payload: String(i) });
    }
    await expectRejected(a, 'BAD_MESSAGE', 'idle too long');
    expect(performance.now() - started).toBeGreaterThanOrEqual(450);
    expect(a.lines.map((l) => l.type)).toEqual(['registered', 'paired', 'relay', 'relay', 'relay', 'error']);
    expect(await b.next()).toEqual({ v, type: 'peer-left' });
    // B outlived A's deadline because it talked; silent since, it goes too.
    expect(b.isClosed()).toBe(false);
    await expectRejected(b, 'BAD_MESSAGE', 'idle too long');
    await expectEmpty(s.server);
    await expectServes(bench, s);
  });
});

describe('close()', () => {
  it('ends every connection at once and leaves nothing running', async () => {
    const before = process.getActiveResourcesInfo();
    const s = await bench.start({ handshakeTimeoutMs: 60_000 });
    await bench.pair(s);
    expect(await (await bench.register(s)).next()).toMatchObject({ type: 'registered' });
    await bench.connect(s); // silent
    // Rejected, and never reads: the server would otherwise linger on it for a while.
    const deaf = await bench.connect(s);
    deaf.socket.pause();
    deaf.socket.write('garbage\n');
    await expect.poll(() => s.server.stats.clients, { timeout: WAIT_MS }).toBe(4);

    const started = performance.now();
    await s.server.close();
    expect(performance.now() - started).toBeLessThan(500);
    expect(s.server.accounting).toEqual({ connections: 0, addresses: 0, buckets: expect.any(Number) });
    bench.dropClients();
    await sleep(20);
    const count = (list: string[], kind: string): number => list.filter((r) => r === kind).length;
    const after = process.getActiveResourcesInfo();
    for (const kind of ['TCPServerWrap', 'TCPSocketWrap', 'Timeout']) {
      expect(count(after, kind), kind).toBeLessThanOrEqual(count(before, kind));
    }
  });
});
