/**
 * A folder re-sent after an interruption, with the real `peer` binaries: the
 * files that had finished are recognised as already there (same path, size and
 * SHA-256) and skipped, not written again as `name (1).ext`; the one cut short
 * resumes. A same-name file with other content still gets `name (1).ext`.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listTree, sha256File, writeRandomFile } from '../../src/testing/files.js';
import type { EventProcess } from '../../src/testing/harness.js';
import { useSignalServer } from '../../src/testing/hooks.js';
import { untilBytes } from '../helpers.js';

const { h, server } = useSignalServer({ beforeEach, afterEach });

const MiB = 1024 * 1024;
/** Three small files, then one large enough to be cut short with whole blocks on disk. */
const SIZES = [MiB + 1, 2 * MiB + 3, 3 * MiB + 5, 200 * MiB];
const NAMES = SIZES.map((_, i) => `img${i + 1}.raw`);

async function folder(): Promise<string> {
  const dir = path.join(await h.tempDir('peerlane-src-'), 'shoot');
  await fs.mkdir(dir);
  for (const [i, name] of NAMES.entries()) await writeRandomFile(path.join(dir, name), SIZES[i] ?? 0);
  return dir;
}

/** Both sides of one run of `peer send dir` into `out`, with a new code. */
async function start(dir: string, out: string): Promise<{ rx: EventProcess; tx: EventProcess }> {
  const rx = h.peer(['receive', '--out', out, '--yes', ...server.peerArgs]);
  const { code } = await rx.waitFor('ready');
  const tx = h.peer(['send', dir, '--to', code, ...server.peerArgs]);
  return { rx, tx };
}

function doneFiles(proc: EventProcess) {
  return proc.events.filter((e) => e.event === 'file-done');
}

describe('a folder sent again into the same --out', () => {
  it('skips the files already there, resumes the one cut short, and says so on both sides', async () => {
    const dir = await folder();
    const out = await h.tempDir();
    const first = await start(dir, out);
    // Ctrl-C the sender once three files are in place and the fourth has whole blocks on disk.
    const threeDone = SIZES.slice(0, 3).reduce((a, b) => a + b, 0);
    await untilBytes(first.rx, threeDone + 24 * MiB);
    expect(doneFiles(first.rx).map((e) => e.name)).toEqual(NAMES.slice(0, 3).map((n) => `shoot/${n}`));
    first.tx.kill('SIGINT');
    expect((await first.tx.exit()).code).toBe(130);
    expect((await first.rx.exit()).code).toBe(1);

    const second = await start(dir, out);
    expect((await second.tx.exit()).code, second.tx.stderr).toBe(0);
    expect((await second.rx.exit()).code, second.rx.stderr).toBe(0);

    expect(await listTree(out)).toEqual(['shoot', ...NAMES.map((n) => `shoot/${n}`)]);
    for (const name of NAMES) {
      expect(await sha256File(path.join(out, 'shoot', name))).toBe(await sha256File(path.join(dir, name)));
    }
    for (const side of [second.rx, second.tx]) {
      const done = await side.waitFor('done');
      expect(done.files.map((f) => f.already ?? false)).toEqual([true, true, true, false]);
      // The fourth resumed from its whole blocks; the others crossed nothing.
      expect(done.files[3]?.resumedBytes).toBeGreaterThan(0);
      expect(done.bytes).toBe((SIZES[3] ?? 0) - (done.files[3]?.resumedBytes ?? 0));
      expect(doneFiles(side).filter((e) => e.already)).toHaveLength(3);
      expect(side.stderr).toMatch(/4 files, .*; 3 of them were already there, identical\./);
    }
  });

  it('a same-name file with other content still arrives as name (1).ext', async () => {
    const dir = await folder();
    const out = await h.tempDir();
    await fs.mkdir(path.join(out, 'shoot'));
    // Same path and size as img1.raw, other bytes.
    await writeRandomFile(path.join(out, 'shoot', 'img1.raw'), SIZES[0] ?? 0);
    const { rx, tx } = await start(dir, out);
    expect((await tx.exit()).code, tx.stderr).toBe(0);
    expect((await rx.exit()).code, rx.stderr).toBe(0);
    const done = await rx.waitFor('done');
    expect(done.files.every((f) => !f.already)).toBe(true);
    expect(done.files[0]?.path).toBe(path.join(out, 'shoot', 'img1 (1).raw'));
    expect(await sha256File(path.join(out, 'shoot', 'img1 (1).raw'))).toBe(
      await sha256File(path.join(dir, 'img1.raw')),
    );
  });
});
