/**
 * Streams files to the receiver: manifest, then each file's chunks and hash,
 * then END. Resolves only after the receiver's DONE, which it sends once every
 * file is verified and in place.
 *
 * Two brakes keep memory flat: the channel's bufferedAmount (our side) and the
 * receiver's credit (its side). Each file is read chunk by chunk, never whole.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { PeerlaneError } from '../errors.js';
import type { FramedLink } from './framed-link.js';
import type { Frame, ResumeOffer } from './protocol.js';
import {
  allocDataFrame,
  CHUNK_SIZE,
  DATA_HEADER_BYTES,
  SEND_HIGH_WATER,
  SEND_LOW_WATER,
  TRANSFER_PROTOCOL_VERSION,
} from './protocol.js';
import { checkOffer } from './resume.js';
import type { SourceFile } from './sources.js';
import type { FileResult, TransferProgress, TransferResult } from './types.js';

export interface SendOptions {
  link: FramedLink;
  files: readonly SourceFile[];
  onProgress?: (progress: TransferProgress) => void;
}

export async function sendFiles({ link, files, onProgress }: SendOptions): Promise<TransferResult> {
  const total = files.reduce((sum, f) => sum + f.size, 0);
  const chunkSize = Math.min(CHUNK_SIZE, link.link.maxMessageSize() - DATA_HEADER_BYTES);
  if (chunkSize <= 0)
    throw new PeerlaneError('INTERNAL', 'the peer accepts no message large enough for data');

  let credit = 0;
  let wake: (() => void) | undefined;
  const poke = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const waitForPoke = (): Promise<void> =>
    link.guard(
      new Promise<void>((resolve) => {
        wake = resolve;
      }),
    );

  let resolveAccepted!: () => void;
  const accepted = new Promise<void>((resolve) => {
    resolveAccepted = resolve;
  });
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  const confirmed = new Set<number>();
  let ended = false;
  let offers = new Map<number, ResumeOffer>();

  link.onFrame((frame: Frame) => {
    switch (frame.type) {
      case 'accept':
        offers = new Map(frame.resume.map((o) => [o.file, o]));
        credit += frame.window;
        resolveAccepted();
        poke();
        return;
      case 'credit':
        credit += frame.bytes;
        poke();
        return;
      case 'file-ok':
        if (frame.file >= files.length || confirmed.has(frame.file))
          throw new PeerlaneError('BAD_FRAME', 'bad FILE_OK');
        confirmed.add(frame.file);
        return;
      case 'done':
        if (!ended || confirmed.size !== files.length) {
          throw new PeerlaneError('BAD_FRAME', 'DONE before every file was confirmed');
        }
        resolveDone();
        return;
      default:
        throw new PeerlaneError('BAD_FRAME', `unexpected ${frame.type} frame from the receiver`);
    }
  });
  link.link.onBufferedAmountLow(SEND_LOW_WATER, poke);

  link.send({
    type: 'manifest',
    v: TRANSFER_PROTOCOL_VERSION,
    files: files.map((f) => ({ name: f.name, size: f.size })),
  });
  await link.guard(accepted);
  // Time from acceptance: the receiver's human may take a while to say yes.
  const started = Date.now();

  const results: FileResult[] = [];
  let sentTotal = 0;
  let moved = 0;
  for (const [index, file] of files.entries()) {
    const handle = await fs.open(file.path, 'r');
    let hash = createHash('sha256');
    let resumed = 0;
    try {
      // Skip what the receiver holds from an earlier run, if our bytes still match it.
      ({ offset: resumed, whole: hash } = await checkOffer(handle, file.size, offers.get(index), hash));
      link.send({ type: 'file-start', file: index, offset: resumed });
      sentTotal += resumed;
      let offset = resumed;
      while (offset < file.size) {
        while (credit <= 0 || link.link.bufferedAmount() >= SEND_HIGH_WATER) await waitForPoke();
        const want = Math.min(chunkSize, file.size - offset, credit);
        const frame = allocDataFrame(index, offset, want);
        const { bytesRead } = await handle.read(frame, DATA_HEADER_BYTES, want, offset);
        if (bytesRead !== want) {
          throw new PeerlaneError('INPUT_UNREADABLE', `${file.path} shrank while it was being sent`);
        }
        hash.update(frame.subarray(DATA_HEADER_BYTES));
        link.sendRaw(frame);
        offset += want;
        credit -= want;
        sentTotal += want;
        moved += want;
        onProgress?.({
          file: index,
          name: file.name,
          fileBytes: offset,
          fileSize: file.size,
          bytes: sentTotal,
          total,
        });
      }
    } finally {
      await handle.close();
    }
    const sha256 = hash.digest('hex');
    link.send({ type: 'file-end', file: index, sha256 });
    results.push({ name: file.name, path: file.path, bytes: file.size, sha256, resumedBytes: resumed });
    if (file.size === 0) {
      onProgress?.({ file: index, name: file.name, fileBytes: 0, fileSize: 0, bytes: sentTotal, total });
    }
  }
  ended = true;
  link.send({ type: 'end' });
  await link.guard(done);
  return { files: results, bytes: moved, ms: Date.now() - started };
}
