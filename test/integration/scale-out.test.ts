/**
 * Several signal server instances sharing a real redis-server (started here on
 * a free loopback port): pairing and a full transfer across instances, the
 * one-guess rule, TTLs and rate limits holding across them, a receiver that
 * keeps its nameplate while its instance restarts, and /healthz and /metrics.
 */
import http from 'node:http';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SIGNAL_PROTOCOL_VERSION } from '../../src/core/signaling/protocol.js';
import type { SignalServerOptions } from '../../src/server/options.js';
import { SignalServer } from '../../src/server/server.js';
import { send } from '../../src/session/send.js';
import { connectSignal } from '../../src/signaling/socket.js';
import { sha256File, writeRandomFile } from '../../src/testing/files.js';
import { Harness, LOOPBACK, peerArgsFor } from '../../src/testing/harness.js';
import { startReceiver } from '../../src/testing/in-process.js';
import type { RawClient } from '../../src/testing/raw-client.js';
import { connectRawClient } from '../../src/testing/raw-client.js';
import type { RedisHandle } from '../../src/testing/redis.js';
import { redisSkipReason, startRedis } from '../../src/testing/redis.js';

const v = SIGNAL_PROTOCOL_VERSION;
const rtc = { iceServers: [], bindAddress: LOOPBACK, timeoutMs: 10_000 };
const skip = redisSkipReason();

let redis: RedisHandle;
let h: Harness;
const servers: SignalServer[] = [];
const raws: RawClient[] = [];

async function instance(options: Partial<SignalServerOptions> = {}): Promise<SignalServer> {
  const server = new SignalServer({ host: LOOPBACK, port: 0, redisUrl: redis.url, ...options });
  servers.push(server);
  await server.listen();
  return server;
}

async function raw(server: SignalServer): Promise<RawClient> {
  const c = await connectRawClient(server.address(), { waitMs: 5_000 });
  raws.push(c);
  return c;
}

