/**
 * Streams files to the receiver: manifest, then each file's chunks and hash,
 * then END. Resolves only after the receiver's DONE, which it sends once every
 * file is verified and in place.
 *
 * Each file's SHA-256 goes in the manifest (taken beforehand, hashSources in
 * resume.ts): the receiver skips a file it already holds with that hash
 * (ACCEPT.already) and resumes only a `.part` begun for it. The same hash
 * ends the file (FILE_END), so a file is read and hashed once before it is
 * sent and not hashed again while sending.
 *
 * Two brakes keep memory flat: the channel's bufferedAmount (our side) and the
 * receiver's credit (its side). Each file is read chunk by chunk, never whole.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { PeerlaneError, toPeerlaneError } from '../core/errors.js';
import type { Frame, ResumeOffer } from '../core/transfer/protocol.js';
import {
  allocDataFrame,
  CHUNK_SIZE,
  DATA_HEADER_BYTES,
  encodeControl,
  MAX_TEXT_BYTES,
  SEND_HIGH_WATER,
  SEND_LOW_WATER,
  TRANSFER_PROTOCOL_VERSION,
} from '../core/transfer/protocol.js';
import type {
  FileEvent,
  FileResult,
  Tally,
  TransferProgress,
  TransferResult,
} from '../core/transfer/types.js';
import type { FramedLink } from './framed-link.js';
import { frameAt, ReadAhead } from './read-ahead.js';
import { checkOffer, hashSources } from './resume.js';
import type { SourceFile } from './sources.js';
import { openSource } from './sources.js';

export interface SendOptions {
  link: FramedLink;
  files: readonly SourceFile[];
  /** A message instead of files (peer send --text); `files` must then be empty. */
  text?: string;
  onProgress?: (progress: TransferProgress) => void;
  /** Each file as it starts and once it is sent. */
  onFile?: (event: FileEvent) => void;
  /**
   * Files sent over an earlier channel of this session, by manifest index:
   * the receiver may report them held (ACCEPT.have) and they are skipped.
   */
  earlier?: ReadonlyMap<number, FileResult> | undefined;
  /** Totals across the session's attempts. */
  tally?: Tally | undefined;
}

/** Hands out a stream's bytes in pieces of at most `max`, pulling (so pausing) the stream. */
class StreamReader {
  private readonly it: AsyncIterator<unknown>;
  private pending: Buffer = Buffer.alloc(0);

  constructor(stream: Readable) {
    this.it = stream[Symbol.asyncIterator]();
  }

  async read(max: number): Promise<Buffer | null> {
    while (this.pending.length === 0) {
      const next = await this.it.next();
      if (next.done) return null;
      const v = next.value;
      this.pending = Buffer.isBuffer(v) ? v : Buffer.from(v as string);
    }
    const out = this.pending.subarray(0, max);
    this.pending = this.pending.subarray(out.length);
    return out;
  }
}

/** Throw TEXT_TOO_LARGE unless `text` fits in one message. */
export function checkText(text: string): void {
  const size = Buffer.byteLength(text, 'utf8');
  if (size > MAX_TEXT_BYTES) {
    throw new PeerlaneError(
      'TEXT_TOO_LARGE',
      `the text is ${size} bytes; at most ${MAX_TEXT_BYTES} can be sent`,
    );
  }
}

