/**
 * Receives the files announced by a manifest into `outDir`.
 *
 * Before ACCEPT, every name is checked (safe-names.ts), the user's consent is
 * asked (onManifest), and the free space must cover the whole manifest.
 *
 * Each file is written to `<name>.part`, checked for size and SHA-256, then
 * published under a name that replaces nothing (or, with `overwrite`, that
 * replaces a regular file of the same name atomically). Only then is it
 * acknowledged. Beside each `.part` a state file records its verified blocks
 * (resume.ts), so an interrupted transfer keeps both for a later run that
 * resumes; only data proven bad (a hash mismatch, a broken frame) is removed.
 * A `.part` never looks complete.
 *
 * Frames are handled strictly in order through one async queue. The sender may
 * only have RECEIVE_WINDOW bytes outstanding; a peer that exceeds it is cut off.
 */

import type { Hash } from 'node:crypto';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { PeerlaneError, toPeerlaneError } from '../errors.js';
import { checkFreeSpace } from './disk.js';
import type { FramedLink } from './framed-link.js';
import type { Frame, ManifestEntry, ResumeOffer } from './protocol.js';
import { BLOCK_SIZE, CREDIT_BATCH, RECEIVE_WINDOW } from './protocol.js';
import { BlockLog, blocksDigest, hashRange, readResumable } from './resume.js';
import { freeTarget, openPart, PART_SUFFIX, publish, targetPath } from './safe-names.js';
import type { FileResult, TransferProgress, TransferResult } from './types.js';

export interface ReceiveOptions {
  link: FramedLink;
  outDir: string;
  /**
   * Replace an existing regular file of the same name (atomically, once the
   * new one is verified) instead of writing `name (1).ext`. A folder or
   * symlink of that name is never replaced: BAD_NAME, before ACCEPT.
   */
  overwrite?: boolean | undefined;
  /**
   * Called with the checked manifest before anything is accepted; throw to
   * refuse. `signal` aborts if the transfer fails meanwhile (say, the peer
   * leaves while the user is being asked), so a prompt can be closed.
   */
  onManifest?: (files: readonly ManifestEntry[], signal: AbortSignal) => void | Promise<void>;
  onProgress?: (progress: TransferProgress) => void;
}

interface OpenFile {
  index: number;
  entry: ManifestEntry;
  target: string;
  partPath: string;
  handle: fs.FileHandle;
  hash: Hash;
  received: number;
  /** Bytes that were already on disk from an earlier run. */
  resumed: number;
  log: BlockLog;
}

/** Failures that prove the data bad: the .part and its state go. Anything else keeps them for a resume. */
const DISCARD_ON: ReadonlySet<string> = new Set([
  'HASH_MISMATCH',
  'BAD_FRAME',
  'BAD_NAME',
  'VERSION_MISMATCH',
  // The sender ended a file or the transfer early: a broken sender's bytes are not trusted.
  'TRANSFER_INCOMPLETE',
]);

interface Resumable {
  target: string;
  blocks: string[];
}

