import { execFileSync } from 'node:child_process';
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_FILES } from '../../src/core/transfer/protocol.js';
import {
  checkFileName,
  checkRelPath,
  checkReplaceable,
  dirsAreSafe,
  freeTarget,
  MAX_PATH_BYTES,
  makeDirs,
  openPart,
  PART_OPEN_FLAGS,
  PART_SUFFIX,
  publish,
  targetPath,
} from '../../src/transfer/safe-names.js';
import { codeOf } from '../helpers.js';

describe('checkFileName', () => {
  it.each([
    '',
    '.',
    '..',
    '../x',
    'a/b',
    'a\\b',
    '/etc/passwd',
    'C:evil',
    'z:',
    'a\u0000b',
    'a\nb',
    'a\rb',
    'a\u001b[31mred',
    'a\u007fb',
    'a\u0085b',
    'invoice\u202etxt.exe',
    'a\u009bb',
    'x'.repeat(300),
    'a\u2028b',
    'a\u2029b',
    'x\u061ctxt.exe',
    'a\u200eb',
    'a\u2066b',
    'lone\ud800',
    'a\udc00b',
    '\ud83d',
    'C:\\Windows\\x',
    '\\\\server\\share',
  ])('refuses %j with BAD_NAME', (name) => {
    expect(codeOf(() => checkFileName(name))).toBe('BAD_NAME');
  });

  it('refuses a 300-byte name made of multi-byte characters', () => {
    expect(codeOf(() => checkFileName('é'.repeat(150)))).toBe('BAD_NAME');
  });

  it('leaves room for the .part suffix within 255 bytes', () => {
    expect(checkFileName('x'.repeat(250))).toBe('x'.repeat(250));
    expect(codeOf(() => checkFileName('x'.repeat(251)))).toBe('BAD_NAME');
  });

  it('accepts ordinary names unchanged', () => {
    for (const name of [
      'résumé.pdf',
      'a.txt',
      '.bashrc',
      'README',
      'my file (1).tar.gz',
      '...a',
      '日本語.txt',
      '🎉 party.txt',
      'C.txt',
    ]) {
      expect(checkFileName(name)).toBe(name);
    }
  });

  it('returns the NFC form of a decomposed name', () => {
    const decomposed = 're\u0301sume\u0301';
    const result = checkFileName(decomposed);
    expect(result).toBe('r\u00e9sum\u00e9');
    expect(result).not.toBe(decomposed);
    expect(result).toHaveLength(6);
  });
});

