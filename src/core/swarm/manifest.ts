/**
 * A swarm's manifest: what is shared (relative names, sizes, modes), the
 * chunk size, and a SHA-256 for every chunk. Its hash is the **root**, which
 * the ticket carries: whoever holds the ticket can check a manifest fetched
 * from anyone, and each chunk against the manifest, before writing or
 * offering a byte of it.
 *
 * Chunks are per file: file 0's chunks first, then file 1's, each file cut
 * into `chunkSize` pieces with a shorter last one (an empty file has none).
 * A chunk never spans two files, so it is written and read with one call.
 *
 * Canonical encoding: UTF-8 JSON with every object's keys in sorted order and
 * no white space, the chunk hashes as one lowercase hex string:
 *   {"chunkSize":N,"chunks":"<64 hex per chunk>","files":[{"mode":M,"name":"a/b","size":S}],"v":1}
 * One manifest has exactly one encoding (parse refuses any other), so the
 * root names the content, not a way of writing it down.
 *
 * Names are checked here for form only (a string, not too long, no two alike);
 * the receiving side checks them with the same rules as `peer receive`
 * (transfer/safe-names.ts) before it writes anything.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { utf8Length } from '../bytes.js';
import { PeerlaneError } from '../errors.js';
import { parseJsonObject } from '../json.js';
import { MAX_FILE_SIZE, MAX_FILES, MAX_REL_PATH_BYTES } from '../transfer/protocol.js';

export const SWARM_MANIFEST_VERSION = 1;

/**
 * Chunk sizes are powers of two in this range. 16 KiB keeps tests fast with
 * many chunks; 8 MiB bounds what a getter buffers per chunk in flight (a chunk
 * is held whole until its hash is checked).
 */
export const MIN_CHUNK_SIZE = 16 * 1024;
export const MAX_CHUNK_SIZE = 8 * 1024 * 1024;
/** 1 MiB: a 1 GiB share has 1,024 chunks (64 KiB of hashes), and a lost chunk costs little. */
export const DEFAULT_CHUNK_SIZE = 1024 * 1024;
/**
 * Chunks per manifest: 262,144 × 64 hex characters is 16 MiB of hashes, and at
 * the largest chunk size it covers 2 TiB. The default chunk size doubles until
 * a share fits (chooseChunkSize).
 */
export const MAX_CHUNKS = 262_144;
/** The most files, as for `peer send` (one manifest, one folder walk). */
export const MAX_SWARM_FILES = MAX_FILES;
/** The chunk hashes at their limit, plus MAX_SWARM_FILES entries with typical (not maximal) names. */
export const MAX_MANIFEST_BYTES = 24 * 1024 * 1024;

export interface SwarmFile {
  /** A relative path, '/'-separated. */
  name: string;
  size: number;
  /** Permission bits. */
  mode: number;
}

export interface SwarmManifest {
  chunkSize: number;
  files: SwarmFile[];
  /** SHA-256 (lowercase hex) of each chunk, in order. */
  chunks: string[];
}

/** Where a chunk lives: file index, offset in the file, length. */
export interface ChunkPlace {
  file: number;
  offset: number;
  length: number;
}

function bad(message: string): PeerlaneError {
  return new PeerlaneError('BAD_MANIFEST', message);
}

/** How many chunks a file of `size` bytes has. */
export function chunksOf(size: number, chunkSize: number): number {
  return Math.ceil(size / chunkSize);
}

/** The default chunk size for `total` bytes: DEFAULT_CHUNK_SIZE, doubled until the chunks fit MAX_CHUNKS. */
export function chooseChunkSize(total: number): number {
  let size = DEFAULT_CHUNK_SIZE;
  while (size < MAX_CHUNK_SIZE && total / size > MAX_CHUNKS) size *= 2;
  return size;
}

/** Check a chunk size: a power of two from MIN_CHUNK_SIZE to MAX_CHUNK_SIZE. */
export function checkChunkSize(size: number): number {
  if (
    !Number.isSafeInteger(size) ||
    size < MIN_CHUNK_SIZE ||
    size > MAX_CHUNK_SIZE ||
    (size & (size - 1)) !== 0
  ) {
    throw bad(`chunk size ${size} is not a power of two from ${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE}`);
  }
  return size;
}

/** The canonical bytes of a manifest (see the top of this file). */
export function encodeManifest(m: SwarmManifest): Uint8Array {
  const files = m.files.map((f) => ({ mode: f.mode, name: f.name, size: f.size }));
  const json = JSON.stringify({
    chunkSize: m.chunkSize,
    chunks: m.chunks.join(''),
    files,
    v: SWARM_MANIFEST_VERSION,
  });
  return new TextEncoder().encode(json);
}

