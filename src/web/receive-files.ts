/**
 * The receiver's files in a browser. Where the browser can stream to disk,
 * each file goes straight there through a FileSystemDirectoryHandle: a folder
 * the user picked (File System Access, showDirectoryPicker) or the page's
 * origin-private folder (OPFS, navigator.storage.getDirectory()), from which
 * the page then offers each file for download as a disk-backed File. Where it
 * cannot, files are kept in memory up to MEMORY_LIMIT_BYTES, and a larger
 * transfer is refused before it is accepted.
 *
 * Names are hostile: the manifest is checked with the CLI's rules
 * (core/transfer/names.ts) before anyone is asked, and each name becomes
 * folder handles one component at a time, so nothing can land outside the
 * chosen folder. On disk a file is received into a `.part` folder beside its
 * target (part-store.ts), which a later run with the same file resumes, and
 * written to its name only once verified.
 */
import { PeerlaneError } from '../core/errors.js';
import type {
  IncomingFile,
  OpenRequest,
  ReceiveMemory,
  ReceiverFiles,
  Survey,
} from '../core/transfer/file-access.js';
import { checkManifestNames, checkRelPath, splitRelPath } from '../core/transfer/names.js';
import type { HasherFactory } from '../core/transfer/ports.js';
import type { ManifestEntry } from '../core/transfer/protocol.js';
import { manifestTotal } from '../core/transfer/protocol.js';
import type { FileResult } from '../core/transfer/types.js';
import type { OpfsWriter } from './opfs-file.js';
import { WorkerFile } from './opfs-file.js';
import { openInPlace, openPart, type PartLayout, removePart, resumableIn } from './part-store.js';
import { asStorageError } from './storage-error.js';

/**
 * Without a way to disk, what the page keeps in memory at most: a phone
 * holds this much in a tab, a large video does not fit. Larger is refused
 * with a pointer to the CLI.
 */
export const MEMORY_LIMIT_BYTES = 512 * 1024 * 1024;

/**
 * Writes are gathered to this size before each goes to the browser's file
 * thread: a write per 256 KiB message costs a round trip each; this is
 * a few per second at full speed, and at most this much held in memory.
 */
const WRITE_BATCH_BYTES = 4 * 1024 * 1024;

/** A received file, for the page to offer: a File backed by disk (OPFS, a picked folder) or memory. */
export interface Received {
  name: string;
  file: () => Promise<File>;
}

/** Files this session received on an earlier channel are held (not sent again after a reconnection). */
function heldSurvey(files: readonly ManifestEntry[], memory: ReceiveMemory): Survey {
  const held = new Map<number, FileResult>();
  files.forEach((f, i) => {
    const done = memory.completed.get(f.name);
    if (done !== undefined) held.set(i, done);
  });
  return { held, resumable: new Map(), already: new Map() };
}

/**
 * Files under a folder handle: a picked folder, or the origin-private one.
 * With `writer` (OPFS, where the browser has sync access handles in workers)
 * each file is written in place by that worker and moved to its name;
 * without, it goes through createWritable in segments (part-store.ts).
 */
export class DirectoryFiles implements ReceiverFiles {
  readonly received: Received[] = [];
  private readonly layout: PartLayout;

  constructor(
    private readonly root: FileSystemDirectoryHandle,
    private readonly sha256: HasherFactory,
    private readonly writer?: OpfsWriter,
  ) {
    this.layout = writer === undefined ? 'segments' : 'in-place';
  }

  check(files: readonly ManifestEntry[]): void {
    checkManifestNames(files);
  }

  /** Held files, and the `.part` folders an earlier run left for files still to come. */
  async survey(files: readonly ManifestEntry[], memory: ReceiveMemory): Promise<Survey> {
    const survey = heldSurvey(files, memory);
    for (const [i, entry] of files.entries()) {
      if (survey.held.has(i) || entry.kind === 'dir') continue;
      const { dirs, base } = splitRelPath(checkRelPath(entry.name));
      const dir = await this.existingFolder(dirs);
      const earlier = dir && (await resumableIn(dir, base, entry.name, entry, this.sha256, this.layout));
      if (earlier) survey.resumable.set(i, earlier);
    }
    return survey;
  }

  async prepare(files: readonly ManifestEntry[]): Promise<void> {
    for (const f of files) {
      if (f.kind === 'dir') await this.folder(checkRelPath(f.name).split('/'));
    }
  }

  async open(request: OpenRequest): Promise<IncomingFile> {
    const { dirs, base } = splitRelPath(checkRelPath(request.entry.name));
    const dir = await this.folder(dirs);
    const name = await freeName(dir, base);
    const target = [...dirs, name].join('/');
    if (this.writer !== undefined) return this.openInPlace(request, this.writer, dir, base, name, target);
    const part = await openPart(dir, base, request, async (segments) => {
      const handle = await dir.getFileHandle(name, { create: true });
      const writable = await handle.createWritable();
      // Each segment streamed from disk to disk: never the whole file in memory.
      for (const segment of segments) await writable.write(segment);
      await writable.close();
      this.received.push({ name: target, file: () => handle.getFile() });
    });
    return new BatchedFile(target, part);
  }

  async finishFolders(): Promise<void> {}