describe('freeTarget and publish', () => {
  let dir: string;
  let outside: string;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'peerlane-names-'));
    outside = await fs.mkdtemp(path.join(os.tmpdir(), 'peerlane-outside-'));
  });

  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
    await fs.rm(outside, { recursive: true, force: true });
  });

  const touch = (name: string, content = 'old') => fs.writeFile(path.join(dir, name), content);

  it('returns dir/name when the name is free, and records it as taken', async () => {
    const taken = new Set<string>();
    const target = await freeTarget(dir, 'a.txt', taken);
    expect(target).toBe(path.join(dir, 'a.txt'));
    expect([...taken]).toEqual([target]);
  });

  it('numbers the stem when the name exists', async () => {
    await touch('a.txt');
    expect(await freeTarget(dir, 'a.txt', new Set())).toBe(path.join(dir, 'a (1).txt'));
    await touch('a (1).txt');
    expect(await freeTarget(dir, 'a.txt', new Set())).toBe(path.join(dir, 'a (2).txt'));
  });

  it('skips a name whose .part exists', async () => {
    await touch(`a.txt${PART_SUFFIX}`);
    expect(await freeTarget(dir, 'a.txt', new Set())).toBe(path.join(dir, 'a (1).txt'));
  });

  it('skips a name held by a symlink, even a dangling one', async () => {
    await fs.symlink(path.join(outside, 'missing'), path.join(dir, 'a.txt'));
    expect(await freeTarget(dir, 'a.txt', new Set())).toBe(path.join(dir, 'a (1).txt'));
  });

  it('respects names already taken by this transfer', async () => {
    const taken = new Set<string>();
    const first = await freeTarget(dir, 'a.txt', taken);
    const second = await freeTarget(dir, 'a.txt', taken);
    const third = await freeTarget(dir, 'a.txt', new Set([path.join(dir, 'a.txt')]));
    expect(first).toBe(path.join(dir, 'a.txt'));
    expect(second).toBe(path.join(dir, 'a (1).txt'));
    expect(third).toBe(path.join(dir, 'a (1).txt'));
    expect(taken).toEqual(new Set([first, second]));
  });

  it('numbers names without an extension, and dotfiles, at the end', async () => {
    await touch('README');
    await touch('.bashrc');
    expect(await freeTarget(dir, 'README', new Set())).toBe(path.join(dir, 'README (1)'));
    expect(await freeTarget(dir, '.bashrc', new Set())).toBe(path.join(dir, '.bashrc (1)'));
  });

  it('returns the NFC name, and refuses unsafe names', async () => {
    expect(await freeTarget(dir, 're\u0301sume\u0301.pdf', new Set())).toBe(
      path.join(dir, 'r\u00e9sum\u00e9.pdf'),
    );
    await expect(freeTarget(dir, '../escape', new Set())).rejects.toMatchObject({ code: 'BAD_NAME' });
    await expect(freeTarget(dir, '..', new Set())).rejects.toMatchObject({ code: 'BAD_NAME' });
  });

  it('publish moves the part into place', async () => {
    const taken = new Set<string>();
    const target = await freeTarget(dir, 'a.txt', taken);
    await fs.writeFile(target + PART_SUFFIX, 'new content');
    expect(await publish(target + PART_SUFFIX, target, 'a.txt', taken)).toBe(target);
    expect(await fs.readFile(target, 'utf8')).toBe('new content');
    await expect(fs.lstat(target + PART_SUFFIX)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await fs.readdir(dir)).sort()).toEqual(['a.txt']);
  });

  it('publish never overwrites a file that appeared after freeTarget', async () => {
    const taken = new Set<string>();
    const target = await freeTarget(dir, 'a.txt', taken);
    await fs.writeFile(target + PART_SUFFIX, 'new content');
    await fs.writeFile(target, 'precious');
    const result = await publish(target + PART_SUFFIX, target, 'a.txt', taken);
    expect(result).toBe(path.join(dir, 'a (1).txt'));
    expect(await fs.readFile(target, 'utf8')).toBe('precious');
    expect(await fs.readFile(result, 'utf8')).toBe('new content');
    await expect(fs.lstat(target + PART_SUFFIX)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('publish neither follows nor replaces a symlink planted at the target', async () => {
    const secret = path.join(outside, 'secret');
    await fs.writeFile(secret, 'outside');
    const taken = new Set<string>();
    const target = await freeTarget(dir, 'a.txt', taken);
    await fs.writeFile(target + PART_SUFFIX, 'new content');
    await fs.symlink(secret, target);
    const result = await publish(target + PART_SUFFIX, target, 'a.txt', taken);
    expect(result).not.toBe(target);
    expect(path.dirname(result)).toBe(dir);
    expect(await fs.readFile(secret, 'utf8')).toBe('outside');
    expect(await fs.readdir(outside)).toEqual(['secret']);
    expect((await fs.lstat(target)).isSymbolicLink()).toBe(true);
    expect(await fs.readlink(target)).toBe(secret);
    expect((await fs.lstat(result)).isFile()).toBe(true);
    expect(await fs.readFile(result, 'utf8')).toBe('new content');
  });
});

describe('path length', () => {
  // A folder that need not exist: the limit is checked before any file system access.
  const deepDir = (bytes: number) => `/${'d'.repeat(bytes - 1)}`;

  it('refuses a target whose .part would reach PATH_MAX', async () => {
    const name = 'x'.repeat(200);
    // dir + '/' + name + '.part' === MAX_PATH_BYTES exactly: one byte too many (the NUL).
    const tooDeep = deepDir(MAX_PATH_BYTES - 1 - name.length - PART_SUFFIX.length);
    expect(codeOf(() => targetPath(tooDeep, name))).toBe('BAD_NAME');
    await expect(freeTarget(tooDeep, name, new Set())).rejects.toMatchObject({ code: 'BAD_NAME' });
    await expect(freeTarget(tooDeep, name, new Set(), true)).rejects.toMatchObject({ code: 'BAD_NAME' });
    const justFits = deepDir(MAX_PATH_BYTES - 2 - name.length - PART_SUFFIX.length);
    expect(targetPath(justFits, name)).toBe(`${justFits}/${name}`);
  });

  it('counts the path in UTF-8 bytes', () => {
    const name = 'é'.repeat(100); // 200 bytes
    const dir = deepDir(MAX_PATH_BYTES - 1 - 200 - PART_SUFFIX.length);
    expect(codeOf(() => targetPath(dir, name))).toBe('BAD_NAME');
  });

  it('targetPath resolves the folder and refuses unsafe names', () => {
    expect(targetPath('/tmp/x/../y', 'a.txt')).toBe('/tmp/y/a.txt');
    expect(codeOf(() => targetPath('/tmp', '../a'))).toBe('BAD_NAME');
  });
});

describe('numbered names of long names', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'peerlane-long-'));
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  it.each([
    ['ASCII', `${'x'.repeat(246)}.txt`],
    ['two-byte', `${'é'.repeat(123)}.txt`],
    ['astral', `${'🎉'.repeat(61)}a.txt`],
    ['long extension', `a.${'e'.repeat(248)}`],
  ])('shortens the stem of a %s name so the number and .part fit', async (_, name) => {
    expect(Buffer.byteLength(name) + PART_SUFFIX.length).toBeLessThanOrEqual(255);
    await fs.writeFile(path.join(dir, name), 'old');
    const target = await freeTarget(dir, name, new Set());
    const base = path.basename(target);
    expect(base).toContain(' (1)');
    expect(Buffer.byteLength(base) + PART_SUFFIX.length).toBeLessThanOrEqual(255);
    // Cut between code points, never inside one: it survives a UTF-8 round trip.
    expect(Buffer.from(base, 'utf8').toString('utf8')).toBe(base);
    // The file can really be created.
    await (await openPart(target + PART_SUFFIX)).close();
  });
});

