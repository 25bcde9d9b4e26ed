/**
 * Cuts a TCP byte stream into records, len(4) · body, without allocating per
 * record.
 *
 * Why it is its own object: at 256 KiB records and Node's 64 KiB socket reads,
 * joining a record's pieces with Buffer.concat allocated a fresh 256 KiB
 * buffer per record, a GiB of short-lived external memory per GiB received.
 * V8 counts external memory towards starting a full (mark-compact) GC, so
 * those copies alone caused about a third of the receiver's major GCs. Here a
 * record that arrives within one chunk is handed over as a view of it, and
 * one that straddles chunks is gathered into a single buffer kept for the
 * life of the link.
 *
 * A record handed to `onRecord` is valid only during the call: the consumer
 * (TcpLink.open) decrypts it into a buffer of its own before returning.
 */
import { LENGTH_BYTES } from '../core/direct/protocol.js';

export interface RecordSink {
  /** A whole record's body; return false to stop reading (the link failed). */
  onRecord(record: Buffer): boolean;
  /** A header announced `length` bytes, outside what a record may hold. */
  onBadLength(length: number): void;
}

export class RecordReader {
  private readonly header = Buffer.alloc(LENGTH_BYTES);
  private headerFill = 0;
  /** The body's length, once its header is read; -1 while reading a header. */
  private bodyLength = -1;
  private bodyFill = 0;
  private readonly gather: Buffer;

  constructor(
    /** Bodies outside [minBody, maxBody] are refused before any is gathered. */
    private readonly minBody: number,
    private readonly maxBody: number,
    private readonly sink: RecordSink,
  ) {
    this.gather = Buffer.allocUnsafe(maxBody);
  }

  /** Feed the next chunk of the stream. */
  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.bodyLength < 0) {
        at = this.readHeader(chunk, at);
        if (this.bodyLength < 0) return; // the header continues in the next chunk
        if (this.bodyLength < this.minBody || this.bodyLength > this.maxBody) {
          this.sink.onBadLength(this.bodyLength);
          return;
        }
        // An empty body is complete at once (a length of 0, if minBody allows it).
        if (this.bodyLength === 0 && !this.complete(this.gather.subarray(0, 0))) return;
        continue;
      }
      const length = this.bodyLength;
      if (this.bodyFill === 0 && chunk.length - at >= length) {
        // The whole body in this chunk: a view, no copy.
        const body = chunk.subarray(at, at + length);
        at += length;
        if (!this.complete(body)) return;
        continue;
      }
      const take = Math.min(length - this.bodyFill, chunk.length - at);
      chunk.copy(this.gather, this.bodyFill, at, at + take);
      this.bodyFill += take;
      at += take;
      if (this.bodyFill === length && !this.complete(this.gather.subarray(0, length))) return;
    }
  }

  /** Read what the chunk holds of the header from `at`; returns where reading stopped. */
  private readHeader(chunk: Buffer, at: number): number {
    if (this.headerFill === 0 && chunk.length - at >= LENGTH_BYTES) {
      this.bodyLength = chunk.readUInt32BE(at);
      return at + LENGTH_BYTES;
    }
    const take = Math.min(LENGTH_BYTES - this.headerFill, chunk.length - at);
    chunk.copy(this.header, this.headerFill, at, at + take);
    this.headerFill += take;
    if (this.headerFill === LENGTH_BYTES) {
      this.bodyLength = this.header.readUInt32BE(0);
      this.headerFill = 0;
    }
    return at + take;
  }

  private complete(body: Buffer): boolean {
    this.bodyLength = -1;
    this.bodyFill = 0;
    return this.sink.onRecord(body);
  }
}
