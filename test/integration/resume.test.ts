/**
 * Resume across runs, with the real signal server and real data channels: an
 * interrupted transfer leaves a .part and its block state; the same file sent
 * again (with a new code) continues after the last whole block; a changed
 * source is sent whole. A resume is offered only to a sender that states the
 * SHA-256 the .part was begun for, and the state file is read without
 * following a symlink or waiting on a FIFO.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BLOCK_SIZE, RECEIVE_WINDOW, TRANSFER_PROTOCOL_VERSION } from '../../src/core/transfer/protocol.js';
import { send } from '../../src/session/send.js';
import { listTree, sha256File, writeRandomFile } from '../../src/testing/files.js';
import { LOOPBACK } from '../../src/testing/harness.js';
import { useSignalServer } from '../../src/testing/hooks.js';
import { startReceiver } from '../../src/testing/in-process.js';
import { rawSender } from '../../src/testing/raw-peer.js';
import { encodeControl } from '../../src/transfer/frames.js';
import { STATE_SUFFIX } from '../../src/transfer/resume.js';
import { PART_SUFFIX } from '../../src/transfer/safe-names.js';

const rtc = { iceServers: [], bindAddress: LOOPBACK, timeoutMs: 10_000 };
const SIZE = 40 * 1024 * 1024 + 12_345;
const { h, server } = useSignalServer({ beforeEach, afterEach });

/** Send `file` into `out` but stop the sender once the receiver has `stopAt` bytes; returns what it had. */
/** A random big.bin in a fresh source folder, and a fresh --out. */
async function source(): Promise<{ src: string; out: string; file: string }> {
  const src = await h.tempDir();
  const out = await h.tempDir();
  const file = path.join(src, 'big.bin');
  await writeRandomFile(file, SIZE);
  return { src, out, file };
}

async function interrupted(file: string, out: string, stopAt: number): Promise<number> {
  const rx = startReceiver({ signal: server, rtc, outDir: out });
  const abort = new AbortController();
  let had = 0;
  const rxDone = rx.result.catch((err: unknown) => err);
  const code = await rx.code;
  const watch = setInterval(() => {
    const last = rx.events.filter((e) => e.event === 'progress').at(-1);
    had = last && 'bytes' in last ? last.bytes : 0;
    if (had >= stopAt) abort.abort();
  }, 1);
  try {
    await expect(
      send({ signal: server, rtc, paths: [file], code, abortSignal: abort.signal }),
    ).rejects.toMatchObject({
      code: 'INTERRUPTED',
    });
    expect(await rxDone).toMatchObject({ code: 'PEER_LOST' });
  } finally {
    clearInterval(watch);
  }
  const last = rx.events.filter((e) => e.event === 'progress').at(-1);
  return last && 'bytes' in last ? last.bytes : had;
}

async function complete(file: string, out: string) {
  const rx = startReceiver({ signal: server, rtc, outDir: out });
  const sent = await send({ signal: server, rtc, paths: [file], code: await rx.code });
  return { sent, received: await rx.result };
}

/** Same name and size, different bytes near the start. */
async function patch(file: string): Promise<void> {
  const handle = await fs.open(file, 'r+');
  await handle.write(Buffer.from('changed'), 0, 7, 100);
  await handle.close();
}

describe('resume across runs', () => {
  it('keeps the .part and its state, then sends only what is missing', async () => {
    const { out, file } = await source();

    const had = await interrupted(file, out, Math.floor(SIZE * 0.4));
    expect(await listTree(out)).toEqual([`big.bin${PART_SUFFIX}`, `big.bin${PART_SUFFIX}${STATE_SUFFIX}`]);

    const { sent, received } = await complete(file, out);
    const resumed = received.files[0]?.resumedBytes ?? 0;
    expect(resumed).toBeGreaterThan(0);
    expect(resumed % BLOCK_SIZE).toBe(0);
    expect(sent.files[0]?.resumedBytes).toBe(resumed);
    // Sent again: at most one block plus what was in flight when it stopped.
    expect(had - resumed).toBeLessThanOrEqual(BLOCK_SIZE + RECEIVE_WINDOW);
    expect(received.bytes).toBe(SIZE - resumed);
    expect(await listTree(out)).toEqual(['big.bin']);
    expect(await sha256File(path.join(out, 'big.bin'))).toBe(await sha256File(file));
  });

  it('a source changed between runs is sent whole, beside the .part it does not match', async () => {
    const { out, file } = await source();
    await interrupted(file, out, Math.floor(SIZE * 0.5));
    const part = await fs.readFile(path.join(out, `big.bin${PART_SUFFIX}`));
    await patch(file);

    // Another SHA-256 than the .part was begun for: nothing offered, and nothing of it touched.
    const { received } = await complete(file, out);
    expect(received.files[0]?.resumedBytes).toBe(0);
    expect(received.bytes).toBe(SIZE);
    expect(received.files[0]?.path).toBe(path.join(out, 'big (1).bin'));
    expect(await sha256File(path.join(out, 'big (1).bin'))).toBe(await sha256File(file));
    expect((await fs.readFile(path.join(out, `big.bin${PART_SUFFIX}`))).equals(part)).toBe(true);
  });

  it('a .part damaged on disk since is sent whole, never spliced', async () => {
    const { out, file } = await source();
    await interrupted(file, out, Math.floor(SIZE * 0.5));
    await patch(path.join(out, `big.bin${PART_SUFFIX}`));

    // The same source: offered, but the blocks differ, so it starts again from zero in the same .part.
    const { received } = await complete(file, out);
    expect(received.files[0]?.resumedBytes).toBe(0);
    expect(received.bytes).toBe(SIZE);
    expect(await sha256File(path.join(out, 'big.bin'))).toBe(await sha256File(file));
    expect(await listTree(out)).toEqual(['big.bin']);
  });

  it('a source changed after the sender hashed it fails as HASH_MISMATCH, never a torn file', async () => {
    const { out, file } = await source();
    // Changed while the receiver is asked: after the manifest stated its hash, before any byte is read.
    const rx = startReceiver({ signal: server, rtc, outDir: out, onManifest: () => patch(file) });
    const sent = send({ signal: server, rtc, paths: [file], code: await rx.code });
    await expect(sent).rejects.toMatchObject({ code: 'HASH_MISMATCH' });
    await expect(rx.result).rejects.toMatchObject({ code: 'HASH_MISMATCH' });
    expect(await listTree(out)).toEqual([]);
  });

  it('a .part of another size is not resumed, and not overwritten', async () => {
    const { src, out, file } = await source();
    await interrupted(file, out, Math.floor(SIZE * 0.4));
    const other = path.join(src, 'other', 'big.bin');
    await fs.mkdir(path.dirname(other));
    await writeRandomFile(other, 1000);

    const { received } = await complete(other, out);
    expect(received.files[0]?.resumedBytes).toBe(0);
    expect(received.files[0]?.path).toBe(path.join(out, 'big (1).bin'));
    expect(await listTree(out)).toContain(`big.bin${PART_SUFFIX}`);
  });
});

