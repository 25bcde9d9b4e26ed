/**
 * Before ACCEPT, what the output folder already holds for each file of a
 * manifest: complete and identical from an earlier run (not sent again), in
 * place from an earlier attempt of this session (held), or a `.part` to
 * resume. Reads only: nothing is created or changed here.
 */
import fs from 'node:fs/promises';
import type { Resumable, Survey } from '../core/transfer/file-access.js';
import type { ManifestEntry } from '../core/transfer/protocol.js';
import { BLOCK_SIZE } from '../core/transfer/protocol.js';
import type { FileResult } from '../core/transfer/types.js';
import { hashRange, readResumable } from './resume.js';
import {
  checkRelPath,
  dirsAreSafe,
  freeTarget,
  PART_SUFFIX,
  splitRelPath,
  targetPath,
} from './safe-names.js';
import { nodeSha256 } from './sha256.js';

/**
 * The `.part` of an earlier run for this name, size and sender's SHA-256
 * (resume.ts), if its target is still free. `targets` holds where earlier
 * attempts of this session put each name; a target found here is added to
 * `taken`.
 */
async function findResumable(
  outDir: string,
  entry: ManifestEntry,
  targets: ReadonlyMap<string, string>,
  taken: Set<string>,
): Promise<Resumable | undefined> {
  if (entry.size === null || entry.kind === 'dir') return undefined;
  // An earlier attempt of this session may have written it under `name (1)`.
  const target = targets.get(entry.name) ?? targetPath(outDir, entry.name);
  if (taken.has(target)) return undefined;
  // Never read state through a symlinked folder.
  if (!(await dirsAreSafe(outDir, splitRelPath(checkRelPath(entry.name)).dirs))) return undefined;
  // The finished name is taken now: start afresh elsewhere, before hashing the .part's blocks.
  if ((await fs.lstat(target).catch(() => undefined)) !== undefined) return undefined;
  const blocks = await readResumable(target + PART_SUFFIX, entry.size, entry.sha256);
  if (blocks === undefined) return undefined;
  taken.add(target);
  return { target, blocks };
}

/**
 * A regular file already at the entry's own path (not `name (1)`) with its
 * size and the SHA-256 the sender stated: an earlier run's, complete. The
 * sender's hash is compared with ours, never the other way round, so a sender
 * learns only what it could state itself.
 */
async function isIdentical(outDir: string, entry: ManifestEntry): Promise<boolean> {
  if (entry.sha256 === undefined || entry.size === null || entry.kind === 'dir') return false;
  // Never read through a symlinked folder, nor a symlink, FIFO or device.
  if (!(await dirsAreSafe(outDir, splitRelPath(checkRelPath(entry.name)).dirs))) return false;
  const target = targetPath(outDir, entry.name);
  let handle: fs.FileHandle | undefined;
  try {
    const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
    handle = await fs.open(target, O_RDONLY | (O_NOFOLLOW ?? 0) | (O_NONBLOCK ?? 0));
    const stat = await handle.stat();
    if (!stat.isFile() || stat.size !== entry.size) return false;
    const hash = nodeSha256();
    await hashRange(handle, 0, entry.size, hash);
    return hash.digestHex() === entry.sha256;
  } catch {
    return false;
  } finally {
    await handle?.close().catch(() => {});
  }
}

export interface SurveyOptions {
  outDir: string;
  files: readonly ManifestEntry[];
  /** Files verified and in place in earlier attempts of this session, by manifest name. */
  completed: ReadonlyMap<string, FileResult>;
  /** Where earlier attempts of this session put each name's `.part`. */
  targets: ReadonlyMap<string, string>;
  /** Targets given out in this transfer; each resumable one is added. */
  taken: Set<string>;
  overwrite: boolean;
}

/**
 * Before ACCEPT: which files an earlier attempt left in place or half-written.
 * With `overwrite`, also refuses now (BAD_NAME) a target that could not be
 * replaced, rather than mid-transfer.
 */
export async function surveyTargets(options: SurveyOptions): Promise<Survey> {
  const { outDir, files } = options;
  const held = new Map<number, FileResult>();
  const resumable = new Map<number, Resumable>();
  const already = new Map<number, FileResult>();
  for (const [index, f] of files.entries()) {
    const done = options.completed.get(f.name);
    if (done !== undefined && f.kind !== 'dir' && f.size === done.bytes) {
      held.set(index, done);
      continue;
    }
    if (f.sha256 !== undefined && f.size !== null && (await isIdentical(outDir, f))) {
      const path = targetPath(outDir, f.name);
      already.set(index, {
        name: f.name,
        path,
        bytes: f.size,
        sha256: f.sha256,
        resumedBytes: f.size,
        already: true as const,
      });
      continue;
    }
    const found = await findResumable(outDir, f, options.targets, options.taken);
    if (found !== undefined) resumable.set(index, found);
  }
  if (options.overwrite) {
    // A folder, symlink or stray .part in the way: refused now rather than mid-transfer.
    const scratch = new Set<string>();
    for (const [index, f] of files.entries()) {
      // A folder is merged into an existing one, never replaced.
      if (!resumable.has(index) && !held.has(index) && !already.has(index) && f.kind !== 'dir') {
        await freeTarget(outDir, f.name, scratch, true);
      }
    }
  }
  return { held, resumable, already };
}

/**
 * The bytes a manifest still needs on disk: nothing for a file held or
 * already there, and for a resumable one only what its `.part` lacks (the
 * blocks offered are reused in place; if the sender declines them, the .part
 * is cut back and frees as much).
 */
export function bytesToWrite(files: readonly ManifestEntry[], survey: Survey): number {
  let needed = 0;
  for (const [index, f] of files.entries()) {
    if (survey.held.has(index) || survey.already.has(index)) continue;
    needed += (f.size ?? 0) - (survey.resumable.get(index)?.blocks.length ?? 0) * BLOCK_SIZE;
  }
  return needed;
}
