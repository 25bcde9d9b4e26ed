/**
 * Safe receiving end to end: the real sender and receiver of the transfer layer
 * over two real data channels in this process (signaling through an in-memory
 * pipe), into real folders, some of them tiny tmpfs mounts to fill the disk.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PeerlaneError } from '../../src/core/errors.js';
import { FramedLink } from '../../src/core/transfer/framed-link.js';
import { BLOCK_SIZE, TRANSFER_PROTOCOL_VERSION } from '../../src/core/transfer/protocol.js';
import type { TransferResult } from '../../src/core/transfer/types.js';
import { connectPeer } from '../../src/rtc/connect.js';
import { listTree, sha256File, writeRandomFile } from '../../src/testing/files.js';
import { LOOPBACK } from '../../src/testing/harness.js';
import { pipePair } from '../../src/testing/pipes.js';
import { freeSpace } from '../../src/transfer/disk.js';
import type { ReceiveOptions } from '../../src/transfer/receiver.js';
import { receiveFiles } from '../../src/transfer/receiver.js';
import { readState, STATE_SUFFIX } from '../../src/transfer/resume.js';
import { PART_SUFFIX } from '../../src/transfer/safe-names.js';
import { sendFiles } from '../../src/transfer/sender.js';
import { resolveSources } from '../../src/transfer/sources.js';

const rtc = { iceServers: [], bindAddress: LOOPBACK, timeoutMs: 10_000 };
const MiB = 1024 * 1024;

const links: FramedLink[] = [];
const dirs: string[] = [];
const mounts: string[] = [];

afterEach(async () => {
  for (const l of links.splice(0)) {
    l.stop();
    l.link.close();
  }
  for (const m of mounts.splice(0)) execFileSync('umount', [m]);
  await Promise.all(dirs.splice(0).map((d) => fs.rm(d, { recursive: true, force: true })));
});

async function tempDir(prefix = 'peerlane-rx-'): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** A fresh tmpfs of `size` bytes, or the test is skipped where mounting is not allowed. */
async function tmpfs(ctx: { skip: (note?: string) => never }, size: number): Promise<string> {
  const dir = await tempDir('peerlane-tmpfs-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    ctx.skip(`cannot mount a tmpfs here (needs root): ${String(err).split('\n')[0]}`);
  }
  mounts.push(dir);
  return dir;
}

/** Two FramedLinks over one real loopback data channel: `tx` sends, `rx` receives. */
async function framedPair(): Promise<{ tx: FramedLink; rx: FramedLink }> {
  const { offerer, answerer } = pipePair();
  const [a, b] = await Promise.all([
    connectPeer('offerer', offerer, rtc),
    connectPeer('answerer', answerer, rtc),
  ]);
  const tx = new FramedLink(a);
  const rx = new FramedLink(b);
  links.push(tx, rx);
  return { tx, rx };
}

interface Outcome {
  sent: PromiseSettledResult<TransferResult>;
  received: PromiseSettledResult<TransferResult>;
}

/** Send `paths` with sendFiles to receiveFiles, and wait until both sides have finished. */
async function transfer(paths: string[], options: Omit<ReceiveOptions, 'link'>): Promise<Outcome> {
  const { tx, rx } = await framedPair();
  const files = await resolveSources(paths);
  const [sent, received] = await Promise.allSettled([
    sendFiles({ link: tx, files }),
    receiveFiles({ link: rx, ...options }),
  ]);
  return { sent, received };
}

function codeOf(result: PromiseSettledResult<unknown>): string {
  if (result.status === 'fulfilled') return 'fulfilled';
  expect(result.reason).toBeInstanceOf(PeerlaneError);
  return (result.reason as PeerlaneError).code;
}

function resultOf(result: PromiseSettledResult<TransferResult>): TransferResult {
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}

/** Write zeros to `file` until the file system is full (ENOSPC), synchronously. */
function fillUp(file: string): void {
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) appendFileSync(file, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  }
}

/** A source folder with `a.txt` of `size` random bytes. */
async function source(size = 200_000, name = 'a.txt'): Promise<{ file: string; sha256: string }> {
  const src = await tempDir('peerlane-src-');
  const file = path.join(src, name);
  await writeRandomFile(file, size);
  return { file, sha256: await sha256File(file) };
}

