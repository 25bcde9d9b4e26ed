/**
 * The page in real Chromium against the real signal server and real CLI
 * peers, all on loopback: it receives from and sends to the CLI, verified,
 * and fails with the CLI's codes.
 */
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  chromiumAvailable,
  finished,
  openPeerPage,
  opfsSha256,
  readyCode,
  sendFromPage,
  useChromium,
} from '../../src/testing/browser.js';
import { sha256File, writeRandomFile } from '../../src/testing/files.js';
import { useSignalServer } from '../../src/testing/hooks.js';

const MiB = 1024 * 1024;
/** The size: large enough that anything held whole, or a slow path, shows. */
const BIG = 200 * MiB;

describe.runIf(chromiumAvailable())('the page in Chromium', () => {
  const { h, server } = useSignalServer({ beforeEach, afterEach });
  const chromium = useChromium({ beforeAll, afterAll, afterEach });

  const pageUrl = (): string => `http://${server.host}:${server.port}/`;

  const openPage = (fragment = ''): Promise<Page> =>
    openPeerPage(chromium.browser, `${pageUrl()}${fragment}`);

  it('receives 200 MiB from the CLI into OPFS, verified, the same bytes', async () => {
    const dir = await h.tempDir();
    const src = path.join(dir, 'big.bin');
    await writeRandomFile(src, BIG);
    const page = await openPage();
    // The page's own policy lets it hash with WebAssembly (hasher.ts), not the 4x slower fallback.
    await page.locator('html[data-sha256="wasm"]').waitFor({ state: 'attached', timeout: 10_000 });
    // And it writes into its storage in place, from its worker (opfs-writer.ts), not by segments copied at the end.
    await page.locator('html[data-opfs="in-place"]').waitFor({ state: 'attached', timeout: 10_000 });
    const shown: number[] = [];
    page.on('console', (m) => {
      if (m.text().startsWith('{"event":"progress"')) shown.push(Date.now());
    });
    await page.locator('#receive').click();
    const code = await readyCode(page);
    const tx = h.peer(['send', src, '--to', code, ...server.peerArgs]);
    await page.locator('#accept').click({ timeout: 20_000 });
    expect(await finished(page), chromium.browser.errors.join('\n')).toBe('done');
    expect((await tx.exit()).code, tx.stderr).toBe(0);
    expect(await opfsSha256(page, 'big.bin')).toBe(await sha256File(src));
    // Progress is shown a few times a second, not once per 256 KiB frame (800 of them): the main thread has better to do.
    const seconds = ((shown.at(-1) ?? 0) - (shown[0] ?? 0)) / 1000;
    expect(shown.length).toBeLessThanOrEqual(Math.ceil(seconds * 10) + 3);
    const connected = await tx.waitFor('connected');
    expect(connected.transport).toBe('webrtc');
  }, 180_000);

  it('sends 200 MiB to the CLI, verified', async () => {
    const dir = await h.tempDir();
    const out = await h.tempDir();
    const src = path.join(dir, 'up.bin');
    await writeRandomFile(src, BIG);
    const rx = h.peer(['receive', '--yes', '--out', out, ...server.peerArgs]);
    const { code } = await rx.waitFor('ready');
    const page = await openPage();
    await sendFromPage(page, code, [src]);
    expect(await finished(page)).toBe('done');
    expect((await rx.exit()).code, rx.stderr).toBe(0);
    expect(await sha256File(path.join(out, 'up.bin'))).toBe(await sha256File(src));
  }, 180_000);

  it('sends from one tab to another', async () => {
    const dir = await h.tempDir();
    const src = path.join(dir, 'tab.bin');
    await writeRandomFile(src, 8 * MiB);
    const rx = await openPage();
    await rx.locator('#receive').click();
    const code = await readyCode(rx);
    const tx = await openPage();
    await sendFromPage(tx, code, [src]);
    await rx.locator('#accept').click({ timeout: 20_000 });
    expect(await finished(rx), chromium.browser.errors.join('\n')).toBe('done');
    expect(await finished(tx)).toBe('done');
    expect(await opfsSha256(rx, 'tab.bin')).toBe(await sha256File(src));
  });

  it('lays out at desktop and phone sizes (screenshots, for a person to look at)', async () => {
    const shots = process.env.PEERLANE_SCREENSHOTS ?? (await h.tempDir('peerlane-shots-'));
    for (const [name, viewport] of [
      ['desktop', { width: 1280, height: 800 }],
      ['phone', { width: 390, height: 844 }],
    ] as const) {
      const page = await chromium.browser.open(`${pageUrl()}#7-orbit-lemon`, viewport);
      await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
      // Nothing runs off the side at a phone's width.
      const overflow = await page.evaluate('document.documentElement.scrollWidth - window.innerWidth');
      expect(overflow).toBeLessThanOrEqual(0);
      const waiting = await openPeerPage(chromium.browser, pageUrl(), viewport);
      await waiting.locator('#receive').click();
      await readyCode(waiting);
      // The QR code of the page's link with the code, for a phone to scan.
      await waiting.locator('#qr').waitFor({ state: 'visible' });
      await waiting.screenshot({ path: path.join(shots, `${name}-waiting.png`), fullPage: true });
    }
  });
});
