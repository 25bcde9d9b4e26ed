/**
 * The page in real Chromium against the real signal server and real CLI
 * peers, all on loopback: it receives from and sends to the CLI, verified,
 * and fails with the CLI's codes.
 */
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Browser } from '../../src/testing/browser.js';
import { chromiumAvailable, launchChromium } from '../../src/testing/browser.js';
import { sha256File, writeRandomFile } from '../../src/testing/files.js';
import { useSignalServer } from '../../src/testing/hooks.js';

const MiB = 1024 * 1024;
/** The size: large enough that anything held whole, or a slow path, shows. */
const BIG = 200 * MiB;
/**
 * On a loopback bind address the CLI raises its SCTP MTU to 4096
 * (rtc/connect.ts); Chromium's SCTP drops packets that large and the channel
 * closes as soon as data flows. A CLI that talks to a browser keeps the
 * standard size.
 */
const BROWSER_MTU = ['--mtu', '1280'];

describe.runIf(chromiumAvailable())('the page in Chromium', () => {
  const { h, server } = useSignalServer({ beforeEach, afterEach });
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    for (const p of browser.context.pages()) await p.close();
  });

  const pageUrl = (): string => `http://${server.host}:${server.port}/`;

  async function openPage(fragment = ''): Promise<Page> {
    const page = await browser.open(`${pageUrl()}${fragment}`);
    // The tests save through OPFS: a folder picker cannot be answered headless.
    await page.locator('#more summary').click();
    await page.locator('#pick-folder').setChecked(false);
    return page;
  }

  /** The SHA-256 of a file the page saved in OPFS, read back in the page. */
  async function opfsSha256(page: Page, name: string): Promise<string> {
    // A string: this file is compiled without the DOM's types, the page has them.
    return page.evaluate(`(async () => {
      const root = await navigator.storage.getDirectory();
      const dir = await root.getDirectoryHandle('received');
      const file = await (await dir.getFileHandle(${JSON.stringify(name)})).getFile();
      const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
      return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
    })()`);
  }

  /** The code the page shows once it waits. */
  async function readyCode(page: Page): Promise<string> {
    await page.locator('#ready-code:not(:empty)').waitFor({ timeout: 10_000 });
    const code = (await page.locator('#ready-code').textContent()) ?? '';
    expect(code).toMatch(/^\d+-\w+-\w+$/);
    return code;
  }

  /** How the page's transfer ended: 'done', or 'failed: <its error line>'. */
  async function finished(page: Page, timeout = 120_000): Promise<string> {
    await page.locator('#status[data-state]').waitFor({ timeout });
    const state = (await page.locator('#status').getAttribute('data-state')) ?? '';
    return state === 'done' ? state : `${state}: ${await page.locator('#error').textContent()}`;
  }

  it('receives 200 MiB from the CLI into OPFS, verified, the same bytes', async () => {
    const dir = await h.tempDir();
    const src = path.join(dir, 'big.bin');
    await writeRandomFile(src, BIG);
    const page = await openPage();
    await page.locator('#receive').click();
    const code = await readyCode(page);
    const tx = h.peer(['send', src, '--to', code, ...server.peerArgs, ...BROWSER_MTU]);
    await page.locator('#accept').click({ timeout: 20_000 });
    expect(await finished(page), browser.errors.join('\n')).toBe('done');
    expect((await tx.exit()).code, tx.stderr).toBe(0);
    expect(await opfsSha256(page, 'big.bin')).toBe(await sha256File(src));
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
    await page.locator('#code').fill(code);
    await page.locator('#send').click();
    await page.locator('#files').setInputFiles(src);
    await page.locator('#go-send').click();
    expect(await finished(page)).toBe('done');
    expect((await rx.exit()).code, rx.stderr).toBe(0);
    expect(await sha256File(path.join(out, 'up.bin'))).toBe(await sha256File(src));
  }, 180_000);
});
