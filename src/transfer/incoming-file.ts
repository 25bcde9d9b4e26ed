/**
 * The disk side of receiving: before ACCEPT, what the output folder already
 * holds for each file (surveyTargets: complete and identical, or a `.part` to
 * resume) and the manifest's folders; then, for one file at a time, its
 * `.part` opened (fresh, or continuing an earlier run's), each DATA payload
 * written at its offset, and the verified file finished and published, or
 * closed and kept or removed on failure.
 *
 * Apart from receiver.ts so that the frame flow there reads without the disk
 * details; these functions take what they need as parameters (the output
 * folder, the names taken so far, overwrite) and hold no state of their own.
 * The receiver checks each frame against the protocol before calling in here;
 * this module deals with the file system, and turns its failures into
 * PeerlaneErrors (writeError).
 */

import type { Hash } from 'node:crypto';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { PeerlaneError, toPeerlaneError } from '../core/errors.js';
import type { ManifestEntry } from '../core/transfer/protocol.js';
import { BLOCK_SIZE } from '../core/transfer/protocol.js';
import type { FileResult } from '../core/transfer/types.js';
import { type CreatedFolders, newMode } from './folders.js';
import { BlockLog, hashRange, readResumable } from './resume.js';
import type { HeldDir } from './safe-names.js';
import {
  checkRelPath,
  dirsAreSafe,
  freeTarget,
  onDisk,
  openDirs,
  openPart,
  PART_SUFFIX,
  publish,
  splitRelPath,
  targetPath,
} from './safe-names.js';

export interface OpenFile {
  index: number;
  entry: ManifestEntry;
  target: string;
  partPath: string;
  /** The .part, or undefined when writing to `stdout`. */
  handle: fs.FileHandle | undefined;
  /** The folder the .part is in, held open: every later step goes through it, never the path again. */
  dir: HeldDir | undefined;
  hash: Hash;
  received: number;
  /** Bytes that were already on disk from an earlier run. */
  resumed: number;
  log: BlockLog | undefined;
}

/** An earlier run's `.part` that this transfer may continue: its target and the hashes of its whole blocks. */
export interface Resumable {
  target: string;
  blocks: string[];
}

/** Failures that prove the data bad: the .part and its state go. Anything else keeps them for a resume. */
export const DISCARD_ON: ReadonlySet<string> = new Set([
  'HASH_MISMATCH',
  'BAD_FRAME',
  'BAD_NAME',
  'VERSION_MISMATCH',
  // The sender ended a file or the transfer early: a broken sender's bytes are not trusted.
  'TRANSFER_INCOMPLETE',
]);

/** A write-side failure as a PeerlaneError: EDQUOT is DISK_FULL here, ENOSPC in toPeerlaneError. */
export function writeError(err: unknown): PeerlaneError {
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  const error =
    errno === 'EDQUOT'
      ? new PeerlaneError('DISK_FULL', (err as Error).message, { cause: err })
      : toPeerlaneError(err, 'OUT_NOT_WRITABLE');
  return error;
}

/**
 * The `.part` of an earlier run for this name, size and sender's SHA-256
 * (resume.ts), if its target is still free. `targets` holds where earlier
 * attempts of this session put each name; a target found here is added to
 * `taken`.
 */
export async function findResumable(
  outDir: string,
  entry: ManifestEntry,
  targets: ReadonlyMap<string, string>,
  taken: Set<string>,
): Promise<Resumable | undefined> {
  if (entry.size === null || entry.kind === 'dir') return undefined;
  // An earlier attempt of this session may have written it under `name (1)`.
  const target = targets.get(entry.name) ?? targetPath(outDir, entry.name);
  if (taken.has(target)) return undefined;
  // Never read state through a symlinked folder.
  if (!(await dirsAreSafe(outDir, splitRelPath(checkRelPath(entry.name)).dirs))) return undefined;
  // The finished name is taken now: start afresh elsewhere, before hashing the .part's blocks.
  if ((await fs.lstat(target).catch(() => undefined)) !== undefined) return undefined;
  const blocks = await readResumable(target + PART_SUFFIX, entry.size, entry.sha256);
  if (blocks === undefined) return undefined;
  taken.add(target);
  return { target, blocks };
}

/**
 * A regular file already at the entry's own path (not `name (1)`) with its
 * size and the SHA-256 the sender stated: an earlier run's, complete. The
 * sender's hash is compared with ours, never the other way round, so a sender
 * learns only what it could state itself.
 */
