/**
 * The disk side of receiving: before ACCEPT, what the output folder already
 * holds for each file (surveyTargets) and the manifest's folders; then, for
 * one file at a time, its `.part` opened (fresh, or continuing an earlier
 * run's), each DATA payload written at its offset, and the verified file
 * finished and published, or closed and kept or removed on failure.
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
import { PeerlaneError, toPeerlaneError } from '../errors.js';
import type { ManifestEntry } from './protocol.js';
import { BlockLog, hashRange, readResumable } from './resume.js';
import {
  checkRelPath,
  dirsAreSafe,
  freeTarget,
  makeDirs,
  openPart,
  PART_SUFFIX,
  publish,
  splitRelPath,
  targetPath,
} from './safe-names.js';
import type { FileResult } from './types.js';

export interface OpenFile {
  index: number;
  entry: ManifestEntry;
  target: string;
  partPath: string;
  /** The .part, or undefined when writing to `stdout`. */
  handle: fs.FileHandle | undefined;
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
 * The `.part` of an earlier run for this name and size, if its target is still
 * free. `targets` holds where earlier attempts of this session put each name;
 * a target found here is added to `taken`.
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
  const blocks = await readResumable(target + PART_SUFFIX, entry.size);
  if (blocks === undefined) return undefined;
  taken.add(target);
  return { target, blocks };
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
  for (const [index, f] of files.entries()) {
    const done = options.completed.get(f.name);
    if (done !== undefined && f.kind !== 'dir' && f.size === done.bytes) {
      held.set(index, done);
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
      if (!resumable.has(index) && !held.has(index) && f.kind !== 'dir') {
        await freeTarget(outDir, f.name, scratch, true);
      }
    }
  }
  return { held, resumable };
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

/** Create the manifest's folders under `outDir`; returns them, for their modes and mtimes at the end (folders.ts). */
export async function createFolders(
  outDir: string,
  files: readonly ManifestEntry[],
): Promise<ManifestEntry[]> {
  const folders: ManifestEntry[] = [];
  for (const f of files) {
    if (f.kind !== 'dir') continue;
    const safe = checkRelPath(f.name);
    try {
      await makeDirs(outDir, safe.split('/'), f.name);
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
  try {
    // Its folders, created one by one under outDir, none of them a symlink.
    await makeDirs(outDir, splitRelPath(checkRelPath(entry.name)).dirs, entry.name);
    if (earlier !== undefined) {
      // Continue the earlier .part: keep the agreed prefix, drop any tail past it.
      target = earlier.target;
      // Read-write (the kept prefix is re-hashed), never through a symlink.
      const part = await fs.open(target + PART_SUFFIX, fs.constants.O_RDWR | (fs.constants.O_NOFOLLOW ?? 0));
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
      target = await freeTarget(outDir, entry.name, options.taken, options.overwrite);
      // Exclusive create without following links: fails on anything already there.
      handle = await openPart(target + PART_SUFFIX);
    }
  } catch (err) {
    throw writeError(err);
  }
  const partPath = target + PART_SUFFIX;
  const blocks = offset > 0 ? (earlier?.blocks ?? []) : [];
  // A stream of unknown size cannot resume: its state would not match a later run.
  const log = entry.size === null ? undefined : new BlockLog(partPath, entry.size, blocks.length);
  return { index, entry, target, partPath, handle, hash, received: offset, resumed: offset, log };
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
 * Put a verified file in place: the sender's mode and mtime on the `.part`,
 * closed, published under a name that replaces nothing (or, with `overwrite`,
 * a regular file), and its block state removed. Returns where it went ('-'
 * for --stdout).
 */
export async function finishFile(file: OpenFile, taken: Set<string>, overwrite: boolean): Promise<string> {
  let finalPath = '-';
  try {
    if (file.handle !== undefined) {
      // The sender's permission bits (never setuid and the like) and mtime, on the open .part.
      if (file.entry.mode !== undefined) await file.handle.chmod(file.entry.mode & 0o777);
      if (file.entry.mtime !== undefined) {
        const when = new Date(file.entry.mtime);
        await file.handle.utimes(when, when);
      }
      // close() can report a deferred write error (ENOSPC on NFS, say).
      await file.handle.close();
      finalPath = await publish(file.partPath, file.target, file.entry.name, taken, overwrite);
    }
  } catch (err) {
    throw writeError(err);
  }
  await file.log?.remove();
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
  if (keep) return;
  await fs.unlink(file.partPath).catch(() => {});
  await file.log?.remove();
}
