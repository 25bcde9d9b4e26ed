/**
 * The browser page on the signal server's port: `/` is index.html of the web
 * folder, `/<name>` one of its plain files, each with a strict CSP and the
 * other security headers. Nothing else of the disk is reachable, however the
 * path is spelled; and a server whose page was never built still signals.
 */
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SECURITY_HEADERS } from '../../src/server/web/headers.js';
import { DEFAULT_WEB_ROOT, PAGE_NOT_BUILT } from '../../src/server/web/static.js';
import { Harness } from '../../src/testing/harness.js';
import { SignalBench, v } from '../../src/testing/signal-clients.js';

const bench = new SignalBench();
const h = new Harness();
afterEach(async () => {
  await bench.cleanup();
  await h.cleanup();
});

const INDEX = '<!doctype html><title>peerlane</title><script src="app.js"></script>\n';
const APP = 'console.log("app");\n';

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One request with the path exactly as given (no client normalises it), over a fresh connection. */
function request(port: number, target: string, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () =>
      socket.write(`${method} ${target} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nconnection: close\r\n\r\n`),
    );
    let raw = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      raw += chunk;
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', body = ''] = raw.split('\r\n\r\n', 2);
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
    });
  });
}

/** A web folder with the page, an asset, a dotfile and a subfolder, inside a folder holding a secret. */
async function webFolder(): Promise<{ parent: string; root: string }> {
  const parent = await h.tempDir('peerlane-web-');
  const root = path.join(parent, 'web');
  await fs.mkdir(path.join(root, 'sub'), { recursive: true });
  await fs.writeFile(path.join(root, 'index.html'), INDEX);
  await fs.writeFile(path.join(root, 'app.js'), APP);
  await fs.writeFile(path.join(root, '.env'), 'SECRET=1\n');
  await fs.writeFile(path.join(root, 'notes.txt'), 'an unknown kind\n');
  await fs.writeFile(path.join(root, 'sub', 'inner.js'), APP);
  await fs.writeFile(path.join(parent, 'secret.js'), 'SECRET\n');
  return { parent, root };
}

function expectSecure(answer: Answer): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(answer.headers[name]).toBe(value);
}

describe('the page', () => {
  it('`/` is index.html with a strict CSP, nosniff, no referrer, and a same-origin opener', async () => {
    const { root } = await webFolder();
    const s = await bench.start({}, { webRoot: root });
    const page = await request(s.port, '/');
    expect(page).toMatchObject({ status: 200, body: INDEX });
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-cache');
    expectSecure(page);
    const csp = page.headers['content-security-policy'];
    for (const directive of [
      "default-src 'none'",
      "script-src 'self' 'wasm-unsafe-eval'",
      "style-src 'self'",
      "connect-src 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "form-action 'none'",
    ]) {
      expect(csp).toContain(directive);
    }
    // WebAssembly may compile (the page's SHA-256); JavaScript eval and inline code may not.
    expect(csp?.replace("'wasm-unsafe-eval'", '')).not.toContain('unsafe');
    // The query (a fragment never reaches a server) does not change what is served.
    expect(await request(s.port, '/?x=1')).toMatchObject({ status: 200, body: INDEX });
  });

  it('serves a plain file of the folder with its type; HEAD without a body; other methods 405', async () => {
    const { root } = await webFolder();
    const s = await bench.start({}, { webRoot: root });
    const app = await request(s.port, '/app.js');
    expect(app).toMatchObject({ status: 200, body: APP });
    expect(app.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(app.headers['cache-control']).toMatch(/max-age=\d+/);
    expectSecure(app);
    const head = await request(s.port, '/', 'HEAD');
    expect(head).toMatchObject({ status: 200, body: '' });
    expect(head.headers['content-length']).toBe(String(INDEX.length));
    const post = await request(s.port, '/', 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it.each([
    '/../package.json',
    '/../secret.js',
    '/%2e%2e/secret.js',
    '/..%2fsecret.js',
    '/%2E%2E%2Fsecret.js',
    '/.env',
    '/%2eenv',
    '//etc/passwd',
    '/%2fetc%2fpasswd',
    '/sub/inner.js',
    '/sub%2finner.js',
    '/sub',
    '/app.js/',
    '/app.js%00.html',
    '/notes.txt',
    '/missing.js',
    '/index.html/..',
    '/%5c..%5csecret.js',
    '*',
  ])('%s is 404 and gives nothing away', async (target) => {
    const { root } = await webFolder();
    const s = await bench.start({}, { webRoot: root });
    const answer = await request(s.port, target);
    expect(answer.status).toBe(404);
    expect(answer.body).toBe('not found\n');
    expectSecure(answer);
  });

  it('without a built page, `/` says so in one line and signaling goes on', async () => {
    const parent = await h.tempDir('peerlane-web-');
    const s = await bench.start({}, { webRoot: path.join(parent, 'never-built') });
    const answer = await request(s.port, '/');
    expect(answer).toMatchObject({ status: 404, body: `${PAGE_NOT_BUILT}\n` });
    expectSecure(answer);
    const ws = await bench.webSocket(s);
    ws.sendJson({ v, type: 'register' });
    const { nameplate } = await ws.next();
    const tcp = await bench.connect(s);
    tcp.sendJson({ v, type: 'join', nameplate });
    expect(await tcp.next()).toMatchObject({ type: 'paired' });
    expect(await ws.next()).toMatchObject({ type: 'paired' });
  });

  it('by default serves the package build, dist/web/', () => {
    expect(DEFAULT_WEB_ROOT).toBe(`${path.resolve('dist', 'web')}${path.sep}`);
  });
});
