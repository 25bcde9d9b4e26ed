/**
 * The signal server's relay from the command line: `--transport relay` moves
 * a file through it, verified, and both sides say so; a server that does not
 * relay is named in the error.
 */
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listTree, sha256File, writeRandomFile } from '../../src/testing/files.js';
import { Harness } from '../../src/testing/harness.js';
import { untilBytes } from '../helpers.js';

let h: Harness;
beforeEach(() => {
  h = new Harness();
});
afterEach(() => h.cleanup());

async function fileToSend(size: number): Promise<string> {
  const file = path.join(await h.tempDir('peerlane-src-'), 'notes.bin');
  await writeRandomFile(file, size);
  return file;
}

describe('peer --transport relay', () => {
  it('moves a file through the signal server’s relay, verified, and both sides say it was relayed', async () => {
    const server = await h.signalServer({ relay: { enabled: true } });
    const out = await h.tempDir();
    const file = await fileToSend(3_000_000);
    const rx = h.peer(['receive', '--out', out, '--yes', '--transport', 'relay', ...server.peerArgs]);
    const { code } = await rx.waitFor('ready');
    const tx = h.peer(['send', file, '--to', code, '--transport', 'relay', ...server.peerArgs]);
    for (const p of [tx, rx]) {
      const connected = await p.waitFor('connected');
      expect(connected).toMatchObject({ transport: 'relay', path: 'relay' });
    }
    expect((await tx.exit()).code, tx.stderr).toBe(0);
    expect((await rx.exit()).code, rx.stderr).toBe(0);
    expect(await sha256File(path.join(out, 'notes.bin'))).toBe(await sha256File(file));
    const metrics = await server.server.metrics.registry.metrics();
    expect(Number(/peerlane_relay_bytes_total (\d+)/.exec(metrics)?.[1])).toBeGreaterThan(3_000_000);
  });

  it('on a server that does not relay: RELAY_DISABLED on both sides, and nothing written', async () => {
    const server = await h.signalServer();
    const out = await h.tempDir();
    const rx = h.peer(['receive', '--out', out, '--yes', '--transport', 'relay', ...server.peerArgs]);
    const { code } = await rx.waitFor('ready');
    const tx = h.peer([
      'send',
      await fileToSend(1000),
      '--to',
      code,
      '--transport',
      'relay',
      ...server.peerArgs,
    ]);
    for (const p of [tx, rx]) {
      expect((await p.exit()).code, p.stderr).toBe(1);
      expect(p.error?.code, p.stderr).toBe('RELAY_DISABLED');
    }
    expect(await listTree(out)).toEqual([]);
  });

  it('serve:signal --relay-enabled turns it on, and the rates parse as MB/s', async () => {
    const server = await h.signalProcess(['--relay-enabled', '--relay-session-rate', '50']);
    const out = await h.tempDir();
    const file = await fileToSend(500_000);
    const rx = h.peer(['receive', '--out', out, '--yes', '--transport', 'relay', ...server.peerArgs]);
    const { code } = await rx.waitFor('ready');
    const tx = h.peer(['send', file, '--to', code, '--transport', 'relay', ...server.peerArgs]);
    expect((await tx.exit()).code, tx.stderr).toBe(0);
    expect((await rx.exit()).code, rx.stderr).toBe(0);
    expect(await sha256File(path.join(out, 'notes.bin'))).toBe(await sha256File(file));
  });

  it('serve:signal refuses a relay rate that is not a number: BAD_CONFIG naming the flag', async () => {
    const proc = h.spawnScript('signal', ['--port', '0', '--relay-total-rate', 'fast', '--json']);
    expect((await proc.exit()).code).toBe(2);
    expect(proc.stderr).toContain('--relay-total-rate (RELAY_TOTAL_RATE) must be a number of megabytes');
  });

  it('a relayed connection cut mid-transfer: the session reconnects through the relay and resumes', async () => {
    // A session cap keeps the transfer long enough to cut it in the middle.
    const server = await h.signalServer({ relay: { enabled: true, sessionBytesPerSecond: 20e6 } });
    const out = await h.tempDir();
    const size = 40_000_000;
    const file = await fileToSend(size);
    const rx = h.peer(['receive', '--out', out, '--yes', '--transport', 'relay', ...server.peerArgs]);
    const { code } = await rx.waitFor('ready');
    const tx = h.peer(['send', file, '--to', code, '--transport', 'relay', ...server.peerArgs]);
    await untilBytes(rx, size * 0.3);
    server.server.relay.endSessions('cut by the test');
    expect((await tx.exit()).code, tx.stderr).toBe(0);
    expect((await rx.exit()).code, rx.stderr).toBe(0);
    for (const p of [tx, rx]) {
      expect(p.events.some((e) => e.event === 'reconnecting')).toBe(true);
      const connected = p.events.filter((e) => e.event === 'connected');
      expect(connected.map((e) => e.transport)).toEqual(['relay', 'relay']);
    }
    const done = await rx.waitFor('done');
    expect(done.files[0]?.resumedBytes).toBeGreaterThan(0);
    expect(await sha256File(path.join(out, 'notes.bin'))).toBe(await sha256File(file));
  });

  it('a session rate cap holds a transfer to it, and the transfer still verifies', async () => {
    const rate = 4e6;
    const server = await h.signalServer({ relay: { enabled: true, sessionBytesPerSecond: rate } });
    const out = await h.tempDir();
    const size = 10_000_000;
    const file = await fileToSend(size);
    const rx = h.peer(['receive', '--out', out, '--yes', '--transport', 'relay', ...server.peerArgs]);
    const { code } = await rx.waitFor('ready');
    const tx = h.peer(['send', file, '--to', code, '--transport', 'relay', ...server.peerArgs]);
    await rx.waitFor('connected');
    const started = Date.now();
    expect((await tx.exit()).code, tx.stderr).toBe(0);
    expect((await rx.exit()).code, rx.stderr).toBe(0);
    // The burst (a quarter second's worth) is free; the rest pays at the rate.
    expect(Date.now() - started).toBeGreaterThan(((size - rate / 4) / rate) * 1000 * 0.9);
    expect(await sha256File(path.join(out, 'notes.bin'))).toBe(await sha256File(file));
  });
});