describe('overwrite', () => {
  let dir: string;
  let outside: string;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'peerlane-over-'));
    outside = await fs.mkdtemp(path.join(os.tmpdir(), 'peerlane-outside-'));
  });

  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
    await fs.rm(outside, { recursive: true, force: true });
  });

  const at = (name: string) => path.join(dir, name);

  it('freeTarget picks the name itself when a regular file holds it', async () => {
    await fs.writeFile(at('a.txt'), 'old');
    const taken = new Set<string>();
    expect(await freeTarget(dir, 'a.txt', taken, true)).toBe(at('a.txt'));
    expect(taken).toEqual(new Set([at('a.txt')]));
    expect(await freeTarget(dir, 'b.txt', new Set(), true)).toBe(at('b.txt'));
  });

  it('freeTarget numbers a second file of the same name in one transfer', async () => {
    const taken = new Set<string>();
    expect(await freeTarget(dir, 'a.txt', taken, true)).toBe(at('a.txt'));
    expect(await freeTarget(dir, 'a.txt', taken, true)).toBe(at('a (1).txt'));
  });

  it('freeTarget refuses a folder, a symlink or a fifo at the name', async () => {
    await fs.mkdir(at('folder'));
    await fs.writeFile(path.join(outside, 'secret'), 'outside');
    await fs.symlink(path.join(outside, 'secret'), at('link'));
    await fs.symlink(path.join(outside, 'missing'), at('dangling'));
    await fs.symlink(outside, at('dirlink'));
    execFileSync('mkfifo', [at('fifo')]);
    for (const name of ['folder', 'link', 'dangling', 'dirlink', 'fifo']) {
      await expect(freeTarget(dir, name, new Set(), true)).rejects.toMatchObject({ code: 'BAD_NAME' });
      await expect(checkReplaceable(at(name))).rejects.toMatchObject({ code: 'BAD_NAME' });
    }
    expect(await fs.readFile(path.join(outside, 'secret'), 'utf8')).toBe('outside');
    expect(await fs.readdir(outside)).toEqual(['secret']);
  });

  it('freeTarget refuses a name whose .part exists', async () => {
    await fs.writeFile(at(`a.txt${PART_SUFFIX}`), 'kept for a resume');
    await expect(freeTarget(dir, 'a.txt', new Set(), true)).rejects.toMatchObject({ code: 'BAD_NAME' });
    expect(await fs.readFile(at(`a.txt${PART_SUFFIX}`), 'utf8')).toBe('kept for a resume');
  });

  it('publish replaces a regular file by rename, never writing through it', async () => {
    await fs.writeFile(at('a.txt'), 'old');
    // A second hard link to the old file sees whether its data was rewritten in place.
    await fs.link(at('a.txt'), path.join(outside, 'old-link'));
    const taken = new Set<string>();
    const target = await freeTarget(dir, 'a.txt', taken, true);
    await fs.writeFile(target + PART_SUFFIX, 'new content');
    expect(await publish(target + PART_SUFFIX, target, 'a.txt', taken, true)).toBe(target);
    expect(await fs.readFile(target, 'utf8')).toBe('new content');
    expect(await fs.readFile(path.join(outside, 'old-link'), 'utf8')).toBe('old');
    expect(await fs.readdir(dir)).toEqual(['a.txt']);
  });

  it('publish refuses a symlink or folder planted after freeTarget, and leaves both alone', async () => {
    const secret = path.join(outside, 'secret');
    await fs.writeFile(secret, 'outside');
    const taken = new Set<string>();
    const target = await freeTarget(dir, 'a.txt', taken, true);
    await fs.writeFile(target + PART_SUFFIX, 'new content');
    await fs.symlink(secret, target);
    await expect(publish(target + PART_SUFFIX, target, 'a.txt', taken, true)).rejects.toMatchObject({
      code: 'BAD_NAME',
    });
    expect(await fs.readlink(target)).toBe(secret);
    expect(await fs.readFile(secret, 'utf8')).toBe('outside');

    await fs.unlink(target);
    await fs.mkdir(target);
    await expect(publish(target + PART_SUFFIX, target, 'a.txt', taken, true)).rejects.toMatchObject({
      code: 'BAD_NAME',
    });
    expect((await fs.lstat(target)).isDirectory()).toBe(true);
  });

  it('publish never replaces anything at a numbered sibling', async () => {
    const taken = new Set<string>();
    await freeTarget(dir, 'a.txt', taken, true);
    const second = await freeTarget(dir, 'a.txt', taken, true);
    expect(second).toBe(at('a (1).txt'));
    await fs.writeFile(second + PART_SUFFIX, 'second');
    await fs.writeFile(second, 'appeared meanwhile');
    const result = await publish(second + PART_SUFFIX, second, 'a.txt', taken, true);
    expect(result).toBe(at('a (2).txt'));
    expect(await fs.readFile(second, 'utf8')).toBe('appeared meanwhile');
    expect(await fs.readFile(result, 'utf8')).toBe('second');
  });

  it('without overwrite, a regular file is never replaced (default)', async () => {
    await fs.writeFile(at('a.txt'), 'old');
    const taken = new Set<string>();
    const target = await freeTarget(dir, 'a.txt', taken, false);
    expect(target).toBe(at('a (1).txt'));
    await fs.writeFile(target + PART_SUFFIX, 'new');
    expect(await publish(target + PART_SUFFIX, target, 'a.txt', taken)).toBe(target);
    expect(await fs.readFile(at('a.txt'), 'utf8')).toBe('old');
  });
});