export async function isIdentical(outDir: string, entry: ManifestEntry): Promise<boolean> {
  if (entry.sha256 === undefined || entry.size === null || entry.kind === 'dir') return false;
  // Never read through a symlinked folder, nor a symlink, FIFO or device.
  if (!(await dirsAreSafe(outDir, splitRelPath(checkRelPath(entry.name)).dirs))) return false;
  const target = targetPath(outDir, entry.name);
  let handle: fs.FileHandle | undefined;
  try {
    const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
    handle = await fs.open(target, O_RDONLY | (O_NOFOLLOW ?? 0) | (O_NONBLOCK ?? 0));
    const stat = await handle.stat();
    if (!stat.isFile() || stat.size !== entry.size) return false;
    const hash = createHash('sha256');
    await hashRange(handle, 0, entry.size, hash);
    return hash.digest('hex') === entry.sha256;
  } catch {
    return false;
  } finally {
    await handle?.close().catch(() => {});
  }
}

export interface SurveyOptions {
  outDir: string;
  files: readonly ManifestEntry[];
  /** Files verified and in place in earlier attempts of this session, by manifest name. */
  completed: ReadonlyMap<string, FileResult>;
  /** Where earlier attempts of this session put each name's `.part`. */
  targets: ReadonlyMap<string, string>;
  /** Targets given out in this transfer; each resumable one is added. */
  taken: Set<string>;
  overwrite: boolean;
}

/** What is on disk already for a manifest, by manifest index. */
export interface Survey {
  /** Files in place from an earlier attempt of this session: held, not received again. */
  held: Map<number, FileResult>;
  /** Earlier `.part` files this transfer may continue. */
  resumable: Map<number, Resumable>;
  /** Files complete and identical from an earlier run (isIdentical): not sent. */
  already: Map<number, FileResult>;
}

/**
 * Before ACCEPT: which files an earlier attempt left in place or half-written.
 * With `overwrite`, also refuses now (BAD_NAME) a target that could not be
 * replaced, rather than mid-transfer.
 */
export async function surveyTargets(options: SurveyOptions): Promise<Survey> {
  const { outDir, files } = options;
  const held = new Map<number, FileResult>();
  const resumable = new Map<number, Resumable>();
  const already = new Map<number, FileResult>();
  for (const [index, f] of files.entries()) {
    const done = options.completed.get(f.name);
    if (done !== undefined && f.kind !== 'dir' && f.size === done.bytes) {
      held.set(index, done);
      continue;
    }
    if (f.sha256 !== undefined && f.size !== null && (await isIdentical(outDir, f))) {
      const path = targetPath(outDir, f.name);
      already.set(index, {
        name: f.name,
        path,
        bytes: f.size,
        sha256: f.sha256,
        resumedBytes: f.size,
        already: true as const,
      });
      continue;
    }
    const found = await findResumable(outDir, f, options.targets, options.taken);
    if (found !== undefined) resumable.set(index, found);
  }
  if (options.overwrite) {
    // A folder, symlink or stray .part in the way: refused now rather than mid-transfer.
    const scratch = new Set<string>();
    for (const [index, f] of files.entries()) {
      // A folder is merged into an existing one, never replaced.
      if (!resumable.has(index) && !held.has(index) && !already.has(index) && f.kind !== 'dir') {
        await freeTarget(outDir, f.name, scratch, true);
      }
    }
  }
  return { held, resumable, already };
}

/**
 * The bytes a manifest still needs on disk: nothing for a file held or
 * already there, and for a resumable one only what its `.part` lacks (the
 * blocks offered are reused in place; if the sender declines them, the .part
 * is cut back and frees as much).
 */
export function bytesToWrite(files: readonly ManifestEntry[], survey: Survey): number {
  let needed = 0;
  for (const [index, f] of files.entries()) {
    if (survey.held.has(index) || survey.already.has(index)) continue;
    needed += (f.size ?? 0) - (survey.resumable.get(index)?.blocks.length ?? 0) * BLOCK_SIZE;
  }
  return needed;
}

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

/** The one file of --stdout: nothing on disk, nothing to resume. */
export function openStream(index: number, entry: ManifestEntry): OpenFile {
  return {
    index,
    entry,
    target: '-',
    partPath: '-',
    handle: undefined,
    dir: undefined,
    hash: createHash('sha256'),
    received: 0,
    resumed: 0,
    log: undefined,
  };
}

export interface OpenIncomingOptions {
  outDir: string;
  index: number;
  entry: ManifestEntry;
  /** Where the sender starts: 0, or the end of the blocks `earlier` offered. */
  offset: number;
  /** The earlier `.part` offered for this file, if any; continued when `offset` > 0. */
  earlier: Resumable | undefined;
  /** Targets given out in this transfer; a fresh target is added to it. */
  taken: Set<string>;
  overwrite: boolean;
}

/**
 * Open the file's `.part` under `outDir`, creating its folders: the earlier
 * one cut back to `offset` with that prefix hashed again, or a new one at a
 * free target. Its block state is not written yet; the caller saves `log` once
 * the file is its own to clean up.
 */
