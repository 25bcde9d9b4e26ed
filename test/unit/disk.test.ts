import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PeerlaneError } from '../../src/core/errors.js';
import { checkFreeSpace, freeSpace } from '../../src/transfer/disk.js';

describe('checkFreeSpace', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'peerlane-disk-'));
  });

  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  it('reports what statfs reports for unprivileged writers', async () => {
    const stats = await fs.statfs(dir);
    const free = await freeSpace(dir);
    // Other tests write meanwhile: allow some drift.
    expect(Math.abs(free - stats.bavail * stats.bsize)).toBeLessThan(1024 ** 3);
    expect(free).toBeGreaterThan(0);
  });

  it('passes when the bytes fit', async () => {
    await expect(checkFreeSpace(dir, 0)).resolves.toBeUndefined();
    await expect(checkFreeSpace(dir, 1024)).resolves.toBeUndefined();
  });

  it('throws DISK_FULL saying what was needed and what is free', async () => {
    const err = await checkFreeSpace(dir, Number.MAX_SAFE_INTEGER).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PeerlaneError);
    expect(err).toMatchObject({ code: 'DISK_FULL' });
    expect((err as Error).message).toMatch(/^need 9007\.2 TB, only [\d.]+ [kMGT]?B free in /);
    expect((err as Error).message.endsWith(` free in ${dir}`)).toBe(true);
  });

  it('throws OUT_NOT_WRITABLE for a folder it cannot examine', async () => {
    await expect(checkFreeSpace(path.join(dir, 'missing'), 1)).rejects.toMatchObject({
      code: 'OUT_NOT_WRITABLE',
    });
  });
});

describe('checkFreeSpace on a 1 MiB tmpfs', () => {
  let dir: string;
  let mounted = false;

  beforeEach(async (ctx) => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'peerlane-disk-tmpfs-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'pipe' });
      mounted = true;
    } catch (err) {
      ctx.skip(`cannot mount a tmpfs here (needs root): ${String(err).split('\n')[0]}`);
    }
  });

  afterEach(async () => {
    if (mounted) execFileSync('umount', [dir]);
    mounted = false;
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('compares exact bytes, and shows them when the rounded figures agree', async () => {
    expect(await freeSpace(dir)).toBe(1024 * 1024);
    await expect(checkFreeSpace(dir, 1024 * 1024)).resolves.toBeUndefined();
    await expect(checkFreeSpace(dir, 1024 * 1024 + 1)).rejects.toMatchObject({
      code: 'DISK_FULL',
      message: `need 1048577 B, only 1048576 B free in ${dir}`,
    });
    await fs.writeFile(path.join(dir, 'filler'), Buffer.alloc(512 * 1024));
    await expect(checkFreeSpace(dir, 600_000)).rejects.toMatchObject({
      code: 'DISK_FULL',
      message: `need 600.0 kB, only 524.3 kB free in ${dir}`,
    });
  });
});
