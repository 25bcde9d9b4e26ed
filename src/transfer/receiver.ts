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
import type { Writable } from 'node:stream';
import { PeerlaneError, toPeerlaneError } from '../errors.js';
import { checkFreeSpace } from './disk.js';
import { applyFolderMeta } from './folders.js';
import type { FramedLink } from './framed-link.js';
import type { Frame, ManifestEntry, ResumeOffer } from './protocol.js';
import { BLOCK_SIZE, CREDIT_BATCH, MAX_FILE_SIZE, RECEIVE_WINDOW } from './protocol.js';
import { BlockLog, blocksDigest, hashRange, readResumable } from './resume.js';
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
import type { FileEvent, FileResult, Tally, TransferProgress, TransferResult } from './types.js';

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
  /** Each file as it starts and once it is verified and in place. */
  onFile?: (event: FileEvent) => void;
  /** A message arrived (peer send --text): nothing is written, no consent is asked. */
  onText?: (text: string) => void;
  /**
   * Write the one incoming file or stream here instead of under `outDir`
   * (peer receive --stdout). A manifest of anything but one file is
   * NOT_ONE_STREAM. Credit is returned only once `stdout` took the bytes.
   */
  stdout?: Writable | undefined;
  /** Carried from one attempt of a session to the next (a reconnection). */
  memory?: ReceiveMemory | undefined;
  /** Totals across the session's attempts. */
  tally?: Tally | undefined;
}

/** What a receiving session remembers across its attempts. */
export interface ReceiveMemory {
  /** Files verified and in place, by manifest name: held, not received again. */
  completed: Map<string, FileResult>;
  /** The target each name's `.part` was given, so the next attempt continues that one. */
  targets: Map<string, string>;
  /** The text was printed already. */
  textShown?: boolean;
}

