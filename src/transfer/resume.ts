/**
 * Resume across runs. Beside each `<name>.part` the receiver keeps
 * `<name>.part.peerlane`: the file's size and the SHA-256 of every block
 * (BLOCK_SIZE) known to be on disk. A later transfer of the same name and
 * size into the same folder offers those blocks (ACCEPT.resume); the sender
 * hashes the same blocks of its own file and, only if all match, starts after
 * them (FILE_START.offset). A changed source restarts from zero: never spliced.
 */
import type { Hash } from 'node:crypto';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import type { ResumeOffer } from './protocol.js';
import { BLOCK_SIZE } from './protocol.js';

export const STATE_SUFFIX = '.peerlane';
const STATE_VERSION = 1;

interface ResumeState {
  v: number;
  size: number;
  blockSize: number;
  blocks: string[];
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
 * The verified blocks of an earlier `.part` for a file of `size`, or nothing
 * if there is none, it is not a plain file, or its state does not fit.
 */
export async function readResumable(partPath: string, size: number): Promise<string[] | undefined> {
  try {
    const [part, raw] = await Promise.all([fs.lstat(partPath), fs.readFile(statePath(partPath), 'utf8')]);
    if (!part.isFile()) return undefined;
    const state = JSON.parse(raw) as Partial<ResumeState>;
    if (state.v !== STATE_VERSION || state.size !== size || state.blockSize !== BLOCK_SIZE) return undefined;
    const blocks = state.blocks;
    if (!Array.isArray(blocks) || !blocks.every((b) => typeof b === 'string' && /^[0-9a-f]{64}$/.test(b))) {
      return undefined;
    }
    // Never claim more than the .part holds, nor a block past the end of the file.
    const whole = Math.min(Math.floor(part.size / BLOCK_SIZE), Math.floor(size / BLOCK_SIZE));
    return blocks.slice(0, whole);
  } catch {
    return undefined;
  }
}

/** Follows the bytes of one file as they reach disk, and records each whole block. */
export class BlockLog {
  private block = createHash('sha256');
  private inBlock = 0;

  constructor(
    private readonly partPath: string,
    private readonly size: number,
    readonly blocks: string[],
  ) {}

  /** After `data` is written at the end of what was logged; persists the state when a block completes. */
  async add(data: Buffer): Promise<void> {
    let at = 0;
    while (at < data.length) {
      const take = Math.min(BLOCK_SIZE - this.inBlock, data.length - at);
      this.block.update(data.subarray(at, at + take));
      this.inBlock += take;
      at += take;
      if (this.inBlock === BLOCK_SIZE) {
        this.blocks.push(this.block.digest('hex'));
        this.block = createHash('sha256');
        this.inBlock = 0;
        await this.save();
      }
    }
  }

  async save(): Promise<void> {
    const state: ResumeState = {
      v: STATE_VERSION,
      size: this.size,
      blockSize: BLOCK_SIZE,
      blocks: this.blocks,
    };
    await fs.writeFile(statePath(this.partPath), JSON.stringify(state));
  }

  async remove(): Promise<void> {
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
