/**
 * Folders get the sender's permission bits and mtime last, once everything
 * inside them is written: a file created in a folder changes its mtime, and a
 * read-only folder would refuse the files. Deepest first, so a parent's bits
 * never lock us out of a child still to do.
 *
 * Symlinks are never followed: the folders on the way must still be real ones
 * (dirsAreSafe) and the folder itself is opened with O_NOFOLLOW, then changed
 * through that descriptor. Only the 0o777 bits are applied: never setuid,
 * setgid or sticky.
 */
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { checkRelPath, dirsAreSafe } from './safe-names.js';

export interface FolderMeta {
  /** The folder's relative path, as in the manifest. */
  name: string;
  mode?: number | undefined;
  /** Milliseconds since the epoch. */
  mtime?: number | undefined;
}

const OPEN_DIR = constants.O_RDONLY | (constants.O_DIRECTORY ?? 0) | (constants.O_NOFOLLOW ?? 0);

/**
 * Where the folder is not ours to change (it was already there, someone
 * else's) or is no longer a plain folder, its files are still good: skip it
 * rather than fail a finished transfer.
 */
const SKIP_ERRNO: ReadonlySet<string> = new Set(['EPERM', 'EACCES', 'ELOOP', 'ENOTDIR', 'ENOENT']);

/** Apply each folder's mode and mtime under `root`, deepest first. Throws what the caller maps to a write error. */
export async function applyFolderMeta(root: string, folders: readonly FolderMeta[]): Promise<void> {
  const byDepth = folders
    .map((f) => ({ ...f, parts: checkRelPath(f.name).split('/') }))
    .sort((a, b) => b.parts.length - a.parts.length);
  for (const folder of byDepth) {
    if (folder.mode === undefined && folder.mtime === undefined) continue;
    if (!(await dirsAreSafe(root, folder.parts.slice(0, -1)))) continue;
    let handle: fs.FileHandle | undefined;
    try {
      handle = await fs.open(path.join(path.resolve(root), ...folder.parts), OPEN_DIR);
      if (folder.mode !== undefined) await handle.chmod(folder.mode & 0o777);
      if (folder.mtime !== undefined) {
        const when = new Date(folder.mtime);
        await handle.utimes(when, when);
      }
    } catch (err) {
      if (!SKIP_ERRNO.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
    } finally {
      await handle?.close();
    }
  }
}
