/**
 * Modes of what the receiver creates, and the folders' modes and mtimes.
 *
 * A new file or folder gets the sender's permission bits as any new file of
 * ours would: `mode & ~umask`, so the receiver's umask (022, 077) still rules
 * and an executable bit is kept only where the sender set it. Only the 0o777
 * bits: never setuid, setgid or sticky.
 *
 * A folder that was already there is never changed: not its mode, not its
 * mtime (a received tree must not turn an existing ~/.ssh from 0700 into 0777).
 * Folders this session created get their mode and mtime last, once
 * everything inside them is written (a file created in a folder changes its
 * mtime, and a read-only folder would refuse the files), deepest first, so a
 * parent's bits never lock us out of a child still to do. Each is reached
 * through held folder handles (openDirs, no symlink followed) and must still
 * be the folder created (device and inode), else it is left alone.
 */
import { readFileSync } from 'node:fs';
import { PeerlaneError } from '../core/errors.js';
import type { HeldDir } from './safe-names.js';
import { checkRelPath, openDirs } from './safe-names.js';

export interface FolderMeta {
  /** The folder's relative path, as in the manifest. */
  name: string;
  mode?: number | undefined;
  /** Milliseconds since the epoch. */
  mtime?: number | undefined;
}

/** Folders created by this session, by relative path, with the identity they were created with. */
export type CreatedFolders = Map<string, { dev: number; ino: number }>;

/**
 * The process's umask. Read from /proc where there is one: process.umask()
 * without an argument sets the mask to 0 for an instant to learn it, and a
 * file created on another thread in that instant would get mode 0666.
 */
export function umask(): number {
  try {
    const found = /^Umask:\s*([0-7]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (found?.[1] !== undefined) return Number.parseInt(found[1], 8);
  } catch {
    // Not Linux: ask Node.
  }
  return process.umask();
}

/** The mode a new file or folder of ours gets for the sender's `mode` (or `fallback` when it sent none). */
export function newMode(mode: number | undefined, fallback: number): number {
  return (mode ?? fallback) & 0o777 & ~umask();
}

/**
 * Where the folder is no longer ours to change (gone, swapped, someone
 * else's), its files are still good: skip it rather than fail a finished
 * transfer.
 */
const SKIP_ERRNO: ReadonlySet<string> = new Set(['EPERM', 'EACCES', 'ELOOP', 'ENOTDIR', 'ENOENT']);

/**
 * Apply each created folder's mode and mtime under `root`, deepest first;
 * folders not in `created` are left as they are. Throws what the caller maps
 * to a write error.
 */
export async function applyFolderMeta(
  root: string,
  folders: readonly FolderMeta[],
  created: CreatedFolders,
): Promise<void> {
  const byDepth = folders
    .map((f) => ({ ...f, safe: checkRelPath(f.name) }))
    .filter((f) => created.has(f.safe) && (f.mode !== undefined || f.mtime !== undefined))
    .sort((a, b) => b.safe.split('/').length - a.safe.split('/').length);
  for (const folder of byDepth) {
    let dir: HeldDir | undefined;
    try {
      dir = await openDirs(root, folder.safe.split('/'), folder.name, { create: false });
      const was = created.get(folder.safe);
      if (dir.dev !== was?.dev || dir.ino !== was.ino) continue;
      if (folder.mode !== undefined) await dir.handle.chmod(newMode(folder.mode, 0o777));
      if (folder.mtime !== undefined) {
        const when = new Date(folder.mtime);
        await dir.handle.utimes(when, when);
      }
    } catch (err) {
      // openDirs wraps the errno in a PeerlaneError; a symlink on the way is its BAD_NAME.
      const errno =
        err instanceof PeerlaneError
          ? (err.cause as NodeJS.ErrnoException | undefined)?.code
          : (err as NodeJS.ErrnoException).code;
      const swapped = err instanceof PeerlaneError && err.code === 'BAD_NAME';
      if (!swapped && !SKIP_ERRNO.has(errno ?? '')) throw err;
    } finally {
      await dir?.handle.close();
    }
  }
}
