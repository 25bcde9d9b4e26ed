/**
 * The output folder: made (with its parents) and checked writable before a
 * code is printed, and the manifest's folders created under it once the user
 * has agreed.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { PeerlaneError } from '../core/errors.js';
import type { CreatedFolders } from '../core/transfer/file-access.js';
import type { ManifestEntry } from '../core/transfer/protocol.js';
import { writeError } from './incoming-file.js';
import type { HeldDir } from './safe-names.js';
import { checkRelPath, openDirs } from './safe-names.js';

/** Create `outDir` if needed and check that we can write there. */
export async function prepareOutDir(outDir: string): Promise<void> {
  try {
    await makeOutDir(path.resolve(outDir));
    await fs.access(outDir, fs.constants.W_OK);
  } catch (err) {
    throw new PeerlaneError('OUT_NOT_WRITABLE', `cannot write to ${outDir}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * `dir` and any missing parents, one mkdir each. Not `mkdir -p`: Node's
 * recursive mkdir retries forever where the kernel answers ENOENT for a
 * folder that exists (under /proc), and a spinning receiver helps nobody.
 */
async function makeOutDir(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if ((await fs.stat(dir)).isDirectory()) return;
      throw err;
    }
    const parent = path.dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw err;
    // The parent may be missing: make it, then try once more (a second ENOENT is final).
    await makeOutDir(parent);
    await fs.mkdir(dir);
  }
}

/**
 * Create the manifest's folders under `outDir`, recording in `created` those
 * that were not there (only they get the sender's mode and mtime at the end,
 * folders.ts); returns the manifest's folders.
 */
export async function createFolders(
  outDir: string,
  files: readonly ManifestEntry[],
  created: CreatedFolders,
): Promise<ManifestEntry[]> {
  const folders: ManifestEntry[] = [];
  for (const f of files) {
    if (f.kind !== 'dir') continue;
    const safe = checkRelPath(f.name);
    try {
      const onCreate = (rel: string, dir: HeldDir): void => {
        created.set(rel, { dev: dir.dev, ino: dir.ino });
      };
      await (await openDirs(outDir, safe.split('/'), f.name, { onCreate })).handle.close();
    } catch (err) {
      throw writeError(err);
    }
    folders.push(f);
  }
  return folders;
}
