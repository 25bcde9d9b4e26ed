/**
 * NAT traversal pieces on loopback: the signal server's STUN port, TURN
 * credentials issued only to paired peers, what expired credentials and a
 * missing path report, and real transfers that use the server's STUN.
 * The NAT lab (npm run test:nat) covers real NATs and coturn.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { PeerlaneError } from '../../src/core/errors.js';
import { LineDecoder } from '../../src/core/signaling/framing.js';
import type { ServerMessage, TurnGrant } from '../../src/core/signaling/protocol.js';
import { encodeMessage, parseServerMessage } from '../../src/core/signaling/protocol.js';
import { connectPeer } from '../../src/rtc/connect.js';
import type { TurnServer } from '../../src/rtc/ice-servers.js';
import { restUsernameExpiry } from '../../src/rtc/ice-servers.js';
import { SignalServer } from '../../src/server/server.js';
import {
  encodeBindingRequest,
  parseStunMessage,
  STUN_BINDING_SUCCESS,
  stunBinding,
} from '../../src/server/stun.js';
import { issueTurnCredentials, turnPassword } from '../../src/server/turn.js';
import { sha256File, writeRandomFile } from '../../src/testing/files.js';
import { Harness, LOOPBACK } from '../../src/testing/harness.js';
import { pipePair } from '../../src/testing/pipes.js';
import { canBind } from '../../src/testing/signal-clients.js';

const SECRET = 'lab-secret';
const servers: SignalServer[] = [];
const h = new Harness();

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await h.cleanup();
});

async function startServer(options: Partial<ConstructorParameters<typeof SignalServer>[0]> = {}) {
  const server = new SignalServer({ host: LOOPBACK, port: 0, ...options });
  servers.push(server);
  return { server, ...(await server.listen()) };
}

const OTHER_ADDRESS = '127.0.0.2';
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function udpSocket(address: string): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  return socket;
}

/** How many STUN Binding answers `socket` has received so far. */
function countAnswers(socket: dgram.Socket): () => number {
  let answers = 0;
  socket.on('message', (data: Buffer) => {
    if (parseStunMessage(data)?.type === STUN_BINDING_SUCCESS) answers++;
  });
  return () => answers;
}

/** A bare TCP client that reads server messages as they come. */
async function rawClient(port: number, localAddress?: string) {
  const socket = net.connect({ host: LOOPBACK, port, ...(localAddress ? { localAddress } : {}) });
  await new Promise((resolve) => socket.once('connect', resolve));
  const messages: ServerMessage[] = [];
  const waiters: (() => void)[] = [];
  const decoder = new LineDecoder(64 * 1024);
  socket.on('data', (chunk: Buffer) => {
    for (const line of decoder.push(chunk)) messages.push(parseServerMessage(line));
    for (const w of waiters.splice(0)) w();
  });
  return {
    send: (msg: object) => socket.write(encodeMessage(msg as Parameters<typeof encodeMessage>[0])),
    async next(): Promise<ServerMessage> {
      while (messages.length === 0) await new Promise<void>((resolve) => waiters.push(resolve));
      return messages.shift() as ServerMessage;
    },
    close: () => socket.destroy(),
  };
}

describe('STUN on the signal server', () => {
  it('answers a Binding request on UDP at its TCP port number', async () => {
    const { server, port } = await startServer();
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, LOOPBACK, resolve));
    try {
      const mapped = await stunBinding(LOOPBACK, port, { socket, timeoutMs: 2_000 });
      expect(mapped).toEqual({ family: 'IPv4', address: LOOPBACK, port: socket.address().port });
      expect(server.stunAnswered).toBeGreaterThanOrEqual(1);
      // Garbage gets no answer, and the server keeps answering afterwards.
      socket.send(Buffer.from('not stun at all'), port, LOOPBACK);
      await expect(stunBinding(LOOPBACK, port, { socket, timeoutMs: 2_000 })).resolves.toMatchObject({
        address: LOOPBACK,
      });
    } finally {
      socket.close();
    }
  });

  it('answers one address at most its burst in a row: a spoofed flood is not reflected', async () => {
    const { server, port } = await startServer({ limits: { stunBurst: 10, stunRatePerMinute: 60 } });
    const flood = await udpSocket(LOOPBACK);
    const answered = countAnswers(flood);
    for (let i = 0; i < 200; i++) flood.send(encodeBindingRequest(), port, LOOPBACK);
    await sleep(1_000);
    // Ten in a row, and about one more a second after that.
    expect(answered()).toBeGreaterThanOrEqual(10);
    expect(answered()).toBeLessThanOrEqual(12);
    expect(server.stunAnswered).toBe(answered());
    flood.close();
    // Another address has its own bucket.
    if (await canBind(OTHER_ADDRESS)) {
      const other = await udpSocket(OTHER_ADDRESS);
      await expect(stunBinding(LOOPBACK, port, { socket: other, timeoutMs: 2_000 })).resolves.toMatchObject({
        address: OTHER_ADDRESS,
      });
      other.close();
    }
  });

  it('fails with LISTEN_FAILED when its UDP port is taken', async () => {
    // A number free on TCP, taken on UDP: a UDP port picked at random may be
    // some other socket's TCP port (a client's ephemeral one), and then the
    // TCP listen fails first, with another message.
    const tcp = net.createServer();
    await new Promise<void>((resolve) => tcp.listen(0, LOOPBACK, resolve));
    const port = (tcp.address() as net.AddressInfo).port;
    const squatter = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => squatter.bind(port, LOOPBACK, resolve));
    await new Promise((resolve) => tcp.close(resolve));
    try {
      const server = new SignalServer({ host: LOOPBACK, port });
      await expect(server.listen()).rejects.toMatchObject({
        code: 'LISTEN_FAILED',
        message: expect.stringContaining('STUN on UDP'),
      });
      await server.close();
    } finally {
      squatter.close();
    }
  });

  it('serve:signal announces its STUN port and stops cleanly', async () => {
    const proc = h.spawnScript('signal', ['--host', LOOPBACK, '--port', '0', '--json']);
    const { port } = await proc.waitFor('listening');
    await expect(stunBinding(LOOPBACK, port, { timeoutMs: 2_000 })).resolves.toMatchObject({
      address: LOOPBACK,
    });
    proc.kill('SIGTERM');
    expect((await proc.exit()).code).toBe(0);
  });
});

