/** What a transfer survives, with real processes. */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listTree, sha256File, writeRandomFile } from '../../src/testing/files.js';
import { useHarness } from '../../src/testing/hooks.js';
import { untilBytes } from '../helpers.js';

const BIG = 300 * 1024 * 1024;
/** Longer than the 10 s after which a silent peer counts as lost. */
const FREEZE_MS = 12_000;
/** Longer than the freeze guard's 20 s limit (FREEZE_LIMIT_MS): a Ctrl-Z, then `fg`. */
const STOP_MS = 30_000;

const h = useHarness({ afterEach });

/**
 * A real signal server, a receiver into a fresh folder, and a sender of
 * `big.bin` (`size` bytes, after `extraFiles` small ones) with `flags` on both.
 */
async function transfer(size: number, flags: string[] = [], extraFiles: string[] = []) {
  const server = await h.signalProcess();
  const src = await h.tempDir();
  const out = await h.tempDir();
  const file = path.join(src, 'big.bin');
  await writeRandomFile(file, size);
  const extras = extraFiles.map((name) => path.join(src, name));
  for (const extra of extras) await writeRandomFile(extra, 1000);
  const args = [...server.peerArgs, ...flags];
  const rx = h.peer(['receive', '--out', out, '--yes', ...args]);
  const { code } = await rx.waitFor('ready');
  const tx = h.peer(['send', ...extras, file, '--to', code, ...args]);
  return { server, out, file, extras, rx, tx };
}

