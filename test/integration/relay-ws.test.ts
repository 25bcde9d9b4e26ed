/**
 * The relay's WebSocket path on the signal server's own port: `GET /relay`
 * upgraded, carrying the same byte stream as a TCP relay connection, so a
 * browser (or a peer behind an HTTP-only proxy) meets a TCP peer there. Other
 * HTTP gets a 404, and signaling goes on beside it.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  encodeRelayHello,
  parseRelayStatus,
  RELAY_WS_PATH,
  relayStatusLength,
  relayToken,
} from '../../src/core/relay/protocol.js';
import { SIGNAL_PROTOCOL_VERSION } from '../../src/core/signaling/protocol.js';
import type { RelayLimits } from '../../src/server/relay/hub.js';
import { SignalServer } from '../../src/server/server.js';
import { connectRawClient } from '../../src/testing/raw-client.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

async function signalServer(relay: Partial<RelayLimits>): Promise<number> {
  const server = new SignalServer({ host: '127.0.0.1', port: 0, relay });
  const { port } = await server.listen();
  cleanups.push(() => void server.close());
  return port;
}

/** One end of a relayed stream: send bytes, and read what arrived after the relay's status. */
interface End {
  status: Promise<string>;
  send(bytes: Uint8Array): void;
  received(): Buffer;
}

/** Bytes in order from `push`; resolves `status` with the STATUS once it is whole. */
function reader(): { push: (b: Buffer) => void; status: Promise<string>; received: () => Buffer } {
  let got = Buffer.alloc(0);
  let statusLength: number | undefined;
  let settle: (s: string) => void = () => {};
  const status = new Promise<string>((resolve) => {
    settle = resolve;
  });
  return {
    status,
    push: (b) => {
      got = Buffer.concat([got, b]);
      const need = statusLength ?? relayStatusLength(got);
      if (statusLength === undefined && need !== undefined && got.length >= need) {
        statusLength = need;
        settle(parseRelayStatus(got.subarray(0, need)).status);
      }
    },
    received: () => (statusLength === undefined ? Buffer.alloc(0) : got.subarray(statusLength)),
  };
}

function wsEnd(port: number, token: Uint8Array): End {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${RELAY_WS_PATH}`);
  cleanups.push(() => ws.terminate());
  const r = reader();
  ws.on('open', () => ws.send(encodeRelayHello(token)));
  ws.on('message', (data: Buffer) => r.push(data));
  ws.on('close', () => r.push(Buffer.alloc(0)));
  return { status: r.status, send: (b) => ws.send(b), received: r.received };
}

function tcpEnd(port: number, token: Uint8Array): End {
  const socket = net.connect(port, '127.0.0.1', () => socket.write(encodeRelayHello(token)));
  cleanups.push(() => socket.destroy());
  const r = reader();
  socket.on('data', (b: Buffer) => r.push(b));
  return { status: r.status, send: (b) => socket.write(b), received: r.received };
}

async function arrives(end: End, bytes: Buffer): Promise<void> {
  await expect.poll(() => end.received().equals(bytes), { timeout: 5_000 }).toBe(true);
}

function get(port: number, path: string, headers: http.OutgoingHttpHeaders = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, headers }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on('error', reject);
  });
}

describe('the relay over WebSocket', () => {
  it('pairs a WebSocket peer with a TCP peer by token, and carries bytes both ways', async () => {
    const port = await signalServer({ enabled: true });
    const token = relayToken(randomBytes(32));
    const [ws, tcp] = [wsEnd(port, token), tcpEnd(port, token)];
    expect(await Promise.all([ws.status, tcp.status])).toEqual(['PAIRED', 'PAIRED']);
    const there = randomBytes(300_000);
    ws.send(there);
    await arrives(tcp, there);
    const back = randomBytes(1000);
    tcp.send(back);
    await arrives(ws, back);
  });

  it('pairs two WebSocket peers', async () => {
    const port = await signalServer({ enabled: true });
    const token = relayToken(randomBytes(32));
    const [a, b] = [wsEnd(port, token), wsEnd(port, token)];
    expect(await Promise.all([a.status, b.status])).toEqual(['PAIRED', 'PAIRED']);
    const bytes = randomBytes(5000);
    a.send(bytes);
    await arrives(b, bytes);
  });

  it('answers RELAY_DISABLED over the WebSocket too when the relay is off', async () => {
    const port = await signalServer({});
    expect(await wsEnd(port, relayToken(randomBytes(32))).status).toBe('RELAY_DISABLED');
  });

  it('answers other HTTP with 404, and signaling on the same port goes on', async () => {
    const port = await signalServer({ enabled: true });
    // `/` is the browser page once it is built (dist/web/); anything else is 404.
    expect(await get(port, '/elsewhere')).toBe(404);
    expect(await get(port, '/elsewhere', { connection: 'upgrade', upgrade: 'websocket' })).toBe(404);
    const client = await connectRawClient({ host: '127.0.0.1', port });
    cleanups.push(() => client.socket.destroy());
    client.sendJson({ type: 'register', v: SIGNAL_PROTOCOL_VERSION });
    expect((await client.next()).type).toBe('registered');
  });
});
