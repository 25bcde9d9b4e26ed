/**
 * peer --isolate: each connection attempt and its transfer run in a child
 * process, which the session kills when it stops beating (a libdatachannel
 * freeze, played here by SIGSTOP); a new attempt resumes the transfer.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { childPids } from '../../src/testing/child-pids.js';
import { listTree, sha256File, writeRandomFile } from '../../src/testing/files.js';
import type { EventProcess } from '../../src/testing/harness.js';
import { useHarness } from '../../src/testing/hooks.js';
import { untilBytes } from '../helpers.js';

const BIG = 300 * 1024 * 1024;
/** The shortened freeze limit (--freeze-limit, seconds): a stop past it is taken for a freeze. */
const LIMIT_S = 2;
/** Three limits: well past one, short of the 10 s after which a silent peer counts as lost. */
const STOP_MS = 3 * LIMIT_S * 1000;

const h = useHarness({ afterEach });

/** A receiver and a sender of BIG random bytes, both isolated, over the data channel (slower than TCP: time to stop it). */
async function transfer() {
  const server = await h.signalProcess();
  const src = await h.tempDir();
  const out = await h.tempDir();
  const file = path.join(src, 'big.bin');
  await writeRandomFile(file, BIG);
  const args = [...server.peerArgs, '--isolate', '--freeze-limit', String(LIMIT_S), '--transport', 'webrtc'];
  const rx = h.peer(['receive', '--out', out, '--yes', ...args]);
  const { code } = await rx.waitFor('ready');
  const tx = h.peer(['send', file, '--to', code, ...args]);
  return { out, file, rx, tx };
}

/** What `pid` runs (empty once it has exited). */
function commandLine(pid: number): Promise<string> {
  return fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
}

/** The peer's one attempt child. */
async function attemptChild(peer: EventProcess): Promise<number> {
  const pids = await childPids(peer.child.pid ?? 0);
  expect(pids).toHaveLength(1);
  return pids[0] ?? 0;
}

async function finishedVerified(
  out: string,
  file: string,
  tx: EventProcess,
  rx: EventProcess,
): Promise<void> {
  const [txExit, rxExit] = await Promise.all([tx.exit(90_000), rx.exit(90_000)]);
  expect([txExit.code, rxExit.code], `sender:\n${tx.stderr}\nreceiver:\n${rx.stderr}`).toEqual([0, 0]);
  const done = await rx.waitFor('done');
  expect(done.files[0]?.sha256).toBe(await sha256File(file));
  expect(await sha256File(path.join(out, 'big.bin'))).toBe(await sha256File(file));
  expect(await listTree(out)).toEqual(['big.bin']);
}

describe('peer --isolate', () => {
  it.each(['sender', 'receiver'] as const)(
    "the %s's attempt process frozen past the limit is killed; a new attempt resumes and the transfer finishes",
    async (side) => {
      const { out, file, rx, tx } = await transfer();
      await untilBytes(rx, BIG * 0.3);
      const frozen = side === 'sender' ? tx : rx;
      const child = await attemptChild(frozen);
      process.kill(child, 'SIGSTOP');
      await finishedVerified(out, file, tx, rx);
      const again = frozen.events.find((e) => e.event === 'reconnecting');
      expect(again, frozen.stderr).toMatchObject({
        event: 'reconnecting',
        attempt: 1,
        message: `the connection attempt's process stopped responding for ${LIMIT_S} s and was ended`,
      });
      for (const peer of [tx, rx]) {
        expect(peer.events.filter((e) => e.event === 'connected').length, peer.stderr).toBeGreaterThanOrEqual(
          2,
        );
      }
      // Resumed, not sent again: the verified blocks the killed child wrote stayed.
      const done = await rx.waitFor('done');
      expect(done.files[0]?.resumedBytes).toBeGreaterThan(0);
      // The frozen child is gone, not left stopped.
      await expect(childPids(frozen.child.pid ?? 0)).resolves.not.toContain(child);
    },
    120_000,
  );

  it('an attempt process frozen before it connects (where the lock cycle strikes) is replaced: the first attempt is retried', async () => {
    const server = await h.signalProcess();
    const src = await h.tempDir();
    const out = await h.tempDir();
    const file = path.join(src, 'small.bin');
    await writeRandomFile(file, 1024 * 1024);
    const args = [...server.peerArgs, '--isolate', '--freeze-limit', String(LIMIT_S)];
    const rx = h.peer(['receive', '--out', out, '--yes', ...args]);
    const { code } = await rx.waitFor('ready');
    const tx = h.peer(['send', file, '--to', code, ...args]);
    // The sender starts its first attempt's child while pairing: stop it at once.
    // Not before it runs attempt-child.mjs: between fork and exec, spawning waits for it.
    let child: number | undefined;
    while (child === undefined || !(await commandLine(child)).includes('attempt-child')) {
      child = (await childPids(tx.child.pid ?? 0))[0];
      if (tx.child.exitCode !== null) throw new Error(`sender exited: ${tx.stderr}`);
    }
    process.kill(child, 'SIGSTOP');
    const [txExit, rxExit] = await Promise.all([tx.exit(60_000), rx.exit(60_000)]);
    expect([txExit.code, rxExit.code], `sender:\n${tx.stderr}\nreceiver:\n${rx.stderr}`).toEqual([0, 0]);
    expect(tx.events.find((e) => e.event === 'reconnecting')).toMatchObject({
      attempt: 1,
      message: `the connection attempt's process stopped responding for ${LIMIT_S} s and was ended`,
    });
    // Only the second attempt ever connected.
    expect(tx.events.filter((e) => e.event === 'connected')).toHaveLength(1);
    expect(await sha256File(path.join(out, 'small.bin'))).toBe(await sha256File(file));
  }, 90_000);

  it('a peer stopped whole (parent and attempt child, like Ctrl-Z) past the limit is not taken for frozen', async () => {
    const { out, file, rx, tx } = await transfer();
    await untilBytes(rx, BIG * 0.3);
    const child = await attemptChild(tx);
    tx.kill('SIGSTOP'); // the peer's process group: the peer and its attempt child
    await new Promise((r) => setTimeout(r, STOP_MS));
    tx.kill('SIGCONT');
    await finishedVerified(out, file, tx, rx);
    // The same child carried the transfer on: no new attempt on either side.
    for (const peer of [tx, rx]) {
      expect(peer.events.some((e) => e.event === 'reconnecting')).toBe(false);
      expect(peer.events.filter((e) => e.event === 'connected')).toHaveLength(1);
    }
    expect(tx.events.filter((e) => e.event === 'file-done')).toHaveLength(1);
    expect(child).toBeGreaterThan(0);
  }, 120_000);
});
