/**
 * A throwaway coturn on a free loopback UDP port, for tests: UDP only, TURN
 * REST credentials (a shared secret) only, as the README deploys it.
 *
 *   const turn = await startCoturn('secret');
 *   ... turn:user:pass@127.0.0.1:${turn.port} ...
 *   await turn.stop();
 */
import type { ChildProcess } from 'node:child_process';
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { stunBinding } from '../server/stun.js';
import { LOOPBACK } from './harness.js';

export interface CoturnHandle {
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Why coturn tests may be skipped here, or undefined if they must run (always under CI). */
export function coturnSkipReason(): string | undefined {
  if (process.env.CI) return undefined;
  const installed = spawnSync('turnserver', ['--version'], { stdio: 'ignore' }).error === undefined;
  return installed
    ? undefined
    : 'coturn is not installed (apt-get install coturn); set CI=1 to make this a failure';
}

/** A UDP port that was free a moment ago: coturn cannot pick one itself. */
function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = dgram.createSocket('udp4');
    probe.once('error', reject);
    probe.bind(0, LOOPBACK, () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** How long coturn gets to answer its first STUN request. */
const START_MS = 5_000;

/**
 * `relayIp`: where coturn opens its relay ports (default 127.0.0.1). On
 * another loopback address than the peers' own, a peer's host socket cannot
 * pass for its relay (coturn's permissions are per IP), so a link under
 * --relay can only be relay to relay, as across real networks.
 */
export async function startCoturn(secret: string, options: { relayIp?: string } = {}): Promise<CoturnHandle> {
  const port = await freeUdpPort();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'peerlane-coturn-'));
  // Relay ports from a range no other test uses at once: the listening port's neighbourhood.
  const relayBase = 20_000 + (port % 20_000);
  const child = spawn(
    'turnserver',
    [
      '-n',
      '--no-cli',
      '--listening-ip',
      LOOPBACK,
      '--relay-ip',
      options.relayIp ?? LOOPBACK,
      '--listening-port',
      String(port),
      '--min-port',
      String(relayBase),
      '--max-port',
      String(relayBase + 50),
      '--use-auth-secret',
      '--static-auth-secret',
      secret,
      '--realm',
      'test.peerlane',
      '--no-tcp',
      '--no-tls',
      '--no-dtls',
      '--no-tcp-relay',
      // Its relays are on loopback, so the peers it relays between are too.
      '--allow-loopback-peers',
      '--fingerprint',
      '--userdb',
      path.join(dir, 'turndb'),
      '--pidfile',
      path.join(dir, 'turnserver.pid'),
      '--log-file',
      'stdout',
      '--simple-log',
    ],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const reap = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', reap);
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    process.off('exit', reap);
    await fs.rm(dir, { recursive: true, force: true });
  };
  // coturn prints no "ready" line worth trusting; it is ready when it answers STUN.
  const deadline = Date.now() + START_MS;
  for (;;) {
    try {
      await stunBinding(LOOPBACK, port, { timeoutMs: 300 });
      return { port, process: child, stop };
    } catch (err) {
      if (Date.now() > deadline || child.exitCode !== null) {
        await stop();
        throw new Error(`coturn did not start on ${LOOPBACK}:${port}: ${String(err)}`);
      }
    }
  }
}
