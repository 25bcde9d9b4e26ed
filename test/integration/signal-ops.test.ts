/**
 * What the signal server shows its operator, and to whom (issue 14, items 11
 * and 16): `serve:signal --help` never prints a secret taken from the
 * environment, and /healthz and /metrics listen on loopback unless told
 * otherwise, holding a few connections at most.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SignalServer } from '../../src/server/server.js';
import { turnPassword } from '../../src/server/turn.js';
import { Harness, LOOPBACK } from '../../src/testing/harness.js';
import { canBind, SignalBench } from '../../src/testing/signal-clients.js';

const h = new Harness();
const bench = new SignalBench();
const servers: SignalServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await bench.cleanup();
  await h.cleanup();
});

/** Stands for the signal server's public address: any loopback address but 127.0.0.1. */
const PUBLIC = '127.0.0.2';
const havePublic = await canBind(PUBLIC);

const SECRET = 's3cret-turn-4f1e9';
const REDIS_PASSWORD = 'hunter2-redis';

async function get(url: string): Promise<number> {
  const res = await fetch(url);
  await res.arrayBuffer();
  return res.status;
}

/** Whether a TCP connection to `host:port` is accepted. */
function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('serve:signal --help', () => {
  it('shows no secret from the environment, which the server still uses', async () => {
    const env = {
      TURN_URLS: 'turn:203.0.113.5:3478',
      TURN_SECRET: SECRET,
      REDIS_URL: `redis://:${REDIS_PASSWORD}@10.255.0.1:6379/0`,
    };
    const help = h.spawnScript('signal', ['--help'], { env });
    expect((await help.exit()).code).toBe(0);
    const text = help.strayStdout.join('\n');
    expect(text).toContain('--turn-secret');
    expect(text).toContain('--redis-url');
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(REDIS_PASSWORD);

    // The secret from the environment still signs what the server issues.
    const { REDIS_URL: _, ...turnOnly } = env;
    const proc = h.spawnScript('signal', ['--host', LOOPBACK, '--port', '0', '--json'], { env: turnOnly });
    const { host, port } = await proc.waitFor('listening');
    const { a, b } = await bench.pair({ host, port });
    for (const c of [a, b]) {
      const paired = c.lines.find((l) => l.type === 'paired') as {
        turn?: { username: string; password: string };
      };
      expect(paired.turn?.password).toBe(turnPassword(SECRET, paired.turn?.username ?? ''));
    }
  });
});

describe('/healthz and /metrics', () => {
  it.runIf(havePublic)('listen on loopback, not on the signal server’s public address', async () => {
    const server = new SignalServer({ host: PUBLIC, port: 0, httpPort: 0 });
    servers.push(server);
    await server.listen();
    const http = server.httpAddress();
    expect(http?.host).toBe(LOOPBACK);
    const port = http?.port ?? 0;
    expect(await reachable(PUBLIC, port)).toBe(false);
    expect(await get(`http://${LOOPBACK}:${port}/healthz`)).toBe(200);
  });

  it.runIf(havePublic)(
    'serve:signal takes --http-host (SIGNAL_HTTP_HOST) to put them elsewhere',
    async () => {
      const byDefault = h.spawnScript('signal', [
        '--host',
        PUBLIC,
        '--port',
        '0',
        '--http-port',
        '0',
        '--json',
      ]);
      const one = await byDefault.waitFor('listening');
      expect(await get(`http://${LOOPBACK}:${one.httpPort}/metrics`)).toBe(200);
      expect(await reachable(PUBLIC, one.httpPort ?? 0)).toBe(false);

      const args = ['--host', LOOPBACK, '--port', '0', '--http-port', '0', '--json'];
      const moved = h.spawnScript('signal', args, { env: { SIGNAL_HTTP_HOST: PUBLIC } });
      const two = await moved.waitFor('listening');
      expect(await get(`http://${PUBLIC}:${two.httpPort}/healthz`)).toBe(200);
    },
  );

  it('hold at most their cap of connections, and drop one that never sends its request', async () => {
    const server = new SignalServer({
      host: LOOPBACK,
      port: 0,
      httpPort: 0,
      limits: { httpMaxConnections: 4 },
    });
    servers.push(server);
    await server.listen();
    const port = server.httpAddress()?.port ?? 0;
    const idle = await Promise.all(
      Array.from({ length: 12 }, async () => {
        const socket = net.connect({ host: LOOPBACK, port });
        socket.on('error', () => {});
        const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
        // One past the cap may be reset before its connect is even reported:
        // then it errors and closes without ever emitting 'connect'.
        await Promise.race([new Promise((resolve) => socket.once('connect', resolve)), closed]);
        return { socket, closed, isClosed: () => socket.closed };
      }),
    );
    // Those past the cap are closed at once.
    await expect.poll(() => idle.filter((c) => c.isClosed()).length, { timeout: 2_000 }).toBe(8);
    // The ones it holds are dropped after 5 s of silence.
    const started = performance.now();
    await Promise.all(idle.map((c) => c.closed));
    expect(performance.now() - started).toBeLessThan(8_000);
    expect(await get(`http://${LOOPBACK}:${port}/healthz`)).toBe(200);
  }, 20_000);
});
