/**
 * The relay over real loopback sockets: a RelayHub behind a TCP server on
 * port 0, and peers that dial it with dialRelay. What the hub forwards is
 * tapped, to show it never carries a plaintext byte.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { PeerlaneError } from '../../src/core/errors.js';
import {
  encodeRelayHello,
  parseRelayStatus,
  RELAY_MAGIC,
  relayToken,
} from '../../src/core/relay/protocol.js';
import { SIGNAL_PROTOCOL_VERSION } from '../../src/core/signaling/protocol.js';
import type { TcpLink } from '../../src/direct/tcp-link.js';
import { dialRelay } from '../../src/relay/dial.js';
import type { RelayLimits } from '../../src/server/relay/hub.js';
import { RelayHub } from '../../src/server/relay/hub.js';
import { SignalServer } from '../../src/server/server.js';
import { connectRawClient } from '../../src/testing/raw-client.js';

const LIMITS: RelayLimits = {
  enabled: true,
  maxSessions: 4,
  sessionBytesPerSecond: 0,
  totalBytesPerSecond: 0,
  addressQuotaBytes: 0,
  quotaWindowMs: 60_000,
  idleTimeoutMs: 10_000,
  pairTimeoutMs: 2_000,
  helloTimeoutMs: 1_000,
};

interface Relay {
  port: number;
  hub: RelayHub;
  /** Every byte the relay received from any peer, in order of arrival. */
  seen: Buffer[];
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

async function startRelay(limits: Partial<RelayLimits> = {}): Promise<Relay> {
  const hub = new RelayHub({ ...LIMITS, ...limits });
  const seen: Buffer[] = [];
  const server = net.createServer((socket) => {
    socket.on('data', (chunk: Buffer) => seen.push(chunk));
    hub.accept(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    hub.close();
    server.close();
  });
  const port = (server.address() as net.AddressInfo).port;
  return { port, hub, seen };
}

function pair(relay: Relay, secret = randomBytes(32), n = 1): Promise<[TcpLink, TcpLink]> {
  const dial = (role: 'offerer' | 'answerer') =>
    dialRelay({
      host: '127.0.0.1',
      port: relay.port,
      sessionSecret: secret,
      attempt: { n, role },
      timeoutMs: 5_000,
    });
  return Promise.all([dial('offerer'), dial('answerer')]).then((links) => {
    for (const l of links) cleanups.push(() => l.close());
    return links;
  });
}

function nextMessage(link: TcpLink): Promise<Buffer> {
  return new Promise((resolve) => link.onMessage((m) => resolve(Buffer.from(m))));
}

function closed(link: TcpLink): Promise<PeerlaneError> {
  return new Promise((resolve) => link.onClose(resolve));
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return (err as PeerlaneError).code;
  }
  throw new Error('expected a refusal');
}

/** A raw connection that sends `bytes` and resolves with the relay's status code. */
function rawStatus(relay: Relay, bytes: Uint8Array): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(relay.port, '127.0.0.1', () => socket.write(bytes));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', () => {
      try {
        resolve(parseRelayStatus(Buffer.concat(chunks)).status);
      } catch (err) {
        reject(err);
      }
    });
  });
}