describe('TURN credentials from the signal server', () => {
  const turn = { urls: ['turn:203.0.113.5:3478'], secret: SECRET, ttlSeconds: 600 };

  it('are issued only to the two peers of a pairing, each its own', async () => {
    const { port } = await startServer({ turn });
    const rx = await rawClient(port);
    rx.send({ type: 'register' });
    const registered = await rx.next();
    expect(registered).toMatchObject({ type: 'registered' });
    expect(registered).not.toHaveProperty('turn');
    const nameplate = (registered as { nameplate: string }).nameplate;

    // A joiner with a nameplate nobody waits under gets an error, not credentials.
    const stranger = await rawClient(port);
    stranger.send({ type: 'join', nameplate: nameplate === '99' ? '98' : '99' });
    const refused = await stranger.next();
    expect(refused).toMatchObject({ type: 'error', code: 'PEER_NOT_FOUND' });
    expect(refused).not.toHaveProperty('turn');
    stranger.close();

    const tx = await rawClient(port);
    const before = Math.floor(Date.now() / 1000);
    tx.send({ type: 'join', nameplate });
    const [a, b] = [await rx.next(), await tx.next()];
    for (const msg of [a, b]) {
      if (msg.type !== 'paired' || msg.turn === undefined) throw new Error(`no credentials in ${msg.type}`);
      expect(msg.turn.urls).toEqual(turn.urls);
      expect(msg.turn.password).toBe(turnPassword(SECRET, msg.turn.username));
      expect(restUsernameExpiry(msg.turn.username)).toBe(msg.turn.expiresAt);
      expect(msg.turn.expiresAt).toBeGreaterThanOrEqual(before + 600);
      expect(msg.turn.expiresAt).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 600);
    }
    const usernames = [a, b].map((m) => (m.type === 'paired' ? m.turn?.username : undefined));
    expect(new Set(usernames).size).toBe(2);
    rx.close();
    tx.close();
  });

  it('carry a random id, not a count of the clients the server has seen', async () => {
    const { port } = await startServer({ turn });
    const usernames: string[] = [];
    for (let i = 0; i < 2; i++) {
      const { receiver, sender } = await selfPair(port);
      usernames.push(...[receiver, sender].map((m) => grantOf(m)?.username ?? ''));
    }
    for (const username of usernames) expect(username).toMatch(/^\d+:peerlane-[0-9a-f]{12}$/);
    expect(new Set(usernames).size).toBe(4);
  });

  it('an address pairing with itself gets its hourly budget of credentials, then pairs without', async () => {
    const { port } = await startServer({ turn, limits: { turnGrantsPerHour: 4 } });
    const grants: (TurnGrant | undefined)[] = [];
    for (let i = 0; i < 4; i++) {
      const { receiver, sender } = await selfPair(port);
      grants.push(grantOf(receiver), grantOf(sender));
    }
    // Four credentials, one per peer of the first two pairings; the pairings go on without after that.
    expect(grants.map((g) => g !== undefined)).toEqual([true, true, true, true, false, false, false, false]);
    // Someone else is not charged for it.
    if (await canBind(OTHER_ADDRESS)) {
      const { receiver, sender } = await selfPair(port, OTHER_ADDRESS);
      expect([grantOf(receiver), grantOf(sender)].every((g) => g !== undefined)).toBe(true);
    }
  });

  it('are absent when the server has no TURN configured', async () => {
    const { port } = await startServer();
    const rx = await rawClient(port);
    rx.send({ type: 'register' });
    const registered = await rx.next();
    const tx = await rawClient(port);
    tx.send({ type: 'join', nameplate: (registered as { nameplate: string }).nameplate });
    expect(await tx.next()).toEqual({
      v: expect.any(Number),
      type: 'paired',
      role: 'offerer',
      sid: expect.any(String),
    });
    rx.close();
    tx.close();
  });
});

