/**
 * The library core in one process: a real signal server on port 0 and two
 * real peers, over a real loopback data channel. No mocks.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PeerlaneError } from '../../src/core/errors.js';
import type { PeerEvent } from '../../src/core/events.js';
import { send } from '../../src/session/send.js';
import { listTree, sha256File, writeRandomFile } from '../../src/testing/files.js';
import { LOOPBACK } from '../../src/testing/harness.js';
import { useSignalServer } from '../../src/testing/hooks.js';
import { startReceiver } from '../../src/testing/in-process.js';

const rtc = { iceServers: [], bindAddress: LOOPBACK, timeoutMs: 10_000 };
const { h, server } = useSignalServer({ beforeEach, afterEach });

function receiver(outDir: string) {
  return startReceiver({ signal: server, rtc, outDir });
}

describe('send and receive in one process', () => {
  it('moves several files, verified, with events in order', async () => {
    const src = await h.tempDir();
    const out = await h.tempDir();
    const names = ['a.bin', 'empty', 'c.bin'];
    const sizes = [5 * 1024 * 1024 + 3, 0, 70_000];
    const paths = names.map((n) => path.join(src, n));
    await Promise.all(paths.map((p, i) => writeRandomFile(p, sizes[i] ?? 0)));

    const txEvents: PeerEvent[] = [];
    const rx = receiver(out);
    const rxEvents = rx.events;
    const sent = await send({
      signal: server,
      rtc,
      paths,
      code: await rx.code,
      onEvent: (e) => txEvents.push(e),
    });
    const received = await rx.result;

    expect(await listTree(out)).toEqual([...names].sort());
    for (const [i, name] of names.entries()) {
      const expected = await sha256File(paths[i] ?? '');
      expect(await sha256File(path.join(out, name))).toBe(expected);
      expect(received.files[i]).toMatchObject({
        name,
        bytes: sizes[i],
        sha256: expected,
        path: path.join(out, name),
      });
      expect(sent.files[i]?.sha256).toBe(expected);
    }
    const kinds = [...new Set(rxEvents.map((e) => e.event))];
    expect(kinds).toEqual(['ready', 'connected', 'manifest', 'file-start', 'progress', 'file-done', 'done']);
    expect(txEvents.at(-1)).toMatchObject({ event: 'done', bytes: sizes.reduce((a, b) => a + b, 0) });
    expect(txEvents.find((e) => e.event === 'connected')).toMatchObject({
      path: 'direct',
      local: 'host',
      remote: 'host',
    });
    // The server forgot both peers once they were introduced.
    await expect.poll(() => server.server.stats).toEqual({ clients: 0, waiting: 0 });
  });

  it('never overwrites: a name already in --out gets a numbered sibling', async () => {
    const src = await h.tempDir();
    const out = await h.tempDir();
    await fs.writeFile(path.join(out, 'notes.txt'), 'mine');
    await fs.writeFile(path.join(src, 'notes.txt'), 'theirs');
    const rx = receiver(out);
    await send({ signal: server, rtc, paths: [path.join(src, 'notes.txt')], code: await rx.code });
    const result = await rx.result;
    expect(await fs.readFile(path.join(out, 'notes.txt'), 'utf8')).toBe('mine');
    expect(await fs.readFile(path.join(out, 'notes (1).txt'), 'utf8')).toBe('theirs');
    expect(result.files[0]?.path).toBe(path.join(out, 'notes (1).txt'));
  });

  it('rejects an unknown code with PEER_NOT_FOUND', async () => {
    const src = await h.tempDir();
    await fs.writeFile(path.join(src, 'x'), 'x');
    await expect(
      send({ signal: server, rtc, paths: [path.join(src, 'x')], code: '99999-abandon-ability' }),
    ).rejects.toMatchObject({
      code: 'PEER_NOT_FOUND',
    });
  });

  it('lets the receiver refuse the manifest, and the sender learns why', async () => {
    const src = await h.tempDir();
    const out = await h.tempDir();
    await fs.writeFile(path.join(src, 'x'), 'x');
    const rx = startReceiver({
      signal: server,
      rtc,
      outDir: out,
      onManifest: () => {
        throw new PeerlaneError('REFUSED', 'no thanks');
      },
    });
    const tx = send({ signal: server, rtc, paths: [path.join(src, 'x')], code: await rx.code });
    await expect(tx).rejects.toMatchObject({ code: 'REFUSED' });
    await expect(rx.result).rejects.toMatchObject({ code: 'REFUSED' });
    expect(await listTree(out)).toEqual([]);
  });
});
