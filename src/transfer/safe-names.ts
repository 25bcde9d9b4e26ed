/**
 * Received names are hostile. This module turns a name offered by the peer into
 * a path under the output folder, or refuses it.
 *
 * Today a name is one path component (the sender sends base names only), so
 * anything with a separator is refused rather than interpreted.
 */
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { PeerlaneError } from '../errors.js';
import { MAX_NAME_BYTES } from './protocol.js';

/** The suffix of a file still being received; a name with it is never a finished file. */
export const PART_SUFFIX = '.part';

// C0 and C1 controls and DEL: invisible in a terminal, and used to spoof output.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// Bidirectional overrides and isolates make "txt.exe" display as "exe.txt".
const BIDI = /[\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
// Separators of any platform, and a drive prefix such as "C:".
const SEPARATOR = /[/\\]/;
const DRIVE = /^[a-zA-Z]:/;

/** Return the NFC form of `name` if it is a safe single file name; throw BAD_NAME otherwise. */
export function checkName(name: string): string {
  const nfc = name.normalize('NFC');
  const refuse = (why: string): never => {
    throw new PeerlaneError('BAD_NAME', `refused file name ${JSON.stringify(name.slice(0, 80))}: ${why}`);
  };
  if (nfc.length === 0) refuse('it is empty');
  if (nfc === '.' || nfc === '..') refuse('it names a folder');
  if (CONTROL.test(nfc)) refuse('it contains control characters');
  if (BIDI.test(nfc)) refuse('it contains bidirectional text controls');
  if (SEPARATOR.test(nfc)) refuse('it contains a path separator');
  if (DRIVE.test(nfc)) refuse('it starts with a drive letter');
  if (Buffer.byteLength(nfc, 'utf8') + PART_SUFFIX.length > MAX_NAME_BYTES) refuse('it is too long');
  return nfc;
}

/** `name`, then `stem (1).ext`, `stem (2).ext`, … */
function candidate(name: string, n: number): string {
  if (n === 0) return name;
  const ext = path.extname(name);
  const stem = ext.length > 0 && ext.length < name.length ? name.slice(0, -ext.length) : name;
  return ext.length < name.length ? `${stem} (${n})${ext}` : `${name} (${n})`;
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * A path under `dir` for `name` where neither the file nor its `.part` exists
 * and that no other file of this transfer has taken. Never overwrites.
 */
export async function freeTarget(dir: string, name: string, taken: Set<string>): Promise<string> {
  const safe = checkName(name);
  const root = path.resolve(dir);
  for (let n = 0; n < 10_000; n++) {
    const target = path.join(root, candidate(safe, n));
    // Defence in depth: whatever checkName missed, never leave `dir`.
    if (path.dirname(target) !== root) throw new PeerlaneError('BAD_NAME', `refused file name ${safe}`);
    if (taken.has(target)) continue;
    if (await exists(target)) continue;
    if (await exists(target + PART_SUFFIX)) continue;
    taken.add(target);
    return target;
  }
  throw new PeerlaneError('BAD_NAME', `no free name for ${safe}`);
}

/**
 * Move a verified `.part` into place without replacing anything: link(2) fails
 * on an existing target, where rename(2) would silently replace it. Returns
 * the final path, which differs from `target` if something appeared there
 * meanwhile (then it is the next free variant of `name`).
 */
export async function publish(
  partPath: string,
  target: string,
  name: string,
  taken: Set<string>,
): Promise<string> {
  let dest = target;
  for (;;) {
    try {
      await fs.link(partPath, dest);
      await fs.unlink(partPath);
      return dest;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        dest = await freeTarget(path.dirname(target), name, taken);
        continue;
      }
      if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') {
        // File systems without hard links: fall back to a checked rename.
        await fs.copyFile(partPath, dest, constants.COPYFILE_EXCL);
        await fs.unlink(partPath);
        return dest;
      }
      throw err;
    }
  }
}
