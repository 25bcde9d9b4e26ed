/**
 * The sender engine driven with frames and in-memory files: no network, no
 * disk. The adapters over real peers are proven by the integration and CLI
 * tests; these pin the protocol's rules, hostile receivers included.
 */
import { describe, expect, it } from 'vitest';
import { PeerlaneError } from '../../src/core/errors.js';
import type { SendEntry } from '../../src/core/transfer/file-access.js';
import { BLOCK_SIZE, MAX_TEXT_BYTES } from '../../src/core/transfer/protocol.js';
import { SenderEngine } from '../../src/core/transfer/sender-engine.js';
import type { FileResult } from '../../src/core/transfer/types.js';
import { fixedClock, hexOf, MemoryLink, MemorySenderFiles, pageSha256, settle } from './engine-fakes.js';

const content = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => i % 251);

function setup(
  sizes: (number | null)[],
  options: { earlier?: Map<number, FileResult>; resumeAt?: (offer: unknown) => number; text?: string } = {},
) {
  const link = new MemoryLink();
  const data = new Map(sizes.map((size, i) => [i, content(size ?? 5000)] as const));
  const entries: SendEntry[] = sizes.map((size, i) => ({ name: `f${i}`, path: `/src/f${i}`, size }));
  const files = new MemorySenderFiles(data, entries, 100_000, options.resumeAt);
  const engine = new SenderEngine({
    link,
    entries,
    files,
    sha256: pageSha256,
    clock: fixedClock,
    ...options,
  });
  const run = engine.run();
  run.catch(() => {});
  return { link, data, entries, files, engine, run };
}

/** The payload bytes of file `file` that went out, in order. */
function payloadOf(link: MemoryLink, file: number): Uint8Array {
  const parts = link.of('data').filter((d) => d.file === file);
  return new Uint8Array(Buffer.concat(parts.map((d) => d.payload)));
}

describe('SenderEngine, an honest receiver', () => {
  it('states each hash in the manifest, sends within the window and finishes on DONE', async () => {
    const { link, data, engine, run } = setup([300_000]);
    await settle();
    const [manifest] = link.of('manifest');
    expect(manifest?.files).toEqual([
      { name: 'f0', size: 300_000, sha256: hexOf(data.get(0) as Uint8Array) },
    ]);
    engine.onFrame({ type: 'accept', window: 1 << 20, resume: [] });
    await settle();
    expect(payloadOf(link, 0)).toEqual(data.get(0));
    expect(link.of('file-end')).toEqual([{ type: 'file-end', file: 0, sha256: manifest?.files[0]?.sha256 }]);
    expect(link.sent.at(-1)).toEqual({ type: 'end' });
    engine.onFrame({ type: 'file-ok', file: 0 });
    engine.onFrame({ type: 'done' });
    const result = await run;
    expect(result.files.map((f) => f.bytes)).toEqual([300_000]);
    expect(result.bytes).toBe(300_000);
  });

  it('waits for credit: no more than the window before a CREDIT frame', async () => {
    const { link, engine } = setup([50_000]);
    await settle();
    engine.onFrame({ type: 'accept', window: 10_000, resume: [] });
    await settle();
    expect(payloadOf(link, 0).length).toBe(10_000);
    expect(link.waiting).toBe(true);
    engine.onFrame({ type: 'credit', bytes: 40_000 });
    await settle();
    expect(payloadOf(link, 0).length).toBe(50_000);
  });

  it('waits for a full link to drain', async () => {
    const { link, engine } = setup([50_000]);
    await settle();
    link.buffered = 2 ** 30;
    engine.onFrame({ type: 'accept', window: 1 << 20, resume: [] });
    await settle();
    expect(link.of('data')).toHaveLength(0);
    link.drain();
    await settle();
    expect(payloadOf(link, 0).length).toBe(50_000);
  });

  it('sends a stream of unknown size with its size and hash in FILE_END', async () => {
    const { link, data, engine } = setup([null]);
    await settle();
    engine.onFrame({ type: 'accept', window: 1 << 20, resume: [] });
    await settle();
    const bytes = data.get(0) as Uint8Array;
    expect(link.of('file-end')).toEqual([
      { type: 'file-end', file: 0, sha256: hexOf(bytes), size: bytes.length },
    ]);
  });

  it('resumes where the file access says the offer holds', async () => {
    const { link, engine } = setup([BLOCK_SIZE + 100], { resumeAt: () => BLOCK_SIZE });
    await settle();
    engine.onFrame({
      type: 'accept',
      window: 1 << 24,
      resume: [{ file: 0, blocks: 1, digest: 'a'.repeat(64) }],
    });
    await settle();
    expect(link.of('file-start')).toEqual([{ type: 'file-start', file: 0, offset: BLOCK_SIZE }]);
    expect(payloadOf(link, 0).length).toBe(100);
  });

  it('skips what the receiver holds from an earlier channel of this session', async () => {
    const before = { name: 'f0', path: '/src/f0', bytes: 5000, sha256: 'b'.repeat(64), resumedBytes: 0 };
    const { link, engine, run } = setup([5000, 10], { earlier: new Map([[0, before]]) });
    await settle();
    engine.onFrame({ type: 'accept', window: 1 << 20, resume: [], have: [0] });
    await settle();
    expect(link.of('file-start').map((f) => f.file)).toEqual([1]);
    engine.onFrame({ type: 'file-ok', file: 1 });
    engine.onFrame({ type: 'done' });
    expect((await run).files[0]).toEqual(before);
  });

  it('TEXT_TOO_LARGE before anything is sent', () => {
    const link = new MemoryLink();
    const files = new MemorySenderFiles(new Map(), []);
    const make = () =>
      new SenderEngine({
        link,
        entries: [],
        files,
        sha256: pageSha256,
        clock: fixedClock,
        text: 'x'.repeat(MAX_TEXT_BYTES + 1),
      });
    expect(make).toThrow(expect.objectContaining({ code: 'TEXT_TOO_LARGE' }));
    expect(link.sent).toEqual([]);
  });
});

