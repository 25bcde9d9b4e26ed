/**
 * Transfer frames as Node Buffers, for Node code and the tests that build
 * frames by hand (raw and hostile peers): the core's codecs
 * (core/transfer/protocol.ts) give Uint8Arrays, so that a browser can run them.
 */
import type { ControlFrame } from '../core/transfer/protocol.js';
import { DATA_HEADER_BYTES, encodeControlBytes, writeDataHeader } from '../core/transfer/protocol.js';

/** encodeControlBytes as a Buffer, without a copy. */
export function encodeControl(frame: ControlFrame): Buffer {
  const bytes = encodeControlBytes(frame);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** A DATA frame with room for `length` payload bytes; fill `frame.subarray(DATA_HEADER_BYTES)`. */
export function allocDataFrame(file: number, offset: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(DATA_HEADER_BYTES + length);
  writeDataHeader(out, file, offset);
  return out;
}
