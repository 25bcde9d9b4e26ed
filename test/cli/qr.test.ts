/**
 * `--qr`: a printed code also as a terminal QR code of the browser page with
 * the code in its fragment, and that link as text; with --json, a `url` field
 * of the `ready` event instead. The page's address is --page-url, else the
 * signal server's own port over HTTP.
 */
import path from 'node:path';
import QRCode from 'qrcode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256File, writeRandomFile } from '../../src/testing/files.js';
import type { SignalHandle } from '../../src/testing/harness.js';
import { Harness } from '../../src/testing/harness.js';

const h = new Harness();
let server: SignalHandle;

beforeAll(async () => {
  server = await h.signalProcess();
});
afterAll(() => h.cleanup());

/** What the qrcode package draws for `link`, as peer must have printed it. */
function expectedBlock(link: string): Promise<string> {
  return QRCode.toString(link, { type: 'terminal', small: true });
}

describe('--qr', () => {
  it('peer receive --qr draws the page link of its code, and prints the link', async () => {
    const rx = h.spawnScript('peer', ['receive', '--qr', '--yes', ...server.peerArgs]);
    await expect.poll(() => rx.strayStdout.length, { timeout: 20_000 }).toBe(1);
    const code = rx.strayStdout[0] ?? '';
    expect(code).toMatch(/^\d+-[a-z]+-[a-z]+$/);
    const link = `http://${server.host}:${server.port}/#${code}`;
    await expect.poll(() => rx.stderr).toContain(`Scan it, or open ${link} in a browser.`);
    expect(rx.stderr).toContain(await expectedBlock(link));
    rx.kill('SIGTERM');
  });

  it('a code-making send --qr links to --page-url, and the transfer goes on as ever', async () => {
    const src = path.join(await h.tempDir('peerlane-src-'), 'a.bin');
    await writeRandomFile(src, 50_000);
    const tx = h.spawnScript('peer', [
      'send',
      src,
      '--qr',
      '--page-url',
      'https://drop.example.org/',
      ...server.peerArgs,
    ]);
    await expect.poll(() => tx.strayStdout.length, { timeout: 20_000 }).toBe(1);
    const code = tx.strayStdout[0] ?? '';
    const link = `https://drop.example.org/#${code}`;
    await expect.poll(() => tx.stderr).toContain(`Scan it, or open ${link} in a browser.`);
    expect(tx.stderr).toContain(await expectedBlock(link));

    const out = await h.tempDir('peerlane-out-');
    const rx = h.peer(['receive', code, '--yes', '--out', out, ...server.peerArgs]);
    expect((await rx.exit()).code, rx.stderr).toBe(0);
    expect((await tx.exit()).code, tx.stderr).toBe(0);
    expect(await sha256File(path.join(out, 'a.bin'))).toBe(await sha256File(src));
  });

  it('with --json: the link is a url field of `ready`, and no QR is drawn', async () => {
    const rx = h.peer(['receive', '--qr', ...server.peerArgs]);
    const ready = await rx.waitFor('ready');
    expect(ready).toEqual({
      event: 'ready',
      code: expect.stringMatching(/^\d+-[a-z]+-[a-z]+$/),
      url: `http://${server.host}:${server.port}/#${ready.code}`,
    });
    expect(rx.stderr).not.toContain('Scan it');
    expect(rx.stderr).not.toContain('▄');
    rx.kill('SIGTERM');
  });

  it('without --qr, `ready` is as it was', async () => {
    const rx = h.peer(['receive', '--page-url', 'https://drop.example.org/', ...server.peerArgs]);
    expect(Object.keys(await rx.waitFor('ready'))).toEqual(['event', 'code']);
    rx.kill('SIGTERM');
  });

  it.each([
    'ftp://drop.example.org/',
    'drop.example.org',
    'https://drop.example.org/#x',
    'https://u:p@example.org/',
  ])('--page-url %s is BAD_CONFIG, exit 2', async (url) => {
    const rx = h.peer(['receive', '--qr', '--page-url', url, ...server.peerArgs]);
    expect((await rx.exit()).code).toBe(2);
    expect(rx.error?.code).toBe('BAD_CONFIG');
    expect(rx.events.map((e) => e.event)).toEqual(['error']);
  });
});