export async function sendFiles({
  link,
  files,
  text,
  onProgress,
  onFile,
  earlier,
  tally = { bytes: 0 },
}: SendOptions): Promise<TransferResult> {
  if (text !== undefined) checkText(text);
  const unknownSize = files.some((f) => f.size === null);
  const total = unknownSize ? null : files.reduce((sum, f) => sum + (f.size ?? 0), 0);
  const fileCount = files.filter((f) => f.kind !== 'dir').length;
  let chunkSize = Math.min(CHUNK_SIZE, link.link.maxMessageSize() - DATA_HEADER_BYTES);
  if (chunkSize <= 0)
    throw new PeerlaneError('INTERNAL', 'the peer accepts no message large enough for data');

  let credit = 0;
  let wake: (() => void) | undefined;
  const poke = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  /** Wait for credit or a drained channel: the receiver's to give, within the stall timeout. */
  const waitForPoke = async (): Promise<void> => {
    link.expectPeer(true);
    try {
      await link.guard(
        new Promise<void>((resolve) => {
          wake = resolve;
        }),
      );
    } finally {
      link.expectPeer(false);
    }
  };

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
  let held = new Set<number>();
  let already = new Set<number>();

  link.onFrame((frame: Frame) => {
    switch (frame.type) {
      case 'accept':
        offers = new Map(frame.resume.map((o) => [o.file, o]));
        held = new Set(frame.have);
        for (const file of held) {
          if (!earlier?.has(file))
            throw new PeerlaneError('BAD_FRAME', `ACCEPT claims file ${file}, never sent`);
        }
        already = new Set(frame.already);
        for (const file of already) {
          // Only a file whose hash we stated can be one the receiver holds already.
          if (files[file]?.sha256 === undefined)
            throw new PeerlaneError('BAD_FRAME', `ACCEPT claims file ${file} without its hash`);
        }
        credit += frame.window;
        // A frame waits for its whole credit, so none may be larger than the window.
        chunkSize = Math.max(1, Math.min(chunkSize, frame.window));
        resolveAccepted();
        poke();
        return;
      case 'credit':
        credit += frame.bytes;
        poke();
        return;
      case 'file-ok':
        if (frame.file >= files.length || confirmed.has(frame.file) || files[frame.file]?.kind === 'dir')
          throw new PeerlaneError('BAD_FRAME', 'bad FILE_OK');
        confirmed.add(frame.file);
        return;
      case 'done':
        if (!ended || confirmed.size !== fileCount) {
          throw new PeerlaneError('BAD_FRAME', 'DONE before every file was confirmed');
        }
        resolveDone();
        return;
      default:
        throw new PeerlaneError('BAD_FRAME', `unexpected ${frame.type} frame from the receiver`);
    }
  });
  link.link.onBufferedAmountLow(SEND_LOW_WATER, poke);
  // Usually taken already, while pairing (session/send.ts).
  await link.guard(hashSources(files));

  const manifest = encodeControl({
    type: 'manifest',
    v: TRANSFER_PROTOCOL_VERSION,
    files: files.map((f) => ({
      name: f.name,
      size: f.size,
      ...(f.mode !== undefined ? { mode: f.mode } : {}),
      ...(f.mtime !== undefined ? { mtime: f.mtime } : {}),
      ...(f.kind !== undefined ? { kind: f.kind } : {}),
      ...(f.sha256 !== undefined ? { sha256: f.sha256 } : {}),
    })),
    ...(text !== undefined ? { text } : {}),
  });
  // The manifest is one message: it must fit in what the channel carries.
  if (manifest.length > link.link.maxMessageSize()) {
    throw new PeerlaneError(
      'MANIFEST_TOO_LARGE',
      `the list of ${files.length} names takes ${manifest.length} bytes; one message holds ${link.link.maxMessageSize()}`,
    );
  }
  link.sendRaw(manifest);
  await link.guard(accepted);
  // Time from acceptance: the receiver's human may take a while to say yes.
  const started = Date.now();
  tally.since ??= started;

  const results: FileResult[] = [];
  let sentTotal = 0;
  for (const [index, file] of files.entries()) {
    if (file.kind === 'dir') continue;
    const before = held.has(index) ? earlier?.get(index) : undefined;
    if (before !== undefined) {
      // Verified and in place over an earlier channel: nothing to send again.
      confirmed.add(index);
      results.push(before);
      sentTotal += before.bytes;
      continue;
    }
    if (already.has(index) && file.sha256 !== undefined && file.size !== null) {
      // The receiver has it, whole and identical, from an earlier run.
      confirmed.add(index);
      const result = { name: file.name, path: file.path, bytes: file.size, sha256: file.sha256 };
      const skipped = { ...result, resumedBytes: file.size, already: true as const };
      results.push(skipped);
      sentTotal += file.size;
      onFile?.({ phase: 'done', file: index, ...skipped });
      continue;
    }
    onFile?.({ phase: 'start', file: index, name: file.name, size: file.size });
    const progress = (fileBytes: number): void =>
      onProgress?.({ file: index, name: file.name, fileBytes, fileSize: file.size, bytes: sentTotal, total });
    // A stream's SHA-256 is taken as it goes; a file's was taken before the manifest.
    const hash = createHash('sha256');
    let resumed = 0;
    let size: number;
    if (file.stream !== undefined) {
      // A stream of unknown length: no resume, its size goes in FILE_END.
      link.send({ type: 'file-start', file: index, offset: 0 });
      const reader = new StreamReader(file.stream);
      // Not link.guard(): each race would leave a reaction on the never-settling
      // failure promise, holding its chunk, so memory would grow with the stream.
      let failRead: ((err: unknown) => void) | undefined;
      link.failure.catch((err: unknown) => failRead?.(err));
      const read = (max: number): Promise<Buffer | null> =>
        new Promise<Buffer | null>((resolve, reject) => {
          if (link.error !== undefined) reject(link.error);
          failRead = reject;
          reader.read(max).then(resolve, reject);
        }).finally(() => {
          failRead = undefined;
        });
      let offset = 0;
      for (;;) {
        while (credit <= 0 || link.link.bufferedAmount() >= SEND_HIGH_WATER) await waitForPoke();
        const chunk = await read(Math.min(chunkSize, credit));
        if (chunk === null) break;
        const frame = allocDataFrame(index, offset, chunk.length);
        chunk.copy(frame, DATA_HEADER_BYTES);
        hash.update(chunk);
        link.sendRaw(frame);
        offset += chunk.length;
        credit -= chunk.length;
        sentTotal += chunk.length;
        tally.bytes += chunk.length;
        progress(offset);
      }
      size = offset;
    } else {
      size = file.size ?? 0;
      // The file scanned, not whatever is at its path now (a hostile receiver picks when we get here).
      const handle = await openSource(file).catch((err: unknown) => {
        // Tell the receiver why, rather than leave it to find the channel gone.
        link.abort(toPeerlaneError(err));
        throw err;
      });
      try {
        // Skip what the receiver holds from an earlier run, if our bytes still match it.
        resumed = await checkOffer(handle, size, offers.get(index));
        link.send({ type: 'file-start', file: index, offset: resumed });
        sentTotal += resumed;
        let offset = resumed;
        const pieces = new ReadAhead(handle, resumed, size, file.path);
        try {
          for (let piece = await pieces.next(); piece !== null; piece = await pieces.next()) {
            const length = piece.length - DATA_HEADER_BYTES;
            for (let at = 0; at < length; at += chunkSize) {
              const want = Math.min(chunkSize, length - at);
              // A whole frame's credit: the piece is already read, and the window is far larger.
              while (credit < want || link.link.bufferedAmount() >= SEND_HIGH_WATER) await waitForPoke();
              link.sendRaw(frameAt(piece, at, want, index, offset));
              offset += want;
              credit -= want;
              sentTotal += want;
              tally.bytes += want;
              progress(offset);
            }
          }
        } finally {
          await pieces.settle();
        }
      } finally {
        await handle.close();
      }
    }
    // A file's is the SHA-256 the manifest stated: if the file changed since, the
    // receiver's hash of what it got differs (HASH_MISMATCH), never a torn file that verifies.
    const sha256 = file.sha256 ?? hash.digest('hex');
    link.send({ type: 'file-end', file: index, sha256, ...(file.size === null ? { size } : {}) });
    const result = { name: file.name, path: file.path, bytes: size, sha256, resumedBytes: resumed };
    results.push(result);
    if (size === 0) progress(0);
    onFile?.({ phase: 'done', file: index, ...result });
  }
  ended = true;
  link.send({ type: 'end' });
  link.expectPeer(true);
  await link.guard(done);
  return { files: results, bytes: tally.bytes, ms: Date.now() - tally.since };
}
