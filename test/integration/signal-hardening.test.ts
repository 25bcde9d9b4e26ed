/**
 * The signal server against hostile bytes and too many connections from one
 * address, over raw TCP clients on loopback: an offender gets an error frame
 * with a stable code and is closed, and everyone else is still served. The
 * other limits are in signal-limits.test.ts, a real transfer under attack in
 * signal-attack.test.ts. Limits are tiny here so that every deadline passes in
 * well under a second.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_SIGNAL_MESSAGE_BYTES } from '../../src/core/signaling/protocol.js';
import {
  binaryGarbage,
  canBind,
  expectEmpty,
  expectRejected,
  expectServes,
  OTHER_ADDRESS,
  SignalBench,
  v,
  WAIT_MS,
} from '../../src/testing/signal-clients.js';
import { withTimeout } from '../helpers.js';

const bench = new SignalBench();
afterEach(() => bench.cleanup());

const otherAddressWorks = await canBind(OTHER_ADDRESS);

describe('hostile bytes', () => {
  it.each([
    // Not a capital letter first: that is HTTP on this port (relay-ws.test.ts).
    ['a line of garbage text', 'BAD_MESSAGE', Buffer.from('hello, is this a signal server?\r\n')],
    [
      'binary bytes ending in a newline',
      'BAD_MESSAGE',
      Buffer.concat([binaryGarbage(4096), Buffer.from('\n')]),
    ],
    ['an endless line', 'MESSAGE_TOO_LARGE', Buffer.alloc(MAX_SIGNAL_MESSAGE_BYTES + 1, 'a')],
    ['an endless binary line', 'MESSAGE_TOO_LARGE', binaryGarbage(3 * MAX_SIGNAL_MESSAGE_BYTES)],
  ])('%s gets %s and is closed; the server keeps serving', async (_label, code, bytes) => {
    const s = await bench.start();
    const c = await bench.connect(s);
    c.socket.write(bytes);
    await expectRejected(c, code);
    await expectServes(bench, s);
    await expectEmpty(s.server);
    // One log line per rejected client, naming the code.
    const rejections = s.log.filter((l) => l.includes('rejected'));
    expect(rejections).toHaveLength(1);
    expect(rejections[0]).toMatch(
      new RegExp(`^client \\d+ \\(127\\.0\\.0\\.1\\) rejected: ${code}: [^\\n]+$`),
    );
  });

  it('ignores whatever a rejected client sends after its error', async () => {
    const s = await bench.start();
    const c = await bench.connect(s);
    c.socket.write('garbage\n');
    const error = await c.next();
    expect(error).toMatchObject({ type: 'error', code: 'BAD_MESSAGE' });
    // Still writable on our side for a moment: try to register after all.
    c.socket.write(`${JSON.stringify({ v, type: 'register' })}\n`);
    await withTimeout(c.closed, 'the server closing the offender');
    await expectEmpty(s.server);
    expect(c.lines).toEqual([error]);
  });

  it('drops a connection that neither registers nor joins in time, trickling or silent (that one without a word)', async () => {
    const s = await bench.start({ handshakeTimeoutMs: 300 });
    const started = performance.now();
    const silent = await bench.connect(s);
    const trickler = await bench.connect(s);
    // Bytes that never complete a message do not buy time.
    const drip = setInterval(() => trickler.socket.write(' '), 50);
    try {
      // Silent, its protocol is unknown: a browser's preconnected socket must not find NDJSON in it.
      await withTimeout(silent.closed, 'the server closing the silent connection');
      expect(silent.lines).toEqual([]);
      await expectRejected(trickler, 'BAD_MESSAGE', 'no register or join within the time limit');
    } finally {
      clearInterval(drip);
    }
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    await expectServes(bench, s);
  });
});

describe('connections per address', () => {
  it('300 connections at once: those over the cap get RATE_LIMITED, the rest are served', async () => {
    const cap = 10;
    const s = await bench.start({ maxConnectionsPerIp: cap });
    const clients = await Promise.all(Array.from({ length: 300 }, () => bench.connect(s)));
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
    await expectRejected(await bench.connect(s), 'RATE_LIMITED');

    for (const c of kept) c.end();
    await Promise.all(kept.map((c) => withTimeout(c.closed, 'closing a kept client')));
    await expectEmpty(s.server);
    await expectServes(bench, s);
  });

  it.runIf(otherAddressWorks)('counts each address on its own', async () => {
    const s = await bench.start({ maxConnectionsPerIp: 2 });
    const mine = [await bench.register(s), await bench.register(s)];
    await expectRejected(await bench.connect(s), 'RATE_LIMITED');
    const theirs = await bench.register(s, { localAddress: OTHER_ADDRESS });
    expect(await theirs.next()).toMatchObject({ type: 'registered' });
    for (const c of mine) expect(await c.next()).toMatchObject({ type: 'registered' });
    expect(s.server.accounting).toMatchObject({ connections: 3, addresses: 2 });
  });
});