describe('what a leftover .part offers, and to whom', () => {
  /** A receiver into `out` offered `big.bin` of SIZE by a raw sender stating `sha256`: its ACCEPT. */
  async function acceptFor(out: string, sha256: string | undefined) {
    const rx = startReceiver({ signal: server, rtc, outDir: out });
    const peer = await rawSender(server, await rx.code);
    const entry = { name: 'big.bin', size: SIZE, ...(sha256 !== undefined ? { sha256 } : {}) };
    peer.link.send(encodeControl({ type: 'manifest', v: TRANSFER_PROTOCOL_VERSION, files: [entry] }));
    const accept = await peer.next('accept');
    peer.close();
    await expect(rx.result).rejects.toMatchObject({ code: 'PEER_LOST' });
    return accept;
  }

  it('offers a .part only to a sender stating the SHA-256 it was begun for', async () => {
    const { src, out, file } = await source();
    await interrupted(file, out, Math.floor(SIZE * 0.5));
    const part = await fs.readFile(path.join(out, `big.bin${PART_SUFFIX}`));

    // A sender guessing at the contents (same name and size, no hash or another one) learns nothing.
    const guess = path.join(src, 'guess.bin');
    await fs.writeFile(guess, Buffer.concat([part, Buffer.alloc(SIZE - part.length)]));
    for (const sha256 of [undefined, await sha256File(guess)]) {
      const accept = await acceptFor(out, sha256);
      expect(accept.resume).toEqual([]);
      expect(accept.already).toBeUndefined();
    }
    // The sender of the contents gets its blocks offered.
    const accept = await acceptFor(out, await sha256File(file));
    expect(accept.resume).toEqual([expect.objectContaining({ file: 0, blocks: expect.any(Number) })]);
    expect(accept.resume[0]?.blocks).toBeGreaterThan(0);
    expect((await fs.readFile(path.join(out, `big.bin${PART_SUFFIX}`))).equals(part)).toBe(true);
  });

  // A state file that is not a regular file is never followed or waited on, and one bound to no
  // hash is not trusted: the .part is left alone.
  it.each([
    ['a FIFO', (state: string) => execFileSync('mkfifo', [state])],
    ['a symlink to a valid state', async (state: string, elsewhere: string) => fs.symlink(elsewhere, state)],
    [
      'in an older format, bound to no hash',
      (state: string) =>
        fs.writeFile(state, JSON.stringify({ v: 2, size: SIZE, blockSize: BLOCK_SIZE, blocks: 2 })),
    ],
  ])('a state file that is %s: not resumed, and the transfer completes beside it', async (_label, plant) => {
    const { src, out, file } = await source();
    await interrupted(file, out, Math.floor(SIZE * 0.5));
    const state = path.join(out, `big.bin${PART_SUFFIX}${STATE_SUFFIX}`);
    // The real state, moved aside: a symlink to it would resume if followed.
    const elsewhere = path.join(src, 'state');
    await fs.rename(state, elsewhere);
    await plant(state, elsewhere);

    const { received } = await complete(file, out);
    expect(received.files[0]?.resumedBytes).toBe(0);
    expect(received.files[0]?.path).toBe(path.join(out, 'big (1).bin'));
    expect(await sha256File(path.join(out, 'big (1).bin'))).toBe(await sha256File(file));
    expect(await listTree(out)).toContain(`big.bin${PART_SUFFIX}${STATE_SUFFIX}`);
  });
});
