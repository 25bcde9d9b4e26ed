/**
 * Real Chromium for the page's tests (test/browser/), driven by playwright-core
 * through the system's browser (Debian's `chromium`; no browser download).
 * Not exported from the package's testing index: playwright-core is a
 * development dependency.
 *
 * WebRTC on loopback needs flags: Chromium leaves loopback out of ICE unless
 * told, and hides host addresses behind mDNS names that nothing here
 * resolves. Everything else that would reach the network is off.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { chromium } from 'playwright-core';

/** Where the browser is: CHROMIUM_PATH, else Debian's. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

/**
 * Whether the browser tests can run. Without Chromium they are skipped, loudly,
 * except under CI, where a missing browser must fail them instead.
 */
export function chromiumAvailable(): boolean {
  const there = fs.existsSync(CHROMIUM_PATH);
  if (!there && process.env.CI === undefined) {
    console.warn(
      `\n*** browser tests SKIPPED: no Chromium at ${CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH) ***\n`,
    );
  }
  return there || process.env.CI !== undefined;
}

export interface Browser {
  context: BrowserContext;
  /** A new tab at `url`, its console errors collected in `errors`. */
  open(url: string, viewport?: { width: number; height: number }): Promise<Page>;
  /** What the pages logged as errors, and their events (logged at debug level), for a failing test to show. */
  errors: string[];
  close(): Promise<void>;
}

/** Chromium with a fresh profile of its own (removed on close). */
export async function launchChromium(): Promise<Browser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'peerlane-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ARGS,
  });
  const errors: string[] = [];
  return {
    context,
    errors,
    async open(url, viewport) {
      const page = await context.newPage();
      if (viewport !== undefined) await page.setViewportSize(viewport);
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'debug') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(url);
      return page;
    },
    async close() {
      await context.close().catch(() => {});
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** The page at `url`, set to save through OPFS (a folder picker cannot be answered headless). */
export async function openPeerPage(
  browser: Browser,
  url: string,
  viewport?: { width: number; height: number },
): Promise<Page> {
  const page = await browser.open(url, viewport);
  await page.locator('#more summary').click();
  await page.locator('#pick-folder').setChecked(false);
  return page;
}

/**
 * The folder picker, which headless Chromium cannot show, answered in `page`
 * as a person who picks OPFS's `picked` folder the first time, and then the
 * folder the picker opens in; each call's options kept in
 * `globalThis.pickerCalls`. A directory handle like any other.
 */
export async function answerFolderPicker(page: Page): Promise<void> {
  await page.evaluate(`(() => {
  globalThis.pickerCalls = [];
  window.showDirectoryPicker = async (options) => {
    globalThis.pickerCalls.push(options);
    if (options.startIn) return options.startIn;
    const root = await navigator.storage.getDirectory();
    return root.getDirectoryHandle('picked', { create: true });
  };
})()`);
}

/** Send `files` from the page: to `code`, or (empty) under a code the page then shows. */
export async function sendFromPage(page: Page, code: string, files: string[]): Promise<void> {
  await page.locator('#code').fill(code);
  await page.locator('#send').click();
  await page.locator('#files').setInputFiles(files);
  await page.locator('#go-send').click();
}

/** The SHA-256 of a file the page saved in OPFS (its `received` folder, or `folder`), read back in the page. */
export async function opfsSha256(page: Page, name: string, folder = 'received'): Promise<string> {
  // A string: this module is compiled without the DOM's types; the page has them.
  return page.evaluate(`(async () => {
    const root = await navigator.storage.getDirectory();
    const dir = await root.getDirectoryHandle(${JSON.stringify(folder)});
    const file = await (await dir.getFileHandle(${JSON.stringify(name)})).getFile();
    const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
    return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
  })()`);
}

/** The code the page shows once it waits. */
export async function readyCode(page: Page): Promise<string> {
  await page.locator('#ready-code:not(:empty)').waitFor({ timeout: 10_000 });
  const code = (await page.locator('#ready-code').textContent()) ?? '';
  if (!/^\d+-\w+-\w+$/.test(code)) throw new Error(`the page shows no code, but ${JSON.stringify(code)}`);
  return code;
}

/** How the page's transfer ended: 'done', or 'failed: <its error line>'. */
export async function finished(page: Page, timeout = 120_000): Promise<string> {
  await page.locator('#status[data-state]').waitFor({ timeout });
  const state = (await page.locator('#status').getAttribute('data-state')) ?? '';
  return state === 'done' ? state : `${state}: ${await page.locator('#error').textContent()}`;
}

type Hook = () => unknown;

/**
 * One Chromium for the file (launched before the first test, closed after the
 * last), its tabs closed after each test. `browser` reads through to it.
 */
export function useChromium(hooks: {
  beforeAll(fn: Hook): unknown;
  afterAll(fn: Hook): unknown;
  afterEach(fn: Hook): unknown;
}): { readonly browser: Browser } {
  let current: Browser | undefined;
  hooks.beforeAll(async () => {
    current = await launchChromium();
  });
  hooks.afterAll(async () => {
    await current?.close();
  });
  hooks.afterEach(async () => {
    for (const p of current?.context.pages() ?? []) await p.close();
  });
  return {
    get browser(): Browser {
      if (current === undefined) throw new Error('useChromium: no browser outside a test');
      return current;
    },
  };
}