describe('an existing file of the same name', () => {
  it('is kept without overwrite; the new one is written beside it', async () => {
    const { file, sha256 } = await source();
    const out = await tempDir();
    await fs.writeFile(path.join(out, 'a.txt'), 'precious');

    const { sent, received } = await transfer([file], { outDir: out });
    expect(codeOf(sent)).toBe('fulfilled');
    const result = resultOf(received);
    expect(result.files[0]?.path).toBe(path.join(out, 'a (1).txt'));
    expect(await listTree(out)).toEqual(['a (1).txt', 'a.txt']);
    expect(await fs.readFile(path.join(out, 'a.txt'), 'utf8')).toBe('precious');
    expect(await sha256File(path.join(out, 'a (1).txt'))).toBe(sha256);
  });

  it('is replaced with overwrite, atomically rather than rewritten in place', async () => {
    const { file, sha256 } = await source();
    const out = await tempDir();
    const elsewhere = await tempDir();
    await fs.writeFile(path.join(out, 'a.txt'), 'old');
    // Another name for the old file's data: a write in place would show through it.
    await fs.link(path.join(out, 'a.txt'), path.join(elsewhere, 'old'));

    const { sent, received } = await transfer([file], { outDir: out, overwrite: true });
    expect(codeOf(sent)).toBe('fulfilled');
    expect(resultOf(received).files[0]?.path).toBe(path.join(out, 'a.txt'));
    expect(await listTree(out)).toEqual(['a.txt']);
    expect(await sha256File(path.join(out, 'a.txt'))).toBe(sha256);
    expect(await fs.readFile(path.join(elsewhere, 'old'), 'utf8')).toBe('old');
  });

  it('with overwrite, two files of one name in one transfer do not replace each other', async () => {
    const first = await source(1000);
    const second = await source(2000);
    const out = await tempDir();
    await fs.writeFile(path.join(out, 'a.txt'), 'old');
    const { sent, received } = await transfer([first.file, second.file], { outDir: out, overwrite: true });
    expect(codeOf(sent)).toBe('fulfilled');
    expect(resultOf(received).files.map((f) => path.basename(f.path))).toEqual(['a.txt', 'a (1).txt']);
    expect(await sha256File(path.join(out, 'a.txt'))).toBe(first.sha256);
    expect(await sha256File(path.join(out, 'a (1).txt'))).toBe(second.sha256);
  });
});

describe('a folder at the name', () => {
  it('is never replaced: overwrite refuses with BAD_NAME before any data', async () => {
    const { file } = await source();
    const out = await tempDir();
    await fs.mkdir(path.join(out, 'a.txt'));
    await fs.writeFile(path.join(out, 'a.txt', 'inside'), 'mine');
    let progressed = false;

    const { sent, received } = await transfer([file], {
      outDir: out,
      overwrite: true,
      onProgress: () => {
        progressed = true;
      },
    });
    expect(codeOf(received)).toBe('BAD_NAME');
    expect(codeOf(sent)).toBe('BAD_NAME');
    expect(progressed).toBe(false);
    expect(await listTree(out)).toEqual(['a.txt', path.join('a.txt', 'inside')]);
    expect(await fs.readFile(path.join(out, 'a.txt', 'inside'), 'utf8')).toBe('mine');
  });

  it('is left alone without overwrite; the file gets a numbered name', async () => {
    const { file, sha256 } = await source();
    const out = await tempDir();
    await fs.mkdir(path.join(out, 'a.txt'));
    const { sent, received } = await transfer([file], { outDir: out });
    expect(codeOf(sent)).toBe('fulfilled');
    expect(resultOf(received).files[0]?.path).toBe(path.join(out, 'a (1).txt'));
    expect((await fs.lstat(path.join(out, 'a.txt'))).isDirectory()).toBe(true);
    expect(await sha256File(path.join(out, 'a (1).txt'))).toBe(sha256);
  });
});

