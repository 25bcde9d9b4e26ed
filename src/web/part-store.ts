/**
 * A file being received in a browser, kept so that a later run resumes it:
 * a folder `<name>.part` beside where the file will go, holding `state.json`
 * (the file's size and the SHA-256 its sender stated, as the CLI's
 * `.part.peerlane` binds its state) and the data in one of two layouts:
 *
 * - `in-place`, in the page's own storage (OPFS) where a worker can write
 *   (opfs-writer.ts): one file `data`, written at once through a sync access
 *   handle, moved to its name once verified. Nothing is copied.
 * - `segments`, in a picked folder (or an OPFS without that worker): files
 *   `0`, `1`, … of SEGMENT_BYTES each, written through createWritable.
 *
 * Why segments: a browser writes a file through createWritable(), whose
 * bytes sit in a swap file until close() and vanish if the tab is closed
 * first; reopening with keepExistingData copies the whole file each time. So
 * each segment is its own file, closed as soon as it is full: a closed tab,
 * a reload or a killed sender loses at most the segment in progress. A
 * segment that exists is complete by construction (it appears only on
 * close), so the state is never more than the folder's listing. Once the
 * file is whole and verified, the segments are written into its target in
 * one pass and the folder removed: only a verified file appears under its
 * name, as before.
 *
 * Resume follows the CLI's rule (transfer/resume.ts): a later manifest entry
 * with the same name, size and SHA-256 gets the whole blocks of its complete
 * segments, hashed as they are on disk, offered; the sender starts after them
 * only if its own blocks hash the same.
 */
import { parseJsonObject } from '../core/json.js';
import type { OpenRequest, Resumable } from '../core/transfer/file-access.js';
import type { HasherFactory } from '../core/transfer/ports.js';
import type { ManifestEntry } from '../core/transfer/protocol.js';
import { BLOCK_SIZE } from '../core/transfer/protocol.js';

export const PART_SUFFIX = '.part';
const STATE_FILE = 'state.json';
/** The in-place layout's one data file. */
const DATA_FILE = 'data';
const STATE_VERSION = 1;
/**
 * Four resume blocks: what an interruption can cost at most, and how often a
 * segment is closed (about twice a second at full speed): each close is a
 * trip to the browser's file thread, a rename of its swap file.
 */
export const SEGMENT_BYTES = 4 * BLOCK_SIZE;

/** How a part holds its bytes (see the top of this file). */
export type PartLayout = 'segments' | 'in-place';

interface PartState {
  v: number;
  size: number;
  sha256: string;
  /** Absent in states written before the in-place layout: segments. */
  layout: PartLayout;
  segmentBytes?: number;
}

/** The state as this version writes it, or undefined for anything else. */
function parseState(raw: string): PartState | undefined {
  try {
    const o = parseJsonObject(raw);
    const ok =
      o.v === STATE_VERSION &&
      Number.isSafeInteger(o.size) &&
      typeof o.sha256 === 'string' &&
      /^[0-9a-f]{64}$/.test(o.sha256);
    if (!ok) return undefined;
    const state = { v: STATE_VERSION, size: o.size as number, sha256: o.sha256 as string };
    if (o.layout === 'in-place') return { ...state, layout: 'in-place' };
    const segments = (o.layout === undefined || o.layout === 'segments') && o.segmentBytes === SEGMENT_BYTES;
    return segments ? { ...state, layout: 'segments', segmentBytes: SEGMENT_BYTES } : undefined;
  } catch {
    return undefined;
  }
}

async function childDir(
  dir: FileSystemDirectoryHandle,
  name: string,
): Promise<FileSystemDirectoryHandle | undefined> {
  return dir.getDirectoryHandle(name).catch(() => undefined);
}

async function childFile(dir: FileSystemDirectoryHandle, name: string): Promise<File | undefined> {
  try {
    return await (await dir.getFileHandle(name)).getFile();
  } catch {
    return undefined;
  }
}

/** What an earlier run kept of a file: `length` bytes, in `files` of `pieceBytes` each. */
interface Kept {
  files: File[];
  pieceBytes: number;
  length: number;
}

