/**
 * The signal server's limits, against raw TCP clients on loopback: what any one
 * client can cost is bounded, an offender gets an error frame with a stable code
 * and is closed, and everyone else, a real transfer included, is still served.
 * Limits are tiny here so that every deadline passes in well under a second.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { PeerEvent } from '../../src/core/events.js';
import { MAX_SIGNAL_MESSAGE_BYTES } from '../../src/core/signaling/protocol.js';
import { SignalServer } from '../../src/server/server.js';
import type { SignalLimits } from '../../src/server/server-config.js';
import {
  DEFAULT_SIGNAL_LIMITS,
  MAX_NAMEPLATES_CEILING,
  parseSignalLimits,
  resolveSignalLimits,
} from '../../src/server/server-config.js';
import { receive } from '../../src/session/receive.js';
import { send } from '../../src/session/send.js';
import { sha256File, writeRandomFile } from '../../src/testing/files.js';
import { Harness, LOOPBACK } from '../../src/testing/harness.js';
import type { RawClient } from '../../src/testing/raw-client.js';
import { withTimeout } from '../helpers.js';
import type { Started } from './signal-clients.js';
import { canBind, expectRejected, NAMEPLATE, SignalBench, sleep, v, WAIT_MS } from './signal-clients.js';

const bench = new SignalBench();

afterEach(() => bench.cleanup());

const start = (limits: Partial<SignalLimits> = {}): Promise<Started> => bench.start(limits);
const rawClient = (to: Started, options: { localAddress?: string } = {}): RawClient =>
  bench.rawClient(to, options);
const connect = (to: Started, options: { localAddress?: string } = {}): Promise<RawClient> =>
  bench.connect(to, options);
const register = (to: Started, options: { localAddress?: string } = {}): Promise<RawClient> =>
  bench.register(to, options);
const pair = (to: Started): Promise<{ a: RawClient; b: RawClient }> => bench.pair(to);

const OTHER_ADDRESS = '127.0.0.2';
const otherAddressWorks = await canBind(OTHER_ADDRESS);

/** A fresh client can still register, and then leaves. */
async function expectServes(to: Started): Promise<void> {
  const fresh = await register(to);
  expect(await fresh.next()).toEqual({ v, type: 'registered', nameplate: expect.stringMatching(NAMEPLATE) });
  fresh.end();
  await withTimeout(fresh.closed, 'closing the fresh client');
}

/** The server holds nothing: no client, no waiting receiver, no open socket. */
async function expectEmpty(to: Started): Promise<void> {
  await expect.poll(() => to.server.stats, { timeout: WAIT_MS }).toEqual({ clients: 0, waiting: 0 });
  await expect.poll(() => to.server.accounting.connections, { timeout: WAIT_MS }).toBe(0);
  expect(to.server.accounting.addresses).toBe(0);
}

/** Random bytes that contain no newline, so they make one line. */
function binaryGarbage(length: number): Buffer {
  const bytes = Buffer.alloc(length);
  let seed = 0x2545f491;
  for (let i = 0; i < length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const byte = seed >>> 24;
    bytes[i] = byte === 0x0a ? 0xff : byte;
  }
  return bytes;
}

// ---------------------------------------------------------------- tests

