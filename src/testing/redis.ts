/**
 * A throwaway redis-server on a free loopback port, for tests and the load
 * test. No persistence, no config file; stop() always kills it.
 *
 *   const redis = await startRedis();
 *   ... new SignalServer({ ..., redisUrl: redis.url }) ...
 *   await redis.stop();
 */
import type { ChildProcess } from 'node:child_process';
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { Redis } from 'ioredis';
import { LOOPBACK } from './harness.js';

export interface RedisHandle {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Whether `redis-server` is on the PATH. */
function redisInstalled(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Why Redis tests may be skipped here, or undefined if they must run. Under CI
 * they always run (and fail loudly without redis-server).
 */
export function redisSkipReason(): string | undefined {
  if (process.env.CI || redisInstalled()) return undefined;
  const reason =
    'redis-server is not installed (apt-get install redis-server); set CI=1 to make this a failure';
  // Said out loud: a describe.skipIf alone shows only as "skipped" in the summary.
  console.warn(`Skipping the tests that need Redis: ${reason}`);
  return reason;
}

/** A port that was free a moment ago: redis-server cannot pick one itself (no --port 0). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, LOOPBACK, () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export async function startRedis(attempts = 5): Promise<RedisHandle> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        LOOPBACK,
        '--save',
        '',
        '--appendonly',
        'no',
        '--protected-mode',
        'no',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const ready = await new Promise<boolean>((resolve) => {
      let out = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        out += chunk;
        if (out.includes('Ready to accept connections')) resolve(true);
      });
      child.once('error', () => resolve(false));
      child.once('exit', () => resolve(false));
    });
    if (ready) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      // Never outlive this process, even when a test run is cut short.
      const reap = (): void => {
        child.kill('SIGKILL');
      };
      process.once('exit', reap);
      void exited.then(() => process.off('exit', reap));
      return {
        url: `redis://${LOOPBACK}:${port}`,
        port,
        process: child,
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          await exited;
        },
      };
    }
    child.kill('SIGKILL');
    if (attempt >= attempts) throw new Error(`redis-server did not start on 127.0.0.1:${port}`);
  }
}

type Hook = () => unknown;

/**
 * A redis-server for one test file: started before its tests, emptied before
 * each (buckets, nameplates, names and swarms live there, so every test
 * starts from nothing), and stopped after. `url` is good inside tests.
 */
export function useRedis(hooks: {
  beforeAll(fn: Hook): unknown;
  afterAll(fn: Hook): unknown;
  beforeEach(fn: Hook): unknown;
}): { readonly url: string } {
  let redis: RedisHandle | undefined;
  hooks.beforeAll(async () => {
    redis = await startRedis();
  });
  hooks.afterAll(async () => {
    await redis?.stop();
  });
  hooks.beforeEach(async () => {
    const admin = new Redis(redis?.url ?? '');
    await admin.flushall();
    admin.disconnect();
  });
  return {
    get url() {
      if (redis === undefined) throw new Error('redis-server runs only inside the tests');
      return redis.url;
    },
  };
}
