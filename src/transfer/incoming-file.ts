/**
 * One file being received, on disk (IncomingFile, file-access.ts): its
 * `.part` opened (fresh, or continuing an earlier run's), each payload written
 * at its offset, and the verified file published under a name that replaces
 * nothing (or, with `overwrite`, a regular file), or closed and kept or
 * removed on failure. Beside the `.part` its block state (resume.ts) records
 * what a later run may resume. For --stdout, the one file goes to a stream.
 *
 * The receiver engine checks each frame against the protocol before calling
 * in here; this module deals with the file system, and turns its failures
 * into PeerlaneErrors (writeError).
 */
import fs from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { PeerlaneError, toPeerlaneError } from '../core/errors.js';
import type { IncomingFile, OpenRequest } from '../core/transfer/file-access.js';
import type { ManifestEntry } from '../core/transfer/protocol.js';
import { newMode } from './folders.js';
import { BlockLog, hashRange } from './resume.js';
import type { HeldDir } from './safe-names.js';
import {
  checkRelPath,
  freeTarget,
  onDisk,
  openDirs,
  openPart,
  PART_SUFFIX,
  publish,
  splitRelPath,
} from './safe-names.js';

/** A write-side failure as a PeerlaneError: EDQUOT is DISK_FULL here, ENOSPC in toPeerlaneError. */
export function writeError(err: unknown): PeerlaneError {
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  return errno === 'EDQUOT'
    ? new PeerlaneError('DISK_FULL', (err as Error).message, { cause: err })
    : toPeerlaneError(err, 'OUT_NOT_WRITABLE');
}

/**
 * Write all of `data` at `position`. A write may be short (a disk filling
 * up): the rest is written after it, never left as a hole that a later
 * chunk or block would be taken to have covered.
 */
export async function writeFully(
  handle: fs.FileHandle,
  data: Uint8Array,
  position: number,
  name: string,
): Promise<void> {
  for (let written = 0; written < data.length; ) {
    const { bytesWritten } = await handle.write(data, written, data.length - written, position + written);
    if (bytesWritten <= 0) throw new PeerlaneError('OUT_NOT_WRITABLE', `cannot write ${name}`);
    written += bytesWritten;
  }
}

/** Where a transfer writes: its output folder, the targets it gave out, and whether it may replace files. */
export interface OutPlace {
  outDir: string;
  /** Targets given out in this transfer; a fresh target is added to it. */
  taken: Set<string>;
  overwrite: boolean;
}

/**
 * Open the file's `.part` under `outDir`, creating its folders: the earlier
 * one cut back to `offset` with that prefix hashed again, or a new one at a
 * free target. Its block state is written at begin().
 */
export async function openIncoming(place: OutPlace, request: OpenRequest): Promise<DiskFile> {
  const { entry, offset, earlier } = request;
  let dir: HeldDir | undefined;
  try {
    // Its folders, created one by one under outDir, none of them a symlink, and
    // the last held open: a folder swapped for a symlink later changes nothing.
    dir = await openDirs(place.outDir, splitRelPath(checkRelPath(entry.name)).dirs, entry.name);
    if (earlier !== undefined) {
      // Continue the earlier .part: keep the agreed prefix, drop any tail past it.
      const handle = await continuePart(onDisk(earlier.target + PART_SUFFIX, dir), request);
      // Its block state counts the blocks kept: all offered, or none if the sender declined them.
      const kept = offset > 0 ? earlier.blocks.length : 0;
      return new DiskFile(place, entry, earlier.target, handle, dir, kept);
    }
    const target = await freeTarget(place.outDir, entry.name, place.taken, place.overwrite, dir);
    // Exclusive create without following links: fails on anything already there.
    return new DiskFile(place, entry, target, await openPart(target + PART_SUFFIX, dir), dir, 0);
  } catch (err) {
    await dir?.handle.close().catch(() => {});
    throw writeError(err);
  }
}

/** An earlier `.part`, read-write (never through a symlink), cut to `offset` with that prefix re-hashed. */
async function continuePart(partPath: string, { offset, hash }: OpenRequest): Promise<fs.FileHandle> {
  const part = await fs.open(partPath, fs.constants.O_RDWR | (fs.constants.O_NOFOLLOW ?? 0));
  try {
    await part.truncate(offset);
    await hashRange(part, 0, offset, hash);
    return part;
  } catch (err) {
    // Not yet the caller's to close: it never got the file.
    await part.close().catch(() => {});
    throw err;
  }
}

/** A `.part` on disk, with its block state. */
class DiskFile implements IncomingFile {
  readonly kept = true;
  private readonly partPath: string;
  private readonly log: BlockLog | undefined;

  constructor(
    private readonly place: OutPlace,
    private readonly entry: ManifestEntry,
    readonly target: string,
    private readonly handle: fs.FileHandle,
    /** The folder the .part is in, held open: every later step goes through it, never the path again. */
    private readonly dir: HeldDir | undefined,
    /** Whole blocks kept from an earlier run. */
    blocks: number,
  ) {
    this.partPath = target + PART_SUFFIX;
    // A stream of unknown size cannot resume, nor a file whose sender stated no hash to bind its state to.
    this.log =
      entry.size === null || entry.sha256 === undefined
        ? undefined
        : new BlockLog(onDisk(this.partPath, dir), entry.size, entry.sha256, blocks);
  }

  async begin(): Promise<void> {
    await this.log?.save().catch((err: unknown) => {
      throw writeError(err);
    });
  }

  async write(payload: Uint8Array, offset: number): Promise<void> {
    try {
      await writeFully(this.handle, payload, offset, this.partPath);
      await this.log?.add(payload.length);
    } catch (err) {
      throw writeError(err);
    }
  }

  /**
   * The sender's mode (within our umask) and mtime on the `.part`, closed,
   * published, and its block state removed.
   */
  async finish(): Promise<string> {
    const { entry, handle, place } = this;
    let finalPath: string;
    try {
      // The sender's permission bits as a new file of ours would get them, never setuid and the like.
      await handle.chmod(newMode(entry.mode, 0o666));
      if (entry.mtime !== undefined) await handle.utimes(new Date(entry.mtime), new Date(entry.mtime));
      // close() can report a deferred write error (ENOSPC on NFS, say).
      await handle.close();
      finalPath = await publish(
        this.partPath,
        this.target,
        entry.name,
        place.taken,
        place.overwrite,
        this.dir,
      );
    } catch (err) {
      throw writeError(err);
    }
    await this.log?.remove();
    await this.dir?.handle.close().catch(() => {});
    return finalPath;
  }

  async discard(keep: boolean): Promise<void> {
    await this.handle.close().catch(() => {});
    await this.log?.close();
    if (!keep) {
      await fs.unlink(onDisk(this.partPath, this.dir)).catch(() => {});
      await this.log?.remove();
    }
    await this.dir?.handle.close().catch(() => {});
  }
}

/** The one file of --stdout: written to a stream, nothing on disk, nothing to resume. */
export class StreamFile implements IncomingFile {
  readonly target = '-';
  readonly kept = false;

  constructor(private readonly stream: Writable) {}

  async begin(): Promise<void> {}

  /** Resolves once the stream has taken it: only then is its credit returned. */
  async write(payload: Uint8Array): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.stream.write(payload, (err) => (err ? reject(writeError(err)) : resolve()));
    });
  }

  async finish(): Promise<string> {
    return '-';
  }

  async discard(): Promise<void> {}
}
