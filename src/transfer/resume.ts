/**
 * Resume across runs. Beside each `<name>.part` the receiver keeps
 * `<name>.part.peerlane`: the file's size and how many whole blocks
 * (BLOCK_SIZE) of it are on disk. A later transfer of the same name and size
 * into the same folder hashes those blocks as they are on disk and offers
 * them (ACCEPT.resume); the sender hashes the same blocks of its own file and,
 * only if all match, starts after them (FILE_START.offset). A changed source,
 * or a .part damaged on disk, restarts from zero: never spliced.
 *
 * The block hashes are taken at resume time, not while receiving, so the
 * receiver hashes each incoming byte once (for the file's SHA-256) rather than
 * twice; the rare resume pays one extra read of the prefix instead.
 */
import type { Hash } from 'node:crypto';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import type { ResumeOffer } from './protocol.js';
import { BLOCK_SIZE } from './protocol.js';

export const STATE_SUFFIX = '.peerlane';
/** 2: a count of blocks on disk. 1 (older peers) listed their hashes; only its length is used. */
const STATE_VERSION = 2;

interface ResumeState {
  v: number;
  size: number;
  blockSize: number;
  blocks: number | string[];
}

export function statePath(partPath: string): string {
  return partPath + STATE_SUFFIX;
}

/** SHA-256 over the concatenated block hashes: what both sides compare. */
export function blocksDigest(blocks: readonly string[]): string {
  const hash = createHash('sha256');
  for (const b of blocks) hash.update(Buffer.from(b, 'hex'));
  return hash.digest('hex');
}

/**
 * The SHA-256 of each whole block of an earlier `.part` for a file of `size`,
 * as it is on disk, or nothing if there is none, it is not a plain file, or
 * its state does not fit.
 */
export async function readResumable(partPath: string, size: number): Promise<string[] | undefined> {
  let count: number;
  try {
    const [part, raw] = await Promise.all([fs.lstat(partPath), fs.readFile(statePath(partPath), 'utf8')]);
    if (!part.isFile()) return undefined;
    const state = JSON.parse(raw) as Partial<ResumeState>;
    if (state.size !== size || state.blockSize !== BLOCK_SIZE) return undefined;
    const blocks = state.blocks;
    if (state.v === STATE_VERSION && Number.isSafeInteger(blocks) && (blocks as number) >= 0) {
      count = blocks as number;
    } else if (state.v === 1 && Array.isArray(blocks)) {
      count = blocks.length;
    } else {
      return undefined;
    }
    // Never claim more than the .part holds, nor a block past the end of the file.
    count = Math.min(count, Math.floor(part.size / BLOCK_SIZE), Math.floor(size / BLOCK_SIZE));
  } catch {
    return undefined;
  }
  if (count === 0) return [];
  let handle: fs.FileHandle | undefined;
  try {
    // Read-only, never through a symlink.
    handle = await fs.open(partPath, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0));
    const hashes: string[] = [];
    for (let i = 0; i < count; i++) {
      const block = createHash('sha256');
      await hashRange(handle, i * BLOCK_SIZE, BLOCK_SIZE, block);
      hashes.push(block.digest('hex'));
    }
    return hashes;
  } catch {
    return undefined;
  } finally {
    await handle?.close().catch(() => {});
  }
}

/**
 * The state is rewritten in place as one fixed-size record (JSON padded with
 * spaces): a single small write never truncates first, so a process killed
 * at any instant leaves the previous state or the new one, never an empty or
 * half-written file. Its JSON is well under this.
 */
const STATE_RECORD_BYTES = 256;

/** Follows the bytes of one file as they reach disk, and records each whole block. */
export class BlockLog {
  private inBlock = 0;
  private handle: fs.FileHandle | undefined;

  constructor(
    private readonly partPath: string,
    private readonly size: number,
    private blocks: number,
  ) {}

  /** After `length` bytes are written at the end of what was logged; persists the count when a block completes. */
  async add(length: number): Promise<void> {
    this.inBlock += length;
    if (this.inBlock < BLOCK_SIZE) return;
    this.blocks += Math.floor(this.inBlock / BLOCK_SIZE);
    this.inBlock %= BLOCK_SIZE;
    await this.save();
  }

  async save(): Promise<void> {
    const state: ResumeState = {
      v: STATE_VERSION,
      size: this.size,
      blockSize: BLOCK_SIZE,
      blocks: this.blocks,
    };
    const record = Buffer.alloc(STATE_RECORD_BYTES, ' ');
    record.write(JSON.stringify(state));
    if (this.handle === undefined) {
      // Create without truncating, never through a symlink: what is there stays valid until overwritten.
      const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT | (fs.constants.O_NOFOLLOW ?? 0);
      this.handle = await fs.open(statePath(this.partPath), flags, 0o644);
      await this.handle.write(record, 0, record.length, 0);
      // An older, longer state (format 1) would leave a tail behind the record.
      await this.handle.truncate(record.length);
      return;
    }
    await this.handle.write(record, 0, record.length, 0);
  }

  /** Stop logging; the state stays for a later run. */
  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close().catch(() => {});
  }

  async remove(): Promise<void> {
    await this.close();
    await fs.unlink(statePath(this.partPath)).catch(() => {});
  }
}

/**
 * The sender's side: do our first `offer.blocks` blocks hash to the receiver's
 * digest? Returns the offset to start from (0 if not) and feeds the matching
 * prefix into `whole`, the file's running SHA-256.
 */
export async function checkOffer(
  handle: fs.FileHandle,
  size: number,
  offer: ResumeOffer | undefined,
  whole: Hash,
): Promise<{ offset: number; whole: Hash }> {
  if (offer === undefined || offer.blocks === 0 || offer.blocks * BLOCK_SIZE > size)
    return { offset: 0, whole };
  const candidate = whole.copy();
  const blocks: string[] = [];
  for (let i = 0; i < offer.blocks; i++) {
    const block = createHash('sha256');
    await hashRange(handle, i * BLOCK_SIZE, BLOCK_SIZE, block, candidate);
    blocks.push(block.digest('hex'));
  }
  return blocksDigest(blocks) === offer.digest
    ? { offset: offer.blocks * BLOCK_SIZE, whole: candidate }
    : { offset: 0, whole };
}

/** Feed `length` bytes of an open file from `start` into `hashes`, a megabyte at a time. */
export async function hashRange(
  handle: fs.FileHandle,
  start: number,
  length: number,
  ...hashes: Hash[]
): Promise<void> {
  const buf = Buffer.allocUnsafe(1024 * 1024);
  for (let pos = 0; pos < length; ) {
    const { bytesRead } = await handle.read(buf, 0, Math.min(buf.length, length - pos), start + pos);
    if (bytesRead <= 0) throw new Error('file shorter than expected');
    for (const h of hashes) h.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
}