describe('the relay', () => {
  it('pairs two peers by token and carries sealed records both ways; it never sees a plaintext byte', async () => {
    const relay = await startRelay();
    const [a, b] = await pair(relay);
    a.sendUse();
    await b.used;
    const secret = Buffer.from('a plaintext the relay must never see '.repeat(20));
    const atB = nextMessage(b);
    a.send(secret);
    expect((await atB).equals(secret)).toBe(true);
    const back = Buffer.from('and the answer, just as private');
    const atA = nextMessage(a);
    b.send(back);
    expect((await atA).equals(back)).toBe(true);
    const all = Buffer.concat(relay.seen);
    expect(all.includes(secret.subarray(0, 37))).toBe(false);
    expect(all.includes(back)).toBe(false);
    expect(relay.hub.counts()).toEqual({ sessions: 1, waiting: 0 });
  });

  it('refuses with RELAY_DISABLED when the operator has not turned it on', async () => {
    const relay = await startRelay({ enabled: false });
    expect(await refusal(pair(relay))).toBe('RELAY_DISABLED');
  });

  it('refuses a third connection with the same token, and the pair keeps working', async () => {
    const relay = await startRelay();
    const secret = randomBytes(32);
    const [a, b] = await pair(relay, secret);
    const third = dialRelay({
      host: '127.0.0.1',
      port: relay.port,
      sessionSecret: secret,
      attempt: { n: 1, role: 'offerer' },
      timeoutMs: 5_000,
    });
    expect(await refusal(third)).toBe('RELAY_TOKEN_TAKEN');
    a.sendUse();
    await b.used;
    const got = nextMessage(b);
    a.send(Buffer.from('still here'));
    expect((await got).toString()).toBe('still here');
  });

  it('refuses past its session cap with RELAY_BUSY, and serves again once a session ends', async () => {
    const relay = await startRelay({ maxSessions: 1 });
    const [a] = await pair(relay);
    expect(await refusal(pair(relay))).toBe('RELAY_BUSY');
    a.close();
    await new Promise((r) => setTimeout(r, 100));
    await pair(relay);
  });

  it('answers a peer whose partner never comes with RELAY_NO_PEER', async () => {
    const relay = await startRelay({ pairTimeoutMs: 200 });
    const lone = dialRelay({
      host: '127.0.0.1',
      port: relay.port,
      sessionSecret: randomBytes(32),
      attempt: { n: 1, role: 'offerer' },
      timeoutMs: 5_000,
    });
    expect(await refusal(lone)).toBe('RELAY_NO_PEER');
    expect(relay.hub.counts()).toEqual({ sessions: 0, waiting: 0 });
  });

  it('answers a bad hello with a status and keeps serving everyone else', async () => {
    const relay = await startRelay({ helloTimeoutMs: 200 });
    const wrongVersion = encodeRelayHello(relayToken(randomBytes(32)), 99);
    expect(await rawStatus(relay, wrongVersion)).toBe('VERSION_MISMATCH');
    const garbage = Uint8Array.from([...RELAY_MAGIC.subarray(0, 1), ...randomBytes(40)]);
    expect(await rawStatus(relay, garbage)).toBe('BAD_MESSAGE');
    expect(await rawStatus(relay, RELAY_MAGIC)).toBe('BAD_MESSAGE'); // then silence: the hello timeout
    await pair(relay);
  });

  it('never glues a peer that presents another token: both wait alone and hear RELAY_NO_PEER', async () => {
    const relay = await startRelay({ pairTimeoutMs: 300 });
    const dial = (role: 'offerer' | 'answerer') =>
      dialRelay({
        host: '127.0.0.1',
        port: relay.port,
        sessionSecret: randomBytes(32),
        attempt: { n: 1, role },
        timeoutMs: 5_000,
      });
    const codes = await Promise.all([refusal(dial('offerer')), refusal(dial('answerer'))]);
    expect(codes).toEqual(['RELAY_NO_PEER', 'RELAY_NO_PEER']);
    expect(relay.hub.counts()).toEqual({ sessions: 0, waiting: 0 });
  });

  it('holds all sessions together to the total rate cap', async () => {
    const rate = 4e6;
    const relay = await startRelay({ totalBytesPerSecond: rate });
    const pairs = await Promise.all([pair(relay), pair(relay)]);
    const each = 3_000_000;
    const started = Date.now();
    await Promise.all(
      pairs.map(async ([a, b]) => {
        a.sendUse();
        await b.used;
        let got = 0;
        const all = new Promise<void>((resolve) =>
          b.onMessage((m) => {
            got += m.length;
            if (got >= each) resolve();
          }),
        );
        for (let sent = 0; sent < each; sent += 200_000) a.send(randomBytes(200_000));
        await all;
      }),
    );
    // Two sessions' bytes through one cap: the burst is free, the rest pays at the rate.
    expect(Date.now() - started).toBeGreaterThan(((2 * each - rate / 4) / rate) * 1000 * 0.9);
  });

  it('closes a session idle for its timeout: both peers hear PEER_LOST', async () => {
    const relay = await startRelay({ idleTimeoutMs: 300 });
    const [a, b] = await pair(relay);
    const [ea, eb] = await Promise.all([closed(a), closed(b)]);
    expect([ea.code, eb.code]).toEqual(['PEER_LOST', 'PEER_LOST']);
    expect(relay.hub.counts().sessions).toBe(0);
  });

  it('ends a session whose address spends its quota, and refuses that address RELAY_QUOTA after', async () => {
    const relay = await startRelay({ addressQuotaBytes: 64 * 1024 });
    const [a, b] = await pair(relay);
    a.sendUse();
    await b.used;
    const lost = closed(b);
    a.send(randomBytes(100 * 1024));
    expect((await lost).code).toBe('PEER_LOST');
    expect(await refusal(pair(relay))).toBe('RELAY_QUOTA');
  });
});

describe('the relay on the signal server’s own port', () => {
  async function signalServer(relay: Partial<RelayLimits>): Promise<{ server: SignalServer; port: number }> {
    const server = new SignalServer({ host: '127.0.0.1', port: 0, relay });
    const { port } = await server.listen();
    cleanups.push(() => void server.close());
    return { server, port };
  }

  it('serves signaling and the relay side by side, told apart by the first byte, and counts relayed bytes', async () => {
    const { server, port } = await signalServer({ enabled: true });
    const receiver = await connectRawClient({ host: '127.0.0.1', port });
    cleanups.push(() => receiver.socket.destroy());
    receiver.sendJson({ type: 'register', v: SIGNAL_PROTOCOL_VERSION });
    expect((await receiver.next()).type).toBe('registered');
    const [a, b] = await pair({ port, hub: server.relay, seen: [] });
    a.sendUse();
    await b.used;
    const got = nextMessage(b);
    a.send(Buffer.alloc(10_000, 7));
    expect((await got).length).toBe(10_000);
    const metrics = await server.metrics.registry.metrics();
    expect(metrics).toMatch(/peerlane_relay_sessions_total 1/);
    expect(Number(/peerlane_relay_bytes_total (\d+)/.exec(metrics)?.[1])).toBeGreaterThan(10_000);
  });

  it('is off unless the operator turns it on: RELAY_DISABLED, and signaling goes on', async () => {
    const { server, port } = await signalServer({});
    expect(await refusal(pair({ port, hub: server.relay, seen: [] }))).toBe('RELAY_DISABLED');
    const client = await connectRawClient({ host: '127.0.0.1', port });
    cleanups.push(() => client.socket.destroy());
    client.sendJson({ type: 'register', v: SIGNAL_PROTOCOL_VERSION });
    expect((await client.next()).type).toBe('registered');
    expect(await server.metrics.registry.metrics()).toMatch(
      /peerlane_relay_refused_total\{status="RELAY_DISABLED"\} 2/,
    );
  });
});
