/**
 * The CLI end to end: `npm run serve:signal`, `peer receive` and `peer send`
 * as separate processes on loopback, compared by SHA-256.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHUNK_SIZE } from '../../src/core/transfer/protocol.js';
import { listTree, sha256File, writeRandomFile } from '../../src/testing/files.js';
import type { SignalHandle } from '../../src/testing/harness.js';
import { Harness, peerArgsFor } from '../../src/testing/harness.js';

const h = new Harness();
let server: SignalHandle;

beforeAll(async () => {
  // The real entry point, as a user starts it.
  const proc = h.spawnCommand('npm', [
    'run',
    '-s',
    'serve:signal',
    '--',
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--json',
  ]);
  const { host, port } = await proc.waitFor('listening');
  server = { host, port, peerArgs: peerArgsFor(host, port) };
});
afterAll(() => h.cleanup());

async function transfer(sizes: number[]): Promise<void> {
  const src = await h.tempDir('peerlane-src-');
  const out = await h.tempDir('peerlane-out-');
  const files = sizes.map((_, i) => path.join(src, `file-${i}.bin`));
  await Promise.all(files.map((f, i) => writeRandomFile(f, sizes[i] ?? 0)));

  const rx = h.peer(['receive', '--out', out, '--yes', ...server.peerArgs]);
  const { code } = await rx.waitFor('ready');
  const tx = h.peer(['send', ...files, '--to', code, ...server.peerArgs]);

  const [rxExit, txExit] = await Promise.all([rx.exit(), tx.exit()]);
  expect(txExit.code, tx.stderr).toBe(0);
  expect(rxExit.code, rx.stderr).toBe(0);
  expect(rx.strayStdout).toEqual([]);
  expect(tx.strayStdout).toEqual([]);

  const rxDone = await rx.waitFor('done');
  const txDone = await tx.waitFor('done');
  expect(rxDone.files.map((f) => f.name)).toEqual(files.map((f) => path.basename(f)));
  expect(await listTree(out)).toEqual(files.map((f) => path.basename(f)).sort());
  for (const [i, file] of files.entries()) {
    const expected = await sha256File(file);
    expect(await sha256File(path.join(out, path.basename(file)))).toBe(expected);
    expect(rxDone.files[i]?.sha256).toBe(expected);
    expect(txDone.files[i]?.sha256).toBe(expected);
    expect((await fs.stat(path.join(out, path.basename(file)))).size).toBe(sizes[i]);
  }
  const connected = await rx.waitFor('connected');
  expect(connected.path).toBe('direct');
}

describe('peer send / peer receive', () => {
  it.each([
    ['0 B', 0],
    ['1 B', 1],
    ['one chunk', CHUNK_SIZE],
    ['one chunk + 1', CHUNK_SIZE + 1],
    ['50 MiB', 50 * 1024 * 1024],
  ])('transfers a file of %s intact', async (_label, size) => {
    await transfer([size]);
  });

  it('transfers three files in one command', async () => {
    await transfer([3 * CHUNK_SIZE + 7, 0, 1_000_000]);
  });

  it('reports progress and a human summary line', async () => {
    const src = await h.tempDir();
    const out = await h.tempDir();
    const file = path.join(src, 'p.bin');
    await writeRandomFile(file, 8 * 1024 * 1024);
    const rx = h.spawnScript('peer', ['receive', '--out', out, '--yes', ...server.peerArgs]);
    // Human mode: the code is alone on stdout.
    const code = await new Promise<string>((resolve) => {
      rx.child.stdout?.once('data', (d: Buffer) => resolve(d.toString().trim()));
    });
    expect(code).toMatch(/^[1-9][0-9]*-[a-z]+-[a-z]+$/);
    const tx = h.peer(['send', file, '--to', code, ...server.peerArgs]);
    expect((await tx.exit()).code).toBe(0);
    expect((await rx.exit()).code).toBe(0);
    const progress = tx.events.filter((e) => e.event === 'progress');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatchObject({ bytes: 8 * 1024 * 1024, total: 8 * 1024 * 1024, file: 'p.bin' });
    expect(rx.stderr).toMatch(/Received 1 file, 8\.4 MB in .* SHA-256 verified\./);
  });
});
