/**
 * Received names are hostile. This module turns a name offered by the peer into
 * a path under the output folder, or refuses it, and decides what may be
 * replaced when the user asked to overwrite. The checks of the name itself,
 * which need no file system, are core/transfer/names.ts's.
 *
 * Folders are created under the output folder only, one component at a time,
 * and an existing component must be a real folder (lstat), never a symlink.
 *
 * Nothing here follows a symlink: names are tested with lstat, the `.part` is
 * created exclusively (O_EXCL, plus O_NOFOLLOW where the platform has it), and
 * a finished file is moved into place with link(2) or rename(2), which act on
 * the directory entry, never on what a symlink points to.
 *
 * Nor is a path resolved again once checked: a file's folder is reached one
 * component at a time, each opened through the handle of the one before
 * (openDirs), and held open while the file is written; its `.part`, its state,
 * the name search and the final link all go through that handle (onDisk).
 * Someone swapping a folder for a symlink mid-transfer can make the transfer
 * fail, never make a file land outside the output folder.
 */
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { PeerlaneError, toPeerlaneError } from '../core/errors.js';
import {
  utf8Bytes as bytes,
  checkRelPath,
  MAX_PATH_BYTES,
  PART_SUFFIX,
  refuseName,
  splitRelPath,
} from '../core/transfer/names.js';
import { MAX_FILES, MAX_NAME_BYTES } from '../core/transfer/protocol.js';

export {
  checkFileName,
  checkRelPath,
  MAX_PATH_BYTES,
  PART_SUFFIX,
  splitRelPath,
} from '../core/transfer/names.js';

/**
 * A folder under the output folder, held open. `via` names exactly that
 * folder, whatever happens to the path meanwhile: on Linux it is
 * `/proc/self/fd/N`, which the kernel resolves to the open folder itself, so
 * `via/name` acts like openat(2) on the handle. Elsewhere it is the path, and
 * only the checks made on the way protect it.
 */
export interface HeldDir {
  /** The folder's path, for messages and results. */
  path: string;
  /** What file operations in it go through (see above). */
  via: string;
  handle: fs.FileHandle;
  dev: number;
  ino: number;
}

/** Open a folder for holding: read-only, a folder, never a symlink at `at` (unless `follow`). */
const OPEN_DIR = constants.O_RDONLY | (constants.O_DIRECTORY ?? 0);

/** Linux resolves /proc/self/fd/N to the open file itself: checked once, on the first held folder. */
let procFd: boolean | undefined;

