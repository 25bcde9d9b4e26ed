import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Harness } from '../../src/testing/harness.js';
import type { CreatedFolders } from '../../src/transfer/folders.js';
import { applyFolderMeta, newMode, umask } from '../../src/transfer/folders.js';

const h = new Harness();
let root: string;
let elsewhere: string;

beforeEach(async () => {
  [root, elsewhere] = [await h.tempDir('peerlane-folders-'), await h.tempDir('peerlane-elsewhere-')];
});
afterEach(() => h.cleanup());

/** As the receiver records the folders it creates. */
async function created(...names: string[]): Promise<CreatedFolders> {
  const map: CreatedFolders = new Map();
  for (const name of names) {
    const st = await fs.lstat(path.join(root, name));
    map.set(name, { dev: st.dev, ino: st.ino });
  }
  return map;
}

/** Run `body` under `mask`, as a receiver started under that umask would. */
async function underUmask(mask: number, body: () => Promise<void>): Promise<void> {
  const before = process.umask(mask);
  try {
    await body();
  } finally {
    process.umask(before);
  }
}

const T1 = 1_600_000_000_000;
const T2 = 1_500_000_000_000;

describe('applyFolderMeta', () => {
  it('sets mode and mtime deepest first, so a parent keeps its own mtime', async () => {
    await fs.mkdir(path.join(root, 'a', 'b'), { recursive: true });
    await fs.writeFile(path.join(root, 'a', 'b', 'f'), 'x');
    await applyFolderMeta(
      root,
      [
        { name: 'a', mode: 0o750, mtime: T1 },
        { name: 'a/b', mode: 0o700, mtime: T2 },
      ],
      await created('a', 'a/b'),
    );
    const [a, b] = [await fs.stat(path.join(root, 'a')), await fs.stat(path.join(root, 'a', 'b'))];
    expect([a.mode & 0o7777, Math.floor(a.mtimeMs)]).toEqual([0o750, T1]);
    expect([b.mode & 0o7777, Math.floor(b.mtimeMs)]).toEqual([0o700, T2]);
  });

  it('never sets setuid, setgid or sticky bits', async () => {
    await fs.mkdir(path.join(root, 'a'));
    await underUmask(0, async () => applyFolderMeta(root, [{ name: 'a', mode: 0o7777 }], await created('a')));
    expect((await fs.stat(path.join(root, 'a'))).mode & 0o7777).toBe(0o777);
  });

  it('never follows a symlink, as the folder or on the way to it', async () => {
    await fs.chmod(elsewhere, 0o755);
    await fs.mkdir(path.join(elsewhere, 'inner'), { mode: 0o755 });
    await fs.symlink(elsewhere, path.join(root, 'link'));
    // Even recorded as created (it was swapped for a link since), nothing is followed.
    const st = await fs.stat(elsewhere);
    const map: CreatedFolders = new Map([['link', { dev: st.dev, ino: st.ino }]]);
    await applyFolderMeta(
      root,
      [
        { name: 'link', mode: 0o700, mtime: T1 },
        { name: 'link/inner', mode: 0o700, mtime: T1 },
      ],
      map,
    );
    expect((await fs.stat(elsewhere)).mode & 0o777).toBe(0o755);
    expect((await fs.stat(path.join(elsewhere, 'inner'))).mode & 0o777).toBe(0o755);
    expect(Math.floor((await fs.stat(elsewhere)).mtimeMs)).not.toBe(T1);
  });
});

describe('modes of what the receiver creates', () => {
  it('an existing folder keeps its mode and mtime, whatever the manifest says', async () => {
    await fs.mkdir(path.join(root, 'ssh'), { mode: 0o700 });
    await fs.chmod(path.join(root, 'ssh'), 0o700);
    const before = await fs.stat(path.join(root, 'ssh'));
    await applyFolderMeta(root, [{ name: 'ssh', mode: 0o777, mtime: 0 }], new Map());
    const after = await fs.stat(path.join(root, 'ssh'));
    expect([after.mode & 0o777, after.mtimeMs]).toEqual([0o700, before.mtimeMs]);
  });

  it('a created folder replaced by another since is left alone', async () => {
    await fs.mkdir(path.join(root, 'a'));
    const map = await created('a');
    await fs.rename(path.join(root, 'a'), path.join(root, 'a-old'));
    await fs.mkdir(path.join(root, 'a'), { mode: 0o700 });
    await fs.chmod(path.join(root, 'a'), 0o700);
    await applyFolderMeta(root, [{ name: 'a', mode: 0o777 }], map);
    expect((await fs.stat(path.join(root, 'a'))).mode & 0o777).toBe(0o700);
  });

  it.each([
    [0o022, 0o777, 0o755],
    [0o022, 0o644, 0o644],
    [0o077, 0o777, 0o700],
    [0o077, 0o644, 0o600],
  ])('under umask %o, a folder sent as %o is created %o', async (mask, mode, expected) => {
    await fs.mkdir(path.join(root, 'a'));
    await underUmask(mask, async () => {
      expect(umask()).toBe(mask);
      expect(newMode(mode, 0o777)).toBe(expected);
      await applyFolderMeta(root, [{ name: 'a', mode }], await created('a'));
    });
    expect((await fs.stat(path.join(root, 'a'))).mode & 0o777).toBe(expected);
  });

  it('adds no executable bit the sender did not set', async () => {
    await underUmask(0o022, async () => {
      expect(newMode(undefined, 0o666)).toBe(0o644);
      expect(newMode(0o600, 0o666)).toBe(0o600);
      expect(newMode(0o750, 0o666)).toBe(0o750);
    });
  });
});