  /** Written in place by the OPFS writer, then moved to `name` (or a free one, should `name` be taken by then). */
  private async openInPlace(
    request: OpenRequest,
    writer: OpfsWriter,
    dir: FileSystemDirectoryHandle,
    base: string,
    name: string,
    target: string,
  ): Promise<IncomingFile> {
    const data = await openInPlace(dir, base, request);
    return WorkerFile.open(target, writer, data, request.offset, {
      publish: async () => {
        const free = await freeName(dir, name);
        await (data as Movable).move(dir, free);
        await removePart(dir, base);
        const published = target.slice(0, target.length - name.length) + free;
        this.received.push({ name: published, file: async () => (await dir.getFileHandle(free)).getFile() });
        return published;
      },
      discard: async (keep) => {
        if (!keep) await removePart(dir, base);
      },
    });
  }

  /** The folder at `parts` if it is there already; made by nothing. */
  private async existingFolder(parts: readonly string[]): Promise<FileSystemDirectoryHandle | undefined> {
    let dir = this.root;
    for (const part of parts) {
      const next = await dir.getDirectoryHandle(part).catch(() => undefined);
      if (next === undefined) return undefined;
      dir = next;
    }
    return dir;
  }

  private async folder(parts: readonly string[]): Promise<FileSystemDirectoryHandle> {
    let dir = this.root;
    for (const part of parts) dir = await dir.getDirectoryHandle(part, { create: true });
    return dir;
  }
}

/** FileSystemHandle.move (Chromium, OPFS): not yet in TypeScript's DOM types. */
type Movable = FileSystemFileHandle & { move(dir: FileSystemDirectoryHandle, name: string): Promise<void> };

/** `name`, or `stem (1).ext`, `stem (2).ext`…: never replace what is there. */
async function freeName(dir: FileSystemDirectoryHandle, name: string): Promise<string> {
  const dot = name.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  for (let n = 0; ; n++) {
    const candidate = n === 0 ? name : `${stem} (${n})${ext}`;
    try {
      await dir.getFileHandle(candidate);
    } catch {
      return candidate;
    }
  }
}

/** Without disk: each file a Blob in memory, the whole transfer at most MEMORY_LIMIT_BYTES. */
export class MemoryFiles implements ReceiverFiles {
  readonly received: Received[] = [];

  check(files: readonly ManifestEntry[]): void {
    checkManifestNames(files);
    const total = manifestTotal(files);
    if (total === null || total > MEMORY_LIMIT_BYTES) {
      throw new PeerlaneError(
        'DISK_FULL',
        `this browser cannot save to disk, and keeps at most ${MEMORY_LIMIT_BYTES / 1024 / 1024} MiB in memory; ${total === null ? 'a stream of unknown size' : `${total} bytes`} were offered`,
        {
          hint: 'receive it with the CLI (peer receive), or open this page in Chrome or Edge, which save to disk',
        },
      );
    }
  }

  async survey(files: readonly ManifestEntry[], memory: ReceiveMemory): Promise<Survey> {
    return heldSurvey(files, memory);
  }

  async prepare(): Promise<void> {}

  async open({ entry }: OpenRequest): Promise<IncomingFile> {
    const parts: BlobPart[] = [];
    const name = checkRelPath(entry.name);
    return new BatchedFile(name, {
      write: async (data) => {
        parts.push(data);
      },
      finish: async () => {
        const file = new File(parts, splitRelPath(name).base);
        this.received.push({ name, file: async () => file });
      },
      discard: async () => {
        parts.length = 0;
      },
    });
  }

  async finishFolders(): Promise<void> {}
}

interface Sink {
  write(data: Blob, at: number): Promise<void>;
  finish(): Promise<void>;
  /** With `keep`, what was written stays for a later run to resume. */
  discard(keep: boolean): Promise<void>;
}

/** Gathers the engine's writes into WRITE_BATCH_BYTES batches for the sink. */
class BatchedFile implements IncomingFile {
  /** Once finished it stays: a reconnection holds it rather than receive it again. */
  readonly kept = true;
  private batch: Uint8Array[] = [];
  private batchBytes = 0;
  private batchAt = 0;

  constructor(
    readonly target: string,
    private readonly sink: Sink,
  ) {}

  async begin(): Promise<void> {}

  async write(payload: Uint8Array, offset: number): Promise<void> {
    if (this.batchBytes === 0) this.batchAt = offset;
    // The payload is a view of its own message's buffer: held, not copied.
    this.batch.push(payload);
    this.batchBytes += payload.length;
    if (this.batchBytes >= WRITE_BATCH_BYTES)
      await this.flush().catch((err: unknown) => {
        throw asStorageError(err, this.target);
      });
  }

  async finish(): Promise<string> {
    try {
      await this.flush();
      await this.sink.finish();
    } catch (err) {
      throw asStorageError(err, this.target);
    }
    return this.target;
  }

  async discard(keep: boolean): Promise<void> {
    this.batch = [];
    await this.sink.discard(keep).catch(() => {});
  }

  private async flush(): Promise<void> {
    if (this.batchBytes === 0) return;
    const blob = new Blob(this.batch as Uint8Array<ArrayBuffer>[]);
    const at = this.batchAt;
    this.batch = [];
    this.batchBytes = 0;
    await this.sink.write(blob, at);
  }
}
