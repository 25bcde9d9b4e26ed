/**
 * Receives the files announced by a manifest into `outDir`.
 *
 * Before ACCEPT, every name is checked (safe-names.ts, manifest-checks.ts), the
 * user's consent is asked (onManifest), and the free space must cover what is
 * still to be written: files already in place, identical, from an earlier run
 * are not received again (ACCEPT.already), and a resumed `.part` keeps its
 * blocks.
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
 * This module keeps that flow (the frames' order, consent, credit, progress);
 * what happens on disk, file by file, is incoming-file.ts.
 */

import type { Writable } from 'node:stream';
import { PeerlaneError, toPeerlaneError } from '../core/errors.js';
import { checkLayout, checkOneStream } from '../core/transfer/manifest-checks.js';
import type { Frame, ManifestEntry, ResumeOffer } from '../core/transfer/protocol.js';
import {
  BLOCK_SIZE,
  CREDIT_BATCH,
  MAX_FILE_SIZE,
  MAX_QUEUED_FRAMES,
  RECEIVE_WINDOW,
} from '../core/transfer/protocol.js';
import type {
  FileEvent,
  FileResult,
  Tally,
  TransferProgress,
  TransferResult,
} from '../core/transfer/types.js';
import { checkFreeSpace } from './disk.js';
import type { CreatedFolders } from './folders.js';
import { applyFolderMeta } from './folders.js';
import type { FramedLink } from './framed-link.js';
import type { OpenFile, Resumable } from './incoming-file.js';
import {
  bytesToWrite,
  createFolders,
  DISCARD_ON,
  discard,
  finishFile,
  openIncoming,
  openStream,
  prepareOutDir,
  surveyTargets,
  writeError,
  writePayload,
} from './incoming-file.js';
import { blocksDigest } from './resume.js';

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
  /** Folders this session created: only they get the sender's mode and mtime (folders.ts). */
  createdFolders?: CreatedFolders;
}

