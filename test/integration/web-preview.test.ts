/**
 * A link preview does not burn the nameplate (issue 18): a chat app or QR
 * scanner that fetches `<page>/#<code>` sends a plain GET of the page (the
 * fragment never reaches a server), and maybe a HEAD. The server serves the
 * page and nothing more: the receiver keeps waiting under its nameplate, and
 * the sender who then uses the code gets through on the first try.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256File, writeRandomFile } from '../../src/testing/files.js';
import { Harness } from '../../src/testing/harness.js';
import { requestText } from '../../src/testing/http-text.js';

const h = new Harness();
afterEach(() => h.cleanup());

const PAGE = '<!doctype html><title>peerlane</title><script src="app.js"></script>\n';

async function fetchPage(
  port: number,
  target: string,
  method = 'GET',
): Promise<{ status: number; body: string }> {
  const { status, body } = await requestText({ host: '127.0.0.1', port, path: target, method });
  return { status, body };
}

describe('a link preview', () => {
  it("GET and HEAD of `peer receive --qr`'s link leave the receiver waiting, and the code still works", async () => {
    const web = await h.tempDir('peerlane-web-');
    await fs.writeFile(path.join(web, 'index.html'), PAGE);
    const server = await h.signalServer({ webRoot: web });
    const out = await h.tempDir('peerlane-out-');
    const rx = h.peer(['receive', '--qr', '--yes', '--out', out, ...server.peerArgs]);
    const { code, url } = await rx.waitFor('ready');
    expect(server.server.stats).toEqual({ clients: 1, waiting: 1 });

    // What a preview bot or a scanner's prefetch does with the link: the fragment stays behind.
    const link = new URL(url ?? '');
    expect(link.hash).toBe(`#${code}`);
    expect(await fetchPage(server.port, `${link.pathname}${link.search}`)).toEqual({
      status: 200,
      body: PAGE,
    });
    expect(await fetchPage(server.port, '/?x')).toEqual({ status: 200, body: PAGE });
    expect((await fetchPage(server.port, '/', 'HEAD')).status).toBe(200);
    expect(server.server.stats).toEqual({ clients: 1, waiting: 1 });

    const src = path.join(await h.tempDir('peerlane-src-'), 'photo.jpg');
    await writeRandomFile(src, 100_000);
    const tx = h.peer(['send', src, '--to', code, ...server.peerArgs]);
    expect((await tx.exit()).code, tx.stderr).toBe(0);
    expect((await rx.exit()).code, rx.stderr).toBe(0);
    expect(await sha256File(path.join(out, 'photo.jpg'))).toBe(await sha256File(src));
  });
});
