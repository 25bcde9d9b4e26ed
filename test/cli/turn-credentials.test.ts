/**
 * A TURN credential mistake under --relay fails in seconds, naming the cause,
 * instead of waiting out the ICE deadline: a real coturn on loopback refuses
 * the credentials, gathering ends without a relay candidate, and each peer
 * says so. And `peer share` / `peer get` under --relay go through the TURN
 * server the signal server issues credentials for, as send/receive do.
 */
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { issueTurnCredentials } from '../../src/server/turn.js';
import type { CoturnHandle } from '../../src/testing/coturn.js';
import { coturnSkipReason, startCoturn } from '../../src/testing/coturn.js';
import { sha256File, writeRandomFile } from '../../src/testing/files.js';
import { LOOPBACK } from '../../src/testing/harness.js';
import { useHarness } from '../../src/testing/hooks.js';

const SECRET = 'coturn-test-secret';
/** coturn's relays, apart from the peers' 127.0.0.1 (see startCoturn). */
const RELAY_IP = '127.0.0.2';
/** What the issue asks for: a credential mistake is known within 5 s, not 30. */
const FAST_MS = 5_000;
const skip = coturnSkipReason();

let turn: CoturnHandle;

beforeEach(async () => {
  if (skip === undefined) turn = await startCoturn(SECRET, { relayIp: RELAY_IP });
});
afterEach(async () => {
  await turn?.stop();
});
// After-hooks run last-registered first: the peers go before their coturn.
const h = useHarness({ afterEach });

/** A `turn:` URL for coturn with these credentials, percent-encoded. */
function turnUrl(username: string, password: string): string {
  return `turn:${encodeURIComponent(username)}:${encodeURIComponent(password)}@${LOOPBACK}:${turn.port}`;
}

/** A `serve:signal` process with `env`; resolves with its port. */
async function startSignal(env: NodeJS.ProcessEnv): Promise<number> {
  const signal = h.spawnScript('signal', ['--host', LOOPBACK, '--port', '0', '--json'], { env });
  return (await signal.waitFor('listening')).port;
}

/**
 * Both peers with --relay and `flags`, through a signal server started with
 * `signalEnv`; resolves with each side's error and its time from the sender's start.
 */
async function relayWith(flags: string[], signalEnv: NodeJS.ProcessEnv = {}) {
  const port = await startSignal(signalEnv);
  const dir = await h.tempDir();
  const file = path.join(dir, 'data.bin');
  await writeRandomFile(file, 1024);
  const common = ['--signal', `${LOOPBACK}:${port}`, '--bind-address', LOOPBACK, '--relay', ...flags];
  const env = { ICE_SERVERS: '' };
  const rx = h.peer(['receive', '--out', await h.tempDir(), '--yes', ...common], { env });
  const { code } = await rx.waitFor('ready');
  const started = Date.now();
  const tx = h.peer(['send', file, '--to', code, ...common], { env });
  const ends = await Promise.all(
    [rx, tx].map(async (p) => {
      const { code: status } = await p.exit(40_000);
      return { status, ms: Date.now() - started, error: p.error };
    }),
  );
  return { rx: ends[0], tx: ends[1] };
}

describe.skipIf(skip !== undefined)('TURN credential mistakes under --relay', () => {
  const cases: [string, () => { flags: string[]; signalEnv?: NodeJS.ProcessEnv }][] = [
    [
      'a wrong password in --ice-servers',
      () => ({ flags: ['--ice-servers', turnUrl('1999999999:me', 'wrong')] }),
    ],
    [
      'REST credentials that expired an hour ago',
      () => {
        const old = issueTurnCredentials(SECRET, 60, { nowMs: Date.now() - 3_600_000 });
        return { flags: ['--ice-servers', turnUrl(old.username, old.password)] };
      },
    ],
    [
      'a signal server whose TURN_SECRET is not coturn’s',
      () => ({
        flags: [],
        signalEnv: { TURN_URLS: `turn:${LOOPBACK}:${turn.port}`, TURN_SECRET: 'not-the-secret' },
      }),
    ],
  ];

  it.each(cases)('%s: both peers fail within 5 s, naming the refusal', async (_name, setup) => {
    const { flags, signalEnv } = setup();
    const { rx, tx } = await relayWith(flags, signalEnv);
    for (const side of [rx, tx]) {
      expect(side?.status).toBe(1);
      expect(side?.error?.code).toBe('ICE_FAILED');
      expect(side?.error?.message).toContain('no relay candidate for --relay');
      expect(side?.error?.message).toContain('the TURN server refused the credentials');
      expect(side?.ms).toBeLessThan(FAST_MS);
    }
  });
});

describe.skipIf(skip !== undefined)('peer share / peer get under --relay', () => {
  it('go through the TURN server the signal server issues credentials for, with no --ice-servers', async () => {
    const port = await startSignal({ TURN_URLS: `turn:${LOOPBACK}:${turn.port}`, TURN_SECRET: SECRET });
    const dir = await h.tempDir();
    const file = path.join(dir, 'data.bin');
    await writeRandomFile(file, 1024 * 1024);
    const common = ['--signal', `${LOOPBACK}:${port}`, '--bind-address', LOOPBACK, '--relay'];
    const env = { ICE_SERVERS: '' };
    const sharer = h.peer(['share', file, ...common], { env });
    const { ticket } = await sharer.waitFor('share-ready');
    const out = await h.tempDir();
    const fetch = () => h.peer(['get', ticket, '--out', out, ...common], { env });
    let getter = fetch();
    let exit = await getter.exit(40_000);
    // libdatachannel can freeze a native call over TURN on a loaded machine (README, "What
    // heals"); the freeze guard then ends the get with RTC_STALLED, and the way on it names
    // is the same get again, once. Anything else fails here.
    if (getter.error?.code === 'RTC_STALLED') {
      getter = fetch();
      exit = await getter.exit(40_000);
    }
    expect(exit.code, getter.stderr).toBe(0);
    expect(await sha256File(path.join(out, 'data.bin'))).toBe(await sha256File(file));
    const linked = getter.events.find((e) => e.event === 'swarm-peer' && e.joined);
    expect(linked).toMatchObject({ path: 'relay', local: 'relay', remote: 'relay', transport: 'webrtc' });
    sharer.kill('SIGINT');
    expect((await sharer.exit()).code, sharer.stderr).toBe(0);
  });
});
