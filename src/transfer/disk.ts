/**
 * Free space under the output folder, checked before a transfer is accepted so
 * the sender learns at once (DISK_FULL) instead of after gigabytes. Running out
 * mid-transfer is still possible (others write too) and is caught as ENOSPC.
 */
import fs from 'node:fs/promises';
import { PeerlaneError } from '../core/errors.js';
import { formatBytes } from '../core/format.js';

/** Bytes available to an unprivileged writer in the file system holding `dir`. */
export async function freeSpace(dir: string): Promise<number> {
  const stats = await fs.statfs(dir, { bigint: true });
  const free = stats.bavail * stats.bsize;
  return free > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(free);
}

/**
 * Throw DISK_FULL ("need X, only Y free in DIR") unless `needed` bytes fit in
 * the file system holding `dir`. Where the platform cannot tell, passes.
 * Throws OUT_NOT_WRITABLE if `dir` cannot be examined.
 */
export async function checkFreeSpace(dir: string, needed: number): Promise<void> {
  let free: number;
  try {
    free = await freeSpace(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOSYS' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') return;
    throw new PeerlaneError(
      'OUT_NOT_WRITABLE',
      `cannot check free space in ${dir}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  if (needed <= free) return;
  let need = formatBytes(needed);
  let have = formatBytes(free);
  // Rounded alike, the figures would not say why it failed.
  if (need === have) {
    need = `${needed} B`;
    have = `${free} B`;
  }
  throw new PeerlaneError('DISK_FULL', `need ${need}, only ${have} free in ${dir}`);
}
