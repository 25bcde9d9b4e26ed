/**
 * The receiver engine driven with frames and in-memory files: no network, no
 * disk. The adapters over real peers are proven by the integration and CLI
 * tests; these pin the protocol's rules, hostile frames first.
 */
import { describe, expect, it } from 'vitest';
import type { Frame, ManifestEntry } from '../../src/core/transfer/protocol.js';
import {
  BLOCK_SIZE,
  offerDigest,
  RECEIVE_WINDOW,
  TRANSFER_PROTOCOL_VERSION,
} from '../../src/core/transfer/protocol.js';
import { ReceiverEngine } from '../../src/core/transfer/receiver-engine.js';
import { fixedClock, hexOf, MemoryLink, MemoryReceiverFiles, pageSha256, settle } from './engine-fakes.js';

const bytes = (n: number, fill = 7): Uint8Array => new Uint8Array(n).fill(fill);

function setup(options: { onText?: (t: string) => void } = {}) {
  const link = new MemoryLink();
  const files = new MemoryReceiverFiles();
  const engine = new ReceiverEngine({ link, files, sha256: pageSha256, clock: fixedClock, ...options });
  return { link, files, engine };
}

const manifest = (entries: ManifestEntry[]): Frame => ({
  type: 'manifest',
  v: TRANSFER_PROTOCOL_VERSION,
  files: entries,
});

const data = (file: number, offset: number, payload: Uint8Array): Frame => ({
  type: 'data',
  file,
  offset,
  payload: Buffer.from(payload),
});

/** Push a manifest of one file of `content` and wait for ACCEPT. */
async function accepted(content: Uint8Array, name = 'a.txt') {
  const s = setup();
  s.engine.push(manifest([{ name, size: content.length, sha256: hexOf(content) }]));
  await settle();
  expect(s.link.of('accept')).toHaveLength(1);
  return s;
}

describe('ReceiverEngine, an honest sender', () => {
  it('accepts, writes, verifies, confirms and answers END with DONE', async () => {
    const content = bytes(3000);
    const { link, files, engine } = await accepted(content);
    expect(link.of('accept')[0]).toEqual({ type: 'accept', window: RECEIVE_WINDOW, resume: [] });
    engine.push({ type: 'file-start', file: 0, offset: 0 });
    engine.push(data(0, 0, content.subarray(0, 1000)));
    engine.push(data(0, 1000, content.subarray(1000)));
    engine.push({ type: 'file-end', file: 0, sha256: hexOf(content) });
    engine.push({ type: 'end' });
    await engine.finished;
    expect(files.published.get('a.txt')).toEqual(content);
    expect(link.of('file-ok')).toEqual([{ type: 'file-ok', file: 0 }]);
    // What was written is returned at the file's end, so the sender never waits on a batch.
    expect(link.of('credit')).toEqual([{ type: 'credit', bytes: 3000 }]);
    expect(link.sent.at(-1)).toEqual({ type: 'done' });
    const result = engine.result();
    expect(result.files).toEqual([
      { name: 'a.txt', path: '/out/a.txt', bytes: 3000, sha256: hexOf(content), resumedBytes: 0 },
    ]);
    expect(result.bytes).toBe(3000);
  });

  it('prints a text once and accepts it without consent', async () => {
    const texts: string[] = [];
    const { link, engine } = setup({ onText: (t) => texts.push(t) });
    engine.push({ type: 'manifest', v: TRANSFER_PROTOCOL_VERSION, files: [], text: 'hello' });
    await settle();
    engine.push({ type: 'end' });
    await engine.finished;
    expect(texts).toEqual(['hello']);
    expect(link.of('accept')).toHaveLength(1);
  });

  it('offers an earlier .part by the digest of its blocks, and takes the sender at its end', async () => {
    const content = bytes(BLOCK_SIZE + 10);
    const { link, files, engine } = setup();
    const blocks = [hexOf(content.subarray(0, BLOCK_SIZE))];
    files.survey_.resumable.set(0, { target: 'a.txt', blocks });
    engine.push(manifest([{ name: 'a.txt', size: content.length, sha256: hexOf(content) }]));
    await settle();
    expect(link.of('accept')[0]?.resume).toEqual([
      { file: 0, blocks: 1, digest: offerDigest(blocks, pageSha256()) },
    ]);
    engine.push({ type: 'file-start', file: 0, offset: BLOCK_SIZE });
    engine.push(data(0, BLOCK_SIZE, content.subarray(BLOCK_SIZE)));
    await settle();
    expect(link.error).toBeUndefined();
  });
});

