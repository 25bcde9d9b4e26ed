/**
 * The real `peer send` against a receiver that knows the code and means harm:
 * it chooses when ACCEPT comes, so it can wait while someone on the sender's
 * machine swaps a listed file for a symlink, and it can hold the sender
 * forever by never granting credit.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ManifestEntry } from '../../src/core/transfer/protocol.js';
import type { TransferResult } from '../../src/core/transfer/types.js';
import { listTree, writeRandomFile } from '../../src/testing/files.js';
import type { EventProcess } from '../../src/testing/harness.js';
import { LOOPBACK } from '../../src/testing/harness.js';
import { useSignalServer } from '../../src/testing/hooks.js';
import { startReceiver } from '../../src/testing/in-process.js';

const rtc = { iceServers: [], bindAddress: LOOPBACK, timeoutMs: 10_000 };

const { h, server } = useSignalServer({ beforeEach, afterEach });

/** receive() in this process, running `beforeAccept` once the manifest is in; resolves with its code. */
async function receiver(
  outDir: string,
  beforeAccept: (files: readonly ManifestEntry[]) => Promise<void>,
): Promise<{ code: string; result: Promise<TransferResult> }> {
  const rx = startReceiver({ signal: server, rtc, outDir, onManifest: beforeAccept });
  return { code: await rx.code, result: rx.result };
}

async function failsWith(proc: EventProcess, code: string): Promise<void> {
  const exit = await proc.exit(30_000);
  expect(proc.error?.code, proc.stderr).toBe(code);
  expect(exit.code).toBe(1);
}

describe('a source swapped after the scan', () => {
  const SECRET = 'the secret key\n'.repeat(1000);

  async function sources(): Promise<{ dir: string; secret: string }> {
    const dir = await h.tempDir('peerlane-src-');
    const secret = path.join(await h.tempDir('peerlane-private-'), 'id_ed25519');
    await fs.writeFile(secret, SECRET);
    await fs.mkdir(path.join(dir, 'docs'));
    await writeRandomFile(path.join(dir, 'docs', 'report.txt'), SECRET.length);
    return { dir, secret };
  }

  it.each([
    ['the file, for a symlink to a private file', 'docs/report.txt'],
    ['a folder on its path, for a symlink to a private folder', 'docs'],
  ])('%s: SOURCE_CHANGED, and the private file is never sent', async (_, swapped) => {
    const { dir, secret } = await sources();
    const out = await h.tempDir('peerlane-out-');
    const rx = await receiver(out, async () => {
      // While the receiver "asks its user", the sender's file changes under it.
      const at = path.join(dir, swapped);
      await fs.rename(at, `${at}.moved`);
      if (swapped === 'docs') {
        await fs.mkdir(`${at}.evil`);
        await fs.copyFile(secret, path.join(`${at}.evil`, 'report.txt'));
        await fs.symlink(`${at}.evil`, at);
      } else {
        await fs.symlink(secret, at);
      }
    });
    const tx = h.peer(['send', path.join(dir, 'docs'), '--to', rx.code, ...server.peerArgs]);
    await failsWith(tx, 'SOURCE_CHANGED');
    await expect(rx.result).rejects.toMatchObject({ code: 'SOURCE_CHANGED' });
    for (const rel of await listTree(out)) {
      const full = path.join(out, rel);
      if ((await fs.lstat(full)).isFile()) expect(await fs.readFile(full, 'utf8')).not.toContain('secret');
    }
  });

  it('a file that grew since the scan: SOURCE_CHANGED', async () => {
    const { dir } = await sources();
    const out = await h.tempDir('peerlane-out-');
    const rx = await receiver(out, async () => {
      await fs.appendFile(path.join(dir, 'docs', 'report.txt'), 'more');
    });
    const tx = h.peer(['send', path.join(dir, 'docs', 'report.txt'), '--to', rx.code, ...server.peerArgs]);
    await failsWith(tx, 'SOURCE_CHANGED');
    expect(tx.stderr).toMatch(/changed size/);
  });
});
