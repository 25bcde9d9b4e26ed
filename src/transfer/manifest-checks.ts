/**
 * Checks of a whole manifest that refuse it before the user is asked and
 * before anything is written. Each name alone is safe-names.ts's business;
 * these look at the names together, or at the manifest's shape.
 */

import { PeerlaneError } from '../core/errors.js';
import { checkManifestNames, checkRelPath } from '../core/transfer/names.js';
import type { ManifestEntry } from '../core/transfer/protocol.js';
import { targetPath } from './safe-names.js';

/** Every name safe under `outDir`, and no name both a file and a folder of another. */
export function checkLayout(outDir: string, files: readonly ManifestEntry[]): void {
  for (const f of files) targetPath(outDir, f.name);
  checkManifestNames(files);
}

/** --stdout takes exactly one file or stream, with a safe name: that entry, or NOT_ONE_STREAM. */
export function checkOneStream(files: readonly ManifestEntry[]): ManifestEntry {
  const only = files[0];
  if (files.length !== 1 || only === undefined || only.kind === 'dir') {
    throw new PeerlaneError(
      'NOT_ONE_STREAM',
      `--stdout takes one file or stream, and ${files.length} entries were offered`,
    );
  }
  checkRelPath(only.name);
  return only;
}
