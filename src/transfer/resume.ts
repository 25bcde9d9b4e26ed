/**
 * Resume across runs. Beside each `<name>.part` the receiver keeps
 * `<name>.part.peerlane`: the file's size, the SHA-256 the sender stated for
 * it in the manifest, and how many whole blocks (BLOCK_SIZE) of it are on
 * disk. A later manifest entry with the same name, size and SHA-256 into the
 * same folder gets those blocks, hashed as they are on disk, offered
 * (ACCEPT.resume); the sender hashes the same blocks of its own file and, only
 * if all match, starts after them (FILE_START.offset). A changed source, or a
 * .part damaged on disk, restarts from zero: never spliced.
 *
 * The state is bound to the sender's SHA-256 so that an offer confirms
 * nothing to a sender guessing at a leftover .part: it must first state the
 * hash of the very content the .part was being filled with, which it can only
 * do if it has (the hash of) that content. The receiver never reveals a hash
 * of its own before that.
 *
 * The block hashes are taken at resume time, not while receiving, so the
 * receiver hashes each incoming byte once (for the file's SHA-256) rather than
 * twice; the rare resume pays one extra read of the prefix instead.
 */
import fs from 'node:fs/promises';
import { PeerlaneError } from '../core/errors.js';
import type { Hasher } from '../core/transfer/ports.js';
import type { ResumeOffer } from '../core/transfer/protocol.js';
import { BLOCK_SIZE, offerDigest } from '../core/transfer/protocol.js';
import { nodeSha256 } from './sha256.js';
import type { SourceFile } from './sources.js';

export const STATE_SUFFIX = '.peerlane';
/**
 * 3: bound to the sender's SHA-256. Earlier formats (1: block hashes, 2: a
 * block count) are bound to nothing, so they are never offered.
 */
const STATE_VERSION = 3;

/**
 * The state is rewritten in place as one fixed-size record (JSON padded with
 * spaces): a single small write never truncates first, so a process killed
 * at any instant leaves the previous state or the new one, never an empty or
 * half-written file. Its JSON is well under this (about 140 bytes), and no
 * more than this is ever read back.
 */
const STATE_RECORD_BYTES = 256;

export interface ResumeState {
  v: typeof STATE_VERSION;
  size: number;
  blockSize: number;
  blocks: number;
  /** The SHA-256 the sender stated for the whole file when this .part was begun. */
  sha256: string;
}

function statePath(partPath: string): string {
  return partPath + STATE_SUFFIX;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** A state record as this version writes it, or undefined for anything else (older, damaged, foreign). */
function parseState(raw: unknown): ResumeState | undefined {
  if (typeof raw !== 'string') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const o = value as Record<string, unknown>;
  if (o.v !== STATE_VERSION || !isCount(o.size) || o.blockSize !== BLOCK_SIZE || !isCount(o.blocks))
    return undefined;
  if (typeof o.sha256 !== 'string' || !SHA256_HEX.test(o.sha256)) return undefined;
  return { v: STATE_VERSION, size: o.size, blockSize: BLOCK_SIZE, blocks: o.blocks, sha256: o.sha256 };
}

/**
 * The state beside `partPath`, read safely: never through a symlink, never
 * waiting on a FIFO or device (O_NONBLOCK, then only a regular file is read),
 * and never more than one record.
 */
export async function readState(partPath: string): Promise<ResumeState | undefined> {
  let handle: fs.FileHandle | undefined;
  try {
    const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
    handle = await fs.open(statePath(partPath), O_RDONLY | (O_NOFOLLOW ?? 0) | (O_NONBLOCK ?? 0));
    const stat = await handle.stat();
    if (!stat.isFile() || stat.size > STATE_RECORD_BYTES) return undefined;
    const record = Buffer.alloc(STATE_RECORD_BYTES);
    const { bytesRead } = await handle.read(record, 0, STATE_RECORD_BYTES, 0);
    return parseState(record.subarray(0, bytesRead).toString('utf8'));
  } catch {
    return undefined;
  } finally {
    await handle?.close().catch(() => {});
  }
}

/**
 * The SHA-256 of each whole block of an earlier `.part` for a file of `size`
 * whose sender stated `sha256`, as it is on disk; or nothing if there is none,
 * it is not a plain file, or its state was written for another size or hash
 * (or for none: older formats).
 */
export async function readResumable(
  partPath: string,
  size: number,
  sha256: string | undefined,
): Promise<string[] | undefined> {
  if (sha256 === undefined) return undefined;
  let count: number;
  try {
    const [part, state] = await Promise.all([fs.lstat(partPath), readState(partPath)]);
    if (!part.isFile() || state === undefined) return undefined;
    if (state.size !== size || state.sha256 !== sha256) return undefined;
    // Never claim more than the .part holds, nor a block past the end of the file.
    count = Math.min(state.blocks, Math.floor(part.size / BLOCK_SIZE), Math.floor(size / BLOCK_SIZE));
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
      const block = nodeSha256();
      await hashRange(handle, i * BLOCK_SIZE, BLOCK_SIZE, block);
      hashes.push(block.digestHex());
    }
    return hashes;
  } catch {
    return undefined;
  } finally {
    await handle?.close().catch(() => {});
  }
}

