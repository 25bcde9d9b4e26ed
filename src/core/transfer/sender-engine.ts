/**
 * The sender as a state machine: the receiver's frames in (onFrame, one
 * method per kind), frames out through the link, and files through
 * SenderFiles. It opens no file, socket or timer of its own (ports.ts,
 * file-access.ts say why).
 *
 * run(): manifest, then each file's chunks and hash, then END; it resolves
 * only after the receiver's DONE, which it sends once every file is verified
 * and in place.
 *
 * Each file's SHA-256 goes in the manifest (taken beforehand,
 * SenderFiles.hashAll): the receiver skips a file it already holds with that
 * hash (ACCEPT.already) and resumes only a `.part` begun for it. The same
 * hash ends the file (FILE_END), so a file is read and hashed once before it
 * is sent and not hashed again while sending.
 *
 * Two brakes keep memory flat: the link's bufferedAmount (our side) and the
 * receiver's credit (its side, credit.ts). Each file is read piece by piece,
 * never whole.
 */
import { PeerlaneError, toPeerlaneError } from '../errors.js';
import { SendCredit } from './credit.js';
import type { OutgoingFile, OutgoingStream, SendEntry, SenderFiles } from './file-access.js';
import type { Clock, HasherFactory, TransferLink } from './ports.js';
import type { Frame, ResumeOffer } from './protocol.js';
import {
  CHUNK_SIZE,
  DATA_HEADER_BYTES,
  dataFrameAt,
  encodeControlBytes,
  MAX_TEXT_BYTES,
  manifestTotal,
  SEND_HIGH_WATER,
  SEND_LOW_WATER,
  TRANSFER_PROTOCOL_VERSION,
  writeDataHeader,
} from './protocol.js';
import type { FileEvent, FileResult, Tally, TransferProgress, TransferResult } from './types.js';

export interface SenderEngineOptions {
  link: TransferLink;
  entries: readonly SendEntry[];
  files: SenderFiles;
  sha256: HasherFactory;
  clock: Clock;
  /** A message instead of files (peer send --text); `entries` must then be empty. */
  text?: string | undefined;
  onProgress?: ((progress: TransferProgress) => void) | undefined;
  /** Each file as it starts and once it is sent. */
  onFile?: ((event: FileEvent) => void) | undefined;
  /**
   * Files sent over an earlier channel of this session, by manifest index:
   * the receiver may report them held (ACCEPT.have) and they are skipped.
   */
  earlier?: ReadonlyMap<number, FileResult> | undefined;
  /** Totals across the session's attempts. */
  tally?: Tally | undefined;
}

/** Throw TEXT_TOO_LARGE unless `text` fits in one message. */
export function checkText(text: string): void {
  const size = new TextEncoder().encode(text).length;
  if (size > MAX_TEXT_BYTES) {
    throw new PeerlaneError(
      'TEXT_TOO_LARGE',
      `the text is ${size} bytes; at most ${MAX_TEXT_BYTES} can be sent`,
    );
  }
}

type FrameOf<T extends Frame['type']> = Extract<Frame, { type: T }>;

export class SenderEngine {
  private readonly link: TransferLink;
  private readonly entries: readonly SendEntry[];
  private readonly tally: Tally;
  private readonly credit = new SendCredit();
  private chunkSize: number;
  private readonly total: number | null;
  private readonly fileCount: number;
  /** Resolves the wait for credit or a drained link, if one is on. */
  private wake: (() => void) | undefined;
  private readonly accepted: Promise<void>;
  private resolveAccepted!: () => void;
  private readonly done: Promise<void>;
  private resolveDone!: () => void;
  private readonly confirmed = new Set<number>();
  private ended = false;
  private offers = new Map<number, ResumeOffer>();
  private held = new Set<number>();
  private already = new Set<number>();
  private readonly results: FileResult[] = [];
  /** Bytes of all files so far, sent or held. */
  private sentTotal = 0;
  /** Rejects a stream's pending read when the link fails (readStream). */
  private failRead: ((err: unknown) => void) | undefined;

  /** Throws TEXT_TOO_LARGE, or INTERNAL for a link that carries no DATA frame. */
  constructor(private readonly options: SenderEngineOptions) {
    const { link, entries, text } = options;
    if (text !== undefined) checkText(text);
    this.link = link;
    this.entries = entries;
    this.tally = options.tally ?? { bytes: 0 };
    this.total = manifestTotal(entries);
    this.fileCount = entries.filter((f) => f.kind !== 'dir').length;
    this.chunkSize = Math.min(CHUNK_SIZE, link.maxMessageSize() - DATA_HEADER_BYTES);
    if (this.chunkSize <= 0)
      throw new PeerlaneError('INTERNAL', 'the peer accepts no message large enough for data');
    this.accepted = new Promise<void>((resolve) => {
      this.resolveAccepted = resolve;
    });
    this.done = new Promise<void>((resolve) => {
      this.resolveDone = resolve;
    });
    link.onBufferedAmountLow(SEND_LOW_WATER, () => this.poke());
    link.failure.catch((err: unknown) => this.failRead?.(err));
  }