/** The complete segments of a part, in order. */
async function keptSegments(part: FileSystemDirectoryHandle, size: number): Promise<Kept> {
  const files: File[] = [];
  // Never a segment past the file's end: each is whole, so at most size / SEGMENT_BYTES of them.
  while (files.length < Math.floor(size / SEGMENT_BYTES)) {
    const segment = await childFile(part, String(files.length));
    if (segment?.size !== SEGMENT_BYTES) break;
    files.push(segment);
  }
  return { files, pieceBytes: SEGMENT_BYTES, length: files.length * SEGMENT_BYTES };
}

/** The whole blocks of an in-place part's data file (a tail past them may be torn). */
async function keptInPlace(part: FileSystemDirectoryHandle, size: number): Promise<Kept> {
  const data = await childFile(part, DATA_FILE);
  const length = Math.floor(Math.min(data?.size ?? 0, size) / BLOCK_SIZE) * BLOCK_SIZE;
  return { files: data === undefined ? [] : [data], pieceBytes: Number.POSITIVE_INFINITY, length };
}

/**
 * What an earlier run kept of `entry` in `layout`; nothing if its state is for
 * another file, or for the other layout (which this page does not write here).
 */
async function earlierPart(
  parent: FileSystemDirectoryHandle,
  base: string,
  entry: ManifestEntry,
  layout: PartLayout,
): Promise<Kept | undefined> {
  const part = await childDir(parent, base + PART_SUFFIX);
  const stateFile = part === undefined ? undefined : await childFile(part, STATE_FILE);
  if (part === undefined || stateFile === undefined || stateFile.size > 1024) return undefined;
  const state = parseState(await stateFile.text());
  if (state?.size !== entry.size || state.sha256 !== entry.sha256 || state.layout !== layout)
    return undefined;
  return layout === 'segments' ? keptSegments(part, state.size) : keptInPlace(part, state.size);
}

/** Feed `[0, length)` of what was kept to `each`, one block at a time. */
async function readKept(kept: Kept, length: number, each: (block: Uint8Array) => void): Promise<void> {
  for (let at = 0; at < length; at += BLOCK_SIZE) {
    const file = kept.files[Math.floor(at / kept.pieceBytes)];
    if (file === undefined) throw new Error("a part's data went missing");
    const from = at % kept.pieceBytes;
    each(new Uint8Array(await file.slice(from, from + Math.min(BLOCK_SIZE, length - at)).arrayBuffer()));
  }
}

/** What an earlier run left of `entry` under `name` in `parent`: the SHA-256 of each whole block, if any. */
export async function resumableIn(
  parent: FileSystemDirectoryHandle,
  base: string,
  target: string,
  entry: ManifestEntry,
  sha256: HasherFactory,
  layout: PartLayout,
): Promise<Resumable | undefined> {
  if (entry.kind === 'dir' || entry.size === null || entry.sha256 === undefined) return undefined;
  const kept = await earlierPart(parent, base, entry, layout);
  if (kept === undefined || kept.length === 0) return undefined;
  const blocks: string[] = [];
  await readKept(kept, kept.length, (block) => {
    const hash = sha256();
    hash.update(block);
    blocks.push(hash.digestHex());
  });
  return { target, blocks };
}

/**
 * The part folder for `request.entry` under `parent`: continued from `offset`
 * (its prefix fed to the request's hash) or begun anew with its state.
 */
async function preparePart(
  parent: FileSystemDirectoryHandle,
  base: string,
  { entry, offset, hash }: OpenRequest,
  layout: PartLayout,
): Promise<FileSystemDirectoryHandle> {
  const part = await childDir(parent, base + PART_SUFFIX);
  if (offset > 0) {
    const kept = part === undefined ? undefined : await earlierPart(parent, base, entry, layout);
    if (part === undefined || kept === undefined || kept.length < offset) {
      throw new Error(`resume at ${offset}, past what was kept`);
    }
    await readKept(kept, offset, (block) => hash.update(block));
    return part;
  }
  // Nothing to continue: whatever is there was for another file, or is not wanted.
  if (part !== undefined) await parent.removeEntry(base + PART_SUFFIX, { recursive: true });
  const fresh = await parent.getDirectoryHandle(base + PART_SUFFIX, { create: true });
  const state: PartState = {
    v: STATE_VERSION,
    size: entry.size ?? 0,
    sha256: entry.sha256 ?? '',
    layout,
    ...(layout === 'segments' ? { segmentBytes: SEGMENT_BYTES } : {}),
  };
  const writable = await (await fresh.getFileHandle(STATE_FILE, { create: true })).createWritable();
  await writable.write(JSON.stringify(state));
  await writable.close();
  return fresh;
}

