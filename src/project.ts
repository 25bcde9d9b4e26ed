import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface PackageInfo {
  root: string;
  version: string;
}

let cached: PackageInfo | undefined;

/** Our package.json, found by walking up from this file (it runs from src/ under tests, dist/src/ otherwise). */
function packageInfo(): PackageInfo {
  if (cached !== undefined) return cached;
  for (let up = 1; up <= 4; up++) {
    const url = new URL(`${'../'.repeat(up)}package.json`, import.meta.url);
    try {
      const pkg = JSON.parse(readFileSync(url, 'utf8')) as unknown;
      if (typeof pkg === 'object' && pkg !== null && 'name' in pkg && pkg.name === 'peerlane') {
        const version = 'version' in pkg ? String(pkg.version) : 'unknown';
        cached = { root: fileURLToPath(new URL('.', url)), version };
        return cached;
      }
    } catch {
      // not here; look one folder up
    }
  }
  throw new Error('peerlane: cannot find its own package.json');
}

export function packageVersion(): string {
  return packageInfo().version;
}

/** The folder holding package.json, with a trailing separator. */
export function packageRoot(): string {
  return packageInfo().root;
}

/**
 * The file users run for each program: `peer` is the bundled dist/peer.mjs
 * (package.json's bin, see scripts/bundle.ts); the signal server runs unbundled.
 * Tests and labs spawn these, so they exercise what ships.
 */
export function entryPoint(program: 'peer' | 'signal'): string {
  const root = packageRoot();
  return program === 'peer' ? `${root}dist/peer.mjs` : `${root}dist/src/signal.js`;
}