describe('resilience', () => {
  it('an established transfer completes when the signal server is killed', async () => {
    const { server, out, file, rx, tx } = await transfer(200 * 1024 * 1024);
    await rx.waitFor('progress');
    server.process.kill('SIGKILL');
    await server.process.exit();
    expect((await tx.exit()).code, tx.stderr).toBe(0);
    expect((await rx.exit()).code, rx.stderr).toBe(0);
    expect(await sha256File(path.join(out, 'big.bin'))).toBe(await sha256File(file));
  });

  it('a receiver frozen for 12 s mid-transfer: both reconnect under the same key and resume', async () => {
    // A small file first: verified before the freeze, so the new channel's
    // ACCEPT reports it held and it is neither sent again nor duplicated.
    const { out, file, extras, rx, tx } = await transfer(BIG, [], ['small.txt']);
    const small = extras[0] ?? '';
    await untilBytes(rx, BIG * 0.3);
    // SIGSTOP freezes every thread, libdatachannel's too: to the sender the
    // path is dead, while both signal connections stay open.
    rx.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, FREEZE_MS));
    rx.kill('SIGCONT');
    expect((await tx.exit()).code, tx.stderr).toBe(0);
    expect((await rx.exit()).code, rx.stderr).toBe(0);
    for (const peer of [tx, rx]) {
      const again = peer.events.find((e) => e.event === 'reconnecting');
      expect(again, peer.stderr).toMatchObject({ event: 'reconnecting', attempt: 1, of: 20 });
      // A new channel opened after the reconnection.
      expect(peer.events.filter((e) => e.event === 'connected')).toHaveLength(2);
    }
    const tr = tx.events.find((e) => e.event === 'reconnecting');
    expect(tr).toMatchObject({ reason: 'peer-silent' });
    const done = await rx.waitFor('done');
    expect(done.files.map((f) => f.name)).toEqual(['small.txt', 'big.bin']);
    expect(done.files[1]?.resumedBytes).toBeGreaterThan(0);
    // small.txt started once, on the first channel only.
    expect(tx.events.filter((e) => e.event === 'file-start' && e.file === 'small.txt')).toHaveLength(1);
    expect(await listTree(out)).toEqual(['big.bin', 'small.txt']);
    expect(await sha256File(path.join(out, 'big.bin'))).toBe(await sha256File(file));
    expect(await sha256File(path.join(out, 'small.txt'))).toBe(await sha256File(small));
  });

  it('with --reconnects 0, a frozen receiver ends both sides with PEER_LOST and keeps the .part', async () => {
    const { out, rx, tx } = await transfer(BIG, ['--reconnects', '0']);
    await untilBytes(rx, BIG * 0.3);
    rx.kill('SIGSTOP');
    const txExit = await tx.exit(FREEZE_MS + 10_000);
    rx.kill('SIGCONT');
    expect(txExit.code).toBe(1);
    expect(tx.error?.code, tx.stderr).toBe('PEER_LOST');
    expect((await rx.exit()).code).toBe(1);
    expect(rx.error?.code, rx.stderr).toBe('PEER_LOST');
    expect(tx.events.some((e) => e.event === 'reconnecting')).toBe(false);
    expect(await listTree(out)).toEqual(['big.bin.part', 'big.bin.part.peerlane']);
  });

  it('a receiver that vanishes while the sender reconnects: PEER_LOST says what happened, once', async () => {
    const { rx, tx } = await transfer(BIG);
    await untilBytes(rx, BIG * 0.3);
    rx.kill('SIGSTOP');
    await tx.waitFor('reconnecting', 30_000);
    rx.kill('SIGKILL');
    expect((await tx.exit()).code, tx.stderr).toBe(1);
    expect(tx.error?.code).toBe('PEER_LOST');
    const message = tx.error?.message ?? '';
    expect(message).toContain('the other peer left the signal server');
    expect(message.match(/left the signal server/g)).toHaveLength(1);
  });

  it('reconnection is a time budget: 30 s of outage outlast many 5 s attempts, and the transfer finishes', async () => {
    // Three attempts of 5 s each would have given up at about 25 s.
    const { out, file, rx, tx } = await transfer(BIG, ['--timeout', '5']);
    await untilBytes(rx, BIG * 0.3);
    rx.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, STOP_MS));
    rx.kill('SIGCONT');
    expect((await tx.exit(90_000)).code, tx.stderr).toBe(0);
    expect((await rx.exit(30_000)).code, rx.stderr).toBe(0);
    const attempts = tx.events.filter((e) => e.event === 'reconnecting');
    expect(attempts.length).toBeGreaterThan(3);
    // Backing off: not an attempt every few hundred milliseconds.
    expect(attempts.length).toBeLessThan(10);
    expect(await sha256File(path.join(out, 'big.bin'))).toBe(await sha256File(file));
  }, 150_000);

  it('a bad PEER_RECONNECT_FOR (or --reconnect-for) is BAD_CONFIG, status 2, before any connection', async () => {
    const server = await h.signalProcess();
    const out = await h.tempDir();
    const fromEnv = h.peer(['receive', '--out', out, ...server.peerArgs], {
      env: { PEER_RECONNECT_FOR: 'soon' },
    });
    const fromFlag = h.peer(['receive', '--out', out, '--reconnect-for', '2d', ...server.peerArgs]);
    for (const p of [fromEnv, fromFlag]) {
      expect((await p.exit()).code, p.stderr).toBe(2);
      expect(p.error).toMatchObject({
        code: 'BAD_CONFIG',
        message: expect.stringContaining('PEER_RECONNECT_FOR'),
      });
      expect(p.events.some((e) => e.event === 'ready')).toBe(false);
    }
  });

  it.each(['sender', 'receiver'] as const)(
    'a %s stopped for 30 s (Ctrl-Z, then fg) is not taken for frozen: both reconnect and finish',
    async (side) => {
      const { out, file, rx, tx } = await transfer(BIG);
      await untilBytes(rx, BIG * 0.3);
      const stopped = side === 'sender' ? tx : rx;
      stopped.kill('SIGSTOP');
      await new Promise((r) => setTimeout(r, STOP_MS));
      stopped.kill('SIGCONT');
      // Not RTC_STALLED (137) from the freeze guard: a verified transfer.
      const [txExit, rxExit] = await Promise.all([tx.exit(90_000), rx.exit(90_000)]);
      expect([txExit.code, rxExit.code], `sender:\n${tx.stderr}\nreceiver:\n${rx.stderr}`).toEqual([0, 0]);
      for (const peer of [tx, rx]) {
        expect(peer.events.some((e) => e.event === 'reconnecting')).toBe(true);
        expect(peer.events.filter((e) => e.event === 'connected').length).toBeGreaterThanOrEqual(2);
      }
      const done = await rx.waitFor('done');
      expect(done.files[0]?.resumedBytes).toBeGreaterThan(0);
      expect(done.files[0]?.sha256).toBe(await sha256File(file));
      expect(await listTree(out)).toEqual(['big.bin']);
    },
    150_000,
  );
});
