/**
 * What a received tree may do to the receiver's disk, with real processes:
 * modes follow the receiver's umask, folders that were there stay as they
 * were, and a folder swapped for a symlink mid-transfer never lets a file
 * land outside --out.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listTree } from '../../src/testing/files.js';
import type { EventProcess, SignalHandle } from '../../src/testing/harness.js';
import { Harness } from '../../src/testing/harness.js';

const h = new Harness();
let server: SignalHandle;

beforeAll(async () => {
  server = await h.signalServer();
});
afterAll(() => h.cleanup());

/** Spawn under `mask`: a child takes its umask from its parent at spawn. */
function withUmask<T>(mask: number, start: () => T): T {
  const before = process.umask(mask);
  try {
    return start();
  } finally {
    process.umask(before);
  }
}

async function mode(p: string): Promise<number> {
  return (await fs.lstat(p)).mode & 0o7777;
}

async function transfer(rx: EventProcess, src: string): Promise<void> {
  const { code } = await rx.waitFor('ready');
  const tx = h.peer(['send', src, '--to', code, ...server.peerArgs]);
  const [rxExit, txExit] = await Promise.all([rx.exit(), tx.exit()]);
  expect(txExit.code, tx.stderr).toBe(0);
  expect(rxExit.code, rx.stderr).toBe(0);
}

describe('modes and existing folders', () => {
  /** A sender's tree that asks for everything: world-writable folders and files, a 1970 mtime. */
  async function greedyTree(): Promise<string> {
    const home = path.join(await h.tempDir('peerlane-src-'), 'home');
    await fs.mkdir(path.join(home, '.ssh'), { recursive: true });
    await fs.mkdir(path.join(home, 'new'));
    await fs.writeFile(path.join(home, '.ssh', 'authorized_keys'), 'ssh-ed25519 AAAA attacker\n');
    await fs.writeFile(path.join(home, 'new', 'run.sh'), '#!/bin/sh\n');
    await fs.writeFile(path.join(home, 'new', 'notes.txt'), 'hi\n');
    await fs.chmod(path.join(home, '.ssh', 'authorized_keys'), 0o666);
    await fs.chmod(path.join(home, 'new', 'run.sh'), 0o777);
    await fs.chmod(path.join(home, 'new', 'notes.txt'), 0o644);
    for (const dir of [path.join(home, '.ssh'), path.join(home, 'new'), home]) {
      await fs.chmod(dir, 0o777);
      await fs.utimes(dir, new Date(0), new Date(0));
    }
    return home;
  }

  it.each([
    ['022', 0o022],
    ['077', 0o077],
  ])(
    'under umask %s: new files and folders get mode & ~umask; an existing ~/.ssh keeps 0700 and its mtime',
    async (_, mask) => {
      const src = await greedyTree();
      const out = await h.tempDir('peerlane-out-');
      await fs.mkdir(path.join(out, 'home', '.ssh'), { recursive: true });
      await fs.chmod(path.join(out, 'home'), 0o750);
      await fs.chmod(path.join(out, 'home', '.ssh'), 0o700);
      const before = {
        home: (await fs.stat(path.join(out, 'home'))).mtimeMs,
        ssh: (await fs.stat(path.join(out, 'home', '.ssh'))).mtimeMs,
      };
      const rx = withUmask(mask, () =>
        h.peer(['receive', '--yes', '--allow-dotfiles', '--out', out, ...server.peerArgs]),
      );
      await transfer(rx, src);
      // Existing folders: untouched.
      expect(await mode(path.join(out, 'home'))).toBe(0o750);
      expect(await mode(path.join(out, 'home', '.ssh'))).toBe(0o700);
      expect((await fs.stat(path.join(out, 'home'))).mtimeMs).not.toBe(0);
      expect((await fs.stat(path.join(out, 'home', '.ssh'))).mtimeMs).toBeGreaterThanOrEqual(before.ssh);
      // New ones: the sender's bits within the receiver's umask, and the sender's mtime.
      expect(await mode(path.join(out, 'home', 'new'))).toBe(0o777 & ~mask);
      expect((await fs.stat(path.join(out, 'home', 'new'))).mtimeMs).toBe(0);
      expect(await mode(path.join(out, 'home', '.ssh', 'authorized_keys'))).toBe(0o666 & ~mask);
      expect(await mode(path.join(out, 'home', 'new', 'run.sh'))).toBe(0o777 & ~mask);
      expect(await mode(path.join(out, 'home', 'new', 'notes.txt'))).toBe(0o644 & ~mask);
      expect(before.home).toBeGreaterThan(0);
    },
  );
});

/**
 * Keeps exchanging `dir` with a symlink to `outside` (renameat2 with
 * RENAME_EXCHANGE, so the name is always one or the other), `realMs` as the
 * folder and `linkMs` as the link, until killed: a local attacker racing the
 * receiver's checks. Python, for the one system call Node does not offer.
 */
function swapper(dir: string, outside: string): ChildProcess {
  const script = `
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, RENAME_EXCHANGE = -100, 2
d, outside = sys.argv[1], sys.argv[2]
link = d + '.link'
os.symlink(outside, link)
def exchange():
    libc.renameat2(AT_FDCWD, link.encode(), AT_FDCWD, d.encode(), RENAME_EXCHANGE)
while True:
    time.sleep(0.004)
    exchange()
    time.sleep(0.001)
    exchange()
`;
  return spawn('python3', ['-c', script, dir, outside], { stdio: 'ignore' });
}

const hasPython = spawnSync('python3', ['-c', 'import ctypes'], { stdio: 'ignore' }).status === 0;
if (!hasPython) console.warn('skipping the symlink-swap race: it needs python3 (for renameat2)');

describe('a folder swapped for a symlink during a transfer', () => {
  /** Names the receiver must step over before it finds a free one: they keep its checks busy for a while. */
  const TAKEN = 2_000;
  const ROUNDS = 4;

  it.skipIf(!hasPython)('never lets a file land outside --out, whatever the transfer ends in', async () => {
    const src = path.join(await h.tempDir('peerlane-src-'), 'd');
    await fs.mkdir(src);
    await fs.writeFile(path.join(src, 'report.txt'), 'the report\n');
    for (let round = 0; round < ROUNDS; round++) {
      const out = await h.tempDir('peerlane-out-');
      const outside = await h.tempDir('peerlane-outside-');
      // The attacker shares --out: it made d/ there, full of names the file will not get.
      await fs.mkdir(path.join(out, 'd'));
      await fs.writeFile(path.join(out, 'd', 'report.txt'), '');
      for (let i = 1; i < TAKEN; i++) await fs.writeFile(path.join(out, 'd', `report (${i}).txt`), '');
      const rx = h.peer(['receive', '--yes', '--out', out, ...server.peerArgs]);
      const { code } = await rx.waitFor('ready');
      const race = swapper(path.join(out, 'd'), outside);
      try {
        const tx = h.peer(['send', src, '--to', code, ...server.peerArgs]);
        const [rxExit] = await Promise.all([rx.exit(), tx.exit()]);
        // Done, or refused with a code: never silently elsewhere.
        if (rxExit.code !== 0) expect(rx.error?.code, rx.stderr).toMatch(/BAD_NAME|OUT_NOT_WRITABLE/);
      } finally {
        race.kill('SIGKILL');
        await new Promise((resolve) => race.once('exit', resolve));
      }
      expect(await listTree(outside), `round ${round}`).toEqual([]);
    }
  });
});