async function register(server: SignalServer): Promise<{ c: RawClient; nameplate: string; resume: string }> {
  const c = await raw(server);
  c.sendJson({ v, type: 'register' });
  const msg = await c.next();
  expect(msg).toMatchObject({ type: 'registered', resume: expect.stringMatching(/^[\w-]{22}$/) });
  return { c, nameplate: String(msg.nameplate), resume: String(msg.resume) };
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe.skipIf(skip !== undefined)(
  `signal servers sharing Redis${skip ? ` [skipped: ${skip}]` : ''}`,
  () => {
    beforeAll(async () => {
      redis = await startRedis();
    });
    afterAll(async () => {
      await redis?.stop();
    });
    beforeEach(async () => {
      h = new Harness();
      const admin = new Redis(redis.url);
      await admin.flushall();
      admin.disconnect();
    });
    afterEach(async () => {
      for (const c of raws.splice(0)) c.socket.destroy();
      await h.cleanup();
      await Promise.all(servers.splice(0).map((s) => s.close()));
    });

    it('pairs a receiver on instance 1 with a sender on instance 2, and the transfer completes', async () => {
      const [one, two] = [await instance(), await instance({ httpPort: 0 })];
      const src = await h.tempDir();
      const out = await h.tempDir();
      const file = path.join(src, 'cross.bin');
      await writeRandomFile(file, 3 * 1024 * 1024 + 7);
      const rx = startReceiver({ signal: one.address(), rtc, outDir: out });
      const sent = await send({ signal: two.address(), rtc, paths: [file], code: await rx.code });
      const received = await rx.result;
      expect(received.files[0]?.sha256).toBe(await sha256File(file));
      expect(sent.files[0]?.sha256).toBe(received.files[0]?.sha256);
      await expect.poll(() => one.stats).toEqual({ clients: 0, waiting: 0 });

      const httpAt = two.httpAddress();
      expect(httpAt).toBeDefined();
      const base = `http://${LOOPBACK}:${httpAt?.port}`;
      expect(await get(`${base}/healthz`)).toEqual({ status: 200, body: 'ok\n' });
      await expect
        .poll(async () => (await get(`${base}/metrics`)).body)
        .toMatch(/peerlane_signal_sessions_total\{path="direct"\} 1/);
      const { body } = await get(`${base}/metrics`);
      expect(body).toMatch(/peerlane_signal_pairings_total 1/);
      expect(body).toMatch(/peerlane_signal_relayed_messages_total [1-9]/);
      expect(body).toMatch(/peerlane_signal_connected_clients 0/);
      expect(body).toMatch(/peerlane_signal_open_nameplates 0/);
    });

    it('relayed peers on two instances meet on the joiner’s, which paired names; no relayed byte crosses Redis', async () => {
      const relay = { enabled: true };
      const [one, two] = [
        await instance({ relay, relayAddress: `${LOOPBACK}:0` }),
        await instance({ relay, relayAddress: `${LOOPBACK}:0` }),
      ];
      const admin = new Redis(redis.url);
      const redisBytes = async (): Promise<number> =>
        Number(/total_net_input_bytes:(\d+)/.exec(await admin.info('stats'))?.[1]);
      const before = await redisBytes();
      const src = await h.tempDir();
      const out = await h.tempDir();
      const file = path.join(src, 'relayed.bin');
      const size = 4 * 1024 * 1024;
      await writeRandomFile(file, size);
      const relayed = { ...rtc, transport: 'relay' as const };
      const rx = startReceiver({ signal: one.address(), rtc: relayed, outDir: out });
      const sent = await send({ signal: two.address(), rtc: relayed, paths: [file], code: await rx.code });
      expect((await rx.result).files[0]?.sha256).toBe(sent.files[0]?.sha256);
      const bytes = async (s: SignalServer) =>
        Number(/peerlane_relay_bytes_total (\d+)/.exec(await s.metrics.registry.metrics())?.[1]);
      expect(await bytes(two)).toBeGreaterThan(size);
      expect(await bytes(one)).toBe(0);
      expect((await redisBytes()) - before).toBeLessThan(size / 4);
      admin.disconnect();
    });

    it('holds the one-guess rule across instances, also for joiners racing on both', async () => {
      const [one, two] = [await instance(), await instance()];
      const { c: host, nameplate } = await register(one);
      const [j1, j2] = [await raw(one), await raw(two)];
      j1.sendJson({ v, type: 'join', nameplate });
      j2.sendJson({ v, type: 'join', nameplate });
      const answers = [await j1.next(), await j2.next()].map((m) => (m.type === 'error' ? m.code : m.type));
      expect([...answers].sort()).toEqual(['PEER_NOT_FOUND', 'paired']);
      expect(await host.next()).toMatchObject({ type: 'paired', role: 'answerer' });
      // Relay flows between whichever instances the pair is on.
      const joiner = answers[0] === 'paired' ? j1 : j2;
      joiner.sendJson({ v, type: 'relay', payload: 'hello' });
      expect(await host.next()).toEqual({ v, type: 'relay', payload: 'hello' });
      const late = await raw(two);
      late.sendJson({ v, type: 'join', nameplate });
      expect(await late.next()).toMatchObject({ type: 'error', code: 'PEER_NOT_FOUND' });
    });

    it('pairs many receivers and senders at once across instances, as nameplates are freed and reused', async () => {
      const limits = { joinBurst: 10_000, maxConnectionsPerIp: 10_000 };
      const [one, two] = [await instance({ limits }), await instance({ limits })];
      // Short nameplates come back into use as soon as a joiner claims them,
      // before their old receiver hears of its pairing through pub/sub.
      const pairs = await Promise.all(
        Array.from({ length: 150 }, async (_, i) => {
          const rx = await connectSignal(one.address());
          const tx = await connectSignal(two.address());
          try {
            const nameplate = await rx.register();
            await Promise.all([tx.join(nameplate), rx.waitForPeer()]);
            const got = new Promise<string>((resolve) => rx.onPayload(resolve));
            tx.sendPayload(`hello ${i}`);
            return await got;
          } finally {
            rx.close();
            tx.close();
          }
        }),
      );
      expect(pairs).toEqual(Array.from({ length: 150 }, (_, i) => `hello ${i}`));
    }, 20_000);

    it('tells a peer on one instance when its partner on the other leaves', async () => {
      const [one, two] = [await instance(), await instance()];
      const { c: host, nameplate } = await register(one);
      const joiner = await raw(two);
      joiner.sendJson({ v, type: 'join', nameplate });
      expect(await joiner.next()).toMatchObject({ type: 'paired' });
      expect(await host.next()).toMatchObject({ type: 'paired' });
      host.end();
      expect(await joiner.next()).toEqual({ v, type: 'peer-left' });
    });

    it('expires a nameplate everywhere when its TTL passes', async () => {
      const one = await instance({ limits: { nameplateTtlMs: 400 } });
      const two = await instance();
      const { c: host, nameplate } = await register(one);
      expect(await host.next()).toMatchObject({ type: 'error', code: 'NAMEPLATE_EXPIRED' });
      const joiner = await raw(two);
      joiner.sendJson({ v, type: 'join', nameplate });
      expect(await joiner.next()).toMatchObject({ type: 'error', code: 'PEER_NOT_FOUND' });
    });

    it('shares the register/join budget of an address across instances', async () => {
      const limits = { joinBurst: 3, joinRatePerMinute: 1 };
      const [one, two] = [await instance({ limits }), await instance({ limits })];
      await register(one);
      await register(two);
      await register(one);
      const over = await raw(two);
      over.sendJson({ v, type: 'register' });
      expect(await over.next()).toMatchObject({ type: 'error', code: 'RATE_LIMITED' });
    });

    it('takes nothing from a nameplate when the join cannot pay (one step in Redis)', async () => {
      const limits = { joinBurst: 1, joinRatePerMinute: 120 }; // a token every 0.5 s
      // One clock for both instances, moved by hand: the bucket in Redis refills by it.
      let clock = 1_000;
      const now = (): number => clock;
      const [one, two] = [await instance({ limits, now }), await instance({ limits, now })];
      const { c: host, nameplate } = await register(one);
      const early = await raw(two);
      early.sendJson({ v, type: 'join', nameplate });
      expect(await early.next()).toMatchObject({ type: 'error', code: 'RATE_LIMITED' });
      clock += 499;
      const still = await raw(two);
      still.sendJson({ v, type: 'join', nameplate });
      expect(await still.next()).toMatchObject({ type: 'error', code: 'RATE_LIMITED' });
      clock += 1;
      const joiner = await raw(two);
      joiner.sendJson({ v, type: 'join', nameplate });
      expect(await joiner.next()).toMatchObject({ type: 'paired' });
      expect(await host.next()).toMatchObject({ type: 'paired' });
    });

    it('fails a join on a malformed record in Redis with INTERNAL, and serves on', async () => {
      const [one, two] = [await instance(), await instance()];
      const admin = new Redis(redis.url);
      try {
        // A live instance's id, so that the claim does read the record; a client that is no number.
        await admin.set(
          'peerlane:np:77',
          JSON.stringify({ instance: one.instance, client: 'x' }),
          'PX',
          60_000,
        );
        await admin.set('peerlane:name:laptop', JSON.stringify({ nameplate: 77 }), 'PX', 60_000);
      } finally {
        admin.disconnect();
      }
      const joins = [
        { via: two, join: { nameplate: '77' }, field: '"client"' },
        { via: one, join: { name: 'laptop' }, field: '"nameplate"' },
      ];
      for (const { via, join, field } of joins) {
        const c = await raw(via);
        c.sendJson({ v, type: 'join', ...join });
        const message = expect.stringContaining(field);
        expect(await c.next()).toMatchObject({ type: 'error', code: 'INTERNAL', message });
      }
      const { nameplate } = await register(one);
      const joiner = await raw(two);
      joiner.sendJson({ v, type: 'join', nameplate });
      expect(await joiner.next()).toMatchObject({ type: 'paired' });
    });

    it('lets a waiting receiver keep its nameplate while its instance restarts', async () => {
      const one = await instance();
      const two = await instance();
      const { port } = one.address();
      const src = await h.tempDir();
      const out = await h.tempDir();
      const file = path.join(src, 'after-restart.txt');
      await writeRandomFile(file, 100_000);
      const rx = startReceiver({ signal: { host: LOOPBACK, port }, rtc, outDir: out });
      const code = await rx.code;
      await one.close();
      // Meanwhile its nameplate is neither lost nor paired with a sender nobody would answer.
      const early = await raw(two);
      early.sendJson({ v, type: 'join', nameplate: code.split('-')[0] });
      expect(await early.next()).toMatchObject({ type: 'error', code: 'PEER_NOT_FOUND' });
      // The same address comes back (a restart, or DNS pointing elsewhere); the receiver reclaims.
      const again = await instance({ port });
      await expect.poll(() => again.stats.waiting, { timeout: 15_000 }).toBe(1);
      const sent = await send({ signal: two.address(), rtc, paths: [file], code });
      expect((await rx.result).files[0]?.sha256).toBe(sent.files[0]?.sha256);
    });

    it('serve:signal takes --redis-url and --http-port; two processes pair a CLI transfer with --yes', async () => {
      const start = async (args: string[]) => {
        const proc = h.spawnScript('signal', ['--host', LOOPBACK, '--port', '0', '--json', ...args]);
        return proc.waitFor('listening');
      };
      const one = await start(['--redis-url', redis.url, '--http-port', '0']);
      // The variables work too, under the flags.
      const two = await start([]).catch(() => undefined);
      expect(two?.httpPort).toBeUndefined();
      const proc2 = h.spawnScript('signal', ['--host', LOOPBACK, '--port', '0', '--json'], {
        env: { REDIS_URL: redis.url, SIGNAL_HTTP_PORT: '0' },
      });
      const viaEnv = await proc2.waitFor('listening');
      expect(viaEnv.httpPort).toBeGreaterThan(0);
      expect((await get(`http://${LOOPBACK}:${one.httpPort}/healthz`)).status).toBe(200);

      const src = await h.tempDir();
      const out = await h.tempDir();
      const file = path.join(src, 'cli.bin');
      await writeRandomFile(file, 200_000);
      const rx = h.peer(['receive', '--out', out, '--yes', ...peerArgsFor(one.host, one.port)]);
      const { code } = await rx.waitFor('ready');
      const tx = h.peer(['send', file, '--to', code, ...peerArgsFor(viaEnv.host, viaEnv.port)]);
      expect((await tx.exit()).code).toBe(0);
      expect((await rx.exit()).code).toBe(0);
      expect(await sha256File(path.join(out, 'cli.bin'))).toBe(await sha256File(file));
    });

    it('refuses a reclaim with a wrong token, and /healthz reports a dead Redis', async () => {
      const one = await instance({ httpPort: 0 });
      const { c: host, nameplate, resume } = await register(one);
      const thief = await raw(one);
      thief.sendJson({
        v,
        type: 'reclaim',
        nameplate,
        token: resume.replace(/^./, (ch) => (ch === 'A' ? 'B' : 'A')),
      });
      expect(await thief.next()).toMatchObject({ type: 'error', code: 'PEER_NOT_FOUND' });
      expect(host.isClosed()).toBe(false);
      const base = `http://${LOOPBACK}:${one.httpAddress()?.port}`;
      expect((await get(`${base}/healthz`)).status).toBe(200);
      await redis.stop();
      expect((await get(`${base}/healthz`)).status).toBe(503);
      redis = await startRedis();
    });
  },
);
