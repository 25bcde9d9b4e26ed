/**
 * The `peer` CLI ships as one bundled file, dist/peer.mjs (package.json's bin).
 *
 * Why: Node 20 resolves, reads and compiles each of the ~100 ES modules the
 * CLI loads (ours, yargs and its helpers, @noble) one at a time, with no
 * compile cache. One file cuts 50–90 ms from every start, which is most of
 * what a transfer waits before its first byte on a LAN (see README,
 * Performance). Not minified: stack traces stay readable, and minifying
 * gained under 5 ms more.
 *
 * node-datachannel stays external: it is a native addon, loaded from
 * node_modules as usual. The signal server is not bundled; it starts once.
 */
import path from 'node:path';
import { build } from 'esbuild';
import { packageRoot } from '../src/project.js';

const root = packageRoot();
// dist/attempt-child.mjs: the child process each connection attempt runs in
// with --isolate (src/session/attempt-child.ts); it starts once per attempt.
const ENTRIES = [
  ['peer.js', 'peer.mjs'],
  ['session/attempt-child.js', 'attempt-child.mjs'],
] as const;
for (const [entry, out] of ENTRIES) {
  await bundle(path.join(root, 'dist', 'src', entry), path.join(root, 'dist', out));
}

async function bundle(entry: string, outfile: string): Promise<void> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['node-datachannel'],
    // CommonJS dependencies bundled into an ES module still call require() for
    // Node's built-ins; give them one.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
}
