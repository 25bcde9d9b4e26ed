/**
 * The sender's view of what it was asked to send: checked up front, so a
 * typo fails before anyone waits on a connection.
 *
 * A folder is walked (sorted, depth first) and each file keeps its path
 * relative to the folder's parent: `send photos/` offers `photos/a.jpg`,
 * `photos/2024/b.jpg`. Every folder is offered as a `kind: 'dir'` entry too,
 * after its contents, so that the receiver creates empty ones and gives each
 * its mode and mtime once the files inside are written.
 * Symlinks are never followed, whether met while walking or named on the
 * command line: each is reported through `onSkip` and left out, and a command
 * that leaves nothing to send fails. (`link/`, with the slash, names the
 * folder the link points to, as everywhere in POSIX.) `-` is standard input,
 * a stream of unknown size.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { PeerlaneError } from '../core/errors.js';
import { MAX_FILES } from '../core/transfer/protocol.js';

export interface SourceFile {
  /** Where to read it ('-' for standard input). */
  path: string;
  /** What the receiver is told to call it: a relative path rooted at the argument's base name. */
  name: string;
  /** Bytes; null for a stream whose length is unknown until it ends. */
  size: number | null;
  /** Permission bits. */
  mode?: number;
  /** Modification time, ms since the epoch. */
  mtime?: number;
  /** Device and inode at the scan: the file opened later must be this one (openSource). */
  dev?: number;
  ino?: number;
  /** A folder: no data, only its mode and mtime (and its existence, when empty). */
  kind?: 'dir';
  /** For `-`: the stream to read. */
  stream?: Readable;
  /** The file's SHA-256 (hex), once hashSources has taken it: stated in the manifest. */
  sha256?: string;
}

export interface ResolveOptions {
  /** A symlink (named, or found inside a folder) or special file, which is not sent. */
  onSkip?: (path: string, why: string) => void;
  /** The stream `-` stands for (default: process.stdin). */
  stdin?: Readable;
  /** The name a stream is offered under (default: "stdin"). */
  stdinName?: string;
}

function notFound(p: string, err: unknown): PeerlaneError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new PeerlaneError('INPUT_NOT_FOUND', `no such file: ${p}`);
  return new PeerlaneError('INPUT_UNREADABLE', `cannot read ${p}: ${(err as Error).message}`);
}

async function checkReadable(p: string): Promise<void> {
  try {
    await fs.access(p, fs.constants.R_OK);
  } catch {
    throw new PeerlaneError('INPUT_UNREADABLE', `cannot read ${p}: permission denied`);
  }
}

function meta(stat: Awaited<ReturnType<typeof fs.stat>>): Pick<SourceFile, 'mode' | 'mtime' | 'dev' | 'ino'> {
  return {
    mode: Number(stat.mode) & 0o777,
    mtime: Math.floor(Number(stat.mtimeMs)),
    dev: Number(stat.dev),
    ino: Number(stat.ino),
  };
}

/** Read-only, and never through a symlink at the file's own name. */
const OPEN_SOURCE = fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0);

/**
 * Open a scanned file to send it, which may be long after the scan (the
 * receiver chooses when to ACCEPT). It must still be the file scanned: not a
 * symlink now (O_NOFOLLOW), and the same device, inode and size, which also
 * catches a folder on its path swapped for a symlink. SOURCE_CHANGED otherwise.
 */
export async function openSource(file: SourceFile): Promise<fs.FileHandle> {
  const changed = (why: string): PeerlaneError =>
    new PeerlaneError('SOURCE_CHANGED', `${file.path} ${why} since it was listed; nothing of it was sent`);
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file.path, OPEN_SOURCE);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw changed('became a symbolic link');
    if (code === 'ENOENT') throw changed('is gone');
    throw notFound(file.path, err);
  }
  const stat = await handle.stat().catch(async (err: unknown) => {
    await handle.close();
    throw notFound(file.path, err);
  });
  const why = !stat.isFile()
    ? 'is no longer a regular file'
    : stat.dev !== file.dev || stat.ino !== file.ino
      ? 'was replaced by another file'
      : stat.size !== file.size
        ? `changed size (${file.size} to ${stat.size} bytes)`
        : undefined;
  if (why !== undefined) {
    await handle.close();
    throw changed(why);
  }
  return handle;
}

/** The sources gathered so far: at most MAX_FILES, and standard input once. */
class Gathered {
  readonly files: SourceFile[] = [];
  stdinUsed = false;

  constructor(readonly options: ResolveOptions) {}

  add(f: SourceFile): void {
    if (this.files.length >= MAX_FILES) {
      throw new PeerlaneError('USAGE', `at most ${MAX_FILES} files and folders per transfer`);
    }
    this.files.push(f);
  }
}

export async function resolveSources(
  paths: readonly string[],
  options: ResolveOptions = {},
): Promise<SourceFile[]> {
  if (paths.length === 0) throw new PeerlaneError('USAGE', 'name at least one file to send');
  const list = new Gathered(options);
  for (const p of paths) await resolveOne(list, p);
  if (list.files.length === 0) {
    throw new PeerlaneError('INPUT_UNREADABLE', 'nothing to send: symbolic links are not followed');
  }
  return list.files;
}

/** One path named on the command line: standard input, a file, or a folder with all under it. */
async function resolveOne(list: Gathered, p: string): Promise<void> {
  const { options } = list;
  if (p === '-') {
    if (list.stdinUsed) throw new PeerlaneError('USAGE', 'standard input (-) can be sent once');
    list.stdinUsed = true;
    list.add({
      path: '-',
      name: options.stdinName ?? 'stdin',
      size: null,
      stream: options.stdin ?? process.stdin,
    });
    return;
  }
  let stat: Awaited<ReturnType<typeof fs.stat>>;
  try {
    stat = await fs.lstat(p);
  } catch (err) {
    throw notFound(p, err);
  }
  if (stat.isSymbolicLink()) {
    options.onSkip?.(p, 'a symbolic link (not followed)');
    return;
  }
  const base = path.basename(path.resolve(p));
  if (stat.isDirectory()) {
    if (base === '' || base === path.sep)
      throw new PeerlaneError('USAGE', `cannot send the root folder ${p}`);
    await walk(list, p, base);
    return;
  }
  if (!stat.isFile()) throw new PeerlaneError('INPUT_UNREADABLE', `not a regular file: ${p}`);
  await checkReadable(p);
  list.add({ path: p, name: base, size: stat.size, ...meta(stat) });
}

/** A folder's files and folders, sorted, depth first, each folder after what is in it. */
async function walk(list: Gathered, dir: string, rel: string): Promise<void> {
  let entries: string[];
  try {
    entries = (await fs.readdir(dir)).sort();
  } catch (err) {
    throw notFound(dir, err);
  }
  for (const entry of entries) {
    const full = path.join(dir, entry);
    const name = `${rel}/${entry}`;
    let stat: Awaited<ReturnType<typeof fs.lstat>>;
    try {
      stat = await fs.lstat(full);
    } catch (err) {
      throw notFound(full, err);
    }
    if (stat.isSymbolicLink()) {
      list.options.onSkip?.(full, 'a symbolic link (not followed)');
    } else if (stat.isDirectory()) {
      await walk(list, full, name);
    } else if (stat.isFile()) {
      await checkReadable(full);
      list.add({ path: full, name, size: stat.size, ...meta(stat) });
    } else {
      list.options.onSkip?.(full, 'not a regular file');
    }
  }
  const stat = await fs.lstat(dir);
  list.add({ path: dir, name: rel, size: 0, kind: 'dir', ...meta(stat) });
}
