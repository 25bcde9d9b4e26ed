/**
 * Everyday use, end to end with real processes: folders, text, pipes and
 * either side first.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entryPoint, packageRoot } from '../../src/project.js';
import { listTree, sha256File } from '../../src/testing/files.js';
import type { EventProcess, SignalHandle } from '../../src/testing/harness.js';
import { Harness } from '../../src/testing/harness.js';

const h = new Harness();
let server: SignalHandle;

beforeAll(async () => {
  server = await h.signalProcess();
});
afterAll(() => h.cleanup());

async function bothOk(rx: EventProcess, tx: EventProcess): Promise<void> {
  const [rxExit, txExit] = await Promise.all([rx.exit(), tx.exit()]);
  expect(txExit.code, tx.stderr).toBe(0);
  expect(rxExit.code, rx.stderr).toBe(0);
}

/** Name, kind, mode, mtime and SHA-256 of everything under `dir`, relative. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const rel of await listTree(dir)) {
    const full = path.join(dir, rel);
    const st = await fs.lstat(full);
    const mode = (st.mode & 0o777).toString(8);
    if (st.isDirectory()) {
      // Every folder, empty or not, carries its sender's mode and mtime.
      out[rel] = `dir ${mode} ${Math.floor(st.mtimeMs)}`;
    } else {
      out[rel] = `file ${mode} ${Math.floor(st.mtimeMs)} ${await sha256File(full)}`;
    }
  }
  return out;
}

describe('folders and many files', () => {
  it('a tree with nested and empty folders, modes, a unicode name and 200 files arrives identical', async () => {
    const src = await h.tempDir('peerlane-src-');
    const out = await h.tempDir('peerlane-out-');
    const tree = path.join(src, 'tree');
    await fs.mkdir(path.join(tree, 'nested', 'deeper'), { recursive: true });
    await fs.mkdir(path.join(tree, 'empty'), { recursive: true });
    await fs.mkdir(path.join(tree, 'nested', 'empty too'), { recursive: true });
    await fs.mkdir(path.join(tree, 'many'));
    for (let i = 0; i < 200; i++) {
      await fs.writeFile(path.join(tree, 'many', `f${String(i).padStart(3, '0')}.txt`), randomBytes(i * 7));
    }
    await fs.writeFile(path.join(tree, 'nested', 'deeper', 'run.sh'), '#!/bin/sh\necho hi\n');
    await fs.chmod(path.join(tree, 'nested', 'deeper', 'run.sh'), 0o755);
    await fs.writeFile(path.join(tree, 'nested', 'secret.txt'), 'only me');
    await fs.chmod(path.join(tree, 'nested', 'secret.txt'), 0o600);
    await fs.writeFile(path.join(tree, 'Ünïcødé 日本.txt'.normalize('NFC')), 'unicode');
    await fs.chmod(path.join(tree, 'empty'), 0o700);
    // Non-empty folders too: their mode and mtime survive the files written into them.
    await fs.chmod(path.join(tree, 'nested'), 0o750);
    await fs.chmod(path.join(tree, 'many'), 0o711);
    // Symlinks are not followed, and not sent.
    await fs.symlink('/etc/passwd', path.join(tree, 'link'));
    const notes = path.join(src, 'notes.txt');
    await fs.writeFile(notes, 'notes');
    // Distinct, old mtimes: a copy that kept "now" would not match.
    let t = 1_600_000_000;
    for (const rel of await listTree(src)) {
      const full = path.join(src, rel);
      if ((await fs.lstat(full)).isSymbolicLink()) continue;
      await fs.utimes(full, t, t);
      t += 3600;
    }

    const rx = h.peer(['receive', '--out', out, '--yes', ...server.peerArgs]);
    const { code } = await rx.waitFor('ready');
    const tx = h.peer(['send', `${tree}/`, notes, '--to', code, ...server.peerArgs]);
    await bothOk(rx, tx);

    const expected = await snapshot(src);
    delete expected['tree/link'];
    expect(await snapshot(out)).toEqual(expected);
    expect(Object.keys(expected).length).toBeGreaterThan(200);
    // stderr is a pipe here: no bars.
    expect(tx.stderr + rx.stderr).not.toContain('█');
    expect(tx.events.find((e) => e.event === 'skipped')).toMatchObject({ path: path.join(tree, 'link') });
    const starts = rx.events.filter((e) => e.event === 'file-start');
    const dones = rx.events.filter((e) => e.event === 'file-done');
    expect(starts).toHaveLength(204);
    expect(dones).toHaveLength(204);
    expect(tx.events.filter((e) => e.event === 'file-done')).toHaveLength(204);
  }, 60_000);
});

describe('text', () => {
  it('prints the text on the receiving side', async () => {
    const rx = h.spawnScript('peer', ['receive', '--out', await h.tempDir(), ...server.peerArgs]);
    const code = await new Promise<string>((resolve) => {
      rx.child.stdout?.once('data', (d: Buffer) => resolve(d.toString().trim()));
    });
    let stdout = '';
    rx.child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    const tx = h.peer(['send', '--text', 'hello, wörld', '--to', code, ...server.peerArgs]);
    await bothOk(rx, tx);
    expect(stdout).toBe('hello, wörld\n');
  });

  it('is a JSON event with --json, and refused over 64 KiB', async () => {
    const rx = h.peer(['receive', '--out', await h.tempDir(), ...server.peerArgs]);
    const { code } = await rx.waitFor('ready');
    const tooBig = h.peer(['send', '--text', 'x'.repeat(64 * 1024 + 1), '--to', code, ...server.peerArgs]);
    expect((await tooBig.exit()).code).toBe(1);
    expect(tooBig.error?.code).toBe('TEXT_TOO_LARGE');
    const tx = h.peer(['send', '--text', 'hi', '--to', code, ...server.peerArgs]);
    await bothOk(rx, tx);
    expect(await rx.waitFor('text')).toEqual({ event: 'text', text: 'hi' });
  });
});

describe('either side first', () => {
  it('peer send without --to prints a code; peer receive <code> fetches', async () => {
    const src = await h.tempDir();
    const out = await h.tempDir();
    const file = path.join(src, 'first.bin');
    await fs.writeFile(file, randomBytes(300_000));
    const tx = h.peer(['send', file, ...server.peerArgs], { env: { PEER_CODE: '' } });
    const { code } = await tx.waitFor('ready');
    const rx = h.peer(['receive', code, '--out', out, '--yes', ...server.peerArgs]);
    await bothOk(rx, tx);
    expect(await sha256File(path.join(out, 'first.bin'))).toBe(await sha256File(file));
  });
});

describe('pipes', () => {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  });

  it('streams stdin of unknown size to a receiver writing stdout, in flat memory', async () => {
    const size = 256 * 1024 * 1024;
    const entry = entryPoint('peer');
    // Plain processes: the harness would read 256 MiB of stdout as lines.
    const rx = spawn(
      process.execPath,
      [entry, 'receive', '--yes', '--stdout', '--json', ...server.peerArgs],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.push(rx);
    let rxErr = '';
    const code = await new Promise<string>((resolve, reject) => {
      rx.stderr.on('data', (d: Buffer) => {
        rxErr += d.toString();
        const m = /"event":"ready","code":"([^"]+)"/.exec(rxErr);
        if (m?.[1]) resolve(m[1]);
      });
      rx.on('exit', () => reject(new Error(rxErr)));
    });
    const received = createHash('sha256');
    let receivedBytes = 0;
    rx.stdout.on('data', (d: Buffer) => {
      received.update(d);
      receivedBytes += d.length;
    });
    const rxExit = new Promise((r) => rx.on('exit', r));

    const tx = spawn(
      process.execPath,
      [
        path.join(packageRoot(), 'dist', 'src', 'peer.js'),
        'send',
        '-',
        '--to',
        code,
        '--json',
        ...server.peerArgs,
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    children.push(tx);
    let txOut = '';
    tx.stdout.on('data', (d: Buffer) => {
      txOut += d.toString();
    });
    const sent = createHash('sha256');
    const block = randomBytes(1024 * 1024);
    for (let i = 0; i < size / block.length; i++) {
      block.writeUInt32BE(i, 0);
      sent.update(block);
      if (!tx.stdin.write(block)) await new Promise((r) => tx.stdin.once('drain', r));
    }
    tx.stdin.end();
    const txCode = await new Promise((r) => tx.on('exit', r));
    expect(txCode, txOut).toBe(0);
    expect(await rxExit, rxErr).toBe(0);
    expect(receivedBytes).toBe(size);
    expect(received.digest('hex')).toBe(sent.digest('hex'));
    const done = txOut
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; usage?: { maxRssBytes: number } })
      .find((e) => e.event === 'done');
    expect(done?.usage?.maxRssBytes).toBeLessThan(150 * 1024 * 1024);
    const rxDone = /"event":"done".*"maxRssBytes":(\d+)/.exec(rxErr);
    expect(Number(rxDone?.[1])).toBeLessThan(150 * 1024 * 1024);
  }, 120_000);
});

describe('scripts that stop reading', () => {
  it('a receiver whose stdout reader left after the code still receives, and exits 0', async () => {
    const src = await h.tempDir();
    const out = await h.tempDir();
    const file = path.join(src, 'kept.bin');
    await fs.writeFile(file, randomBytes(3 * 1024 * 1024));
    const rx = h.peer(['receive', '--out', out, '--yes', ...server.peerArgs]);
    const { code } = await rx.waitFor('ready');
    // Like `peer receive --json | head -1`: the pipe's reader is gone, every later event is EPIPE.
    rx.child.stdout?.destroy();
    const tx = h.peer(['send', file, '--to', code, ...server.peerArgs]);
    expect((await tx.exit()).code, tx.stderr).toBe(0);
    expect((await rx.exit()).code, rx.stderr).toBe(0);
    expect(rx.stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(await sha256File(path.join(out, 'kept.bin'))).toBe(await sha256File(file));
  });
});
