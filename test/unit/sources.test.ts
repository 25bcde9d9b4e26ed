/** What the sender agrees to read: symlinks named on the command line are not followed either. */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PeerlaneError } from '../../src/core/errors.js';
import { resolveSources } from '../../src/transfer/sources.js';

let dir: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'peerlane-sources-'));
  await fs.writeFile(path.join(dir, 'a.txt'), 'a');
  await fs.mkdir(path.join(dir, 'd'));
  await fs.writeFile(path.join(dir, 'd', 'b.txt'), 'b');
  await fs.symlink(path.join(dir, 'a.txt'), path.join(dir, 'link'));
  await fs.symlink(path.join(dir, 'd'), path.join(dir, 'dirlink'));
});
afterEach(() => fs.rm(dir, { recursive: true, force: true }));

describe('resolveSources', () => {
  it('skips a symlink named on the command line, and says so', async () => {
    const skipped: string[] = [];
    const files = await resolveSources([path.join(dir, 'a.txt'), path.join(dir, 'link')], {
      onSkip: (p) => skipped.push(p),
    });
    expect(files.map((f) => f.name)).toEqual(['a.txt']);
    expect(skipped).toEqual([path.join(dir, 'link')]);
  });

  it('fails with INPUT_UNREADABLE when only symlinks were named', async () => {
    const err = await resolveSources([path.join(dir, 'link'), path.join(dir, 'dirlink')]).catch((e) => e);
    expect(err).toBeInstanceOf(PeerlaneError);
    expect((err as PeerlaneError).code).toBe('INPUT_UNREADABLE');
  });

  it('sends the folder a link points to when named with a trailing slash', async () => {
    const files = await resolveSources([`${path.join(dir, 'dirlink')}/`]);
    expect(files.map((f) => f.name)).toEqual(['dirlink/b.txt', 'dirlink']);
  });
});
