/**
 * Where received files go in this browser, best first: a folder the person
 * picks (File System Access), the page's origin-private folder (OPFS, then
 * offered for download from disk), or memory up to MEMORY_LIMIT_BYTES.
 */
import { formatBytes } from '../core/format.js';
import { browserSha256 } from './hasher.js';
import { OpfsWriter } from './opfs-file.js';
import { PART_SUFFIX } from './part-store.js';
import { DirectoryFiles, MEMORY_LIMIT_BYTES, MemoryFiles } from './receive-files.js';
import { rememberedFolder, rememberFolder } from './remembered-folder.js';

/**
 * The OPFS folder the page receives into. At each receive, what an earlier
 * one finished (and offered for download) goes, so the origin's quota is not
 * used up; what it left unfinished (`.part` folders) stays, for this one to
 * resume, unless nothing wrote to it for PART_KEEP_MS.
 */
const OPFS_FOLDER = 'received';

/**
 * How long an unfinished receive is kept in the page's own storage for a
 * resume. OPFS is invisible to the person (no file manager shows it), so an
 * abandoned part would hold quota for ever; a week covers a transfer retried
 * the next day or after a weekend.
 */
const PART_KEEP_MS = 7 * 24 * 60 * 60 * 1000;

export interface Storage {
  files: DirectoryFiles | MemoryFiles;
  /** The files are the page's (OPFS, memory): it offers each for download. */
  offersDownload: boolean;
}

type PickerWindow = Window & {
  showDirectoryPicker?: (o: {
    mode: 'readwrite';
    startIn?: FileSystemDirectoryHandle;
  }) => Promise<FileSystemDirectoryHandle>;
};

export function canPickFolder(): boolean {
  return typeof (window as PickerWindow).showDirectoryPicker === 'function';
}

/** OPFS with writable streams (not in every browser's main thread). */
function hasOpfs(): boolean {
  return (
    typeof navigator.storage?.getDirectory === 'function' &&
    typeof FileSystemFileHandle !== 'undefined' &&
    'createWritable' in FileSystemFileHandle.prototype
  );
}

/** What the page tells the person before anything is accepted. */
export function storageNote(): string {
  if (canPickFolder())
    return 'Received files are saved straight to disk, in a folder you pick or the browser’s own storage.';
  if (hasOpfs())
    return 'Received files are saved to the browser’s storage on disk, then offered for download.';
  return `This browser cannot save to disk: it keeps received files in memory, ${formatBytes(MEMORY_LIMIT_BYTES)} at most. For more, use the CLI (peer receive).`;
}

let writer: Promise<OpfsWriter | undefined> | undefined;

/**
 * The OPFS writer worker, started once per page (at load, so that tapping
 * Receive does not wait for it): undefined where the browser cannot write in
 * place, and the page then writes OPFS files through createWritable.
 */
export function opfsWriter(): Promise<OpfsWriter | undefined> {
  writer ??= hasOpfs() ? OpfsWriter.start() : Promise.resolve(undefined);
  return writer;
}

export async function chooseStorage(pickFolder: boolean): Promise<Storage> {
  const picker = (window as PickerWindow).showDirectoryPicker;
  if (pickFolder && picker !== undefined) {
    // Opened where the person picked last time: the same folder again resumes what was cut short.
    const last = await rememberedFolder();
    const folder = await picker.call(window, { mode: 'readwrite', ...(last ? { startIn: last } : {}) });
    await rememberFolder(folder);
    return { files: new DirectoryFiles(folder, browserSha256), offersDownload: false };
  }
  if (hasOpfs()) {
    const root = await navigator.storage.getDirectory();
    const dir = await root.getDirectoryHandle(OPFS_FOLDER, { create: true });
    await removeFinished(dir);
    return { files: new DirectoryFiles(dir, browserSha256, await opfsWriter()), offersDownload: true };
  }
  return { files: new MemoryFiles(), offersDownload: true };
}

/** When anything in a part folder was last written (0 for an empty one). */
async function lastWritten(part: FileSystemDirectoryHandle): Promise<number> {
  let last = 0;
  for await (const handle of part.values()) {
    if (handle.kind === 'file')
      last = Math.max(last, (await (handle as FileSystemFileHandle).getFile()).lastModified);
  }
  return last;
}

/**
 * Everything under `dir` but the `.part` folders written to within
 * PART_KEEP_MS (and the folders that lead to them).
 */
async function removeFinished(dir: FileSystemDirectoryHandle): Promise<void> {
  for await (const [name, handle] of dir.entries()) {
    if (handle.kind === 'directory' && name.endsWith(PART_SUFFIX)) {
      const stale = Date.now() - (await lastWritten(handle as FileSystemDirectoryHandle)) > PART_KEEP_MS;
      if (stale) await dir.removeEntry(name, { recursive: true }).catch(() => {});
      continue;
    }
    if (handle.kind === 'directory') {
      const sub = handle as FileSystemDirectoryHandle;
      await removeFinished(sub);
      let empty = true;
      for await (const _ of sub.keys()) empty = false;
      if (!empty) continue;
    }
    await dir.removeEntry(name, { recursive: true }).catch(() => {});
  }
}
