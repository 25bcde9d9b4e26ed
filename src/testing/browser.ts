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