export async function receiveFiles(options: ReceiveOptions): Promise<TransferResult> {
  const { link, outDir } = options;
  const overwrite = options.overwrite ?? false;
  // Set at ACCEPT: time spent asking the human is not transfer time.
  let started = Date.now();
  let manifest: ManifestEntry[] | undefined;
  let total = 0;
  let bytesSoFar = 0;
  let current: OpenFile | undefined;
  let nextIndex = 0;
  let inFlight = 0;
  let uncredited = 0;
  const taken = new Set<string>();
  const results: FileResult[] = [];
  /** Earlier `.part` files this transfer may continue, by manifest index. */
  const resumable = new Map<number, Resumable>();
  let moved = 0;
  let queue: Promise<void> = Promise.resolve();

  let resolveFinished!: () => void;
  const finished = new Promise<void>((resolve) => {
    resolveFinished = resolve;
  });

  const returnCredit = (force: boolean): void => {
    if (uncredited > 0 && (force || uncredited >= CREDIT_BATCH)) {
      link.send({ type: 'credit', bytes: uncredited });
      uncredited = 0;
    }
  };

  /** A write-side failure as a PeerlaneError; ENOSPC and EDQUOT are DISK_FULL, and noted. */
  function writeError(err: unknown): PeerlaneError {
    const errno = (err as NodeJS.ErrnoException | undefined)?.code;
    const error =
      errno === 'EDQUOT'
        ? new PeerlaneError('DISK_FULL', (err as Error).message, { cause: err })
        : toPeerlaneError(err, 'OUT_NOT_WRITABLE');
    return error;
  }

  async function onManifest(files: ManifestEntry[]): Promise<void> {
    // Refuse what can never be written before asking anyone about it.
    for (const f of files) targetPath(outDir, f.name);
    for (const [index, f] of files.entries()) {
      const found = await findResumable(f);
      if (found !== undefined) resumable.set(index, found);
    }
    if (overwrite) {
      // A folder, symlink or stray .part in the way: refused now rather than mid-transfer.
      const scratch = new Set<string>();
      for (const [index, f] of files.entries()) {
        if (!resumable.has(index)) await freeTarget(outDir, f.name, scratch, true);
      }
    }
    const consent = new AbortController();
    link.failure.catch((err: unknown) => consent.abort(err));
    await link.guard(Promise.resolve(options.onManifest?.(files, consent.signal)));
    await prepareOutDir(outDir);
    total = files.reduce((sum, f) => sum + f.size, 0);
    await checkFreeSpace(outDir, total);
    manifest = files;
    started = Date.now();
    const offers: ResumeOffer[] = [];
    for (const [file, r] of resumable) {
      if (r.blocks.length > 0) offers.push({ file, blocks: r.blocks.length, digest: blocksDigest(r.blocks) });
    }
    link.send({ type: 'accept', window: RECEIVE_WINDOW, resume: offers });
  }

  /** The `.part` of an earlier run for this name and size, if its target is still free. */
  async function findResumable(entry: ManifestEntry): Promise<Resumable | undefined> {
    const target = targetPath(outDir, entry.name);
    if (taken.has(target)) return undefined;
    const blocks = await readResumable(target + PART_SUFFIX, entry.size);
    if (blocks === undefined) return undefined;
    try {
      await fs.lstat(target);
      return undefined; // the finished name is taken now; start afresh elsewhere
    } catch {
      taken.add(target);
      return { target, blocks };
    }
  }

  async function onFileStart(frame: Extract<Frame, { type: 'file-start' }>): Promise<void> {
    const index = frame.file;
    const entry = manifest?.[index];
    if (entry === undefined || current !== undefined || index !== nextIndex) {
      throw new PeerlaneError(
        'BAD_FRAME',
        `FILE_START for file ${index} out of order (expected ${nextIndex})`,
      );
    }
    const earlier = resumable.get(index);
    const offered = (earlier?.blocks.length ?? 0) * BLOCK_SIZE;
    if (frame.offset !== 0 && frame.offset !== offered) {
      throw new PeerlaneError('BAD_FRAME', `resume at ${frame.offset}, but ${offered} bytes were offered`);
    }
    const hash = createHash('sha256');
    let target: string;
    let handle: fs.FileHandle;
    try {
      if (earlier !== undefined) {
        // Continue the earlier .part: keep the agreed prefix, drop any tail past it.
        target = earlier.target;
        // Read-write (the kept prefix is re-hashed), never through a symlink.
        handle = await fs.open(target + PART_SUFFIX, fs.constants.O_RDWR | (fs.constants.O_NOFOLLOW ?? 0));
        await handle.truncate(frame.offset);
        await hashRange(handle, 0, frame.offset, hash);
      } else {
        target = await freeTarget(outDir, entry.name, taken, overwrite);
        // Exclusive create without following links: fails on anything already there.
        handle = await openPart(target + PART_SUFFIX);
      }
    } catch (err) {
      throw writeError(err);
    }
    const partPath = target + PART_SUFFIX;
    const blocks = frame.offset > 0 ? (earlier?.blocks ?? []) : [];
    const log = new BlockLog(partPath, entry.size, [...blocks]);
    current = {
      index,
      entry,
      target,
      partPath,
      handle,
      hash,
      received: frame.offset,
      resumed: frame.offset,
      log,
    };
    bytesSoFar += frame.offset;
    await log.save().catch((err: unknown) => {
      throw writeError(err);
    });
  }

  function fileFor(index: number): OpenFile {
    if (current === undefined || current.index !== index) {
      throw new PeerlaneError('BAD_FRAME', `data for file ${index} without its FILE_START`);
    }
    return current;
  }

  async function onData(frame: Extract<Frame, { type: 'data' }>): Promise<void> {
    const file = fileFor(frame.file);
    const length = frame.payload.length;
    if (frame.offset !== file.received) {
      throw new PeerlaneError('BAD_FRAME', `data at offset ${frame.offset}, expected ${file.received}`);
    }
    if (file.received + length > file.entry.size) {
      throw new PeerlaneError('BAD_FRAME', `more bytes than announced for ${file.entry.name}`);
    }
    file.hash.update(frame.payload);
    try {
      // A write may be short (a disk filling up); the rest must not become a hole.
      let written = 0;
      while (written < length) {
        const { bytesWritten } = await file.handle.write(
          frame.payload,
          written,
          length - written,
          frame.offset + written,
        );
        if (bytesWritten <= 0) throw new PeerlaneError('OUT_NOT_WRITABLE', `cannot write ${file.partPath}`);
        written += bytesWritten;
      }
      await file.log.add(frame.payload);
    } catch (err) {
      throw writeError(err);
    }
    file.received += length;
    bytesSoFar += length;
    moved += length;
    inFlight -= length;
    uncredited += length;
    returnCredit(false);
    options.onProgress?.({
      file: file.index,
      name: file.entry.name,
      fileBytes: file.received,
      fileSize: file.entry.size,
      bytes: bytesSoFar,
      total,
    });
  }

  async function onFileEnd(frame: Extract<Frame, { type: 'file-end' }>): Promise<void> {
    const file = fileFor(frame.file);
    if (file.received !== file.entry.size) {
      throw new PeerlaneError(
        'TRANSFER_INCOMPLETE',
        `${file.entry.name}: got ${file.received} of ${file.entry.size} bytes`,
      );
    }
    const sha256 = file.hash.digest('hex');
    if (sha256 !== frame.sha256) {
      throw new PeerlaneError('HASH_MISMATCH', `${file.entry.name}: SHA-256 differs from the sender's`);
    }
    let finalPath: string;
    try {
      // close() can report a deferred write error (ENOSPC on NFS, say).
      await file.handle.close();
      finalPath = await publish(file.partPath, file.target, file.entry.name, taken, overwrite);
    } catch (err) {
      throw writeError(err);
    }
    await file.log.remove();
    current = undefined;
    nextIndex++;
    results.push({
      name: file.entry.name,
      path: finalPath,
      bytes: file.received,
      sha256,
      resumedBytes: file.resumed,
    });
    if (file.entry.size === 0) {
      options.onProgress?.({
        file: file.index,
        name: file.entry.name,
        fileBytes: 0,
        fileSize: 0,
        bytes: bytesSoFar,
        total,
      });
    }
    returnCredit(true);
    link.send({ type: 'file-ok', file: file.index });
  }

  async function handle(frame: Frame): Promise<void> {
    switch (frame.type) {
      case 'manifest':
        if (manifest !== undefined) throw new PeerlaneError('BAD_FRAME', 'a second manifest');
        return onManifest(frame.files);
      case 'file-start':
        return onFileStart(frame);
      case 'data':
        return onData(frame);
      case 'file-end':
        return onFileEnd(frame);
      case 'end':
        if (manifest === undefined || nextIndex !== manifest.length || current !== undefined) {
          throw new PeerlaneError(
            'TRANSFER_INCOMPLETE',
            `the sender ended after ${nextIndex} of ${manifest?.length ?? 0} files`,
          );
        }
        link.send({ type: 'done' });
        resolveFinished();
        return;
      default:
        throw new PeerlaneError('BAD_FRAME', `unexpected ${frame.type} frame from the sender`);
    }
  }

  // Checked as frames arrive, before queueing: the queue would hold them otherwise.
  let manifestSeen = false;
  link.onFrame((frame) => {
    if (frame.type === 'manifest') manifestSeen = true;
    if (frame.type === 'data') {
      if (!manifestSeen) throw new PeerlaneError('BAD_FRAME', 'data before the manifest');
      inFlight += frame.payload.length;
      if (inFlight > RECEIVE_WINDOW)
        throw new PeerlaneError('BAD_FRAME', 'the sender ignored the receive window');
    }
    queue = queue.then(() => (link.error === undefined ? handle(frame) : undefined));
    queue.catch((err: unknown) => link.abort(toPeerlaneError(err, 'BAD_FRAME')));
  });

  try {
    await link.guard(finished);
    return { files: results, bytes: moved, ms: Date.now() - started };
  } catch (err) {
    // Let the step in progress finish, so no .part is created after we clean up.
    await queue.catch(() => {});
    await discard(current, !DISCARD_ON.has(toPeerlaneError(err).code));
    throw err;
  }
}

/** Create `outDir` if needed and check that we can write there. */
export async function prepareOutDir(outDir: string): Promise<void> {
  try {
    await fs.mkdir(outDir, { recursive: true });
    await fs.access(outDir, fs.constants.W_OK);
  } catch (err) {
    throw new PeerlaneError('OUT_NOT_WRITABLE', `cannot write to ${outDir}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * Close a half-written file. With `keep`, it and its block state stay for a
 * later run to resume; otherwise (its data is proven bad) both are removed.
 */
async function discard(file: OpenFile | undefined, keep: boolean): Promise<void> {
  if (file === undefined) return;
  await file.handle.close().catch(() => {});
  if (keep) return;
  await fs.unlink(file.partPath).catch(() => {});
  await file.log.remove();
}