// Kept importable from here, where receiveFiles' callers look for it.
export { prepareOutDir } from './incoming-file.js';

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
  let folders: ManifestEntry[] = [];
  let bytesSoFar = 0;
  let current: OpenFile | undefined;
  let nextIndex = 0;
  let inFlight = 0;
  let uncredited = 0;
  const taken = new Set<string>();
  const results = new Map<number, FileResult>();
  /** Earlier `.part` files this transfer may continue, by manifest index. */
  let resumable: ReadonlyMap<number, Resumable> = new Map();
  /** Files already in place from an earlier attempt of this session, by manifest index. */
  let held: ReadonlyMap<number, FileResult> = new Map();
  /** Files complete and identical from an earlier run (same path, size and SHA-256), by manifest index. */
  let already: ReadonlyMap<number, FileResult> = new Map();
  let queue: Promise<void> = Promise.resolve();
  /** Set as ACCEPT is sent: before it, only the manifest may come. */
  let accepted = false;
  /** END arrived: nothing more is owed by the sender. */
  let ended = false;
  const accept = (frame: Extract<Frame, { type: 'accept' }>): void => {
    accepted = true;
    link.send(frame);
  };

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

  async function onManifest(files: ManifestEntry[], text: string | undefined): Promise<void> {
    if (text !== undefined) {
      // A message: printed, never written; there is nothing to consent to.
      if (!memory.textShown) options.onText?.(text);
      memory.textShown = true;
      manifest = files;
      started = Date.now();
      tally.since ??= started;
      accept({ type: 'accept', window: RECEIVE_WINDOW, resume: [] });
      return;
    }
    if (options.stdout !== undefined) return onStdoutManifest(files);
    // Refuse what can never be written before asking anyone about it.
    checkLayout(outDir, files);
    const { completed, targets } = memory;
    const survey = await surveyTargets({ outDir, files, completed, targets, taken, overwrite });
    ({ held, resumable, already } = survey);
    const consent = new AbortController();
    link.failure.catch((err: unknown) => consent.abort(err));
    await link.guard(Promise.resolve(options.onManifest?.(files, consent.signal)));
    await prepareOutDir(outDir);
    total = files.some((f) => f.size === null) ? null : files.reduce((sum, f) => sum + (f.size ?? 0), 0);
    await checkFreeSpace(outDir, bytesToWrite(files, survey));
    memory.createdFolders ??= new Map();
    folders = await createFolders(outDir, files, memory.createdFolders);
    manifest = files;
    skipFolders();
    started = Date.now();
    tally.since ??= started;
    for (const done of [...held.values(), ...already.values()]) bytesSoFar += done.bytes;
    const offers: ResumeOffer[] = [];
    for (const [file, r] of resumable) {
      if (r.blocks.length > 0) offers.push({ file, blocks: r.blocks.length, digest: blocksDigest(r.blocks) });
    }
    accept({
      type: 'accept',
      window: RECEIVE_WINDOW,
      resume: offers,
      ...(held.size > 0 ? { have: [...held.keys()] } : {}),
      ...(already.size > 0 ? { already: [...already.keys()] } : {}),
    });
    for (const [index, result] of already) {
      // Held, should this session reconnect: the sender has it as sent.
      memory.completed.set(result.name, result);
      options.onFile?.({ phase: 'done', file: index, ...result });
    }
  }

  /** --stdout: one file or stream, asked about like any other, written nowhere else. */
  async function onStdoutManifest(files: ManifestEntry[]): Promise<void> {
    const only = checkOneStream(files);
    const consent = new AbortController();
    link.failure.catch((err: unknown) => consent.abort(err));
    await link.guard(Promise.resolve(options.onManifest?.(files, consent.signal)));
    total = only.size;
    manifest = files;
    started = Date.now();
    accept({ type: 'accept', window: RECEIVE_WINDOW, resume: [] });
  }

  /** Folders, and files held from an earlier attempt or run, get no frames: move past them. */
  function skipFolders(): void {
    while (manifest?.[nextIndex]?.kind === 'dir' || held.has(nextIndex) || already.has(nextIndex))
      nextIndex++;
  }

  async function onFileStart(frame: Extract<Frame, { type: 'file-start' }>): Promise<void> {
    const { file: index, offset } = frame;
    const entry = manifest?.[index];
    if (entry === undefined || current !== undefined || index !== nextIndex) {
      throw new PeerlaneError(
        'BAD_FRAME',
        `FILE_START for file ${index} out of order (expected ${nextIndex})`,
      );
    }
    const earlier = resumable.get(index);
    const offered = (earlier?.blocks.length ?? 0) * BLOCK_SIZE;
    if (offset !== 0 && offset !== offered) {
      throw new PeerlaneError('BAD_FRAME', `resume at ${offset}, but ${offered} bytes were offered`);
    }
    options.onFile?.({ phase: 'start', file: index, name: entry.name, size: entry.size });
    if (options.stdout !== undefined) {
      if (offset !== 0) throw new PeerlaneError('BAD_FRAME', 'a stream cannot resume');
      current = openStream(index, entry);
      return;
    }
    const file = await openIncoming({ outDir, index, entry, offset, earlier, taken, overwrite });
    memory.targets.set(entry.name, file.target);
    current = file;
    bytesSoFar += offset;
    // Only now that it is `current`: if this fails, the .part is still closed (and kept).
    await file.log?.save().catch((err: unknown) => {
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
    await writePayload(file, frame.payload, frame.offset, options.stdout);
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
      throw new PeerlaneError(
        'HASH_MISMATCH',
        `${file.entry.name}: SHA-256 differs from the sender's (did the file change while it was sent?)`,
      );
    }
    const finalPath = await finishFile(file, taken, overwrite);
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

  /**
   * Not async: a throw here rejects the queue's step just the same, and a DATA
   * frame then costs no more promises than onData and the write it awaits.
   */
  function handle(frame: Frame): Promise<void> {
    switch (frame.type) {
      case 'manifest':
        return onManifest(frame.files, frame.text);
      case 'file-start':
        return onFileStart(frame);
      case 'data':
        return onData(frame);
      case 'file-end':
        return onFileEnd(frame);
      case 'end':
        return onEnd();
      default:
        throw new PeerlaneError('BAD_FRAME', `unexpected ${frame.type} frame from the sender`);
    }
  }

  async function onEnd(): Promise<void> {
    if (manifest === undefined || nextIndex !== manifest.length || current !== undefined) {
      throw new PeerlaneError(
        'TRANSFER_INCOMPLETE',
        `the sender ended after ${nextIndex} of ${manifest?.length ?? 0} files`,
      );
    }
    ended = true;
    await applyFolderMeta(outDir, folders, memory.createdFolders ?? new Map()).catch((err: unknown) => {
      throw writeError(err);
    });
    link.send({ type: 'done' });
    resolveFinished();
  }

  // Checked as frames arrive, before queueing: the queue would hold them otherwise.
  let manifestSeen = false;
  /** Frames queued and not yet handled. */
  let queued = 0;
  /** FILE_START, FILE_END and END frames so far: two per file and one END is all an honest sender sends. */
  let controlFrames = 0;
  link.onFrame((frame) => {
    if (frame.type === 'manifest') {
      if (manifestSeen) throw new PeerlaneError('BAD_FRAME', 'a second manifest');
      manifestSeen = true;
    } else if (!accepted) {
      // Nothing but PING and ERROR (taken by the link) may come while the user is asked.
      throw new PeerlaneError('BAD_FRAME', `${frame.type.toUpperCase()} before the manifest was accepted`);
    } else if (frame.type === 'data') {
      inFlight += frame.payload.length;
      if (inFlight > RECEIVE_WINDOW)
        throw new PeerlaneError('BAD_FRAME', 'the sender ignored the receive window');
    } else if (++controlFrames > 2 * (manifest?.length ?? 0) + 1) {
      throw new PeerlaneError(
        'BAD_FRAME',
        'more FILE_START, FILE_END and END frames than the manifest allows',
      );
    }
    if (++queued > MAX_QUEUED_FRAMES) throw new PeerlaneError('BAD_FRAME', 'the sender floods frames');
    // Busy with our own work (a disk write, the user's answer): not the sender's to hurry.
    link.expectPeer(false);
    queue = queue
      .then(() => (link.error === undefined ? handle(frame) : undefined))
      .then(() => {
        // Nothing left to do: the next step is the sender's, until END.
        if (--queued === 0 && accepted && !ended) link.expectPeer(true);
      });
    queue.catch((err: unknown) => link.abort(toPeerlaneError(err, 'BAD_FRAME')));
  });
  // The manifest is owed at once.
  link.expectPeer(true);

  try {
    await link.guard(finished);
    // In manifest order, with the files held from an earlier attempt.
    for (const [index, done] of [...held, ...already]) results.set(index, done);
    const files = [...results].sort(([a], [b]) => a - b).map(([, r]) => r);
    return { files, bytes: tally.bytes, ms: Date.now() - (tally.since ?? started) };
  } catch (err) {
    // Let the step in progress finish, so no .part is created after we clean up.
    await queue.catch(() => {});
    await discard(current, !DISCARD_ON.has(toPeerlaneError(err).code));
    throw err;
  }
}