describe('hostile bytes', () => {
  it.each([
    ['a line of garbage text', 'BAD_MESSAGE', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
    [
      'binary bytes ending in a newline',
      'BAD_MESSAGE',
      Buffer.concat([binaryGarbage(4096), Buffer.from('\n')]),
    ],
    ['an endless line', 'MESSAGE_TOO_LARGE', Buffer.alloc(MAX_SIGNAL_MESSAGE_BYTES + 1, 'a')],
    ['an endless binary line', 'MESSAGE_TOO_LARGE', binaryGarbage(3 * MAX_SIGNAL_MESSAGE_BYTES)],
  ])('%s gets %s and is closed; the server keeps serving', async (_label, code, bytes) => {
    const s = await start();
    const c = await connect(s);
    c.socket.write(bytes);
    await expectRejected(c, code);
    await expectServes(s);
    await expectEmpty(s);
    // One log line per rejected client, naming the code.
    const rejections = s.log.filter((l) => l.includes('rejected'));
    expect(rejections).toHaveLength(1);
    expect(rejections[0]).toMatch(
      new RegExp(`^client \\d+ \\(127\\.0\\.0\\.1\\) rejected: ${code}: [^\\n]+$`),
    );
  });

  it('ignores whatever a rejected client sends after its error', async () => {
    const s = await start();
    const c = await connect(s);
    c.socket.write('garbage\n');
    const error = await c.next();
    expect(error).toMatchObject({ type: 'error', code: 'BAD_MESSAGE' });
    // Still writable on our side for a moment: try to register after all.
    c.socket.write(`${JSON.stringify({ v, type: 'register' })}\n`);
    await withTimeout(c.closed, 'the server closing the offender');
    await expectEmpty(s);
    expect(c.lines).toEqual([error]);
  });

  it('drops a connection that neither registers nor joins in time, trickling or silent', async () => {
    const s = await start({ handshakeTimeoutMs: 300 });
    const started = performance.now();
    const silent = await connect(s);
    const trickler = await connect(s);
    // Bytes that never complete a message do not buy time.
    const drip = setInterval(() => trickler.socket.write(' '), 50);
    try {
      await expectRejected(silent, 'BAD_MESSAGE', 'no register or join within the time limit');
      await expectRejected(trickler, 'BAD_MESSAGE', 'no register or join within the time limit');
    } finally {
      clearInterval(drip);
    }
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    await expectServes(s);
  });
});

describe('connections per address', () => {
  it('300 connections at once: those over the cap get RATE_LIMITED, the rest are served', async () => {
    const cap = 10;
    const s = await start({ maxConnectionsPerIp: cap });
    const clients = await Promise.all(Array.from({ length: 300 }, () => connect(s)));
    await expect.poll(() => clients.filter((c) => c.isClosed()).length, { timeout: WAIT_MS }).toBe(300 - cap);
    const refused = clients.filter((c) => c.isClosed());
    for (const c of refused)
      await expectRejected(c, 'RATE_LIMITED', 'too many connections from this address');
    expect(s.log.filter((l) => l.includes('rejected: RATE_LIMITED'))).toHaveLength(300 - cap);

    // The ones within the cap were untouched, and are served.
    const kept = clients.filter((c) => !c.isClosed());
    expect(kept.flatMap((c) => c.lines)).toEqual([]);
    expect(s.server.stats).toEqual({ clients: cap, waiting: 0 });
    for (const c of kept) c.sendJson({ v, type: 'register' });
    for (const c of kept) expect(await c.next()).toMatchObject({ type: 'registered' });
    expect(s.server.stats).toEqual({ clients: cap, waiting: cap });
    // While they stay, one more is still refused.
    await expectRejected(await connect(s), 'RATE_LIMITED');

    for (const c of kept) c.end();
    await Promise.all(kept.map((c) => withTimeout(c.closed, 'closing a kept client')));
    await expectEmpty(s);
    await expectServes(s);
  });

  it.runIf(otherAddressWorks)('counts each address on its own', async () => {
    const s = await start({ maxConnectionsPerIp: 2 });
    const mine = [await register(s), await register(s)];
    await expectRejected(await connect(s), 'RATE_LIMITED');
    const theirs = await register(s, { localAddress: OTHER_ADDRESS });
    expect(await theirs.next()).toMatchObject({ type: 'registered' });
    for (const c of mine) expect(await c.next()).toMatchObject({ type: 'registered' });
    expect(s.server.accounting).toMatchObject({ connections: 3, addresses: 2 });
  });
});

describe('registers and joins per address', () => {
  it('the (burst+1)-th register gets RATE_LIMITED, and joins pay too', async () => {
    const burst = 5;
    const s = await start({ joinBurst: burst, joinRatePerMinute: 1, maxConnectionsPerIp: 100 });
    const waiting: RawClient[] = [];
    for (let i = 0; i < burst; i++) {
      const c = await register(s);
      expect(await c.next()).toMatchObject({ type: 'registered' });
      waiting.push(c);
    }
    await expectRejected(await register(s), 'RATE_LIMITED', 'too many registers or joins from this address');

    // A join for a nameplate that does wait is refused just the same: no token, no lookup.
    const joiner = await connect(s);
    joiner.sendJson({ v, type: 'join', nameplate: waiting[0]?.lines[0]?.nameplate });
    await expectRejected(joiner, 'RATE_LIMITED');
    // Those already waiting are untouched.
    expect(s.server.stats).toEqual({ clients: burst, waiting: burst });
    expect(waiting.every((c) => !c.isClosed() && c.lines.length === 1)).toBe(true);
    expect(s.server.accounting.buckets).toBe(1);

    if (otherAddressWorks) {
      const other = await register(s, { localAddress: OTHER_ADDRESS });
      expect(await other.next()).toMatchObject({ type: 'registered' });
    }
  });

  it('refills at the configured rate', async () => {
    // Two in a row, then one every 200 ms.
    const s = await start({ joinBurst: 2, joinRatePerMinute: 300 });
    for (let i = 0; i < 2; i++)
      expect(await (await register(s)).next()).toMatchObject({ type: 'registered' });
    await expectRejected(await register(s), 'RATE_LIMITED');
    await sleep(250);
    expect(await (await register(s)).next()).toMatchObject({ type: 'registered' });
  });
});

describe('waiting receivers', () => {
  it('a nameplate expires after its TTL: NAMEPLATE_EXPIRED, and it is freed', async () => {
    const s = await start({ nameplateTtlMs: 300 });
    const started = performance.now();
    const receiver = await register(s);
    const { nameplate } = await receiver.next();
    expect(s.server.stats).toEqual({ clients: 1, waiting: 1 });
    await expectRejected(receiver, 'NAMEPLATE_EXPIRED', 'no sender came in time');
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    expect(s.server.stats).toEqual({ clients: 0, waiting: 0 });

    const late = await connect(s);
    late.sendJson({ v, type: 'join', nameplate });
    await expectRejected(late, 'PEER_NOT_FOUND');
    await expectServes(s);
  });

  it('the TTL stops counting once a sender has joined', async () => {
    const s = await start({ nameplateTtlMs: 200, idleTimeoutMs: 5_000 });
    const { a, b } = await pair(s);
    await sleep(400);
    b.sendJson({ v, type: 'relay', payload: 'still here' });
    expect(await a.next()).toEqual({ v, type: 'relay', payload: 'still here' });
    expect(a.isClosed()).toBe(false);
  });

  it('SERVER_BUSY past the maximum of waiting receivers, until one leaves', async () => {
    const s = await start({ maxNameplates: 3 });
    const waiting: RawClient[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await register(s);
      expect(await c.next()).toMatchObject({ type: 'registered' });
      waiting.push(c);
    }
    await expectRejected(await register(s), 'SERVER_BUSY', 'too many receivers are waiting');
    // Joining is still possible at capacity, and frees a place.
    const joiner = await connect(s);
    joiner.sendJson({ v, type: 'join', nameplate: waiting[0]?.lines[0]?.nameplate });
    expect(await joiner.next()).toMatchObject({ type: 'paired' });
    await expectServes(s);
    await expect.poll(() => s.server.stats.waiting, { timeout: WAIT_MS }).toBe(2);
    // So does a receiver that gives up.
    const [, second, third] = waiting;
    const filler = await register(s);
    expect(await filler.next()).toMatchObject({ type: 'registered' });
    await expectRejected(await register(s), 'SERVER_BUSY');
    second?.end();
    await expect.poll(() => s.server.stats.waiting, { timeout: WAIT_MS }).toBe(2);
    await expectServes(s);
    expect(third?.isClosed()).toBe(false);
  });
});

describe('paired connections', () => {
  it('one that sends nothing for the idle timeout is dropped; its partner learns of it', async () => {
    const s = await start({ idleTimeoutMs: 500 });
    const { a, b } = await pair(s);
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
    await expectEmpty(s);
    await expectServes(s);
  });
});

describe('close()', () => {
  it('ends every connection at once and leaves nothing running', async () => {
    const before = process.getActiveResourcesInfo();
    const s = await start({ handshakeTimeoutMs: 60_000 });
    await pair(s);
    expect(await (await register(s)).next()).toMatchObject({ type: 'registered' });
    await connect(s); // silent
    // Rejected, and never reads: the server would otherwise linger on it for a while.
    const deaf = await connect(s);
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

describe('configuration', () => {
  it('has the documented defaults', () => {
    expect(DEFAULT_SIGNAL_LIMITS).toEqual({
      handshakeTimeoutMs: 10_000,
      idleTimeoutMs: 60_000,
      nameplateTtlMs: 3_600_000,
      maxNameplates: 10_000,
      maxConnectionsPerIp: 32,
      joinRatePerMinute: 60,
      joinBurst: 20,
      maxConnections: 20_000,
      ipv6PrefixBits: 64,
      maxPendingBytes: 32 * 1024 * 1024,
      clientQueueBytes: 1024 * 1024,
      maxQueuedBytes: 64 * 1024 * 1024,
      relayRatePerMinute: 300,
      relayBurst: 200,
      turnGrantsPerHour: 60,
      stunRatePerMinute: 120,
      stunBurst: 30,
      httpMaxConnections: 16,
    });
    expect(parseSignalLimits({})).toEqual(DEFAULT_SIGNAL_LIMITS);
    expect(parseSignalLimits({ SIGNAL_IDLE_TIMEOUT: '', SIGNAL_JOIN_BURST: '  ' })).toEqual(
      DEFAULT_SIGNAL_LIMITS,
    );
    expect(new SignalServer({ host: LOOPBACK, port: 0 }).limits).toEqual(DEFAULT_SIGNAL_LIMITS);
  });

  it('parses env values and flags: seconds, whole counts, rates', () => {
    expect(
      parseSignalLimits({
        SIGNAL_HANDSHAKE_TIMEOUT: '2.5',
        SIGNAL_IDLE_TIMEOUT: 30,
        SIGNAL_NAMEPLATE_TTL: ' 600 ',
        SIGNAL_MAX_NAMEPLATES: String(MAX_NAMEPLATES_CEILING),
        SIGNAL_MAX_CONNECTIONS_PER_IP: '4',
        SIGNAL_JOIN_RATE: '0.5',
        SIGNAL_JOIN_BURST: '1',
        SIGNAL_IPV6_PREFIX: '48',
        SIGNAL_CLIENT_QUEUE_BYTES: '262144',
      }),
    ).toEqual({
      ...DEFAULT_SIGNAL_LIMITS,
      ipv6PrefixBits: 48,
      clientQueueBytes: 262_144,
      handshakeTimeoutMs: 2_500,
      idleTimeoutMs: 30_000,
      nameplateTtlMs: 600_000,
      maxNameplates: MAX_NAMEPLATES_CEILING,
      maxConnectionsPerIp: 4,
      joinRatePerMinute: 0.5,
      joinBurst: 1,
    });
  });

  it.each([
    ['SIGNAL_HANDSHAKE_TIMEOUT', '0'],
    ['SIGNAL_HANDSHAKE_TIMEOUT', '-1'],
    ['SIGNAL_IDLE_TIMEOUT', 'soon'],
    ['SIGNAL_IDLE_TIMEOUT', '3000000'], // past what a timer can wait
    ['SIGNAL_NAMEPLATE_TTL', 'Infinity'],
    ['SIGNAL_MAX_NAMEPLATES', '0'],
    ['SIGNAL_MAX_NAMEPLATES', String(MAX_NAMEPLATES_CEILING + 1)], // nameplates would outgrow six digits
    ['SIGNAL_MAX_CONNECTIONS_PER_IP', '1.5'],
    ['SIGNAL_MAX_CONNECTIONS_PER_IP', '0x10'],
    ['SIGNAL_MAX_CONNECTIONS_PER_IP', '1e3'],
    ['SIGNAL_JOIN_RATE', '0'],
    ['SIGNAL_JOIN_RATE', '-5'],
    ['SIGNAL_JOIN_RATE', 'fast'],
    ['SIGNAL_JOIN_BURST', '20 tokens'],
    ['SIGNAL_IPV6_PREFIX', '129'], // longer than an address
    ['SIGNAL_CLIENT_QUEUE_BYTES', '65536'], // would drop a client for one large relay
    ['SIGNAL_MAX_CONNECTIONS', '0'],
  ] as const)('refuses %s=%j with BAD_CONFIG naming the flag', (variable, value) => {
    expect(() => parseSignalLimits({ [variable]: value })).toThrow(
      expect.objectContaining({ code: 'BAD_CONFIG', message: expect.stringContaining(variable) }),
    );
    expect(() => parseSignalLimits({ [variable]: value })).toThrow(/^--[a-z0-9-]+ \(/);
  });

  it('checks limits given in code too', () => {
    expect(resolveSignalLimits({ joinBurst: 3 })).toEqual({ ...DEFAULT_SIGNAL_LIMITS, joinBurst: 3 });
    for (const limits of [
      { idleTimeoutMs: 0 },
      { idleTimeoutMs: Number.NaN },
      { nameplateTtlMs: 2 ** 31 },
      { maxConnectionsPerIp: 2.5 },
      { maxNameplates: MAX_NAMEPLATES_CEILING + 1 },
      { joinRatePerMinute: -1 },
    ]) {
      expect(() => new SignalServer({ host: LOOPBACK, port: 0, limits }), JSON.stringify(limits)).toThrow(
        expect.objectContaining({
          code: 'BAD_CONFIG',
          message: expect.stringMatching(/^limits\.\w+ must be/),
        }),
      );
    }
  });
});

// ---------------------------------------------------------------- a real transfer

describe('a real transfer while the server is under attack', () => {
  it('completes, verified, while garbage and over-cap connections flood the same server', async () => {
    const h = new Harness();
    try {
      const s = await start({ maxConnectionsPerIp: 8, handshakeTimeoutMs: 1_000 });
      const signal = { host: s.host, port: s.port };
      const rtc = { iceServers: [], bindAddress: LOOPBACK, timeoutMs: 10_000 };
      const src = await h.tempDir('peerlane-src-');
      const out = await h.tempDir('peerlane-out-');
      const file = path.join(src, 'payload.bin');
      await writeRandomFile(file, 20 * 1024 * 1024);

      // Where the flood comes from: another address if we have one, so that it
      // can run from the start, signaling included; else ours, once the peers
      // are past signaling, so that it never takes the cap the peers need.
      const floodFrom = otherAddressWorks ? { localAddress: OTHER_ADDRESS } : {};
      const seen = new Map<string, number>();
      let stop = false;
      const flood = async (): Promise<void> => {
        const payloads = [
          'garbage\n',
          Buffer.concat([binaryGarbage(2048), Buffer.from('\n')]),
          Buffer.alloc(MAX_SIGNAL_MESSAGE_BYTES + 1, 'a'),
          '', // silent: holds a connection until it is refused or dropped
        ];
        while (!stop) {
          const wave = Array.from({ length: 40 }, (_, i) => {
            const c = rawClient(s, floodFrom);
            c.socket.on('connect', () => c.socket.write(payloads[i % payloads.length] ?? ''));
            return c;
          });
          await Promise.race([Promise.all(wave.map((c) => c.closed)), sleep(200)]);
          for (const c of wave) {
            for (const l of c.lines) seen.set(String(l.code), (seen.get(String(l.code)) ?? 0) + 1);
            c.socket.destroy();
          }
        }
      };
      let flooding: Promise<void> | undefined;
      if (otherAddressWorks) flooding = flood();

      let ready!: (code: string) => void;
      const code = new Promise<string>((resolve) => {
        ready = resolve;
      });
      const events: PeerEvent[] = [];
      // `yes` is spread in, so this compiles whether or not receive() has that option yet.
      const consent = { yes: true };
      const received = receive({
        signal,
        rtc,
        outDir: out,
        ...consent,
        onEvent: (e) => {
          events.push(e);
          if (e.event === 'ready') ready(e.code);
          if (e.event === 'progress' && flooding === undefined) flooding = flood();
        },
      });
      received.catch(() => {});
      const sent = send({ signal, rtc, code: await withTimeout(code, 'the receiver ready'), paths: [file] });
      try {
        await Promise.all([sent, received]);
      } finally {
        stop = true;
        await flooding;
      }

      const expected = await sha256File(file);
      expect(await sha256File(path.join(out, 'payload.bin'))).toBe(expected);
      expect((await received).files[0]?.sha256).toBe(expected);
      // The flood did happen, and was refused both ways.
      expect(seen.get('RATE_LIMITED') ?? 0).toBeGreaterThan(0);
      expect((seen.get('BAD_MESSAGE') ?? 0) + (seen.get('MESSAGE_TOO_LARGE') ?? 0)).toBeGreaterThan(0);
      await expectEmpty(s);
      await expectServes(s);
    } finally {
      await h.cleanup();
    }
  });
});