describe('a symlink at the name, pointing outside the output folder', () => {
  async function planted() {
    const out = await tempDir();
    const outside = await tempDir('peerlane-outside-');
    const victim = path.join(outside, 'victim');
    await fs.writeFile(victim, 'outside content');
    await fs.symlink(victim, path.join(out, 'a.txt'));
    return { out, outside, victim };
  }

  it('is not written through without overwrite; the file gets a numbered name', async () => {
    const { file, sha256 } = await source();
    const { out, outside, victim } = await planted();
    const { sent, received } = await transfer([file], { outDir: out });
    expect(codeOf(sent)).toBe('fulfilled');
    expect(resultOf(received).files[0]?.path).toBe(path.join(out, 'a (1).txt'));
    expect(await fs.readFile(victim, 'utf8')).toBe('outside content');
    expect(await fs.readdir(outside)).toEqual(['victim']);
    expect(await fs.readlink(path.join(out, 'a.txt'))).toBe(victim);
    expect(await sha256File(path.join(out, 'a (1).txt'))).toBe(sha256);
  });

  it('is neither written through nor replaced with overwrite: BAD_NAME', async () => {
    const { file } = await source();
    const { out, outside, victim } = await planted();
    const { sent, received } = await transfer([file], { outDir: out, overwrite: true });
    expect(codeOf(received)).toBe('BAD_NAME');
    expect(codeOf(sent)).toBe('BAD_NAME');
    expect(await fs.readFile(victim, 'utf8')).toBe('outside content');
    expect(await fs.readdir(outside)).toEqual(['victim']);
    expect(await listTree(out)).toEqual(['a.txt']);
    expect(await fs.readlink(path.join(out, 'a.txt'))).toBe(victim);
  });

  it('a dangling symlink at the .part is not followed, and nothing is created through it', async () => {
    const { file } = await source();
    const out = await tempDir();
    const outside = await tempDir('peerlane-outside-');
    const victim = path.join(outside, 'created-through-link');
    // With overwrite the name itself is the target, so its .part is what gets opened:
    // the planted link is found and refused before ACCEPT.
    await fs.symlink(victim, path.join(out, `a.txt${PART_SUFFIX}`));
    let progressed = false;
    const { sent, received } = await transfer([file], {
      outDir: out,
      overwrite: true,
      onProgress: () => {
        progressed = true;
      },
    });
    expect(progressed).toBe(false);
    expect(codeOf(received)).toBe('BAD_NAME');
    expect(codeOf(sent)).toBe('BAD_NAME');
    expect(await fs.readdir(outside)).toEqual([]);
    expect(await listTree(out)).toEqual([`a.txt${PART_SUFFIX}`]);
    expect(await fs.readlink(path.join(out, `a.txt${PART_SUFFIX}`))).toBe(victim);
  });
});

