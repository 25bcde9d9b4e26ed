/**
 * writeFully: a short write (a disk filling up) is followed by the rest,
 * never left as a hole; a write that moves nothing is OUT_NOT_WRITABLE.
 * `peer receive` and the swarm's chunk store both write through it.
 */
import type fs from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { writeFully } from '../../src/transfer/incoming-file.js';

/** A file handle that takes at most `step` bytes per write (0: none), into `file`. */
function shortWriter(file: Uint8Array, step: number): fs.FileHandle {
  return {
    write: async (data: Uint8Array, offset: number, length: number, position: number) => {
      const n = Math.min(step, length);
      file.set(data.subarray(offset, offset + n), position);
      return { bytesWritten: n, buffer: data };
    },
  } as unknown as fs.FileHandle;
}

describe('writeFully', () => {
  it('writes the rest after short writes, at the right places', async () => {
    const file = new Uint8Array(20);
    const data = Uint8Array.from({ length: 10 }, (_, i) => i + 1);
    await writeFully(shortWriter(file, 3), data, 5, 'f.part');
    expect([...file.subarray(5, 15)]).toEqual([...data]);
    expect([...file.subarray(0, 5), ...file.subarray(15)].every((b) => b === 0)).toBe(true);
  });

  it('a write that moves nothing is OUT_NOT_WRITABLE, naming the file', async () => {
    await expect(
      writeFully(shortWriter(new Uint8Array(4), 0), new Uint8Array(4), 0, 'f.part'),
    ).rejects.toMatchObject({
      code: 'OUT_NOT_WRITABLE',
      message: expect.stringContaining('f.part'),
    });
  });
});
