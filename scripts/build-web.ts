/**
 * The browser page, dist/web/: index.html, app.css, and app.js bundled from
 * src/web/app.ts with the core it runs (the same modules as the CLI), and
 * opfs-writer.js, the worker that writes received files in place. The
 * signal server serves this folder at `/` (server/web/static.ts) under a CSP
 * that forbids inline script and style, so each is its own file.
 *
 * ES2022 (the browsers with WebRTC data channels and File System Access all
 * run it), minified: a phone on a slow link loads it once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { packageRoot } from '../src/project.js';

const root = packageRoot();
const src = path.join(root, 'src', 'web');
const out = path.join(root, 'dist', 'web');

fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });
await build({
  entryPoints: [path.join(src, 'app.ts'), path.join(src, 'opfs-writer.ts'), path.join(src, 'app.css')],
  outdir: out,
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
});
fs.copyFileSync(path.join(src, 'index.html'), path.join(out, 'index.html'));