export async function openIncoming(options: OpenIncomingOptions): Promise<OpenFile> {
  const { outDir, index, entry, offset, earlier } = options;
  const hash = createHash('sha256');
  let target: string;
  let handle: fs.FileHandle;
  let dir: HeldDir | undefined;
  try {
    // Its folders, created one by one under outDir, none of them a symlink, and
    // the last held open: a folder swapped for a symlink later changes nothing.
    dir = await openDirs(outDir, splitRelPath(checkRelPath(entry.name)).dirs, entry.name);
    if (earlier !== undefined) {
      // Continue the earlier .part: keep the agreed prefix, drop any tail past it.
      target = earlier.target;
      // Read-write (the kept prefix is re-hashed), never through a symlink.
      const flags = fs.constants.O_RDWR | (fs.constants.O_NOFOLLOW ?? 0);
      const part = await fs.open(onDisk(target + PART_SUFFIX, dir), flags);
      try {
        await part.truncate(offset);
        await hashRange(part, 0, offset, hash);
      } catch (err) {
        // Not yet the caller's to close: it never got the file.
        await part.close().catch(() => {});
        throw err;
      }
      handle = part;
    } else {
      target = await freeTarget(outDir, entry.name, options.taken, options.overwrite, dir);
      // Exclusive create without following links: fails on anything already there.
      handle = await openPart(target + PART_SUFFIX, dir);
    }
  } catch (err) {
    await dir?.handle.close().catch(() => {});
    throw writeError(err);
  }
  const partPath = target + PART_SUFFIX;
  const blocks = offset > 0 ? (earlier?.blocks ?? []) : [];
  // A stream of unknown size cannot resume, nor a file whose sender stated no hash to bind its state to.
  const log =
    entry.size === null || entry.sha256 === undefined
      ? undefined
      : new BlockLog(onDisk(partPath, dir), entry.size, entry.sha256, blocks.length);
  return { index, entry, target, partPath, handle, dir, hash, received: offset, resumed: offset, log };
}

/** Write all of `data` to a stream, resolving once it has taken it. */
function writeTo(stream: Writable, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(data, (err) => (err ? reject(err) : resolve()));
  });
}

/**
 * Hash one DATA payload and write it at `offset` (the receiver has checked
 * both), to the `.part` or, for --stdout, to `stdout`. Does not count it:
 * `received` is the caller's to advance.
 */
export async function writePayload(
  file: OpenFile,
  payload: Buffer,
  offset: number,
  stdout: Writable | undefined,
): Promise<void> {
  const length = payload.length;
  file.hash.update(payload);
  try {
    if (file.handle === undefined && stdout !== undefined) await writeTo(stdout, payload);
    // A write may be short (a disk filling up); the rest must not become a hole.
    let written = 0;
    while (file.handle !== undefined && written < length) {
      const { bytesWritten } = await file.handle.write(payload, written, length - written, offset + written);
      if (bytesWritten <= 0) throw new PeerlaneError('OUT_NOT_WRITABLE', `cannot write ${file.partPath}`);
      written += bytesWritten;
    }
    await file.log?.add(length);
  } catch (err) {
    throw writeError(err);
  }
}

/**
 * Put a verified file in place: the sender's mode (within our umask) and
 * mtime on the `.part`, closed, published under a name that replaces nothing
 * (or, with `overwrite`, a regular file), and its block state removed. Returns
 * where it went ('-' for --stdout).
 */
export async function finishFile(file: OpenFile, taken: Set<string>, overwrite: boolean): Promise<string> {
  let finalPath = '-';
  try {
    if (file.handle !== undefined) {
      // The sender's permission bits as a new file of ours would get them, never setuid and the like.
      await file.handle.chmod(newMode(file.entry.mode, 0o666));
      if (file.entry.mtime !== undefined) {
        const when = new Date(file.entry.mtime);
        await file.handle.utimes(when, when);
      }
      // close() can report a deferred write error (ENOSPC on NFS, say).
      await file.handle.close();
      finalPath = await publish(file.partPath, file.target, file.entry.name, taken, overwrite, file.dir);
    }
  } catch (err) {
    throw writeError(err);
  }
  await file.log?.remove();
  await file.dir?.handle.close().catch(() => {});
  return finalPath;
}

/**
 * Close a half-written file. With `keep`, it and its block state stay for a
 * later run to resume; otherwise (its data is proven bad) both are removed.
 */
export async function discard(file: OpenFile | undefined, keep: boolean): Promise<void> {
  if (file === undefined || file.handle === undefined) return;
  await file.handle.close().catch(() => {});
  await file.log?.close();
  if (!keep) {
    await fs.unlink(onDisk(file.partPath, file.dir)).catch(() => {});
    await file.log?.remove();
  }
  await file.dir?.handle.close().catch(() => {});
}
