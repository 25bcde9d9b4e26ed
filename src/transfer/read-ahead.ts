/**
 * Reads a file for the sender in large pieces, one piece ahead, into two
 * buffers that are reused for the whole file.
 *
 * Why: the sender's main thread hashes and sends while the next read runs in
 * the thread pool, instead of waiting for each read in turn; and reusing the
 * buffers spares an allocation (and its page faults and GC) per frame.
 *
 * Each piece leaves DATA_HEADER_BYTES of headroom before its payload, so DATA
 * frames can be cut from it with no copy: see `dataFrameAt` (protocol.ts).
 */
import type fs from 'node:fs/promises';
import { PeerlaneError } from '../core/errors.js';
import { DATA_HEADER_BYTES } from '../core/transfer/protocol.js';

/**
 * Bytes per read: four 256 KiB frames. Larger reads mean fewer thread-pool
 * round trips; two of these are all the sender holds, so memory stays flat.
 */
export const READ_SIZE = 1024 * 1024;

export class ReadAhead {
  private readonly buffers: [Buffer, Buffer];
  private turn = 0;
  private pending: Promise<number> | undefined;
  private pendingLength = 0;

  /** Reads `[start, end)` of `handle`; `name` is for the error if the file shrinks. */
  constructor(
    private readonly handle: fs.FileHandle,
    private position: number,
    private readonly end: number,
    private readonly name: string,
    private readonly readSize = READ_SIZE,
  ) {
    this.buffers = [
      Buffer.allocUnsafe(DATA_HEADER_BYTES + readSize),
      Buffer.allocUnsafe(DATA_HEADER_BYTES + readSize),
    ];
    this.start();
  }

  /**
   * The next piece: DATA_HEADER_BYTES of headroom, then the payload; null at
   * the end. It stays valid until the following call, which reuses its buffer.
   */
  async next(): Promise<Buffer | null> {
    const reading = this.pending;
    if (reading === undefined) return null;
    const want = this.pendingLength;
    const buf = this.buffers[this.turn] as Buffer;
    this.pending = undefined;
    const got = await reading;
    if (got !== want)
      throw new PeerlaneError('INPUT_UNREADABLE', `${this.name} shrank while it was being sent`);
    this.turn ^= 1;
    this.start();
    return buf.subarray(0, DATA_HEADER_BYTES + got);
  }

  /** Wait for a read in progress, so the handle can be closed under no one. */
  async settle(): Promise<void> {
    await this.pending?.catch(() => {});
    this.pending = undefined;
  }

  private start(): void {
    const length = Math.min(this.end - this.position, this.readSize);
    if (length <= 0) return;
    const buf = this.buffers[this.turn] as Buffer;
    this.pendingLength = length;
    this.pending = this.handle
      .read(buf, DATA_HEADER_BYTES, length, this.position)
      .then(({ bytesRead }) => bytesRead);
    // A failure surfaces from next(); settle() may never look at it.
    this.pending.catch(() => {});
    this.position += length;
  }
}
