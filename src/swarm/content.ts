/**
 * A share's content on disk: the files named (folders walked as `peer send`
 * walks them, transfer/sources.ts), hashed a chunk at a time into a manifest
 * (core/swarm/manifest.ts), and read back a chunk at a time to serve it.
 * Never a whole file in memory: one chunk-sized buffer while hashing.
 */
import type fs from 'node:fs/promises';
import { PeerlaneError } from '../core/errors.js';
import type { ChunkStore } from '../core/swarm/engine.js';
import type { SwarmManifest } from '../core/swarm/manifest.js';
import { ChunkLayout, checkChunkSize, chooseChunkSize, MAX_CHUNKS } from '../core/swarm/manifest.js';
import { nodeSha256 } from '../transfer/sha256.js';
import type { SourceFile } from '../transfer/sources.js';
import { openSource, resolveSources } from '../transfer/sources.js';

export interface SharedContent {
  manifest: SwarmManifest;
  /** Where each manifest file is read from. */
  sources: SourceFile[];
}

/** Hash `paths` into a manifest. Folders add their files; empty folders and streams are not shared. */
export async function hashContent(
  paths: readonly string[],
  chunkSize?: number,
  abort?: AbortSignal,
): Promise<SharedContent> {
  if (paths.includes('-'))
    throw new PeerlaneError('USAGE', 'a share is files and folders, not standard input');
  const sources = (await resolveSources(paths)).filter((f) => f.kind !== 'dir');
  if (sources.length === 0)
    throw new PeerlaneError('INPUT_UNREADABLE', 'nothing to share: no files in those folders');
  const total = sources.reduce((n, f) => n + (f.size ?? 0), 0);
  const size = chunkSize === undefined ? chooseChunkSize(total) : checkChunkSize(chunkSize);
  if (Math.ceil(total / size) > MAX_CHUNKS + sources.length) {
    throw new PeerlaneError(
      'MANIFEST_TOO_LARGE',
      `${total} bytes make over ${MAX_CHUNKS} chunks of ${size} bytes`,
    );
  }
  const chunks: string[] = [];
  const buf = Buffer.allocUnsafe(size);
  for (const file of sources) {
    const handle = await openSource(file);
    try {
      await hashFile(handle, file.size ?? 0, buf, chunks, abort);
    } finally {
      await handle.close();
    }
  }
  const files = sources.map((f) => ({ name: f.name, size: f.size ?? 0, mode: f.mode ?? 0o644 }));
  return { manifest: { chunkSize: size, files, chunks }, sources };
}

async function hashFile(
  handle: fs.FileHandle,
  size: number,
  buf: Buffer,
  chunks: string[],
  abort?: AbortSignal,
): Promise<void> {
  for (let at = 0; at < size; at += buf.length) {
    abort?.throwIfAborted();
    const length = Math.min(buf.length, size - at);
    await readFully(handle, buf, length, at);
    const h = nodeSha256();
    h.update(buf.subarray(0, length));
    chunks.push(h.digestHex());
  }
}

/** The `length` bytes at `offset` of a file just opened for them, which is then closed. */
export async function readChunk(handle: fs.FileHandle, offset: number, length: number): Promise<Uint8Array> {
  try {
    const buf = new Uint8Array(length);
    await readFully(handle, buf, length, offset);
    return buf;
  } finally {
    await handle.close();
  }
}

/** Read exactly `length` bytes at `position` into `buf`; SOURCE_CHANGED if the file is shorter now. */
async function readFully(
  handle: fs.FileHandle,
  buf: Uint8Array,
  length: number,
  position: number,
): Promise<void> {
  for (let got = 0; got < length; ) {
    const { bytesRead } = await handle.read(buf, got, length - got, position + got);
    if (bytesRead <= 0) throw new PeerlaneError('SOURCE_CHANGED', 'a shared file got shorter while shared');
    got += bytesRead;
  }
}

/**
 * Serve chunks from the shared files, each opened afresh (openSource: still
 * the file hashed, not a symlink now, same size). The engine checks each chunk
 * against the manifest before it offers it, so a file edited in place since
 * is caught there.
 */
export function sourceStore(content: SharedContent): ChunkStore {
  const layout = new ChunkLayout(content.manifest);
  return {
    read: async (index) => {
      const { file, offset, length } = layout.place(index);
      const source = content.sources[file];
      if (source === undefined) throw new PeerlaneError('INTERNAL', `no file for chunk ${index}`);
      return readChunk(await openSource(source), offset, length);
    },
    write: async () => {
      throw new PeerlaneError('INTERNAL', 'a share does not write');
    },
  };
}
