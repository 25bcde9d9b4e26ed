import { PeerlaneError } from '../errors.js';

const NEWLINE = 0x0a;

/**
 * Splits a TCP byte stream into newline-terminated messages.
 *
 * Holds at most `maxBytes` of an unterminated line: a peer that streams an
 * endless line gets MESSAGE_TOO_LARGE instead of growing our memory.
 */
export class LineDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** Bytes of the unfinished line held so far. */
  get heldBytes(): number {
    return this.pendingBytes;
  }

  /** Feed bytes; returns the complete lines they finish (without the newline). */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, nl);
      this.check(this.pendingBytes + piece.length);
      this.pending.push(piece);
      lines.push(Buffer.concat(this.pending).toString('utf8'));
      this.pending = [];
      this.pendingBytes = 0;
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.check(this.pendingBytes + rest.length);
      this.pending.push(rest);
      this.pendingBytes += rest.length;
    }
    return lines;
  }

  private check(size: number): void {
    if (size > this.maxBytes) {
      throw new PeerlaneError('MESSAGE_TOO_LARGE', `a message exceeded ${this.maxBytes} bytes`);
    }
  }
}