describe('ReceiverEngine, a hostile sender', () => {
  it('HASH_MISMATCH for a wrong hash, and the data proven bad is not kept', async () => {
    const content = bytes(100);
    const { link, files, engine } = await accepted(content);
    engine.push({ type: 'file-start', file: 0, offset: 0 });
    engine.push(data(0, 0, content));
    engine.push({ type: 'file-end', file: 0, sha256: 'a'.repeat(64) });
    expect(await link.failedWith()).toBe('HASH_MISMATCH');
    await engine.abandon(link.error);
    expect(files.discarded).toEqual([{ name: 'a.txt', keep: false }]);
    expect(files.published.size).toBe(0);
  });

  it('BAD_FRAME for data at an offset other than the next byte', async () => {
    const { link, engine } = await accepted(bytes(100));
    engine.push({ type: 'file-start', file: 0, offset: 0 });
    engine.push(data(0, 10, bytes(10)));
    expect(await link.failedWith()).toBe('BAD_FRAME');
  });

  it('BAD_FRAME for more bytes than announced', async () => {
    const { link, engine } = await accepted(bytes(100));
    engine.push({ type: 'file-start', file: 0, offset: 0 });
    engine.push(data(0, 0, bytes(101)));
    expect(await link.failedWith()).toBe('BAD_FRAME');
  });

  it('BAD_FRAME for a resume offset nobody offered', async () => {
    const { link, engine } = await accepted(bytes(100));
    engine.push({ type: 'file-start', file: 0, offset: 50 });
    expect(await link.failedWith()).toBe('BAD_FRAME');
  });

  it('BAD_FRAME for a file out of order, and for data without its FILE_START', async () => {
    const first = await accepted(bytes(100));
    first.engine.push({ type: 'file-start', file: 3, offset: 0 });
    expect(await first.link.failedWith()).toBe('BAD_FRAME');
    const second = await accepted(bytes(100));
    second.engine.push(data(0, 0, bytes(10)));
    expect(await second.link.failedWith()).toBe('BAD_FRAME');
  });

  it('refuses at once (a throw from push) anything before ACCEPT, and a second manifest', async () => {
    const { engine } = setup();
    expect(() => engine.push({ type: 'file-start', file: 0, offset: 0 })).toThrow(/before the manifest/);
    const { engine: other } = await accepted(bytes(10));
    expect(() => other.push(manifest([]))).toThrow(/second manifest/);
  });

  it('refuses at once a sender that ignores the window', async () => {
    const { engine } = await accepted(bytes(100));
    engine.push({ type: 'file-start', file: 0, offset: 0 });
    const chunk = bytes(256 * 1024 - 16);
    let sent = 0;
    const flood = (): void => {
      for (;;) {
        engine.push(data(0, sent, chunk));
        sent += chunk.length;
      }
    };
    expect(flood).toThrow(/receive window/);
    expect(sent).toBeLessThanOrEqual(RECEIVE_WINDOW);
  });

  it('refuses more FILE_START, FILE_END and END frames than the manifest allows', async () => {
    const { engine } = await accepted(bytes(10));
    engine.push({ type: 'end' });
    engine.push({ type: 'end' });
    engine.push({ type: 'end' });
    expect(() => engine.push({ type: 'end' })).toThrow(/more FILE_START/);
  });

  it('TRANSFER_INCOMPLETE for END before every file, or FILE_END short of the size', async () => {
    const early = await accepted(bytes(10));
    early.engine.push({ type: 'end' });
    expect(await early.link.failedWith()).toBe('TRANSFER_INCOMPLETE');
    const short = await accepted(bytes(10));
    short.engine.push({ type: 'file-start', file: 0, offset: 0 });
    short.engine.push(data(0, 0, bytes(5)));
    short.engine.push({ type: 'file-end', file: 0, sha256: hexOf(bytes(10)) });
    expect(await short.link.failedWith()).toBe('TRANSFER_INCOMPLETE');
  });

  it('BAD_NAME from the file access, before anyone is asked', async () => {
    const asked: unknown[] = [];
    const link = new MemoryLink();
    const files = new MemoryReceiverFiles();
    const engine = new ReceiverEngine({
      link,
      files,
      sha256: pageSha256,
      clock: fixedClock,
      onManifest: (f) => void asked.push(f),
    });
    engine.push(manifest([{ name: '../evil', size: 1 }]));
    expect(await link.failedWith()).toBe('BAD_NAME');
    expect(asked).toEqual([]);
  });

  it('keeps the .part for a resume when the failure is ours (a full disk)', async () => {
    const { link, files, engine } = await accepted(bytes(100));
    files.failWrite = 'DISK_FULL';
    engine.push({ type: 'file-start', file: 0, offset: 0 });
    engine.push(data(0, 0, bytes(10)));
    expect(await link.failedWith()).toBe('DISK_FULL');
    await engine.abandon(link.error);
    expect(files.discarded).toEqual([{ name: 'a.txt', keep: true }]);
  });
});
