/**
 * Receives the files announced by a manifest into `outDir`.
 *
 * Each file is written to `<name>.part`, checked for size and SHA-256, then
 * published under a name that replaces nothing. Only then is it acknowledged.
 * On any failure the current `.part` is removed, so nothing half-written is
 * ever left looking complete.
 *
 * Frames are handled strictly in order through one async queue. The sender may
 * only have RECEIVE_WINDOW bytes outstanding; a peer that exceeds it is cut off.
 */

import type { Hash } from 'node:crypto';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { PeerlaneError, toPeerlaneError } from '../errors.js';
import type { FramedLink } from './framed-link.js';
import type { Frame, ManifestEntry } from './protocol.js';
import { CREDIT_BATCH, RECEIVE_WINDOW } from './protocol.js';
import { checkName, freeTarget, PART_SUFFIX, publish } from './safe-names.js';
import type { FileResult, TransferProgress, TransferResult } from './types.js';

export interface ReceiveOptions {
  link: FramedLink;
  outDir: string;
  /** Called with the checked manifest before anything is accepted; throw to refuse. */
  onManifest?: (files: readonly ManifestEntry[]) => void | Promise<void>;
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
}

export async function receiveFiles(options: ReceiveOptions): Promise<TransferResult> {
  const { link, outDir } = options;
  const started = Date.now();
  let manifest: ManifestEntry[] | undefined;
  let total = 0;
  let bytesSoFar = 0;
  let current: OpenFile | undefined;
  let nextIndex = 0;
  let inFlight = 0;
  let uncredited = 0;
  const taken = new Set<string>();
  const results: FileResult[] = [];
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

  async function onManifest(files: ManifestEntry[]): Promise<void> {
    files.forEach((f) => {
      checkName(f.name);
    });
    await options.onManifest?.(files);
    await prepareOutDir(outDir);
    manifest = files;
    total = files.reduce((sum, f) => sum + f.size, 0);
    link.send({ type: 'accept', window: RECEIVE_WINDOW });
  }

  async function open(index: number): Promise<OpenFile> {
    const entry = manifest?.[index];
    if (entry === undefined) throw new PeerlaneError('BAD_FRAME', `no file ${index} in the manifest`);
    const target = await freeTarget(outDir, entry.name, taken);
    const partPath = target + PART_SUFFIX;
    let handle: fs.FileHandle;
    try {
      // 'wx': create, and fail rather than follow or reuse anything already there.
      handle = await fs.open(partPath, 'wx', 0o644);
    } catch (err) {
      throw toPeerlaneError(err, 'OUT_NOT_WRITABLE');
    }
    return { index, entry, target, partPath, handle, hash: createHash('sha256'), received: 0 };
  }

  async function fileFor(index: number): Promise<OpenFile> {
    if (manifest === undefined) throw new PeerlaneError('BAD_FRAME', 'data before the manifest');
    if (current !== undefined && current.index === index) return current;
    if (current !== undefined || index !== nextIndex) {
      throw new PeerlaneError('BAD_FRAME', `file ${index} out of order (expected ${nextIndex})`);
    }
    current = await open(index);
    return current;
  }

  async function onData(frame: Extract<Frame, { type: 'data' }>): Promise<void> {
    const file = await fileFor(frame.file);
    const length = frame.payload.length;
    if (frame.offset !== file.received) {
      throw new PeerlaneError('BAD_FRAME', `data at offset ${frame.offset}, expected ${file.received}`);
    }
    if (file.received + length > file.entry.size) {
      throw new PeerlaneError('BAD_FRAME', `more bytes than announced for ${file.entry.name}`);
    }
    file.hash.update(frame.payload);
    try {
      await file.handle.write(frame.payload, 0, length, frame.offset);
    } catch (err) {
      throw toPeerlaneError(err, 'OUT_NOT_WRITABLE');
    }
    file.received += length;
    bytesSoFar += length;
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
    const file = await fileFor(frame.file);
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
    await file.handle.close();
    const finalPath = await publish(file.partPath, file.target, file.entry.name, taken);
    current = undefined;
    nextIndex++;
    results.push({ name: file.entry.name, path: finalPath, bytes: file.received, sha256 });
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
    return { files: results, bytes: bytesSoFar, ms: Date.now() - started };
  } catch (err) {
    // Let the step in progress finish, so no .part is created after we clean up.
    await queue.catch(() => {});
    await discard(current);
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

/** Remove a half-written file; the transfer has failed and it must not linger. */
async function discard(file: OpenFile | undefined): Promise<void> {
  if (file === undefined) return;
  await file.handle.close().catch(() => {});
  await fs.unlink(file.partPath).catch(() => {});
}
