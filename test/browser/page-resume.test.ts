/**
 * A page receive cut short resumes in a later run: the CLI sender is killed
 * partway and the tab closed, then the same file is sent again to a fresh
 * tab, which offers the whole blocks it kept in OPFS. Fewer bytes cross the
 * second time, and the file is the sender's, byte for byte.
 */
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PeerEvent } from '../../src/core/events.js';
import {
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

  /** A fresh tab waiting to receive, the CLI sending `src` to it. */
  async function receiveInTab(src: string) {
    const page = await openPeerPage(chromium.browser, pageUrl());
    const progress = progressOf(page);
    await page.locator('#receive').click();
    const code = await readyCode(page);
    const tx = h.peer(['send', src, '--to', code, ...server.peerArgs]);
    await page.locator('#accept').click({ timeout: 20_000 });
    return { page, progress, tx };
  }

  it('after the sender is killed and the tab closed, from the blocks kept in OPFS', async () => {
    const src = path.join(await h.tempDir(), 'resume.bin');
    await writeRandomFile(src, SIZE);

    const first = await receiveInTab(src);
    await expect
      .poll(() => first.progress.at(-1)?.bytes ?? 0, { timeout: 60_000, interval: 50 })
      .toBeGreaterThanOrEqual(CUT_AFTER);
    first.tx.kill('SIGKILL');
    await first.tx.exited;
    const cutAt = first.progress.at(-1)?.bytes ?? 0;
    expect(cutAt, 'the cut came after the end').toBeLessThan(SIZE);
    await first.page.close();

    const second = await receiveInTab(src);
    expect(await finished(second.page), chromium.browser.errors.join('\n')).toBe('done');
    expect((await second.tx.exit()).code, second.tx.stderr).toBe(0);
    const last = second.progress.at(-1);
    expect(last?.bytes).toBe(SIZE);
    // At most the segment in progress (16 MiB) and what was in flight is sent again.
    expect(last?.moved).toBeLessThanOrEqual(SIZE - cutAt + 16 * MiB);
    expect(last?.moved).toBeLessThan(SIZE - 16 * MiB);
    expect(await opfsSha256(second.page, 'resume.bin')).toBe(await sha256File(src));
  }, 180_000);
});