  /** A frame from the receiver. A throw is the receiver's fault (BAD_FRAME). */
  onFrame(frame: Frame): void {
    switch (frame.type) {
      case 'accept':
        this.onAccept(frame);
        return;
      case 'credit':
        this.credit.grant(frame.bytes);
        this.poke();
        return;
      case 'file-ok':
        this.onFileOk(frame);
        return;
      case 'done':
        this.onDone();
        return;
      default:
        throw new PeerlaneError('BAD_FRAME', `unexpected ${frame.type} frame from the receiver`);
    }
  }

  /** The whole transfer: resolves with its result once the receiver confirmed every file (DONE). */
  async run(): Promise<TransferResult> {
    const { link } = this;
    // Usually taken already, while pairing.
    await link.guard(this.options.files.hashAll());
    this.sendManifest();
    await link.guard(this.accepted);
    // Time from acceptance: the receiver's human may take a while to say yes.
    const started = this.options.clock.now();
    this.tally.since ??= started;
    for (const index of this.entries.keys()) await this.sendEntry(index);
    this.ended = true;
    link.send({ type: 'end' });
    link.expectPeer(true);
    await link.guard(this.done);
    return { files: this.results, bytes: this.tally.bytes, ms: this.options.clock.now() - this.tally.since };
  }

  private onAccept(frame: FrameOf<'accept'>): void {
    this.offers = new Map(frame.resume.map((o) => [o.file, o]));
    this.held = new Set(frame.have);
    for (const file of this.held) {
      if (!this.options.earlier?.has(file))
        throw new PeerlaneError('BAD_FRAME', `ACCEPT claims file ${file}, never sent`);
    }
    this.already = new Set(frame.already);
    for (const file of this.already) {
      // Only a file whose hash we stated can be one the receiver holds already.
      if (this.entries[file]?.sha256 === undefined)
        throw new PeerlaneError('BAD_FRAME', `ACCEPT claims file ${file} without its hash`);
    }
    this.credit.grant(frame.window);
    // A frame waits for its whole credit, so none may be larger than the window.
    this.chunkSize = Math.max(1, Math.min(this.chunkSize, frame.window));
    this.resolveAccepted();
    this.poke();
  }

  private onFileOk({ file }: FrameOf<'file-ok'>): void {
    if (file >= this.entries.length || this.confirmed.has(file) || this.entries[file]?.kind === 'dir')
      throw new PeerlaneError('BAD_FRAME', 'bad FILE_OK');
    this.confirmed.add(file);
  }

  private onDone(): void {
    if (!this.ended || this.confirmed.size !== this.fileCount) {
      throw new PeerlaneError('BAD_FRAME', 'DONE before every file was confirmed');
    }
    this.resolveDone();
  }

  private sendManifest(): void {
    const { entries } = this;
    const { text } = this.options;
    const manifest = encodeControlBytes({
      type: 'manifest',
      v: TRANSFER_PROTOCOL_VERSION,
      files: entries.map((f) => ({
        name: f.name,
        size: f.size,
        ...(f.mode !== undefined ? { mode: f.mode } : {}),
        ...(f.mtime !== undefined ? { mtime: f.mtime } : {}),
        ...(f.kind !== undefined ? { kind: f.kind } : {}),
        ...(f.sha256 !== undefined ? { sha256: f.sha256 } : {}),
      })),
      ...(text !== undefined ? { text } : {}),
    });
    // The manifest is one message: it must fit in what the link carries.
    const max = this.link.maxMessageSize();
    if (manifest.length > max) {
      throw new PeerlaneError(
        'MANIFEST_TOO_LARGE',
        `the list of ${entries.length} names takes ${manifest.length} bytes; one message holds ${max}`,
      );
    }
    this.link.sendRaw(manifest);
  }

  /** One manifest entry: skipped (a folder, or held by the receiver), or sent. */
  private async sendEntry(index: number): Promise<void> {
    const entry = this.entries[index];
    if (entry === undefined || entry.kind === 'dir') return;
    const before = this.held.has(index) ? this.options.earlier?.get(index) : undefined;
    if (before !== undefined) {
      // Verified and in place over an earlier channel: nothing to send again.
      this.skip(index, before);
      return;
    }
    if (this.already.has(index) && entry.sha256 !== undefined && entry.size !== null) {
      // The receiver has it, whole and identical, from an earlier run.
      const result = { name: entry.name, path: entry.path, bytes: entry.size, sha256: entry.sha256 };
      const skipped = { ...result, resumedBytes: entry.size, already: true as const };
      this.skip(index, skipped);
      this.options.onFile?.({ phase: 'done', file: index, ...skipped });
      return;
    }
    this.options.onFile?.({ phase: 'start', file: index, name: entry.name, size: entry.size });
    const source = await this.options.files.open(index).catch((err: unknown) => {
      // Tell the receiver why, rather than leave it to find the link gone.
      this.link.abort(toPeerlaneError(err));
      throw err;
    });
    const sent =
      source.kind === 'stream' ? await this.sendStream(index, source) : await this.sendFile(index, source);
    // A file's is the SHA-256 the manifest stated: if the file changed since, the
    // receiver's hash of what it got differs (HASH_MISMATCH), never a torn file that verifies.
    const sha256 = entry.sha256 ?? sent.sha256;
    if (sha256 === undefined) throw new PeerlaneError('INTERNAL', `${entry.name} was sent unhashed`);
    const { size, resumed } = sent;
    this.link.send({ type: 'file-end', file: index, sha256, ...(entry.size === null ? { size } : {}) });
    const result = { name: entry.name, path: entry.path, bytes: size, sha256, resumedBytes: resumed };
    this.results.push(result);
    if (size === 0) this.progress(index, 0);
    this.options.onFile?.({ phase: 'done', file: index, ...result });
  }

