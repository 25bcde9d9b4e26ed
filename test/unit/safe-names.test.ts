import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PeerlaneError } from '../../src/errors.js';
import { checkName, freeTarget, PART_SUFFIX, publish } from '../../src/transfer/safe-names.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PeerlaneError);
    return (err as PeerlaneError).code;
  }
  throw new Error('expected a PeerlaneError, but nothing was thrown');
}

describe('checkName', () => {
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
  ])('refuses %j with BAD_NAME', (name) => {
    expect(codeOf(() => checkName(name))).toBe('BAD_NAME');
  });

  it('refuses a 300-byte name made of multi-byte characters', () => {
    expect(codeOf(() => checkName('é'.repeat(150)))).toBe('BAD_NAME');
  });

  it('leaves room for the .part suffix within 255 bytes', () => {
    expect(checkName('x'.repeat(250))).toBe('x'.repeat(250));
    expect(codeOf(() => checkName('x'.repeat(251)))).toBe('BAD_NAME');
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
    ]) {
      expect(checkName(name)).toBe(name);
    }
  });

  it('returns the NFC form of a decomposed name', () => {
    const decomposed = 're\u0301sume\u0301';
    const result = checkName(decomposed);
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
