/**
 * Discovery: receivers reachable by name, and listed when they opt in. One
 * set of scenarios runs against one in-memory server and against two
 * instances sharing a real redis-server (receiver on one, everyone else on
 * the other), with real peers and raw hostile clients.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SIGNAL_PROTOCOL_VERSION } from '../../src/core/signaling/protocol.js';
import type { SignalServerOptions } from '../../src/server/options.js';
import { SignalServer } from '../../src/server/server.js';
import { send } from '../../src/session/send.js';
import type { SignalAddress } from '../../src/signaling/socket.js';
import { connectSignal } from '../../src/signaling/socket.js';
import { listTree } from '../../src/testing/files.js';
import { Harness, LOOPBACK } from '../../src/testing/harness.js';
import type { StartedReceiver } from '../../src/testing/in-process.js';
import { startReceiver } from '../../src/testing/in-process.js';
import type { RawClient } from '../../src/testing/raw-client.js';
import { connectRawClient } from '../../src/testing/raw-client.js';
import type { RedisHandle } from '../../src/testing/redis.js';
import { redisSkipReason, startRedis } from '../../src/testing/redis.js';

const v = SIGNAL_PROTOCOL_VERSION;
const rtc = { iceServers: [], bindAddress: LOOPBACK, timeoutMs: 10_000 };

const h = new Harness();
const servers: SignalServer[] = [];
const raws: RawClient[] = [];

afterEach(async () => {
  for (const c of raws.splice(0)) c.socket.destroy();
  await h.cleanup();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function instance(options: Partial<SignalServerOptions> = {}): Promise<SignalServer> {
  const server = new SignalServer({ host: LOOPBACK, port: 0, ...options });
  servers.push(server);
  await server.listen();
  return server;
}

/** Where receivers wait, and where senders, listers and offenders connect. */
interface Sites {
  rx: SignalAddress;
  tx: SignalAddress;
}

async function list(at: SignalAddress): Promise<string[]> {
  const client = await connectSignal(at);
  try {
    return await client.list();
  } finally {
    client.close();
  }
}

async function fileToSend(): Promise<string> {
  const file = path.join(await h.tempDir(), 'hello.txt');
  await fs.writeFile(file, 'hello by name');
  return file;
}

async function waiting(
  at: SignalAddress,
  options: { name?: string; listed?: boolean } = {},
): Promise<StartedReceiver & { out: string; words: string }> {
  const out = await h.tempDir();
  const rx = startReceiver({ signal: at, rtc, outDir: out, ...options });
  const code = await rx.code;
  if (options.name !== undefined) expect(code.startsWith(`${options.name}-`)).toBe(true);
  return { ...rx, out, words: code.replace(/^[^-]+-/, '') };
}

function scenarios(sites: () => Promise<Sites>): void {
  it('lists only the receivers that opted in; a name alone reaches but is not listed', async () => {
    const at = await sites();
    await waiting(at.rx);
    await waiting(at.rx, { name: 'desk' });
    await waiting(at.rx, { name: 'laptop', listed: true });
    await waiting(at.rx, { name: 'attic', listed: true });
    expect(await list(at.tx)).toEqual(['attic', 'laptop']);
  });

  it('--to <name>-<words> transfers end to end, and the name is gone once paired', async () => {
    const at = await sites();
    const rx = await waiting(at.rx, { name: 'laptop', listed: true });
    const sent = await send({ signal: at.tx, rtc, paths: [await fileToSend()], code: `laptop-${rx.words}` });
    const received = await rx.result;
    expect(received.files[0]?.sha256).toBe(sent.files[0]?.sha256);
    expect(await fs.readFile(path.join(rx.out, 'hello.txt'), 'utf8')).toBe('hello by name');
    await expect.poll(() => list(at.tx)).toEqual([]);
    // Free for the next receiver.
    await waiting(at.rx, { name: 'laptop', listed: true });
    expect(await list(at.tx)).toEqual(['laptop']);
  });

  it('a second receiver with the same name gets NAME_TAKEN; the first is unaffected', async () => {
    const at = await sites();
    const first = await waiting(at.rx, { name: 'laptop', listed: true });
    const out = await h.tempDir();
    const second = startReceiver({ signal: at.tx, rtc, outDir: out, name: 'laptop' });
    await expect(second.result).rejects.toMatchObject({ code: 'NAME_TAKEN' });
    expect(await list(at.tx)).toEqual(['laptop']);
    await send({ signal: at.tx, rtc, paths: [await fileToSend()], code: `laptop-${first.words}` });
    await first.result;
  });

  it('wrong words with a name burn it: BAD_CODE on both sides, then nobody is found', async () => {
    const at = await sites();
    const rx = await waiting(at.rx, { name: 'laptop', listed: true });
    const file = await fileToSend();
    const wrong = rx.words === 'abandon-ability' ? 'abandon-able' : 'abandon-ability';
    await expect(send({ signal: at.tx, rtc, paths: [file], code: `laptop-${wrong}` })).rejects.toMatchObject({
      code: 'BAD_CODE',
    });
    await expect(rx.result).rejects.toMatchObject({ code: 'BAD_CODE' });
    expect(await listTree(rx.out)).toEqual([]);
    await expect(
      send({ signal: at.tx, rtc, paths: [file], code: `laptop-${rx.words}` }),
    ).rejects.toMatchObject({ code: 'PEER_NOT_FOUND' });
    expect(await list(at.tx)).toEqual([]);
  });

  it('drops clients with hostile names and keeps serving the rest', async () => {
    const at = await sites();
    const rx = await waiting(at.rx, { name: 'laptop', listed: true });
    const hostile: [Record<string, unknown>, string][] = [
      [{ type: 'register', name: 'Laptop' }, 'BAD_MESSAGE'],
      [{ type: 'register', name: '42' }, 'BAD_MESSAGE'],
      [{ type: 'register', name: 'my-laptop' }, 'BAD_MESSAGE'],
      [{ type: 'register', name: 'x'.repeat(33) }, 'BAD_MESSAGE'],
      [{ type: 'register', name: '../etc' }, 'BAD_MESSAGE'],
      [{ type: 'register', name: 'caf\u00e9' }, 'BAD_MESSAGE'],
      [{ type: 'register', name: 'a\u0000' }, 'BAD_MESSAGE'],
      [{ type: 'register', name: ['laptop'] }, 'BAD_MESSAGE'],
      [{ type: 'register', listed: true }, 'BAD_MESSAGE'],
      [{ type: 'register', name: 'ok', listed: 'yes' }, 'BAD_MESSAGE'],
      [{ type: 'register', name: 'laptop' }, 'NAME_TAKEN'],
      [{ type: 'join', name: 'Laptop' }, 'BAD_CODE'],
      [{ type: 'join', name: 'laptop', nameplate: '1' }, 'BAD_MESSAGE'],
      [{ type: 'join', name: 'nobody' }, 'PEER_NOT_FOUND'],
    ];
    for (const [msg, code] of hostile) {
      const c = await connectRawClient(at.tx, { waitMs: 5_000 });
      raws.push(c);
      c.sendJson({ v, ...msg });
      expect(await c.next(), JSON.stringify(msg)).toMatchObject({ type: 'error', code });
      await c.closed;
      expect(c.closedByServer()).toBe(true);
    }
    expect(await list(at.tx)).toEqual(['laptop']);
    await send({ signal: at.tx, rtc, paths: [await fileToSend()], code: `laptop-${rx.words}` });
    await rx.result;
  });
}

