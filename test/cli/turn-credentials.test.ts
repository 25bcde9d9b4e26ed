/**
 * A TURN credential mistake under --relay fails in seconds, naming the cause,
 * instead of waiting out the ICE deadline: a real coturn on loopback refuses
 * the credentials, gathering ends without a relay candidate, and each peer
 * says so.
 */
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { issueTurnCredentials } from '../../src/server/turn.js';
import type { CoturnHandle } from '../../src/testing/coturn.js';
import { coturnSkipReason, startCoturn } from '../../src/testing/coturn.js';
import { writeRandomFile } from '../../src/testing/files.js';
import { LOOPBACK } from '../../src/testing/harness.js';
import { useHarness } from '../../src/testing/hooks.js';

const SECRET = 'coturn-test-secret';
/** What the issue asks for: a credential mistake is known within 5 s, not 30. */
const FAST_MS = 5_000;
const skip = coturnSkipReason();

let turn: CoturnHandle;

beforeEach(async () => {
  if (skip === undefined) turn = await startCoturn(SECRET);
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

/**
 * Both peers with --relay and `flags`, through a signal server started with
 * `signalEnv`; resolves with each side's error and its time from the sender's start.
 */
async function relayWith(flags: string[], signalEnv: NodeJS.ProcessEnv = {}) {
  const signal = h.spawnScript('signal', ['--host', LOOPBACK, '--port', '0', '--json'], { env: signalEnv });
  const { port } = await signal.waitFor('listening');
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
