import { readFileSync } from 'node:fs';

/** The version in our package.json, found by walking up from this file (src/ or dist/src/). */
export function packageVersion(): string {
  for (let up = 1; up <= 4; up++) {
    try {
      const url = new URL(`${'../'.repeat(up)}package.json`, import.meta.url);
      const pkg = JSON.parse(readFileSync(url, 'utf8')) as unknown;
      if (
        typeof pkg === 'object' &&
        pkg !== null &&
        'name' in pkg &&
        pkg.name === 'peerlane' &&
        'version' in pkg
      ) {
        return String(pkg.version);
      }
    } catch {
      // not here; look one folder up
    }
  }
  return 'unknown';
}