async function holdDir(at: string, shown: string, follow: boolean): Promise<HeldDir> {
  const handle = await fs.open(at, OPEN_DIR | (follow ? 0 : (constants.O_NOFOLLOW ?? 0)));
  try {
    const stat = await handle.stat();
    const proc = `/proc/self/fd/${handle.fd}`;
    if (procFd === undefined) {
      const seen = await fs.stat(proc).catch(() => undefined);
      procFd = seen?.dev === stat.dev && seen.ino === stat.ino;
    }
    return { path: shown, via: procFd ? proc : shown, handle, dev: stat.dev, ino: stat.ino };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/**
 * The path `p` as file operations should use it: through `dir`'s handle when
 * `p` is directly inside it, else `p` itself.
 */
export function onDisk(p: string, dir: HeldDir | undefined): string {
  return dir !== undefined && path.dirname(p) === dir.path ? path.join(dir.via, path.basename(p)) : p;
}

export interface OpenDirsOptions {
  /** Create missing folders (default); without, a missing one is ENOENT. */
  create?: boolean;
  /** Each folder created, by its path relative to `root`, with its identity. */
  onCreate?: (rel: string, dir: HeldDir) => void;
}

/**
 * Open the folder at the relative path `rel` under `root`, creating missing
 * ones, one component at a time and each through the handle of the one
 * before: no path is resolved again after it was checked, so a folder swapped
 * for a symlink meanwhile is never followed. An existing component must be a
 * real folder (O_NOFOLLOW): a symlink or file there is BAD_NAME. `root`
 * itself (the user's --out) may be a symlink. The caller closes the result.
 */
export async function openDirs(
  root: string,
  rel: readonly string[],
  name: string,
  options: OpenDirsOptions = {},
): Promise<HeldDir> {
  const top = path.resolve(root);
  let dir = await holdDir(top, top, true).catch((err: unknown) => {
    throw toPeerlaneError(err, 'OUT_NOT_WRITABLE');
  });
  try {
    for (const [i, part] of rel.entries()) {
      const shown = path.join(dir.path, part);
      const at = path.join(dir.via, part);
      let created = false;
      if (options.create !== false) {
        try {
          await fs.mkdir(at, { mode: 0o755 });
          created = true;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
            throw toPeerlaneError(err, 'OUT_NOT_WRITABLE');
        }
      }
      const child = await holdDir(at, shown, false).catch((err: unknown) => {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ELOOP' || code === 'ENOTDIR')
          refuseName(name, `${shown} is a symbolic link or not a folder`);
        throw toPeerlaneError(err, 'OUT_NOT_WRITABLE');
      });
      await dir.handle.close();
      dir = child;
      if (created) options.onCreate?.(rel.slice(0, i + 1).join('/'), dir);
    }
    return dir;
  } catch (err) {
    await dir.handle.close().catch(() => {});
    throw err;
  }
}

/** Create the folders of the relative path `rel` under `root`, as openDirs does, and let go of them. */
export async function makeDirs(root: string, rel: readonly string[], name: string): Promise<void> {
  await (await openDirs(root, rel, name)).handle.close();
}

/** True if every existing folder of `rel` under `root` is a real folder (no symlink on the way). */
export async function dirsAreSafe(root: string, rel: readonly string[]): Promise<boolean> {
  let at = path.resolve(root);
  for (const part of rel) {
    at = path.join(at, part);
    try {
      if (!(await fs.lstat(at)).isDirectory()) return false;
    } catch {
      return true; // not there yet: it will be created, and checked then
    }
  }
  return true;
}

/** Throw BAD_NAME unless `target` is inside `root` at `safe` and its `.part` fits in PATH_MAX. */
function checkTarget(root: string, target: string, name: string, safe = path.basename(target)): void {
  // Defence in depth: whatever checkRelPath missed, never leave `root`.
  const { dirs } = splitRelPath(safe);
  if (path.dirname(target) !== path.join(root, ...dirs)) refuseName(name, 'it leaves the output folder');
  const rel = path.relative(root, target);
  if (rel.startsWith('..') || path.isAbsolute(rel)) refuseName(name, 'it leaves the output folder');
  if (bytes(target + PART_SUFFIX) >= MAX_PATH_BYTES) {
    refuseName(name, `the path under ${root} would exceed ${MAX_PATH_BYTES} bytes`);
  }
}

/**
 * The path `name` would be received at under `dir`, before any numbering.
 * Throws BAD_NAME for an unsafe name or a path that is too long. No file system access.
 */
export function targetPath(dir: string, name: string): string {
  const safe = checkRelPath(name);
  const root = path.resolve(dir);
  const target = path.join(root, ...safe.split('/'));
  checkTarget(root, target, name, safe);
  return target;
}

/** Drop trailing code points from `stem` until `stem + rest` fits in a name with its `.part`. */
function fitStem(stem: string, rest: string): string {
  const limit = MAX_NAME_BYTES - PART_SUFFIX.length;
  const points = Array.from(stem);
  while (points.length > 0 && bytes(points.join('') + rest) > limit) points.pop();
  return points.join('');
}

/** `name`, then `stem (1).ext`, `stem (2).ext`, …, shortening the stem if a long name would overflow. */
function candidate(name: string, n: number): string {
  if (n === 0) return name;
  const tag = ` (${n})`;
  const ext = path.extname(name);
  // An extension too long to keep next to a number is treated as part of the stem.
  if (ext.length > 0 && ext.length < name.length && bytes(tag + ext) <= 64) {
    return fitStem(name.slice(0, -ext.length), tag + ext) + tag + ext;
  }
  return fitStem(name, tag) + tag;
}

async function exists(p: string, dir?: HeldDir): Promise<boolean> {
  try {
    await fs.lstat(onDisk(p, dir));
    return true;
  } catch {
    return false;
  }
}

/**
 * Throw BAD_NAME unless `target` is absent or a regular file, the only thing
 * --overwrite may replace. A symlink is refused, not followed and not replaced:
 * the user cannot have meant to swap a link of theirs for a stranger's file.
 */
export async function checkReplaceable(
  target: string,
  name: string = path.basename(target),
  dir?: HeldDir,
): Promise<void> {
  let stat: Awaited<ReturnType<typeof fs.lstat>>;
  try {
    stat = await fs.lstat(onDisk(target, dir));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw toPeerlaneError(err, 'OUT_NOT_WRITABLE');
  }
  if (stat.isFile()) return;
  const what = stat.isDirectory()
    ? 'a folder'
    : stat.isSymbolicLink()
      ? 'a symbolic link'
      : 'not a regular file';
  refuseName(name, `${target} is ${what}, which is never overwritten`);
}

/**
 * Numbered names tried past the first free candidate remembered: one transfer
 * holds at most MAX_FILES names, so only a folder that already holds this many
 * `name (n)` runs out.
 */
const NAME_TRIES = MAX_FILES + 1;

/**
 * Per set of taken names (one transfer's), the next number to try for each
 * folder and name. Kept beside the set rather than in it, so callers still
 * pass a plain Set; it goes when the set does.
 */
const nextFree = new WeakMap<ReadonlySet<string>, Map<string, number>>();

/**
 * A path under `dir` for `name` that this transfer may write to.
 *
 * Without `overwrite`: a name where neither the file nor its `.part` exists and
 * that no other file of this transfer has taken. Never overwrites.
 *
 * With `overwrite`: `dir/name` itself when it is absent or a regular file (see
 * checkReplaceable; a folder or symlink there is BAD_NAME), and its `.part` is
 * free (BAD_NAME otherwise: another transfer may be writing it, or it was kept
 * for a resume). A name already taken by this transfer is never replaced: a
 * second file of the same name gets a numbered sibling as without `overwrite`.
 */
export async function freeTarget(
  dir: string,
  name: string,
  taken: Set<string>,
  overwrite = false,
  held?: HeldDir,
): Promise<string> {
  const safe = checkRelPath(name);
  const root = path.resolve(dir);
  const { dirs, base } = splitRelPath(safe);
  const parent = path.join(root, ...dirs);
  if (overwrite) {
    const target = path.join(parent, base);
    checkTarget(root, target, name, safe);
    if (!taken.has(target)) {
      await checkReplaceable(target, name, held);
      if (await exists(target + PART_SUFFIX, held)) {
        refuseName(name, `${target}${PART_SUFFIX} already exists (another transfer, or one cut short)`);
      }
      taken.add(target);
      return target;
    }
  }
  // Every number below the one remembered was taken or existed when last tried:
  // start past them, so n files of one name cost O(n) look-ups, not O(n²).
  let next = nextFree.get(taken);
  if (next === undefined) {
    next = new Map();
    nextFree.set(taken, next);
  }
  const key = `${parent}/${base}`;
  const start = next.get(key) ?? 0;
  for (let n = start; n < start + NAME_TRIES; n++) {
    const target = path.join(parent, candidate(base, n));
    checkTarget(root, target, name, [...dirs, path.basename(target)].join('/'));
    if (taken.has(target)) continue;
    if (await exists(target, held)) continue;
    if (await exists(target + PART_SUFFIX, held)) continue;
    taken.add(target);
    next.set(key, n + 1);
    return target;
  }
  throw new PeerlaneError('BAD_NAME', `no free name for ${safe}`);
}

/** Flags for a new `.part`: write-only, created here and now, never through a symlink. */
export const PART_OPEN_FLAGS =
  constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);

/**
 * Create `partPath` for writing. Fails rather than follow or reuse anything
 * already there, a dangling symlink included (EEXIST → OUT_NOT_WRITABLE;
 * ENOSPC → DISK_FULL).
 */
export async function openPart(partPath: string, dir?: HeldDir): Promise<fs.FileHandle> {
  try {
    // Private while it is incomplete; it gets its final mode once verified.
    return await fs.open(onDisk(partPath, dir), PART_OPEN_FLAGS, 0o600);
  } catch (err) {
    throw toPeerlaneError(err, 'OUT_NOT_WRITABLE');
  }
}

/**
 * Move a verified `.part` into place.
 *
 * Without `overwrite`, nothing is replaced: link(2) fails on an existing
 * target, where rename(2) would silently replace it. Returns the final path,
 * which differs from `target` if something appeared there meanwhile (then it
 * is the next free variant of `name`).
 *
 * With `overwrite`, and `target` being `name` itself (not a numbered sibling),
 * rename(2) replaces a regular file there atomically. A folder or symlink is
 * refused with BAD_NAME (checkReplaceable). Should a symlink be swapped in
 * between that check and the rename, the rename replaces the link itself and
 * never writes through it.
 */
export async function publish(
  partPath: string,
  target: string,
  name: string,
  taken: Set<string>,
  overwrite = false,
  dir?: HeldDir,
): Promise<string> {
  const { base } = splitRelPath(checkRelPath(name));
  const part = onDisk(partPath, dir);
  if (overwrite && path.basename(target) === base) {
    await checkReplaceable(target, name, dir);
    try {
      await fs.rename(part, onDisk(target, dir));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST') {
        refuseName(name, `${target} is a folder, which is never overwritten`);
      }
      throw err;
    }
    return target;
  }
  let dest = target;
  for (;;) {
    try {
      await fs.link(part, onDisk(dest, dir));
      await fs.unlink(part);
      return dest;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        dest = await freeTarget(path.dirname(target), base, taken, false, dir);
        continue;
      }
      if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') {
        // File systems without hard links: fall back to an exclusive copy.
        try {
          await fs.copyFile(part, onDisk(dest, dir), constants.COPYFILE_EXCL);
        } catch (copyErr) {
          if ((copyErr as NodeJS.ErrnoException).code === 'EEXIST') {
            dest = await freeTarget(path.dirname(target), base, taken, false, dir);
            continue;
          }
          // A half-copied file (ENOSPC, say) must not be left under the final name.
          await fs.unlink(onDisk(dest, dir)).catch(() => {});
          throw copyErr;
        }
        await fs.unlink(part);
        return dest;
      }
      throw err;
    }
  }
}