/** Follows the bytes of one file as they reach disk, and records each whole block. */
export class BlockLog {
  private inBlock = 0;
  private handle: fs.FileHandle | undefined;

  constructor(
    private readonly partPath: string,
    private readonly size: number,
    private readonly sha256: string,
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
      sha256: this.sha256,
    };
    const record = Buffer.alloc(STATE_RECORD_BYTES, ' ');
    record.write(JSON.stringify(state));
    if (this.handle === undefined) {
      // Create without truncating, never through a symlink, never waiting on a FIFO:
      // what is there stays valid until overwritten.
      const { O_WRONLY, O_CREAT, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
      const flags = O_WRONLY | O_CREAT | (O_NOFOLLOW ?? 0) | (O_NONBLOCK ?? 0);
      this.handle = await fs.open(statePath(this.partPath), flags, 0o644);
      if (!(await this.handle.stat()).isFile()) {
        await this.close();
        throw new Error(`${statePath(this.partPath)} is not a regular file`);
      }
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
 * digest? Returns the offset to start from (0 if not). The file's whole
 * SHA-256 was taken before the manifest (hashSources), so only the offered
 * prefix is read again here.
 */
export async function checkOffer(
  handle: fs.FileHandle,
  size: number,
  offer: ResumeOffer | undefined,
): Promise<number> {
  if (offer === undefined || offer.blocks === 0 || offer.blocks * BLOCK_SIZE > size) return 0;
  const blocks: string[] = [];
  for (let i = 0; i < offer.blocks; i++) {
    const block = nodeSha256();
    await hashRange(handle, i * BLOCK_SIZE, BLOCK_SIZE, block);
    blocks.push(block.digestHex());
  }
  return offerDigest(blocks, nodeSha256()) === offer.digest ? offer.blocks * BLOCK_SIZE : 0;
}

/** Hashing a source checks for an abort this often: a fraction of a second of reading. */
const HASH_SLICE_BYTES = 64 * 1024 * 1024;

/** One run of hashSources per list of sources, however often it is asked for. */
const hashRuns = new WeakMap<readonly SourceFile[], Promise<void>>();

/**
 * The sender's side, before the manifest: each regular file's SHA-256, set
 * on it (`sha256`), so the receiver can recognise what it holds already and
 * which `.part` was begun for it. Streams and folders have none. Started
 * while pairing, so it costs little waiting; every later call for the same
 * list awaits that same run. Aborting stops it between slices.
 */
export function hashSources(files: readonly SourceFile[], abort?: AbortSignal): Promise<void> {
  let run = hashRuns.get(files);
  if (run === undefined) {
    run = hashEach(files, abort);
    hashRuns.set(files, run);
  }
  return run;
}

async function hashEach(files: readonly SourceFile[], abort: AbortSignal | undefined): Promise<void> {
  for (const file of files) {
    if (file.kind === 'dir' || file.stream !== undefined || file.size === null || file.sha256 !== undefined)
      continue;
    let handle: fs.FileHandle | undefined;
    try {
      handle = await fs.open(file.path, 'r');
      const hash = nodeSha256();
      for (let at = 0; at < file.size; at += HASH_SLICE_BYTES) {
        if (abort?.aborted) break;
        await hashRange(handle, at, Math.min(HASH_SLICE_BYTES, file.size - at), hash);
      }
      if (abort?.aborted) throw new PeerlaneError('INTERRUPTED', 'interrupted');
      file.sha256 = hash.digestHex();
    } catch (err) {
      if (err instanceof PeerlaneError) throw err;
      throw new PeerlaneError('INPUT_UNREADABLE', `cannot read ${file.path}: ${(err as Error).message}`, {
        cause: err,
      });
    } finally {
      await handle?.close().catch(() => {});
    }
  }
}

/** Feed `length` bytes of an open file from `start` into `hashes`, a megabyte at a time. */
export async function hashRange(
  handle: fs.FileHandle,
  start: number,
  length: number,
  ...hashes: Hasher[]
): Promise<void> {
  const buf = Buffer.allocUnsafe(1024 * 1024);
  for (let pos = 0; pos < length; ) {
    const { bytesRead } = await handle.read(buf, 0, Math.min(buf.length, length - pos), start + pos);
    if (bytesRead <= 0) throw new Error('file shorter than expected');
    for (const h of hashes) h.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
}