describe('openPart', () => {
  let dir: string;
  let outside: string;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'peerlane-part-'));
    outside = await fs.mkdtemp(path.join(os.tmpdir(), 'peerlane-outside-'));
  });

  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
    await fs.rm(outside, { recursive: true, force: true });
  });

  it('opens exclusively and without following links where the platform allows', () => {
    expect(PART_OPEN_FLAGS & constants.O_EXCL).toBe(constants.O_EXCL);
    expect(PART_OPEN_FLAGS & constants.O_CREAT).toBe(constants.O_CREAT);
    if (constants.O_NOFOLLOW !== undefined) {
      expect(PART_OPEN_FLAGS & constants.O_NOFOLLOW).toBe(constants.O_NOFOLLOW);
    }
  });

  it('creates a new file for writing', async () => {
    const part = path.join(dir, `a.txt${PART_SUFFIX}`);
    const handle = await openPart(part);
    await handle.write(Buffer.from('data'));
    await handle.close();
    expect(await fs.readFile(part, 'utf8')).toBe('data');
    await expect(openPart(part)).rejects.toMatchObject({ code: 'OUT_NOT_WRITABLE' });
    expect(await fs.readFile(part, 'utf8')).toBe('data');
  });

  it('neither follows nor writes through a dangling symlink planted at the .part', async () => {
    const taken = new Set<string>();
    const target = await freeTarget(dir, 'a.txt', taken);
    const victim = path.join(outside, 'created-through-link');
    // Planted after the name was chosen, as a racing attacker would.
    await fs.symlink(victim, target + PART_SUFFIX);
    await expect(openPart(target + PART_SUFFIX)).rejects.toMatchObject({ code: 'OUT_NOT_WRITABLE' });
    await expect(fs.lstat(victim)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await fs.readdir(outside)).toEqual([]);
    expect(await fs.readlink(target + PART_SUFFIX)).toBe(victim);
  });

  it('does not write through a symlink to an existing file', async () => {
    const victim = path.join(outside, 'victim');
    await fs.writeFile(victim, 'precious');
    const part = path.join(dir, `a.txt${PART_SUFFIX}`);
    await fs.symlink(victim, part);
    await expect(openPart(part)).rejects.toMatchObject({ code: 'OUT_NOT_WRITABLE' });
    expect(await fs.readFile(victim, 'utf8')).toBe('precious');
  });
});