describe('discovery on one signal server', () => {
  scenarios(async () => {
    const one = await instance();
    return { rx: one.address(), tx: one.address() };
  });

  it('rate-limits list like register and join', async () => {
    const one = await instance({ limits: { joinBurst: 2, joinRatePerMinute: 1 } });
    expect(await list(one.address())).toEqual([]);
    expect(await list(one.address())).toEqual([]);
    await expect(list(one.address())).rejects.toMatchObject({ code: 'RATE_LIMITED' });
  });

  it('a name is freed when its receiver leaves', async () => {
    const one = await instance();
    const client = await connectSignal(one.address());
    await client.register({ name: 'laptop', listed: true });
    expect(await list(one.address())).toEqual(['laptop']);
    client.close();
    await expect.poll(() => list(one.address())).toEqual([]);
    const again = await connectSignal(one.address());
    await again.register({ name: 'laptop' });
    again.close();
  });
});

const skip = redisSkipReason();
describe.skipIf(skip !== undefined)(
  `discovery across instances sharing Redis${skip ? ` [skipped: ${skip}]` : ''}`,
  () => {
    let redis: RedisHandle;
    beforeAll(async () => {
      redis = await startRedis();
    });
    afterAll(async () => {
      await redis?.stop();
    });

    // Rate buckets and names live in Redis too: every test starts from nothing.
    beforeEach(async () => {
      const admin = new Redis(redis.url);
      await admin.flushall();
      admin.disconnect();
    });

    scenarios(async () => {
      const [one, two] = [await instance({ redisUrl: redis.url }), await instance({ redisUrl: redis.url })];
      return { rx: one.address(), tx: two.address() };
    });

    it('a name expires with its nameplate everywhere', async () => {
      const one = await instance({ redisUrl: redis.url, limits: { nameplateTtlMs: 400 } });
      const two = await instance({ redisUrl: redis.url });
      const client = await connectSignal(one.address());
      await client.register({ name: 'brief', listed: true });
      expect(await list(two.address())).toContain('brief');
      await expect.poll(() => list(two.address()), { timeout: 3_000 }).not.toContain('brief');
      client.close();
    });

    it('a named receiver keeps its name while its instance restarts, and is reached by it after', async () => {
      const one = await instance({ redisUrl: redis.url });
      const two = await instance({ redisUrl: redis.url });
      const { port } = one.address();
      const rx = await waiting({ host: LOOPBACK, port }, { name: 'steady', listed: true });
      await one.close();
      // Meanwhile still listed: its nameplate is kept for the reclaim, and so is the name.
      expect(await list(two.address())).toEqual(['steady']);
      const again = await instance({ redisUrl: redis.url, port });
      await expect.poll(() => again.stats.waiting, { timeout: 15_000 }).toBe(1);
      await send({ signal: two.address(), rtc, paths: [await fileToSend()], code: `steady-${rx.words}` });
      await rx.result;
      await expect.poll(() => list(two.address())).toEqual([]);
    });

    it('a name whose waiter no longer holds the nameplate is neither listed nor taken', async () => {
      // As after a receiver that reclaimed elsewhere pairs or leaves: nobody deletes the name.
      const [one, two] = [await instance({ redisUrl: redis.url }), await instance({ redisUrl: redis.url })];
      const ghost = await connectSignal(one.address());
      const nameplate = await ghost.register({ name: 'ghost', listed: true });
      const admin = new Redis(redis.url);
      await admin.del(`peerlane:np:${nameplate}`);
      admin.disconnect();
      expect(await list(two.address())).toEqual([]);
      const again = await connectSignal(two.address());
      await again.register({ name: 'ghost', listed: true });
      expect(await list(one.address())).toEqual(['ghost']);
      ghost.close();
      again.close();
    });
  },
);
