import { concatBytes } from '@noble/hashes/utils.js';
import { PeerlaneError } from '../errors.js';

const NEWLINE = 0x0a;
/**
 * As Buffer's toString decoded: a malformed sequence becomes U+FFFD, and a
 * leading byte order mark stays in the line (so that the parser refuses it).
 */
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * Splits a byte stream (a TCP socket's, whoever reads it) into
 * newline-terminated messages.
 *
 * Holds at most `maxBytes` of an unterminated line: a peer that streams an
 * endless line gets MESSAGE_TOO_LARGE instead of growing our memory.
 */
export class LineDecoder {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** Bytes of the unfinished line held so far. */
  get heldBytes(): number {
    return this.pendingBytes;
  }

  /** Feed bytes; returns the complete lines they finish (without the newline). */
  push(chunk: Uint8Array): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, nl);
      this.check(this.pendingBytes + piece.length);
      this.pending.push(piece);
      lines.push(utf8.decode(this.pending.length === 1 ? piece : concatBytes(...this.pending)));
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
