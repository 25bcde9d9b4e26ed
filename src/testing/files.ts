/** File helpers for tests, the demo and the bench: streamed, so sizes can be large. */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';

/** Write `size` random bytes to `file`, a megabyte at a time. */
export async function writeRandomFile(file: string, size: number): Promise<void> {
  const handle = await fs.open(file, 'w');
  try {
    const block = 1024 * 1024;
    for (let done = 0; done < size; done += block) {
      await handle.write(randomBytes(Math.min(block, size - done)));
    }
  } finally {
    await handle.close();
  }
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 }))
    hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Every entry under `dir`, relative and sorted, so a test can assert nothing else appeared. */
export async function listTree(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true });
  return entries.map(String).sort();
}
