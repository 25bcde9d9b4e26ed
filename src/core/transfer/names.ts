/**
 * Received names are hostile: the checks of a name offered by the peer that
 * need no file system, shared by the CLI (transfer/safe-names.ts, which adds
 * the on-disk half) and the browser page.
 *
 * A name is a relative path of '/'-separated components (a folder's files keep
 * their place in it). Each component is checked alone (checkFileName): no empty
 * component, no '.' or '..', no backslash, drive prefix, control or bidi
 * character, and no over-long component; the whole path stays under PATH_MAX.
 */
import { PeerlaneError } from '../errors.js';
import type { ManifestEntry } from './protocol.js';
import { MAX_NAME_BYTES } from './protocol.js';

/** The suffix of a file still being received; a name with it is never a finished file. */
export const PART_SUFFIX = '.part';

/** Linux PATH_MAX, terminating NUL included: no path we create may reach it. */
export const MAX_PATH_BYTES = 4096;

// C0 and C1 controls, DEL, and the Unicode line and paragraph separators:
// invisible or line-breaking in a terminal, and used to spoof output.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
// Bidirectional marks, overrides and isolates make "txt.exe" display as "exe.txt".
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
// A lone UTF-16 surrogate has no UTF-8 form: the name on disk would differ from the one shown.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
// Separators of any platform, and a drive prefix such as "C:".
const SEPARATOR = /[/\\]/;
const DRIVE = /^[a-zA-Z]:/;

const utf8 = new TextEncoder();

/** A string's length in UTF-8. */
export function utf8Bytes(s: string): number {
  return utf8.encode(s).length;
}

export function refuseName(name: string, why: string): never {
  throw new PeerlaneError('BAD_NAME', `refused file name ${JSON.stringify(name.slice(0, 80))}: ${why}`);
}

/** Return the NFC form of `name` if it is a safe single file name; throw BAD_NAME otherwise. */
export function checkFileName(name: string): string {
  if (LONE_SURROGATE.test(name)) refuseName(name, 'it is not valid Unicode');
  const nfc = name.normalize('NFC');
  const refuse = (why: string): never => refuseName(name, why);
  if (nfc.length === 0) refuse('it is empty');
  if (nfc === '.' || nfc === '..') refuse('it names a folder');
  if (CONTROL.test(nfc)) refuse('it contains control characters');
  if (BIDI.test(nfc)) refuse('it contains bidirectional text controls');
  if (SEPARATOR.test(nfc)) refuse('it contains a path separator');
  if (DRIVE.test(nfc)) refuse('it starts with a drive letter');
  if (utf8Bytes(nfc) + PART_SUFFIX.length > MAX_NAME_BYTES) refuse('it is too long');
  return nfc;
}

/**
 * Return the NFC form of `name` if it is a safe relative path ('/'-separated
 * components, each a safe name); throw BAD_NAME otherwise.
 */
export function checkRelPath(name: string): string {
  if (name.startsWith('/')) refuseName(name, 'it is an absolute path');
  if (name.endsWith('/')) refuseName(name, 'it ends with a separator');
  const parts = name.split('/');
  if (parts.some((p) => p.length === 0)) refuseName(name, 'it has an empty path component');
  const safe = parts.map((p) => checkFileName(p)).join('/');
  if (utf8Bytes(safe) + PART_SUFFIX.length >= MAX_PATH_BYTES) refuseName(name, 'the path is too long');
  return safe;
}

/** The folders of a relative path, and its last component. */
export function splitRelPath(safe: string): { dirs: string[]; base: string } {
  const parts = safe.split('/');
  const base = parts.pop() ?? '';
  return { dirs: parts, base };
}

/** Every name safe, and no name both a file and a folder of another. Throws BAD_NAME. */
export function checkManifestNames(files: readonly ManifestEntry[]): void {
  const fileNames = new Set<string>();
  const dirNames = new Set<string>();
  for (const f of files) {
    const safe = checkRelPath(f.name);
    const { dirs } = splitRelPath(safe);
    for (let i = 1; i <= dirs.length; i++) dirNames.add(dirs.slice(0, i).join('/'));
    if (f.kind === 'dir') dirNames.add(safe);
    else fileNames.add(safe);
  }
  for (const name of fileNames) {
    if (dirNames.has(name)) refuseName(name, 'it is also a folder');
  }
}