/** The root: SHA-256 of the canonical manifest, hex. */
export function manifestRoot(encoded: Uint8Array): string {
  return bytesToHex(sha256(encoded));
}

function isCount(value: unknown, max: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= max;
}

function parseFile(raw: unknown, i: number): SwarmFile {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad(`file ${i} is not an object`);
  const f = raw as Record<string, unknown>;
  if (typeof f.name !== 'string' || f.name.length === 0) throw bad(`file ${i} has no name`);
  if (utf8Length(f.name) > MAX_REL_PATH_BYTES) throw bad(`file ${i} has an over-long name`);
  if (!isCount(f.size, MAX_FILE_SIZE)) throw bad(`file ${i} has a bad size`);
  if (!isCount(f.mode, 0o777)) throw bad(`file ${i} has a bad mode`);
  return { name: f.name, size: f.size, mode: f.mode };
}

const HEX_HASHES = /^(?:[0-9a-f]{64})*$/;

/**
 * Parse a manifest's bytes, checking that they are its canonical encoding and
 * that the chunk list fits the files. Throws BAD_MANIFEST. Does not check the
 * root: verifyManifest does.
 */
export function parseManifest(encoded: Uint8Array): SwarmManifest {
  if (encoded.length > MAX_MANIFEST_BYTES) throw bad(`manifest over ${MAX_MANIFEST_BYTES} bytes`);
  const obj = parseJsonObject(new TextDecoder().decode(encoded), 'BAD_MANIFEST', 'manifest');
  if (obj.v !== SWARM_MANIFEST_VERSION) throw bad(`manifest version ${String(obj.v)} is not supported`);
  if (typeof obj.chunkSize !== 'number') throw bad('manifest has no chunk size');
  const chunkSize = checkChunkSize(obj.chunkSize);
  if (!Array.isArray(obj.files) || obj.files.length > MAX_SWARM_FILES)
    throw bad('manifest has a bad file list');
  const files = obj.files.map(parseFile);
  if (new Set(files.map((f) => f.name)).size !== files.length) throw bad('manifest names a file twice');
  if (typeof obj.chunks !== 'string' || !HEX_HASHES.test(obj.chunks))
    throw bad('manifest has bad chunk hashes');
  const count = files.reduce((n, f) => n + chunksOf(f.size, chunkSize), 0);
  if (count > MAX_CHUNKS) throw bad(`manifest has ${count} chunks; the limit is ${MAX_CHUNKS}`);
  if (obj.chunks.length !== count * 64) throw bad('manifest has the wrong number of chunk hashes');
  const chunks = Array.from({ length: count }, (_, i) => (obj.chunks as string).slice(i * 64, i * 64 + 64));
  const manifest = { chunkSize, files, chunks };
  const again = encodeManifest(manifest);
  if (again.length !== encoded.length || again.some((b, i) => b !== encoded[i])) {
    throw bad('manifest is not in its canonical form');
  }
  return manifest;
}

/** Parse `encoded` and check it hashes to `root`; BAD_MANIFEST otherwise. */
export function verifyManifest(encoded: Uint8Array, root: string): SwarmManifest {
  if (manifestRoot(encoded) !== root) throw bad('the manifest does not match the root in the ticket');
  return parseManifest(encoded);
}

/** Chunk positions and totals of a manifest, computed once. */
export class ChunkLayout {
  readonly count: number;
  readonly totalBytes: number;
  /** First chunk index of each file, and one past the last. */
  private readonly firstChunk: number[] = [];

  constructor(readonly manifest: SwarmManifest) {
    let n = 0;
    let total = 0;
    for (const f of manifest.files) {
      this.firstChunk.push(n);
      n += chunksOf(f.size, manifest.chunkSize);
      total += f.size;
    }
    this.firstChunk.push(n);
    this.count = n;
    this.totalBytes = total;
  }

  /** The chunks of file `file`: [first, end). */
  chunksOfFile(file: number): [number, number] {
    return [this.firstChunk[file] ?? 0, this.firstChunk[file + 1] ?? 0];
  }

  place(index: number): ChunkPlace {
    // Binary search for the last file whose first chunk is <= index.
    let lo = 0;
    let hi = this.manifest.files.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.firstChunk[mid] ?? 0) <= index) lo = mid;
      else hi = mid - 1;
    }
    const { chunkSize } = this.manifest;
    const offset = (index - (this.firstChunk[lo] ?? 0)) * chunkSize;
    const size = this.manifest.files[lo]?.size ?? 0;
    return { file: lo, offset, length: Math.min(chunkSize, size - offset) };
  }
}
