/**
 * Receives the files announced by a manifest into `outDir`, in Node: the
 * receiver engine (core/transfer/receiver-engine.ts, the protocol's rules)
 * driven by a framed link, with node:crypto's SHA-256 and the file system
 * below (DiskFiles here; incoming-file.ts and survey.ts do the work).
 *
 * Each file is written to `<name>.part`, checked for size and SHA-256, then
 * published under a name that replaces nothing (or, with `overwrite`, that
 * replaces a regular file of the same name atomically). Only then is it
 * acknowledged. Beside each `.part` a state file records its verified blocks
 * (resume.ts), so an interrupted transfer keeps both for a later run that
 * resumes; only data proven bad (a hash mismatch, a broken frame) is removed.
 * A `.part` never looks complete.
 *
 * The output folder is made once, by the session before a code is printed
 * (prepareOutDir, out-dir.ts); here it must exist.
 */
import type { Writable } from 'node:stream';
import { runReceiver } from '../core/session/transfer.js';
import type {
  IncomingFile,
  OpenRequest,
  ReceiveMemory,
  ReceiverFiles,
  Survey,
} from '../core/transfer/file-access.js';
import type { FramedLink } from '../core/transfer/framed-link.js';
import { systemClock } from '../core/transfer/ports.js';
import type { ManifestEntry } from '../core/transfer/protocol.js';
import type { ReceiverEngineOptions } from '../core/transfer/receiver-engine.js';
import type { TransferResult } from '../core/transfer/types.js';
import { checkFreeSpace } from './disk.js';
import { applyFolderMeta } from './folders.js';
import type { OutPlace } from './incoming-file.js';
import { openIncoming, StreamFile, writeError } from './incoming-file.js';
import { checkLayout, checkOneStream } from './manifest-checks.js';
import { createFolders } from './out-dir.js';
import { nodeSha256 } from './sha256.js';
import { bytesToWrite, surveyTargets } from './survey.js';

/** The engine's options (consent, events, memory, tally), with the Node side's: the link and where files go. */
export interface ReceiveOptions extends Omit<ReceiverEngineOptions, 'link' | 'files' | 'sha256' | 'clock'> {
  link: FramedLink;
  /** Where files go; it must exist (prepareOutDir). */
  outDir: string;
  /**
   * Replace an existing regular file of the same name (atomically, once the
   * new one is verified) instead of writing `name (1).ext`. A folder or
   * symlink of that name is never replaced: BAD_NAME, before ACCEPT.
   */
  overwrite?: boolean | undefined;
  /**
   * Write the one incoming file or stream here instead of under `outDir`
   * (peer receive --stdout). A manifest of anything but one file is
   * NOT_ONE_STREAM. Credit is returned only once `stdout` took the bytes.
   */
  stdout?: Writable | undefined;
}

export function receiveFiles(options: ReceiveOptions): Promise<TransferResult> {
  const { stdout } = options;
  const files =
    stdout !== undefined
      ? new StdoutFiles(stdout)
      : new DiskFiles({ outDir: options.outDir, taken: new Set(), overwrite: options.overwrite ?? false });
  return runReceiver({ ...options, files, sha256: nodeSha256, clock: systemClock });
}

/** Files under an output folder. */
class DiskFiles implements ReceiverFiles {
  /** The manifest's folders: their modes and mtimes are applied once everything in them is in place. */
  private folders: ManifestEntry[] = [];

  constructor(private readonly place: OutPlace) {}

  check(files: readonly ManifestEntry[]): void {
    checkLayout(this.place.outDir, files);
  }

  survey(files: readonly ManifestEntry[], memory: ReceiveMemory): Promise<Survey> {
    const { completed, targets } = memory;
    return surveyTargets({ ...this.place, files, completed, targets });
  }

  async prepare(files: readonly ManifestEntry[], survey: Survey, memory: ReceiveMemory): Promise<void> {
    await checkFreeSpace(this.place.outDir, bytesToWrite(files, survey));
    memory.createdFolders ??= new Map();
    this.folders = await createFolders(this.place.outDir, files, memory.createdFolders);
  }

  open(request: OpenRequest): Promise<IncomingFile> {
    return openIncoming(this.place, request);
  }

  async finishFolders(memory: ReceiveMemory): Promise<void> {
    await applyFolderMeta(this.place.outDir, this.folders, memory.createdFolders ?? new Map()).catch(
      (err: unknown) => {
        throw writeError(err);
      },
    );
  }
}

/** --stdout: one file or stream, asked about like any other, written nowhere else. */
class StdoutFiles implements ReceiverFiles {
  constructor(private readonly stdout: Writable) {}

  check(files: readonly ManifestEntry[]): void {
    checkOneStream(files);
  }

  async survey(): Promise<Survey> {
    return { held: new Map(), resumable: new Map(), already: new Map() };
  }

  async prepare(): Promise<void> {}

  async open(): Promise<IncomingFile> {
    return new StreamFile(this.stdout);
  }

  async finishFolders(): Promise<void> {}
}
