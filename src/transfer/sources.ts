/**
 * The sender's view of the files it was asked to send: checked up front, so a
 * typo fails before anyone waits on a connection.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { PeerlaneError } from '../errors.js';
import { MAX_FILES } from './protocol.js';

export interface SourceFile {
  /** Where to read it. */
  path: string;
  /** What the receiver is told to call it: the base name. */
  name: string;
  size: number;
}

export async function resolveSources(paths: readonly string[]): Promise<SourceFile[]> {
  if (paths.length === 0) throw new PeerlaneError('USAGE', 'name at least one file to send');
  if (paths.length > MAX_FILES) throw new PeerlaneError('USAGE', `at most ${MAX_FILES} files per transfer`);
  const files: SourceFile[] = [];
  for (const p of paths) {
    let stat: Awaited<ReturnType<typeof fs.stat>>;
    try {
      stat = await fs.stat(p);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new PeerlaneError('INPUT_NOT_FOUND', `no such file: ${p}`);
      throw new PeerlaneError('INPUT_UNREADABLE', `cannot read ${p}: ${(err as Error).message}`);
    }
    if (!stat.isFile()) throw new PeerlaneError('INPUT_UNREADABLE', `not a regular file: ${p}`);
    try {
      await fs.access(p, fs.constants.R_OK);
    } catch {
      throw new PeerlaneError('INPUT_UNREADABLE', `cannot read ${p}: permission denied`);
    }
    files.push({ path: p, name: path.basename(p), size: stat.size });
  }
  return files;
}