describe('disk space', () => {
  it('too little before ACCEPT: DISK_FULL on both sides, and nothing written', async (ctx) => {
    const out = await tmpfs(ctx, MiB);
    const { file } = await source(2 * MiB, 'big.bin');
    const { sent, received } = await transfer([file], { outDir: out });
    expect(codeOf(received)).toBe('DISK_FULL');
    expect(codeOf(sent)).toBe('DISK_FULL');
    expect((received as PromiseRejectedResult).reason.message).toMatch(
      /^need 2\.1 MB, only 1\.0 MB free in /,
    );
    expect(await fs.readdir(out)).toEqual([]);
  });

  it('running out mid-transfer: DISK_FULL on both sides, and the .part kept for a resume', async (ctx) => {
    const out = await tmpfs(ctx, 2 * MiB);
    // 1.6 MiB free: enough for the 1.5 MiB offered, until another writer takes 1 MiB.
    await fs.writeFile(path.join(out, 'prefill'), Buffer.alloc(0.4 * MiB));
    const size = 1.5 * MiB;
    const { file } = await source(size, 'big.bin');
    let filled = false;

    const { sent, received } = await transfer([file], {
      outDir: out,
      onProgress: () => {
        if (filled) return;
        filled = true;
        // Synchronous: no more data is written before the disk is this full.
        writeFileSync(path.join(out, 'filler'), Buffer.alloc(MiB));
      },
    });
    expect(filled).toBe(true);
    expect(codeOf(received)).toBe('DISK_FULL');
    expect(codeOf(sent)).toBe('DISK_FULL');
    expect((await fs.readdir(out)).sort()).toEqual([
      `big.bin${PART_SUFFIX}`,
      `big.bin${PART_SUFFIX}${STATE_SUFFIX}`,
      'filler',
      'prefill',
    ]);
    // What was kept is a true prefix of the file, closed and ready to resume from.
    const part = await fs.readFile(path.join(out, `big.bin${PART_SUFFIX}`));
    expect(part.length).toBeGreaterThan(0);
    expect(part.length).toBeLessThan(size);
    expect(part.equals(readFileSync(file).subarray(0, part.length))).toBe(true);
  });

  it("a resend after the disk filled resumes: the .part's blocks need no new space", async (ctx) => {
    const out = await tmpfs(ctx, 24 * MiB);
    const size = 20 * MiB;
    const { file, sha256 } = await source(size, 'big.bin');
    const filler = path.join(out, 'filler');
    let filled = false;
    const first = await transfer([file], {
      outDir: out,
      onProgress: (p) => {
        if (filled || p.bytes < 10 * MiB) return;
        filled = true;
        // Another writer takes every byte left, synchronously: the next write fails.
        fillUp(filler);
      },
    });
    expect(codeOf(first.received)).toBe('DISK_FULL');
    const partPath = path.join(out, `big.bin${PART_SUFFIX}`);
    const offered = ((await readState(partPath))?.blocks ?? 0) * BLOCK_SIZE;
    expect(offered).toBeGreaterThanOrEqual(2 * BLOCK_SIZE);

    // Space is freed, enough for what the .part lacks but not for the whole file.
    await fs.rm(filler);
    const free = await freeSpace(out);
    await fs.writeFile(filler, Buffer.alloc(free - (size - offered) - MiB));
    expect(await freeSpace(out)).toBeLessThan(size);

    const second = await transfer([file], { outDir: out });
    const received = resultOf(second.received);
    expect(received.files[0]?.resumedBytes).toBe(offered);
    expect(received.bytes).toBe(size - offered);
    expect(await sha256File(path.join(out, 'big.bin'))).toBe(sha256);
    expect((await fs.readdir(out)).sort()).toEqual(['big.bin', 'filler']);
  });

  it('a lost peer leaves the .part and its block state for a resume', async () => {
    const out = await tempDir();
    const { tx, rx } = await framedPair();
    const received = receiveFiles({ link: rx, outDir: out });
    received.catch(() => {});
    const accepted = new Promise<void>((resolve) => tx.onFrame((f) => f.type === 'accept' && resolve()));
    // The state is bound to the hash the sender states (resume.ts).
    const files = [{ name: 'a.txt', size: 10, sha256: 'a'.repeat(64) }];
    tx.send({ type: 'manifest', v: TRANSFER_PROTOCOL_VERSION, files });
    // Nothing but the manifest may come before ACCEPT.
    await accepted;
    tx.send({ type: 'file-start', file: 0, offset: 0 });
    tx.sendRaw(Buffer.concat([Buffer.from([3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('hello')]));
    const kept = [`a.txt${PART_SUFFIX}`, `a.txt${PART_SUFFIX}${STATE_SUFFIX}`];
    await expect.poll(async () => (await fs.readdir(out)).sort()).toEqual(kept);
    tx.link.close();
    await expect(received).rejects.toMatchObject({ code: 'PEER_LOST' });
    expect((await fs.readdir(out)).sort()).toEqual(kept);
  });

  it('data proven bad (a hash mismatch) removes the .part and its state', async () => {
    const out = await tempDir();
    const { tx, rx } = await framedPair();
    const received = receiveFiles({ link: rx, outDir: out });
    received.catch(() => {});
    const accepted = new Promise<void>((resolve) => tx.onFrame((f) => f.type === 'accept' && resolve()));
    tx.send({ type: 'manifest', v: TRANSFER_PROTOCOL_VERSION, files: [{ name: 'a.txt', size: 5 }] });
    // Nothing but the manifest may come before ACCEPT.
    await accepted;
    tx.send({ type: 'file-start', file: 0, offset: 0 });
    tx.sendRaw(Buffer.concat([Buffer.from([3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('hello')]));
    tx.send({ type: 'file-end', file: 0, sha256: '0'.repeat(64) });
    await expect(received).rejects.toMatchObject({ code: 'HASH_MISMATCH' });
    expect(await fs.readdir(out)).toEqual([]);
  });
});

describe('consent', () => {
  it('a peer that leaves while the user is asked does not leave the receiver waiting', async () => {
    const out = await tempDir();
    const { tx, rx } = await framedPair();
    let signal: AbortSignal | undefined;
    let asked!: () => void;
    const asking = new Promise<void>((resolve) => {
      asked = resolve;
    });
    const received = receiveFiles({
      link: rx,
      outDir: out,
      // A prompt nobody answers: it ends only when told to.
      onManifest: (_files, s) => {
        signal = s;
        asked();
        return new Promise<void>((_, reject) => s.addEventListener('abort', () => reject(s.reason)));
      },
    });
    received.catch(() => {});
    tx.onFrame(() => {});
    tx.send({ type: 'manifest', v: TRANSFER_PROTOCOL_VERSION, files: [{ name: 'a.txt', size: 10 }] });
    await asking;
    tx.link.close();
    await expect(received).rejects.toMatchObject({ code: 'PEER_LOST' });
    expect(signal?.aborted).toBe(true);
    expect(await fs.readdir(out)).toEqual([]);
  });

  it('a refusal reaches the sender as REFUSED, and nothing is written', async () => {
    const { file } = await source();
    const out = await tempDir();
    const { sent, received } = await transfer([file], {
      outDir: out,
      onManifest: () => {
        throw new PeerlaneError('REFUSED', 'you declined the files');
      },
    });
    expect(codeOf(received)).toBe('REFUSED');
    expect(codeOf(sent)).toBe('REFUSED');
    expect(await fs.readdir(out)).toEqual([]);
  });
});
