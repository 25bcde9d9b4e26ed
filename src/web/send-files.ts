/**
 * The sender's files in a browser: File objects the user picked (one by one,
 * or a folder through webkitdirectory / showDirectoryPicker), read only in
 * File.slice() ranges, never whole.
 */
import type { OutgoingFile, Pieces, SendEntry, SenderFiles } from '../core/transfer/file-access.js';
import type { HasherFactory } from '../core/transfer/ports.js';
import { DATA_HEADER_BYTES } from '../core/transfer/protocol.js';

/**
 * Bytes read per slice: large enough that a read's fixed cost (a trip to the
 * browser's file thread) is small beside it, small enough that two in memory
 * (one being sent, one read ahead) are nothing.
 */
export const READ_PIECE_BYTES = 4 * 1024 * 1024;

/** One picked file and the relative path it is offered under. */
export interface PickedFile {
  file: File;
  /** '/'-separated, rooted at the picked folder's name for a folder's files. */
  name: string;
}

/** Manifest entries for picked files: sizes and mtimes from the File objects. */
export function entriesFor(picked: readonly PickedFile[]): SendEntry[] {
  return picked.map(({ file, name }) => ({
    name,
    path: name,
    size: file.size,
    mtime: file.lastModified,
  }));
}

export class BrowserSenderFiles implements SenderFiles {
  constructor(
    private readonly picked: readonly PickedFile[],
    private readonly entries: SendEntry[],
    private readonly sha256: HasherFactory,
  ) {}

  /** Each file's SHA-256, read in slices, for the manifest. */
  async hashAll(): Promise<void> {
    for (const [i, { file }] of this.picked.entries()) {
      const entry = this.entries[i];
      if (entry === undefined || entry.sha256 !== undefined) continue;
      const hash = this.sha256();
      for (let at = 0; at < file.size; at += READ_PIECE_BYTES) {
        hash.update(new Uint8Array(await file.slice(at, at + READ_PIECE_BYTES).arrayBuffer()));
      }
      entry.sha256 = hash.digestHex();
    }
  }

  async open(index: number): Promise<OutgoingFile> {
    const picked = this.picked[index];
    if (picked === undefined) throw new Error(`no file ${index}`);
    const { file } = picked;
    return {
      kind: 'file',
      // No resume from the page's side: it starts every file from 0, which a resuming receiver accepts.
      resumeAt: async () => 0,
      pieces: (from) => slices(file, from),
      close: async () => {},
    };
  }
}

/** The file's bytes from `from`, one slice read ahead, each with the DATA header's room in front. */
function slices(file: File, from: number): Pieces {
  const read = async (at: number): Promise<Uint8Array | null> => {
    if (at >= file.size) return null;
    const data = await file.slice(at, at + READ_PIECE_BYTES).arrayBuffer();
    const piece = new Uint8Array(DATA_HEADER_BYTES + data.byteLength);
    piece.set(new Uint8Array(data), DATA_HEADER_BYTES);
    return piece;
  };
  let at = from;
  let ahead = read(at);
  return {
    next: async () => {
      const piece = await ahead;
      if (piece === null) return null;
      at += piece.length - DATA_HEADER_BYTES;
      ahead = read(at);
      return piece;
    },
  };
}
