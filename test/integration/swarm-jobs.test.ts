/**
 * startShare / startGet (swarm/jobs.ts) in this process: a real signal server
 * as tracker, real member links on 127.0.0.1, real files under --out.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PeerEvent } from '../../src/core/events.js';
import type { SwarmJob } from '../../src/swarm/jobs.js';
import { startGet, startShare } from '../../src/swarm/jobs.js';
import { sha256File, writeRandomFile } from '../../src/testing/files.js';
import { LOOPBACK } from '../../src/testing/harness.js';
import { useSignalServer } from '../../src/testing/hooks.js';

const rtc = { iceServers: [], bindAddress: LOOPBACK, timeoutMs: 10_000 };
const CHUNK = 64 * 1024;

const { h, server } = useSignalServer({ beforeEach, afterEach });
const jobs: SwarmJob[] = [];
afterEach(async () => {
  await Promise.all(jobs.splice(0).map((j) => j.stop()));
});

async function shared(size: number): Promise<{ dir: string; file: string }> {
  const dir = await h.tempDir('peerlane-share-');
  await fs.mkdir(path.join(dir, 'pics'));
  const file = path.join(dir, 'pics', 'a.bin');
  await writeRandomFile(file, size);
  await fs.writeFile(path.join(dir, 'pics', 'empty.txt'), '');
  return { dir, file };
}

describe('swarm jobs', () => {
  it('one share, two gets: both complete with the same bytes, and the events say so', async () => {
    const { dir, file } = await shared(40 * CHUNK + 123);
    const shareEvents: PeerEvent[] = [];
    const share = await startShare(
      { paths: [path.join(dir, 'pics')], signal: server, rtc, chunkSize: CHUNK },
      (e) => shareEvents.push(e),
    );
    jobs.push(share);
    expect(shareEvents.find((e) => e.event === 'share-ready')).toMatchObject({
      ticket: share.ticket,
      id: share.id,
    });
    expect(share.status()).toMatchObject({
      state: 'seeding',
      kind: 'share',
      files: 2,
      totalBytes: 40 * CHUNK + 123,
    });
    const outs = [await h.tempDir('peerlane-get-'), await h.tempDir('peerlane-get-')];
    const gets = await Promise.all(
      outs.map((out) => startGet({ source: share.ticket, out, signal: server, rtc }, () => {})),
    );
    jobs.push(...gets);
    const ends = await Promise.all(gets.map((g) => g.done));
    for (const [i, end] of ends.entries()) {
      expect(end).toMatchObject({ state: 'done', haveBytes: 40 * CHUNK + 123 });
      const out = outs[i] ?? '';
      expect(await sha256File(path.join(out, 'pics', 'a.bin'))).toBe(await sha256File(file));
      expect(await fs.readFile(path.join(out, 'pics', 'empty.txt'), 'utf8')).toBe('');
      // The resume state is gone, and no .part is left.
      expect((await fs.readdir(out)).sort()).toEqual(['pics']);
      expect((await fs.readdir(path.join(out, 'pics'))).sort()).toEqual(['a.bin', 'empty.txt']);
    }
  });

  it('a .p2p file gets without a manifest fetch; a tampered one writes nothing', async () => {
    const { dir, file } = await shared(8 * CHUNK);
    const p2p = path.join(await h.tempDir('peerlane-p2p-'), 'pics.p2p');
    const share = await startShare(
      { paths: [path.join(dir, 'pics')], signal: server, rtc, chunkSize: CHUNK, p2pFile: p2p },
      () => {},
    );
    jobs.push(share);
    const text = await fs.readFile(p2p, 'utf8');
    expect(text.split('\n')[0]).toBe(share.ticket);
    const bad = path.join(path.dirname(p2p), 'bad.p2p');
    await fs.writeFile(bad, text.replace('"name":"pics/a.bin"', '"name":"pics/b.bin"'));
    const badOut = path.join(await h.tempDir('peerlane-get-'), 'out');
    await expect(startGet({ source: bad, out: badOut, signal: server, rtc }, () => {})).rejects.toMatchObject(
      {
        code: 'BAD_MANIFEST',
      },
    );
    await expect(fs.stat(badOut)).rejects.toThrow();
    const out = await h.tempDir('peerlane-get-');
    const get = await startGet({ source: p2p, out, signal: server, rtc }, () => {});
    jobs.push(get);
    await get.done;
    expect(await sha256File(path.join(out, 'pics', 'a.bin'))).toBe(await sha256File(file));
  });
});
