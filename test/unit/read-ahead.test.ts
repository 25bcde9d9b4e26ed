import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DATA_HEADER_BYTES, dataFrameAt, parseFrame } from '../../src/core/transfer/protocol.js';
import { ReadAhead } from '../../src/transfer/read-ahead.js';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'read-ahead-'));
});
afterEach(() => fs.rm(dir, { recursive: true, force: true }));

async function fileOf(bytes: Buffer): Promise<fs.FileHandle> {
  const file = path.join(dir, 'f.bin');
  await fs.writeFile(file, bytes);
  return fs.open(file, 'r');
}

describe('ReadAhead and dataFrameAt', () => {
  it('cuts frames that carry every byte from the start offset, in order, from two reused buffers', async () => {
    const data = crypto.randomBytes(10_000);
    const handle = await fileOf(data);
    try {
      const pieces = new ReadAhead(handle, 1000, data.length, 'f.bin', 4096);
      const got: Buffer[] = [];
      const seen = new Set<ArrayBufferLike>();
      let offset = 1000;
      for (let piece = await pieces.next(); piece !== null; piece = await pieces.next()) {
        seen.add(piece.buffer);
        const length = piece.length - DATA_HEADER_BYTES;
        for (let at = 0; at < length; at += 1500) {
          const want = Math.min(1500, length - at);
          const frame = parseFrame(dataFrameAt(piece, at, want, 7, offset));
          expect(frame).toMatchObject({ type: 'data', file: 7, offset });
          if (frame.type === 'data') got.push(Buffer.from(frame.payload));
          offset += want;
        }
      }
      expect(Buffer.concat(got).equals(data.subarray(1000))).toBe(true);
      expect(seen.size).toBe(2);
    } finally {
      await handle.close();
    }
  });

  it('INPUT_UNREADABLE when the file is shorter than announced', async () => {
    const handle = await fileOf(crypto.randomBytes(5000));
    try {
      const pieces = new ReadAhead(handle, 0, 9000, 'f.bin', 4096);
      expect(await pieces.next()).not.toBeNull();
      await expect(pieces.next()).rejects.toMatchObject({ code: 'INPUT_UNREADABLE' });
      await pieces.settle();
    } finally {
      await handle.close();
    }
  });
});
