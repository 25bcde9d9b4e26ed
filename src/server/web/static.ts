/**
 * The browser page, served from one folder of built files (dist/web/ of the
 * installed package by default): `/` is its index.html, `/<name>` one of its
 * files. A name is taken as it comes, never decoded: only plain names of the
 * folder match (letters, digits, `_`, `-`, `.`, no leading dot), so no `..`,
 * no slash, no percent-escape and no dotfile can reach anything else.
 */
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { answerText, SECURITY_HEADERS } from './headers.js';

/**
 * The built server is dist/src/server/web/static.js, and the page's build is
 * dist/web/ beside it; run from source (tests in this process), the same build.
 */
const FROM_HERE = import.meta.url.endsWith('.ts') ? '../../../dist/web/' : '../../../web/';
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL(FROM_HERE, import.meta.url));

const INDEX = 'index.html';
const PLAIN_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.wasm': 'application/wasm',
  '.ico': 'image/x-icon',
};

/** index.html names the assets: a browser asks again each time, so a new build shows at once. */
const INDEX_CACHE = 'no-cache';
/** Assets may be reused for a few minutes: a reload stays cheap, and a new build is not far off. */
const ASSET_CACHE = 'public, max-age=300';

export const PAGE_NOT_BUILT = 'the browser page is not built on this server (npm run build makes dist/web/)';

export class StaticPage {
  constructor(private readonly root: string) {}

  /** Answer a request for the page or one of its files; anything else is 404 (405 for other methods). */
  serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    const name = fileName(req.url ?? '');
    if (name === undefined) answerText(res, 404, 'not found');
    else if (req.method !== 'GET' && req.method !== 'HEAD') {
      answerText(res, 405, 'method not allowed', { allow: 'GET, HEAD' });
    } else this.send(name, req, res);
  }

  private send(name: string, req: http.IncomingMessage, res: http.ServerResponse): void {
    const file = path.join(this.root, name);
    fs.stat(file, (err, stat) => {
      if (err !== null || !stat.isFile()) {
        answerText(res, 404, name === INDEX ? PAGE_NOT_BUILT : 'not found');
        return;
      }
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'content-type': CONTENT_TYPES[path.extname(name)],
        'content-length': stat.size,
        'cache-control': name === INDEX ? INDEX_CACHE : ASSET_CACHE,
      });
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      const stream = fs.createReadStream(file);
      stream.on('error', () => res.destroy());
      stream.pipe(res);
    });
  }
}

/** The file a request path names (its query left out), or undefined if it names none of ours. */
export function fileName(url: string): string | undefined {
  const pathname = url.split('?', 1)[0] ?? '';
  if (pathname === '/') return INDEX;
  if (!pathname.startsWith('/')) return undefined;
  const name = pathname.slice(1);
  if (!PLAIN_NAME.test(name)) return undefined;
  return CONTENT_TYPES[path.extname(name)] === undefined ? undefined : name;
}