interface OpenFile {
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

/** Write all of `data` to a stream, resolving once it has taken it. */
function writeTo(stream: Writable, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(data, (err) => (err ? reject(err) : resolve()));
  });
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
  const memory: ReceiveMemory = options.memory ?? { completed: new Map(), targets: new Map() };
  const tally = options.tally ?? { bytes: 0 };
  // Set at ACCEPT: time spent asking the human is not transfer time.
  let started = Date.now();
  let manifest: ManifestEntry[] | undefined;
  let total: number | null = 0;
  /** Folders: their modes and mtimes are applied once everything in them is in place (folders.ts). */
  const folders: ManifestEntry[] = [];
  let bytesSoFar = 0;
  let current: OpenFile | undefined;
  let nextIndex = 0;
  let inFlight = 0;
  let uncredited = 0;
  const taken = new Set<string>();
  const results = new Map<number, FileResult>();
  /** Earlier `.part` files this transfer may continue, by manifest index. */
  const resumable = new Map<number, Resumable>();
  /** Files already in place from an earlier attempt of this session, by manifest index. */
  const held = new Map<number, FileResult>();
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

  async function onManifest(files: ManifestEntry[], text: string | undefined): Promise<void> {
    if (text !== undefined) {
      // A message: printed, never written; there is nothing to consent to.
      if (!memory.textShown) options.onText?.(text);
      memory.textShown = true;
      manifest = files;
      started = Date.now();
      tally.since ??= started;
      link.send({ type: 'accept', window: RECEIVE_WINDOW, resume: [] });
      return;
    }
    if (options.stdout !== undefined) return onStdoutManifest(files);
    // Refuse what can never be written before asking anyone about it.
    checkLayout(files);
    for (const [index, f] of files.entries()) {
      const done = memory.completed.get(f.name);
      if (done !== undefined && f.kind !== 'dir' && f.size === done.bytes) {
        held.set(index, done);
        continue;
      }
      const found = await findResumable(f);
      if (found !== undefined) resumable.set(index, found);
    }
    if (overwrite) {
      // A folder, symlink or stray .part in the way: refused now rather than mid-transfer.
      const scratch = new Set<string>();
      for (const [index, f] of files.entries()) {
        // A folder is merged into an existing one, never replaced.
        if (!resumable.has(index) && !held.has(index) && f.kind !== 'dir') {
          await freeTarget(outDir, f.name, scratch, true);
        }
      }
    }
    const consent = new AbortController();
    link.failure.catch((err: unknown) => consent.abort(err));
    await link.guard(Promise.resolve(options.onManifest?.(files, consent.signal)));
    await prepareOutDir(outDir);
    total = files.some((f) => f.size === null) ? null : files.reduce((sum, f) => sum + (f.size ?? 0), 0);
    await checkFreeSpace(
      outDir,
      files.reduce((sum, f) => sum + (f.size ?? 0), 0),
    );
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
    manifest = files;
    skipFolders();
    started = Date.now();
    tally.since ??= started;
    for (const done of held.values()) bytesSoFar += done.bytes;
    const offers: ResumeOffer[] = [];
    for (const [file, r] of resumable) {
      if (r.blocks.length > 0) offers.push({ file, blocks: r.blocks.length, digest: blocksDigest(r.blocks) });
    }
    link.send({
      type: 'accept',
      window: RECEIVE_WINDOW,
      resume: offers,
      ...(held.size > 0 ? { have: [...held.keys()] } : {}),
    });
  }

  /** --stdout: one file or stream, asked about like any other, written nowhere else. */
  async function onStdoutManifest(files: ManifestEntry[]): Promise<void> {
    const only = files[0];
    if (files.length !== 1 || only === undefined || only.kind === 'dir') {
      throw new PeerlaneError(
        'NOT_ONE_STREAM',
        `--stdout takes one file or stream, and ${files.length} entries were offered`,
      );
    }
    checkRelPath(only.name);
    const consent = new AbortController();
    link.failure.catch((err: unknown) => consent.abort(err));
    await link.guard(Promise.resolve(options.onManifest?.(files, consent.signal)));
    total = only.size;
    manifest = files;
    started = Date.now();
    link.send({ type: 'accept', window: RECEIVE_WINDOW, resume: [] });
  }

  /** Every name safe, and no name both a file and a folder of another. */
  function checkLayout(files: ManifestEntry[]): void {
    const fileNames = new Set<string>();
    const dirNames = new Set<string>();
    for (const f of files) {
      targetPath(outDir, f.name);
      const safe = checkRelPath(f.name);
      const { dirs } = splitRelPath(safe);
      for (let i = 1; i <= dirs.length; i++) dirNames.add(dirs.slice(0, i).join('/'));
      if (f.kind === 'dir') dirNames.add(safe);
      else fileNames.add(safe);
    }
    for (const name of fileNames) {
      if (dirNames.has(name)) {
        throw new PeerlaneError(
          'BAD_NAME',
          `refused file name ${JSON.stringify(name.slice(0, 80))}: it is also a folder`,
        );
      }
    }
  }

  /** Folders, and files held from an earlier attempt, get no frames: move past them. */
  function skipFolders(): void {
    while (manifest?.[nextIndex]?.kind === 'dir' || held.has(nextIndex)) nextIndex++;
  }

  /** The `.part` of an earlier run for this name and size, if its target is still free. */
  async function findResumable(entry: ManifestEntry): Promise<Resumable | undefined> {
    if (entry.size === null || entry.kind === 'dir') return undefined;
    // An earlier attempt of this session may have written it under `name (1)`.
    const target = memory.targets.get(entry.name) ?? targetPath(outDir, entry.name);
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
    options.onFile?.({ phase: 'start', file: index, name: entry.name, size: entry.size });
    if (options.stdout !== undefined) {
      if (frame.offset !== 0) throw new PeerlaneError('BAD_FRAME', 'a stream cannot resume');
      current = {
        index,
        entry,
        target: '-',
        partPath: '-',
        handle: undefined,
        hash,
        received: 0,
        resumed: 0,
        log: undefined,
      };
      return;
    }
    let target: string;
    let handle: fs.FileHandle;
    try {
      // Its folders, created one by one under outDir, none of them a symlink.
      await makeDirs(outDir, splitRelPath(checkRelPath(entry.name)).dirs, entry.name);
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
    memory.targets.set(entry.name, target);
    const blocks = frame.offset > 0 ? (earlier?.blocks ?? []) : [];
    // A stream of unknown size cannot resume: its state would not match a later run.
    const log = entry.size === null ? undefined : new BlockLog(partPath, entry.size, blocks.length);
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
    await log?.save().catch((err: unknown) => {
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
    if (file.received + length > (file.entry.size ?? MAX_FILE_SIZE)) {
      throw new PeerlaneError('BAD_FRAME', `more bytes than announced for ${file.entry.name}`);
    }
    file.hash.update(frame.payload);
    try {
      if (file.handle === undefined && options.stdout !== undefined)
        await writeTo(options.stdout, frame.payload);
      // A write may be short (a disk filling up); the rest must not become a hole.
      let written = 0;
      while (file.handle !== undefined && written < length) {
        const { bytesWritten } = await file.handle.write(
          frame.payload,
          written,
          length - written,
          frame.offset + written,
        );
        if (bytesWritten <= 0) throw new PeerlaneError('OUT_NOT_WRITABLE', `cannot write ${file.partPath}`);
        written += bytesWritten;
      }
      await file.log?.add(length);
    } catch (err) {
      throw writeError(err);
    }
    file.received += length;
    bytesSoFar += length;
    tally.bytes += length;
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
    const size = file.entry.size ?? frame.size;
    if (size === undefined) throw new PeerlaneError('BAD_FRAME', 'FILE_END of a stream without its size');
    if (file.received !== size) {
      throw new PeerlaneError(
        'TRANSFER_INCOMPLETE',
        `${file.entry.name}: got ${file.received} of ${size} bytes`,
      );
    }
    const sha256 = file.hash.digest('hex');
    if (sha256 !== frame.sha256) {
      throw new PeerlaneError('HASH_MISMATCH', `${file.entry.name}: SHA-256 differs from the sender's`);
    }
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
    current = undefined;
    nextIndex++;
    skipFolders();
    const result: FileResult = {
      name: file.entry.name,
      path: finalPath,
      bytes: file.received,
      sha256,
      resumedBytes: file.resumed,
    };
    results.set(file.index, result);
    if (file.handle !== undefined) memory.completed.set(file.entry.name, result);
    if (size === 0) {
      options.onProgress?.({
        file: file.index,
        name: file.entry.name,
        fileBytes: 0,
        fileSize: 0,
        bytes: bytesSoFar,
        total,
      });
    }
    options.onFile?.({ phase: 'done', file: file.index, ...result });
    returnCredit(true);
    link.send({ type: 'file-ok', file: file.index });
  }

  async function handle(frame: Frame): Promise<void> {
    switch (frame.type) {
      case 'manifest':
        if (manifest !== undefined) throw new PeerlaneError('BAD_FRAME', 'a second manifest');
        return onManifest(frame.files, frame.text);
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
        await applyFolderTimes();
        link.send({ type: 'done' });
        resolveFinished();
        return;
      default:
        throw new PeerlaneError('BAD_FRAME', `unexpected ${frame.type} frame from the sender`);
    }
  }

  async function applyFolderTimes(): Promise<void> {
    try {
      await applyFolderMeta(outDir, folders);
    } catch (err) {
      throw writeError(err);
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
    // In manifest order, with the files held from an earlier attempt.
    for (const [index, done] of held) results.set(index, done);
    const files = [...results].sort(([a], [b]) => a - b).map(([, r]) => r);
    return { files, bytes: tally.bytes, ms: Date.now() - (tally.since ?? started) };
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
  if (file === undefined || file.handle === undefined) return;
  await file.handle.close().catch(() => {});
  await file.log?.close();
  if (keep) return;
  await fs.unlink(file.partPath).catch(() => {});
  await file.log?.remove();
}
