/**
 * PEERLANE_DEBUG_ICE (`peer --debug-ice`): the peer that has it prints
 * libdatachannel's ICE log on stderr, the other prints none of it, and a value
 * that is not a yes or a no is BAD_CONFIG before anything starts.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/core/errors.js';
import { writeRandomFile } from '../../src/testing/files.js';
import type { EventProcess, SignalHandle } from '../../src/testing/harness.js';
import { Harness } from '../../src/testing/harness.js';

const h = new Harness();
let server: SignalHandle;

beforeAll(async () => {
  server = await h.signalServer();
});
afterAll(() => h.cleanup());

/** A line of the native log as native-log.ts prints it. */
const ICE_LOG = /^\[rtc \w+\] /m;
/** Over the data channel: a direct TCP link that wins the race could leave the ICE log short. */
const OVER_WEBRTC = ['--transport', 'webrtc'];

async function fileToSend(): Promise<string> {
  const file = path.join(await h.tempDir(), 'f.bin');
  await writeRandomFile(file, 10_000);
  return file;
}

/** One transfer, the receiver with `rxEnv`, the sender with no debug log; both must succeed. */
async function transfer(
  rxEnv: NodeJS.ProcessEnv,
  rxFlags: string[] = [],
): Promise<{ rx: EventProcess; tx: EventProcess }> {
  const out = await h.tempDir();
  const rx = h.peer(['receive', '--out', out, '--yes', ...rxFlags, ...OVER_WEBRTC, ...server.peerArgs], {
    env: rxEnv,
  });
  const { code } = await rx.waitFor('ready');
  const tx = h.peer(['send', await fileToSend(), '--to', code, ...OVER_WEBRTC, ...server.peerArgs], {
    env: { PEERLANE_DEBUG_ICE: '' },
  });
  const [rxExit, txExit] = await Promise.all([rx.exit(), tx.exit()]);
  expect(txExit.code, tx.stderr).toBe(0);
  expect(rxExit.code, rx.stderr).toBe(0);
  return { rx, tx };
}

describe('PEERLANE_DEBUG_ICE', () => {
  it('=1 prints the ICE log on the stderr of that peer, and only that one', async () => {
    const { rx, tx } = await transfer({ PEERLANE_DEBUG_ICE: '1' });
    expect(rx.stderr).toMatch(ICE_LOG);
    expect(tx.stderr).not.toMatch(ICE_LOG);
  });

  it('=0 prints none of it (the CLI reads the variable; the library reads no env)', async () => {
    const { rx } = await transfer({ PEERLANE_DEBUG_ICE: '0' });
    expect(rx.stderr).not.toMatch(ICE_LOG);
  });

  it('is also the flag --debug-ice', async () => {
    const { rx, tx } = await transfer({ PEERLANE_DEBUG_ICE: '' }, ['--debug-ice']);
    expect(rx.stderr).toMatch(ICE_LOG);
    expect(tx.stderr).not.toMatch(ICE_LOG);
  });

  it('that is neither a yes nor a no is BAD_CONFIG, naming it, before anything starts', async () => {
    const tx = h.peer(['send', await fileToSend(), ...server.peerArgs], {
      env: { PEERLANE_DEBUG_ICE: 'maybe' },
    });
    expect((await tx.exit()).code).toBe(EXIT.USAGE);
    expect(tx.error?.code, tx.stderr).toBe('BAD_CONFIG');
    expect(tx.stderr).toContain('--debug-ice / PEERLANE_DEBUG_ICE must be 1 or 0');
    expect(tx.events.map((e) => e.event)).not.toContain('ready');
  });
});
