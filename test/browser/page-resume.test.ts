/**
 * A page receive cut short resumes in a later run: the CLI sender is killed
 * partway and the tab closed, then the same file is sent again to a fresh
 * tab, which offers the whole blocks it kept. Fewer bytes cross the second
 * time, and the file is the sender's, byte for byte. Into OPFS, and into a
 * folder the person picks (the picker, which headless Chromium cannot show,
 * answered by a stand-in that returns a folder of OPFS: a directory handle
 * like any other).
 */
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PeerEvent } from '../../src/core/events.js';
import {
  answerFolderPicker,
  chromiumAvailable,
  finished,
  openPeerPage,
  opfsSha256,
  readyCode,
  useChromium,
} from '../../src/testing/browser.js';
import { sha256File, writeRandomFile } from '../../src/testing/files.js';
import { useSignalServer } from '../../src/testing/hooks.js';

const MiB = 1024 * 1024;
/** Large enough that the sender is still sending when the cut comes. */
const SIZE = 160 * MiB;
/** Cut once this much has arrived: several whole segments (16 MiB) kept. */
const CUT_AFTER = 48 * MiB;
/** What a cut may cost: the segment in progress. */
const SEGMENT = 16 * MiB;

type Progress = Extract<PeerEvent, { event: 'progress' }>;

/** The page's progress events as it logs them, the latest last. */
function progressOf(page: Page): Progress[] {
  const seen: Progress[] = [];
  page.on('console', (m) => {
    if (m.text().startsWith('{"event":"progress"')) seen.push(JSON.parse(m.text()) as Progress);
  });
  return seen;
}

describe.runIf(chromiumAvailable())('the page resumes a receive across runs', () => {
  const { h, server } = useSignalServer({ beforeEach, afterEach });
  const chromium = useChromium({ beforeAll, afterAll, afterEach });
  const pageUrl = (): string => `http://${server.host}:${server.port}/`;

  /** A fresh tab (from `open`) waiting to receive, the CLI sending `src` to it. */
  async function receiveInTab(src: string, open: () => Promise<Page>) {
    const page = await open();
    const progress = progressOf(page);
    await page.locator('#receive').click();
    const code = await readyCode(page);
    const tx = h.peer(['send', src, '--to', code, ...server.peerArgs]);
    await page.locator('#accept').click({ timeout: 20_000 });
    return { page, progress, tx };
  }

  /** Receive `src` in one tab, kill the sender partway, close the tab: the bytes that had arrived. */
  async function cutShort(src: string, open: () => Promise<Page>): Promise<number> {
    const first = await receiveInTab(src, open);
    await expect
      .poll(() => first.progress.at(-1)?.bytes ?? 0, { timeout: 60_000, interval: 50 })
      .toBeGreaterThanOrEqual(CUT_AFTER);
    first.tx.kill('SIGKILL');
    await first.tx.exited;
    const cutAt = first.progress.at(-1)?.bytes ?? 0;
    expect(cutAt, 'the cut came after the end').toBeLessThan(SIZE);
    await first.page.close();
    return cutAt;
  }

  /** Receive `src` in one tab, cut it short; then receive it again in another. */
  async function cutThenResume(src: string, open: () => Promise<Page>) {
    const cutAt = await cutShort(src, open);
    const second = await receiveInTab(src, open);
    expect(await finished(second.page), chromium.browser.errors.join('\n')).toBe('done');
    expect((await second.tx.exit()).code, second.tx.stderr).toBe(0);
    const last = second.progress.at(-1);
    expect(last?.bytes).toBe(SIZE);
    // At most the segment in progress and what was in flight is sent again.
    expect(last?.moved).toBeLessThanOrEqual(SIZE - cutAt + SEGMENT);
    expect(last?.moved).toBeLessThan(SIZE - SEGMENT);
    return second.page;
  }

  it('after the sender is killed and the tab closed, from the blocks kept in OPFS', async () => {
    const src = path.join(await h.tempDir(), 'resume.bin');
    await writeRandomFile(src, SIZE);
    const page = await cutThenResume(src, async () => {
      const tab = await openPeerPage(chromium.browser, pageUrl());
      // Written in place by the page's worker (one data file per part), not in segments.
      await tab.locator('html[data-opfs="in-place"]').waitFor({ state: 'attached', timeout: 10_000 });
      return tab;
    });
    expect(await opfsSha256(page, 'resume.bin')).toBe(await sha256File(src));
  }, 180_000);

  it('in a picked folder, which the next picker opens in', async () => {
    const src = path.join(await h.tempDir(), 'picked.bin');
    await writeRandomFile(src, SIZE);
    const page = await cutThenResume(src, async () => {
      const tab = await chromium.browser.open(pageUrl());
      await answerFolderPicker(tab);
      await tab.locator('#more summary').click();
      await tab.locator('#pick-folder').setChecked(true);
      return tab;
    });
    // The second tab's picker was opened in the folder picked in the first (remembered in IndexedDB).
    const reopened = await page.evaluate(`(async () => {
      const [options] = globalThis.pickerCalls;
      const picked = await (await navigator.storage.getDirectory()).getDirectoryHandle('picked');
      return options?.startIn !== undefined && (await options.startIn.isSameEntry(picked));
    })()`);
    expect(reopened).toBe(true);
    expect(await opfsSha256(page, 'picked.bin', 'picked')).toBe(await sha256File(src));
  }, 180_000);

  it.each([
    [6, true],
    [8, false],
  ])(
    'a part in OPFS untouched for %i days is kept: %s',
    async (days, kept) => {
      const src = path.join(await h.tempDir(), 'old.bin');
      await writeRandomFile(src, SIZE);
      await cutShort(src, () => openPeerPage(chromium.browser, pageUrl()));
      // A later visit, days on: the page's clock moved (Date.now), the part's files as written.
      const later = await openPeerPage(chromium.browser, pageUrl());
      await later.clock.setFixedTime(Date.now() + days * 24 * 60 * 60 * 1000);
      await later.locator('#receive').click();
      await readyCode(later);
      const there = await later.evaluate(`(async () => {
      const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('received');
      return dir.getDirectoryHandle('old.bin.part').then(() => true, () => false);
    })()`);
      expect(there).toBe(kept);
    },
    120_000,
  );
});