/** The in-place part for `request.entry`: its data file, for the OPFS writer to open at `offset`. */
export async function openInPlace(
  parent: FileSystemDirectoryHandle,
  base: string,
  request: OpenRequest,
): Promise<FileSystemFileHandle> {
  if (request.offset % BLOCK_SIZE !== 0)
    throw new Error(`resume at ${request.offset}, not at a block's start`);
  const part = await preparePart(parent, base, request, 'in-place');
  return part.getFileHandle(DATA_FILE, { create: true });
}

/** Drop the part folder of `base` (after its file was published, or when it is not worth keeping). */
export async function removePart(parent: FileSystemDirectoryHandle, base: string): Promise<void> {
  await parent.removeEntry(base + PART_SUFFIX, { recursive: true }).catch(() => {});
}

/**
 * The segments part for `request.entry`, continued or begun anew, each
 * segment written as the engine's data arrives. `publish` writes the verified
 * whole to its target.
 */
export async function openPart(
  parent: FileSystemDirectoryHandle,
  base: string,
  request: OpenRequest,
  publish: (segments: File[]) => Promise<void>,
): Promise<PartSink> {
  const { offset } = request;
  if (offset % SEGMENT_BYTES !== 0) throw new Error(`resume at ${offset}, not at a segment's start`);
  const part = await preparePart(parent, base, request, 'segments');
  return new PartSink(parent, base, part, offset / SEGMENT_BYTES, publish);
}
/** Writes a part's segments in order; what BatchedFile writes through. */
export class PartSink {
  private writable: FileSystemWritableFileStream | undefined;
  private written = 0;

  constructor(
    private readonly parent: FileSystemDirectoryHandle,
    private readonly base: string,
    private readonly part: FileSystemDirectoryHandle,
    private segment: number,
    private readonly publish: (segments: File[]) => Promise<void>,
  ) {}

  /** `data` at `at` in the file: always where the last write ended (the engine writes in order). */
  async write(data: Blob, at: number): Promise<void> {
    let rest = data;
    let pos = at;
    while (rest.size > 0) {
      const room = SEGMENT_BYTES - (pos % SEGMENT_BYTES);
      const piece = rest.slice(0, room);
      this.writable ??= await (
        await this.part.getFileHandle(String(this.segment), { create: true })
      ).createWritable();
      await this.writable.write(piece);
      this.written += piece.size;
      pos += piece.size;
      rest = rest.slice(piece.size);
      if (this.written === SEGMENT_BYTES) await this.closeSegment();
    }
  }

  /** The file is whole and verified: write it to its target, then drop the part. */
  async finish(): Promise<void> {
    if (this.writable !== undefined) await this.closeSegment();
    const segments: File[] = [];
    for (let i = 0; i < this.segment; i++) {
      const segment = await childFile(this.part, String(i));
      if (segment === undefined) throw new Error(`segment ${i} of ${this.base} went missing`);
      segments.push(segment);
    }
    await this.publish(segments);
    await removePart(this.parent, this.base);
  }

  /** Unfinished: with `keep`, the complete segments stay for a later run; otherwise the part goes. */
  async discard(keep: boolean): Promise<void> {
    await this.writable?.abort().catch(() => {});
    this.writable = undefined;
    if (!keep) await removePart(this.parent, this.base);
  }

  private async closeSegment(): Promise<void> {
    await this.writable?.close();
    this.writable = undefined;
    this.written = 0;
    this.segment++;
  }
}
