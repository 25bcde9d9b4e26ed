import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Harness } from '../../src/testing/harness.js';
import { applyFolderMeta } from '../../src/transfer/folders.js';

const h = new Harness();
let root: string;
let elsewhere: string;

beforeEach(async () => {
  [root, elsewhere] = [await h.tempDir('peerlane-folders-'), await h.tempDir('peerlane-elsewhere-')];
});
afterEach(() => h.cleanup());

const T1 = 1_600_000_000_000;
const T2 = 1_500_000_000_000;

describe('applyFolderMeta', () => {
  it('sets mode and mtime deepest first, so a parent keeps its own mtime', async () => {
    await fs.mkdir(path.join(root, 'a', 'b'), { recursive: true });
    await fs.writeFile(path.join(root, 'a', 'b', 'f'), 'x');
    await applyFolderMeta(root, [
      { name: 'a', mode: 0o750, mtime: T1 },
      { name: 'a/b', mode: 0o700, mtime: T2 },
    ]);
    const [a, b] = [await fs.stat(path.join(root, 'a')), await fs.stat(path.join(root, 'a', 'b'))];
    expect([a.mode & 0o7777, Math.floor(a.mtimeMs)]).toEqual([0o750, T1]);
    expect([b.mode & 0o7777, Math.floor(b.mtimeMs)]).toEqual([0o700, T2]);
  });

  it('never sets setuid, setgid or sticky bits', async () => {
    await fs.mkdir(path.join(root, 'a'));
    await applyFolderMeta(root, [{ name: 'a', mode: 0o7777 }]);
    expect((await fs.stat(path.join(root, 'a'))).mode & 0o7777).toBe(0o777);
  });

  it('never follows a symlink, as the folder or on the way to it', async () => {
    await fs.chmod(elsewhere, 0o755);
    await fs.mkdir(path.join(elsewhere, 'inner'), { mode: 0o755 });
    await fs.symlink(elsewhere, path.join(root, 'link'));
    await applyFolderMeta(root, [
      { name: 'link', mode: 0o700, mtime: T1 },
      { name: 'link/inner', mode: 0o700, mtime: T1 },
    ]);
    expect((await fs.stat(elsewhere)).mode & 0o777).toBe(0o755);
    expect((await fs.stat(path.join(elsewhere, 'inner'))).mode & 0o777).toBe(0o755);
    expect(Math.floor((await fs.stat(elsewhere)).mtimeMs)).not.toBe(T1);
  });
});