describe('SenderEngine, a hostile receiver', () => {
  it('BAD_FRAME for ACCEPT claiming a file never sent over an earlier channel', async () => {
    const { engine } = setup([10]);
    await settle();
    expect(() => engine.onFrame({ type: 'accept', window: 100, resume: [], have: [0] })).toThrow(
      expect.objectContaining({ code: 'BAD_FRAME' }),
    );
  });

  it('BAD_FRAME for ACCEPT claiming a file already there whose hash was never stated', async () => {
    const { engine } = setup([null]);
    await settle();
    expect(() => engine.onFrame({ type: 'accept', window: 100, resume: [], already: [0] })).toThrow(
      expect.objectContaining({ code: 'BAD_FRAME' }),
    );
  });

  it('BAD_FRAME for DONE before every file is confirmed, and for a FILE_OK out of range or twice', async () => {
    const { engine } = setup([10, 10]);
    await settle();
    engine.onFrame({ type: 'accept', window: 100, resume: [] });
    await settle();
    expect(() => engine.onFrame({ type: 'file-ok', file: 2 })).toThrow(
      expect.objectContaining({ code: 'BAD_FRAME' }),
    );
    engine.onFrame({ type: 'file-ok', file: 0 });
    expect(() => engine.onFrame({ type: 'file-ok', file: 0 })).toThrow(
      expect.objectContaining({ code: 'BAD_FRAME' }),
    );
    expect(() => engine.onFrame({ type: 'done' })).toThrow(/DONE before every file/);
  });

  it('BAD_FRAME for a frame only a sender sends', async () => {
    const { engine } = setup([10]);
    expect(() => engine.onFrame({ type: 'end' })).toThrow(expect.objectContaining({ code: 'BAD_FRAME' }));
  });

  it('fails with the link: a receiver that leaves mid-file ends run()', async () => {
    const { link, files, engine, run } = setup([50_000]);
    await settle();
    engine.onFrame({ type: 'accept', window: 10_000, resume: [] });
    await settle();
    link.abort(new PeerlaneError('PEER_LOST', 'gone'));
    await expect(run).rejects.toMatchObject({ code: 'PEER_LOST' });
    // Its file closed, no read left running.
    expect(files.closed).toEqual([0]);
  });
});