/** Register and join from the same address; resolves with both `paired` messages, and closes both. */
async function selfPair(port: number, localAddress?: string) {
  const rx = await rawClient(port, localAddress);
  rx.send({ type: 'register' });
  const registered = await rx.next();
  const tx = await rawClient(port, localAddress);
  tx.send({ type: 'join', nameplate: (registered as { nameplate: string }).nameplate });
  const [receiver, sender] = [await rx.next(), await tx.next()];
  rx.close();
  tx.close();
  return { receiver, sender };
}

function grantOf(msg: ServerMessage): TurnGrant | undefined {
  if (msg.type !== 'paired') throw new Error(`expected paired, got ${JSON.stringify(msg)}`);
  return msg.turn;
}

describe('when ICE finds no path', () => {
  it('--relay with expired credentials ends in ICE_FAILED within our timeout, naming them', async () => {
    // A "TURN server" that never answers; the credentials expired an hour ago.
    const silent = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, LOOPBACK, resolve));
    const creds = issueTurnCredentials(SECRET, 60, { nowMs: Date.now() - 3_600_000 });
    const turnServer: TurnServer = {
      hostname: LOOPBACK,
      port: silent.address().port,
      ...creds,
      relayType: 'TurnUdp',
    };
    const rtc = {
      iceServers: [turnServer],
      iceTransportPolicy: 'relay' as const,
      bindAddress: LOOPBACK,
      timeoutMs: 3_000,
    };
    const { offerer, answerer } = pipePair();
    const started = Date.now();
    try {
      const results = await Promise.allSettled([
        connectPeer('offerer', offerer, rtc),
        connectPeer('answerer', answerer, rtc),
      ]);
      for (const r of results) {
        expect(r.status).toBe('rejected');
        const err = (r as PromiseRejectedResult).reason as PeerlaneError;
        expect(err.code).toBe('ICE_FAILED');
        expect(err.message).toContain('relay candidates only (--relay)');
        expect(err.message).toContain('candidates gathered here: none');
        expect(err.message).toMatch(/credentials for 127\.0\.0\.1:\d+ expired \d+ s ago/);
      }
      expect(Date.now() - started).toBeLessThan(8_000);
    } finally {
      silent.close();
    }
  });

  it('--relay without any TURN server is a configuration error at once', async () => {
    const { offerer } = pipePair();
    await expect(
      connectPeer('offerer', offerer, {
        iceServers: [],
        iceTransportPolicy: 'relay',
        bindAddress: LOOPBACK,
        timeoutMs: 3_000,
      }),
    ).rejects.toMatchObject({ code: 'BAD_CONFIG', message: expect.stringContaining('TURN') });
  });
});

describe('loopback transfers through the real CLI', () => {
  /** Send 2 MiB between two `peer` processes; `extra` flags may name the server's port via `{port}`. */
  async function transfer(extra: string[]): Promise<number> {
    const { server, host, port } = await startServer();
    const dir = await h.tempDir();
    const out = await h.tempDir();
    const file = path.join(dir, 'data.bin');
    await writeRandomFile(file, 2 * 1024 * 1024);
    const flags = extra.map((f) => f.replace('{port}', String(port)));
    // On the data channel: on loopback the direct TCP path would win the race,
    // and ICE (which asks the STUN server) could be abandoned before it asked.
    const common = [
      '--signal',
      `${host}:${port}`,
      '--bind-address',
      LOOPBACK,
      '--transport',
      'webrtc',
      ...flags,
    ];
    const env = { ICE_SERVERS: '' }; // unset in effect: whatever the CI environment holds
    const rx = h.peer(['receive', '--out', out, '--yes', ...common], { env });
    const { code } = await rx.waitFor('ready');
    const tx = h.peer(['send', file, '--to', code, ...common], { env });
    const [rxExit, txExit] = await Promise.all([rx.exit(), tx.exit()]);
    expect(rxExit.code, rx.stderr).toBe(0);
    expect(txExit.code, tx.stderr).toBe(0);
    expect(await sha256File(path.join(out, 'data.bin'))).toBe(await sha256File(file));
    for (const p of [rx, tx]) {
      expect(p.events.find((e) => e.event === 'connected')).toMatchObject({
        path: 'direct',
        transport: 'webrtc',
      });
    }
    return server.stunAnswered;
  }

  it('with --direct-only, using the signal server STUN by default', async () => {
    expect(await transfer(['--direct-only'])).toBeGreaterThan(0);
  });

  it('with --ice-servers pointing at the signal server STUN port', async () => {
    expect(await transfer(['--ice-servers', `stun:${LOOPBACK}:{port}`])).toBeGreaterThan(0);
  });

  it('--relay and --direct-only together are a usage error', async () => {
    const { host, port } = await startServer();
    const rx = h.peer([
      'receive',
      '--out',
      await h.tempDir(),
      '--signal',
      `${host}:${port}`,
      '--relay',
      '--direct-only',
    ]);
    expect((await rx.exit()).code).toBe(2);
    expect(rx.error?.code).toBe('USAGE');
  });
});
