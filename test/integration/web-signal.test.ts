/**
 * Signaling over WebSocket (`GET /signal` on the server's port), as the
 * browser page speaks it: each message a chunk of the same NDJSON, each of
 * the server's lines one text message. A WebSocket client is a client like a
 * TCP one: it pairs with TCP clients, and the same limits drop it with the
 * same error codes while everyone else is served.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_SIGNAL_MESSAGE_BYTES } from '../../src/core/signaling/protocol.js';
import {
  expectEmpty,
  expectRejected,
  expectServes,
  NAMEPLATE,
  SignalBench,
  sleep,
  v,
} from '../../src/testing/signal-clients.js';

const bench = new SignalBench();
afterEach(() => bench.cleanup());

describe('a WebSocket signaling client', () => {
  it('registers, pairs with a TCP joiner, and relays both ways in text messages', async () => {
    const s = await bench.start();
    const ws = await bench.webSocket(s);
    const binary: boolean[] = [];
    ws.ws.on('message', (_data, isBinary) => binary.push(isBinary));
    ws.sendJson({ v, type: 'register' });
    const registered = await ws.next();
    expect(registered).toEqual({ v, type: 'registered', nameplate: expect.stringMatching(NAMEPLATE) });

    const tcp = await bench.connect(s);
    tcp.sendJson({ v, type: 'join', nameplate: registered.nameplate });
    expect(await tcp.next()).toMatchObject({ type: 'paired', role: 'offerer' });
    expect(await ws.next()).toMatchObject({ type: 'paired', role: 'answerer' });

    tcp.sendJson({ v, type: 'relay', payload: 'to the page' });
    expect(await ws.next()).toEqual({ v, type: 'relay', payload: 'to the page' });
    ws.sendJson({ v, type: 'relay', payload: 'to the terminal' });
    expect(await tcp.next()).toEqual({ v, type: 'relay', payload: 'to the terminal' });
    expect(binary).toEqual([false, false, false]);

    ws.end();
    expect(await tcp.next()).toEqual({ v, type: 'peer-left' });
    tcp.end();
    await expectEmpty(s.server);
  });

  it('joins a TCP receiver, with a line split across messages', async () => {
    const s = await bench.start();
    const tcp = await bench.register(s);
    const { nameplate } = await tcp.next();
    const ws = await bench.webSocket(s);
    const line = `${JSON.stringify({ v, type: 'join', nameplate })}\n`;
    ws.ws.send(line.slice(0, 10));
    ws.ws.send(Buffer.from(line.slice(10)));
    expect(await ws.next()).toMatchObject({ type: 'paired', role: 'offerer' });
    expect(await tcp.next()).toMatchObject({ type: 'paired', role: 'answerer' });
  });
});

describe('the same limits as over TCP', () => {
  it('a line over the limit: MESSAGE_TOO_LARGE, and others are served', async () => {
    const s = await bench.start();
    const ws = await bench.webSocket(s);
    ws.ws.send(Buffer.alloc(MAX_SIGNAL_MESSAGE_BYTES + 1, 'a'));
    await expectRejected(ws, 'MESSAGE_TOO_LARGE');
    await expectServes(bench, s);
    await expectEmpty(s.server);
  });

  it('a message larger than any line is closed unread (1009), and others are served', async () => {
    const s = await bench.start();
    const ws = await bench.webSocket(s);
    const code = new Promise<number>((resolve) => ws.ws.once('close', resolve));
    ws.ws.send(Buffer.alloc(MAX_SIGNAL_MESSAGE_BYTES + 2, 'a'));
    expect(await code).toBe(1009);
    expect(ws.lines).toEqual([]);
    await expectServes(bench, s);
    await expectEmpty(s.server);
  });

  it('an endless line over many messages: MESSAGE_TOO_LARGE', async () => {
    const s = await bench.start();
    const ws = await bench.webSocket(s);
    for (let i = 0; i < 5; i++) ws.ws.send(Buffer.alloc(MAX_SIGNAL_MESSAGE_BYTES / 4, 'a'));
    await expectRejected(ws, 'MESSAGE_TOO_LARGE');
    await expectServes(bench, s);
  });

  it('garbage: BAD_MESSAGE', async () => {
    const s = await bench.start();
    const ws = await bench.webSocket(s);
    ws.ws.send('not json\n');
    await expectRejected(ws, 'BAD_MESSAGE');
  });

  it('silence after the upgrade meets the handshake timeout', async () => {
    const s = await bench.start({ handshakeTimeoutMs: 300 });
    const ws = await bench.webSocket(s);
    await expectRejected(ws, 'BAD_MESSAGE', 'no register or join within the time limit');
    await expectServes(bench, s);
  });

  it('a paired client silent past the idle timeout is dropped; its TCP partner learns of it', async () => {
    const s = await bench.start({ idleTimeoutMs: 400 });
    const ws = await bench.webSocket(s);
    ws.sendJson({ v, type: 'register' });
    const { nameplate } = await ws.next();
    const tcp = await bench.connect(s);
    tcp.sendJson({ v, type: 'join', nameplate });
    await expect(ws.next()).resolves.toMatchObject({ type: 'paired' });
    for (let i = 0; i < 4; i++) {
      await sleep(150);
      tcp.sendJson({ v, type: 'relay', payload: String(i) });
    }
    await expectRejected(ws, 'BAD_MESSAGE', 'idle too long');
    expect(await tcp.next()).toMatchObject({ type: 'paired' });
    expect(await tcp.next()).toEqual({ v, type: 'peer-left' });
  });

  it('a relay flood: RATE_LIMITED from the same bucket, and the partner hears peer-left', async () => {
    // A clock that stands still: the bucket never refills.
    const s = await bench.start({ relayBurst: 3, relayRatePerMinute: 60 }, { now: () => 0 });
    const tcp = await bench.register(s);
    const { nameplate } = await tcp.next();
    const ws = await bench.webSocket(s);
    ws.sendJson({ v, type: 'join', nameplate });
    expect(await ws.next()).toMatchObject({ type: 'paired' });
    expect(await tcp.next()).toMatchObject({ type: 'paired' });
    for (let i = 0; i < 10; i++) ws.sendJson({ v, type: 'relay', payload: `flood ${i}` });
    await expectRejected(ws, 'RATE_LIMITED', 'too many relayed messages');
    for (let i = 0; i < 3; i++) expect(await tcp.next()).toEqual({ v, type: 'relay', payload: `flood ${i}` });
    expect(await tcp.next()).toEqual({ v, type: 'peer-left' });
    await expectServes(bench, s);
  });

  it('registers per address: a WebSocket pays from the same bucket as TCP', async () => {
    const s = await bench.start({ joinBurst: 2, joinRatePerMinute: 1 });
    expect(await (await bench.register(s)).next()).toMatchObject({ type: 'registered' });
    const ws = await bench.webSocket(s);
    ws.sendJson({ v, type: 'register' });
    expect(await ws.next()).toMatchObject({ type: 'registered' });
    const third = await bench.webSocket(s);
    third.sendJson({ v, type: 'register' });
    await expectRejected(third, 'RATE_LIMITED', 'too many registers or joins from this address');
  });

  it('connections per address count WebSockets: past the cap the upgrade fails, until one leaves', async () => {
    const s = await bench.start({ maxConnectionsPerIp: 2 });
    const first = await bench.webSocket(s);
    await bench.connect(s);
    await expect(bench.webSocket(s)).rejects.toThrow();
    first.end();
    await first.closed;
    await expect.poll(() => s.server.accounting.connections).toBe(1);
    const again = await bench.webSocket(s);
    again.sendJson({ v, type: 'register' });
    expect(await again.next()).toMatchObject({ type: 'registered' });
  });

  it('the total connection cap counts them too', async () => {
    const s = await bench.start({ maxConnections: 1 });
    const ws = await bench.webSocket(s);
    await expectRejected(await bench.connect(s), 'SERVER_BUSY', 'too many connections to this server');
    ws.sendJson({ v, type: 'register' });
    expect(await ws.next()).toMatchObject({ type: 'registered' });
  });
});