describe('relative paths', () => {
  it.each([
    'a/../../x',
    'a//b',
    '/abs/x',
    'a/b/',
    'a/./b',
    'a/../b',
    '../x',
    'a/\u202eb',
    'a\\b/c',
    `a/${'x'.repeat(300)}`,
  ])('refuses %j with BAD_NAME', (name) => {
    expect(codeOf(() => checkRelPath(name))).toBe('BAD_NAME');
    expect(codeOf(() => targetPath('/tmp/out', name))).toBe('BAD_NAME');
  });

  it('accepts nested names, NFC-normalised, and keeps them under the folder', () => {
    expect(checkRelPath('a/b/c.txt')).toBe('a/b/c.txt');
    expect(checkRelPath('Cafe\u0301/x')).toBe('Caf\u00e9/x');
    expect(targetPath('/tmp/out', 'a/b/c.txt')).toBe('/tmp/out/a/b/c.txt');
    expect(codeOf(() => checkRelPath(`${'d/'.repeat(2100)}x`))).toBe('BAD_NAME');
  });

  it('creates folders under the root, never through a symlink', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'peerlane-dirs-'));
    const elsewhere = await fs.mkdtemp(path.join(os.tmpdir(), 'peerlane-else-'));
    try {
      await makeDirs(root, ['a', 'b'], 'a/b/x');
      expect((await fs.lstat(path.join(root, 'a', 'b'))).isDirectory()).toBe(true);
      await fs.symlink(elsewhere, path.join(root, 'link'));
      await expect(makeDirs(root, ['link', 'c'], 'link/c/x')).rejects.toMatchObject({ code: 'BAD_NAME' });
      expect(await fs.readdir(elsewhere)).toEqual([]);
      expect(await dirsAreSafe(root, ['link', 'c'])).toBe(false);
      const t = await freeTarget(root, 'a/b/x', new Set());
      expect(t).toBe(path.join(root, 'a', 'b', 'x'));
    } finally {
      await fs.rm(root, { recursive: true, force: true });
      await fs.rm(elsewhere, { recursive: true, force: true });
    }
  });
});

describe('numbering many files of one name', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'peerlane-many-'));
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('10,000 files named alike cost a few look-ups each, not one per earlier file', async () => {
    const lstat = vi.spyOn(fs, 'lstat');
    const taken = new Set<string>();
    const count = MAX_FILES;
    let last = '';
    for (let i = 0; i < count; i++) last = await freeTarget(dir, 'photo.jpg', taken);
    expect(last).toBe(path.join(dir, `photo (${count - 1}).jpg`));
    expect(taken.size).toBe(count);
    // The target and its .part, once each: quadratic numbering would take 10^8.
    expect(lstat.mock.calls.length).toBeLessThanOrEqual(2 * count);
  });

  it('still skips a numbered name that appeared on disk meanwhile', async () => {
    const taken = new Set<string>();
    expect(await freeTarget(dir, 'a.txt', taken)).toBe(path.join(dir, 'a.txt'));
    await fs.writeFile(path.join(dir, 'a (1).txt'), 'x');
    expect(await freeTarget(dir, 'a.txt', taken)).toBe(path.join(dir, 'a (2).txt'));
    expect(await freeTarget(dir, 'b.txt', taken)).toBe(path.join(dir, 'b.txt'));
  });
});