  private skip(index: number, result: FileResult): void {
    this.confirmed.add(index);
    this.results.push(result);
    this.sentTotal += result.bytes;
  }

  /** A stream of unknown length: no resume, hashed as it goes, its size goes in FILE_END. */
  private async sendStream(index: number, stream: OutgoingStream): Promise<Sent> {
    this.link.send({ type: 'file-start', file: index, offset: 0 });
    const hash = this.options.sha256();
    let offset = 0;
    for (;;) {
      if (this.mustWait(1)) await this.waitToSend(1);
      const chunk = await this.readStream(stream, Math.min(this.chunkSize, this.credit.available));
      if (chunk === null) break;
      const frame = new Uint8Array(DATA_HEADER_BYTES + chunk.length);
      writeDataHeader(frame, index, offset);
      frame.set(chunk, DATA_HEADER_BYTES);
      hash.update(chunk);
      this.link.sendRaw(frame);
      offset += chunk.length;
      this.sent(index, offset, chunk.length);
    }
    return { size: offset, resumed: 0, sha256: hash.digestHex() };
  }

  /**
   * A stream's read, failing with the link. Not link.guard(): each race would
   * leave a reaction on the never-settling failure promise, holding its
   * chunk, so memory would grow with the stream.
   */
  private readStream(stream: OutgoingStream, max: number): Promise<Uint8Array | null> {
    return new Promise<Uint8Array | null>((resolve, reject) => {
      if (this.link.error !== undefined) reject(this.link.error);
      this.failRead = reject;
      stream.read(max).then(resolve, reject);
    }).finally(() => {
      this.failRead = undefined;
    });
  }

  /** A file at rest, from where the receiver's resume offer lets it start, in frames cut from read pieces. */
  private async sendFile(index: number, file: OutgoingFile): Promise<Sent> {
    const size = this.entries[index]?.size ?? 0;
    try {
      // Skip what the receiver holds from an earlier run, if our bytes still match it.
      const resumed = await file.resumeAt(this.offers.get(index));
      this.link.send({ type: 'file-start', file: index, offset: resumed });
      this.sentTotal += resumed;
      let offset = resumed;
      const pieces = file.pieces(resumed);
      for (let piece = await pieces.next(); piece !== null; piece = await pieces.next()) {
        const length = piece.length - DATA_HEADER_BYTES;
        for (let at = 0; at < length; at += this.chunkSize) {
          const want = Math.min(this.chunkSize, length - at);
          // A whole frame's credit: the piece is already read, and the window is far larger.
          if (this.mustWait(want)) await this.waitToSend(want);
          this.link.sendRaw(dataFrameAt(piece, at, want, index, offset));
          offset += want;
          this.sent(index, offset, want);
        }
      }
      return { size, resumed };
    } finally {
      await file.close();
    }
  }

  /** `bytes` more of file `index` went out; `offset` is where it now stands. */
  private sent(index: number, offset: number, bytes: number): void {
    this.credit.spend(bytes);
    this.sentTotal += bytes;
    this.tally.bytes += bytes;
    this.progress(index, offset);
  }

  private progress(index: number, fileBytes: number): void {
    const entry = this.entries[index];
    if (entry === undefined) return;
    this.options.onProgress?.({
      file: index,
      name: entry.name,
      fileBytes,
      fileSize: entry.size,
      bytes: this.sentTotal,
      total: this.total,
    });
  }

  /** Whether a frame of `want` bytes must wait: for credit, or for room on the link. */
  private mustWait(want: number): boolean {
    return this.credit.available < want || this.link.bufferedAmount() >= SEND_HIGH_WATER;
  }

  /**
   * Until `want` bytes of credit are held and the link has room: the
   * receiver's to give, within the stall timeout. Called only when mustWait,
   * so a frame that need not wait costs no promise.
   */
  private async waitToSend(want: number): Promise<void> {
    while (this.mustWait(want)) {
      this.link.expectPeer(true);
      try {
        await this.link.guard(
          new Promise<void>((resolve) => {
            this.wake = resolve;
          }),
        );
      } finally {
        this.link.expectPeer(false);
      }
    }
  }

  /** Credit came, or the link drained: let a waiting send look again. */
  private poke(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/** What sending one file came to. */
interface Sent {
  size: number;
  resumed: number;
  /** A stream's SHA-256, taken as it went; a file's was stated in the manifest. */
  sha256?: string;
}
