/**
 * The page fails as the CLI does, with the same codes on both sides: a wrong
 * code, a refusal, a hostile name. And a link with a code in its fragment
 * claims nothing until a tap.
 */
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TRANSFER_PROTOCOL_VERSION } from '../../src/core/transfer/protocol.js';
import {
  answerFolderPicker,
  chromiumAvailable,
  finished,
  openPeerPage,
  readyCode,
  sendFromPage,
  useChromium,
} from '../../src/testing/browser.js';
import { writeRandomFile } from '../../src/testing/files.js';
import { useSignalServer } from '../../src/testing/hooks.js';
import { rawSender } from '../../src/testing/raw-peer.js';
import { encodeControl } from '../../src/transfer/frames.js';

const MiB = 1024 * 1024;

describe.runIf(chromiumAvailable())('the page’s failures in Chromium', () => {
  const { h, server } = useSignalServer({ beforeEach, afterEach });
  const chromium = useChromium({ beforeAll, afterAll, afterEach });

  const openPage = (fragment = ''): Promise<Page> =>
    openPeerPage(chromium.browser, `http://${server.host}:${server.port}/${fragment}`);

  async function someFile(): Promise<string> {
    const src = path.join(await h.tempDir(), 'a.txt');
    await writeRandomFile(src, 1000);
    return src;
  }

  it('a wrong code typed in the page: BAD_CODE on both sides', async () => {
    const rx = h.peer(['receive', '--yes', '--out', await h.tempDir(), ...server.peerArgs]);
    const { code } = await rx.waitFor('ready');
    // Real code words, not the receiver's: a typo would be caught before any try (no BAD_CODE at the CLI).
    const wrong = code.replace(/-\w+-\w+$/, '-abandon-ability');
    const page = await openPage();
    await sendFromPage(page, wrong, [await someFile()]);
    expect(await finished(page)).toMatch(/^failed: BAD_CODE: /);
    expect((await rx.exit()).code).not.toBe(0);
    expect(rx.error?.code).toBe('BAD_CODE');
  });

  it('the page refusing the manifest: REFUSED at the CLI, nothing sent', async () => {
    const page = await openPage();
    await page.locator('#receive').click();
    const code = await readyCode(page);
    const tx = h.peer(['send', await someFile(), '--to', code, ...server.peerArgs]);
    await page.locator('#refuse').click({ timeout: 20_000 });
    expect(await finished(page)).toMatch(/^failed: REFUSED: /);
    expect((await tx.exit()).code).not.toBe(0);
    expect(tx.error?.code).toBe('REFUSED');
    expect(tx.events.some((e) => e.event === 'progress')).toBe(false);
  });

  it('a hostile name from a raw sender is refused before anyone is asked', async () => {
    const page = await openPage();
    await page.locator('#receive').click();
    const code = await readyCode(page);
    const peer = await rawSender(server, code);
    const files = [{ name: '../escape.txt', size: 4, sha256: '0'.repeat(64) }];
    peer.link.send(encodeControl({ type: 'manifest', v: TRANSFER_PROTOCOL_VERSION, files }));
    const error = await peer.next('error');
    expect(error.code).toBe('BAD_NAME');
    expect(await finished(page)).toMatch(/^failed: BAD_NAME: /);
    expect(await page.locator('#consent').isVisible()).toBe(false);
    peer.close();
  });

  it('a link with a code claims nothing until Send or Receive is tapped', async () => {
    const rx = h.peer(['receive', '--yes', '--out', await h.tempDir(), ...server.peerArgs]);
    const { code } = await rx.waitFor('ready');
    const wrong = code.replace(/-\w+-\w+$/, '-wrong-words');
    // Opened (as a preview or a scanner would), never tapped: the code's one guess is not spent.
    const preview = await openPage(`#${wrong}`);
    expect(await preview.locator('#code').inputValue()).toBe(wrong);
    await preview.close();
    const page = await openPage(`#${code}`);
    await page.locator('#send').click();
    await page.locator('#files').setInputFiles(await someFile());
    await page.locator('#go-send').click();
    expect(await finished(page)).toBe('done');
    expect((await rx.exit()).code, rx.stderr).toBe(0);
  });

  it.each([
    ['into its own storage, written in place by its worker', 'received'],
    ['into a picked folder, in segments', 'picked'],
  ])('storage full mid-file %s: DISK_FULL on both sides, nothing under the name', async (_, folder) => {
    const page = await openPage();
    if (folder === 'picked') {
      await answerFolderPicker(page);
      await page.locator('#pick-folder').setChecked(true);
    } else {
      await page.locator('html[data-opfs="in-place"]').waitFor({ state: 'attached', timeout: 10_000 });
    }
    // The origin's quota set below the file (CDP), as a phone with little room left would have.
    const cdp = await chromium.browser.context.newCDPSession(page);
    await cdp.send('Storage.overrideQuotaForOrigin', {
      origin: new URL(page.url()).origin,
      quotaSize: 24 * MiB,
    });
    const src = path.join(await h.tempDir(), 'big.bin');
    await writeRandomFile(src, 64 * MiB);
    await page.locator('#receive').click();
    const code = await readyCode(page);
    const tx = h.peer(['send', src, '--to', code, ...server.peerArgs]);
    await page.locator('#accept').click({ timeout: 20_000 });
    expect(await finished(page)).toMatch(/^failed: DISK_FULL: /);
    expect((await tx.exit()).code).not.toBe(0);
    // The receiver's code reaches the sender, as between two CLIs.
    expect(tx.error?.code).toBe('DISK_FULL');
    // What was written stays in its .part folder for a later run; no file carries the name.
    const named = await page.evaluate(`(async () => {
      const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(${JSON.stringify(folder)});
      return dir.getFileHandle('big.bin').then(() => true, () => false);
    })()`);
    expect(named).toBe(false);
  });
});
