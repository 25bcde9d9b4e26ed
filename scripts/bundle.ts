/**
 * The `peer` CLI ships bundled: dist/peer.mjs (package.json's bin), and the
 * chunks in dist/chunks it loads per command.
 *
 * Why: Node 20 resolves, reads and compiles each of the ~100 ES modules the
 * CLI loads (ours, yargs and its helpers, @noble) one at a time, with no
 * compile cache. One file cuts 50–90 ms from every start, which is most of
 * what a transfer waits before its first byte on a LAN (see README,
 * Performance).
 *
 * Whitespace and syntax are minified, names are not: function and class
 * names stay in stack traces, and dist/peer.mjs.map maps them back to
 * dist/src (node --enable-source-maps). Why minify: V8 keeps a script's
 * whole source alive on the heap, and the size of the live heap decides how
 * often a transfer pays for a full GC. Each 256 KiB record allocates buffers
 * outside the heap; V8 counts those towards its old generation's limit, and
 * from a live heap of about 8.3 MB up, the limit is crossed every few
 * records. Measured on 1 GiB over direct TCP (node --trace-gc): the readable
 * bundle (887 KB, 8.7 MB live) made 78 mark-compacts on the receiver and 42 on
 * the sender; minified (635 KB, 7.0–7.9 MB live) 9 and 2–6, with receiver
 * user CPU 2.2 → 1.6 s. See README, Performance.
 *
 * node-datachannel stays external: it is a native addon, loaded from
 * node_modules as usual. The signal server is not bundled; it starts once.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';
import { packageRoot } from '../src/project.js';

const root = packageRoot();
const dist = path.join(root, 'dist');
// Chunk names carry a content hash: clear the last build's.
await rm(path.join(dist, 'chunks'), { recursive: true, force: true });
await build({
  entryPoints: {
    peer: path.join(dist, 'src', 'peer.js'),
    // The child process each connection attempt runs in with --isolate
    // (src/session/attempt-child.ts), started once per attempt; the code it
    // shares with peer's send and receive is in shared chunks.
    'attempt-child': path.join(dist, 'src', 'session', 'attempt-child.js'),
  },
  outdir: dist,
  outExtension: { '.js': '.mjs' },
  // Each command group (peer.ts loads it with import()) is a chunk of its own,
  // read only when one of its commands runs; code they share is a chunk too.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['node-datachannel'],
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  sourcesContent: false,
  // CommonJS dependencies bundled into an ES module still call require() for
  // Node's built-ins; give them one.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
