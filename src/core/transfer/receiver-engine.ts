/**
 * The receiver as a state machine: the sender's frames in (push), frames out
 * through the link, and files through ReceiverFiles. It opens no file, socket
 * or timer of its own (ports.ts, file-access.ts say why).
 *
 * Before ACCEPT, the manifest is checked (ReceiverFiles.check), what is in
 * place already is surveyed, the user's consent is asked (onManifest), and
 * there must be room for what is still to be written: files already in place,
 * identical, from an earlier run are not received again (ACCEPT.already), and
 * a resumed `.part` keeps its blocks (ACCEPT.resume).
 *
 * Each file is hashed as it arrives, checked for size and SHA-256 at
 * FILE_END, and only then published and acknowledged (FILE_OK). Only data
 * proven bad (DISCARD_ON) is removed when a transfer fails; anything else is
 * kept for a later run to resume.
 *
 * Frames are checked as they arrive (admit: order, the credit window, a flood
 * of frames) and handled strictly in order, one at a time, through one
 * promise queue: one method per frame kind.
 */
import { PeerlaneError, toPeerlaneError } from '../errors.js';
import { ReceiveWindow } from './credit.js';
import type { IncomingFile, ReceiveMemory, ReceiverFiles, Survey } from './file-access.js';
import type { Clock, HasherFactory, TransferLink } from './ports.js';
import type { Frame, ManifestEntry, ResumeOffer } from './protocol.js';
import { BLOCK_SIZE, MAX_FILE_SIZE, MAX_QUEUED_FRAMES, manifestTotal, offerDigest } from './protocol.js';
import type { FileEvent, FileResult, Tally, TransferProgress, TransferResult } from './types.js';

export interface ReceiverEngineOptions {
  link: TransferLink;
  files: ReceiverFiles;
  sha256: HasherFactory;
  clock: Clock;
  /**
   * Called with the checked manifest before anything is accepted; throw to
   * refuse. `signal` aborts if the transfer fails meanwhile (say, the peer
   * leaves while the user is being asked), so a prompt can be closed.
   */
  onManifest?: ((files: readonly ManifestEntry[], signal: AbortSignal) => void | Promise<void>) | undefined;
  onProgress?: ((progress: TransferProgress) => void) | undefined;
  /** Each file as it starts and once it is verified and in place. */
  onFile?: ((event: FileEvent) => void) | undefined;
  /** A message arrived (peer send --text): nothing is written, no consent is asked. */
  onText?: ((text: string) => void) | undefined;
  /** Carried from one attempt of a session to the next (a reconnection). */
  memory?: ReceiveMemory | undefined;
  /** Totals across the session's attempts. */
  tally?: Tally | undefined;
}

/** Failures that prove the data bad: the `.part` and its state go. Anything else keeps them for a resume. */
export const DISCARD_ON: ReadonlySet<string> = new Set([
  'HASH_MISMATCH',
  'BAD_FRAME',
  'BAD_NAME',
  'VERSION_MISMATCH',
  // The sender ended a file or the transfer early: a broken sender's bytes are not trusted.
  'TRANSFER_INCOMPLETE',
]);

/** The file being received, with what the engine knows of it. */
interface Current {
  index: number;
  entry: ManifestEntry;
  file: IncomingFile;
  hash: ReturnType<HasherFactory>;
  received: number;
  /** Bytes that were already on disk from an earlier run. */
  resumed: number;
}

type FrameOf<T extends Frame['type']> = Extract<Frame, { type: T }>;

export class ReceiverEngine {
  /** Resolves once END is handled and DONE sent. */
  readonly finished: Promise<void>;
  private resolveFinished!: () => void;
  private readonly link: TransferLink;
  private readonly memory: ReceiveMemory;
  private readonly tally: Tally;
  private readonly window = new ReceiveWindow();
  /** Set at ACCEPT: time spent asking the human is not transfer time. */
  private started: number;
  private manifest: ManifestEntry[] | undefined;
  private total: number | null = 0;
  private bytesSoFar = 0;
  private survey: Survey = { held: new Map(), resumable: new Map(), already: new Map() };
  private current: Current | undefined;
  private nextIndex = 0;
  private readonly results = new Map<number, FileResult>();
  private queue: Promise<void> = Promise.resolve();
  /** Frames queued and not yet handled. */
  private queued = 0;
  private manifestSeen = false;
  /** Set as ACCEPT is sent: before it, only the manifest may come. */
  private accepted = false;
  /** END arrived: nothing more is owed by the sender. */
  private ended = false;
  /** FILE_START, FILE_END and END frames so far: two per file and one END is all an honest sender sends. */
  private controlFrames = 0;

  constructor(private readonly options: ReceiverEngineOptions) {
    this.link = options.link;
    this.memory = options.memory ?? { completed: new Map(), targets: new Map() };
    this.tally = options.tally ?? { bytes: 0 };
    this.started = options.clock.now();
    this.finished = new Promise<void>((resolve) => {
      this.resolveFinished = resolve;
    });
  }

  /**
   * A frame from the sender. Checked at once (a throw is the sender's fault:
   * BAD_FRAME), then queued behind the frames before it; a failure while
   * handling it aborts the link.
   */
  push(frame: Frame): void {
    this.admit(frame);
    // Busy with our own work (a disk write, the user's answer): not the sender's to hurry.
    this.link.expectPeer(false);
    this.queue = this.queue
      .then(() => (this.link.error === undefined ? this.handle(frame) : undefined))
      .then(() => {
        // Nothing left to do: the next step is the sender's, until END.
        if (--this.queued === 0 && this.accepted && !this.ended) this.link.expectPeer(true);
      });
    this.queue.catch((err: unknown) => this.link.abort(toPeerlaneError(err, 'BAD_FRAME')));
  }

  /** The result, once `finished`: in manifest order, with the files held from earlier. */
  result(): TransferResult {
    for (const [index, done] of [...this.survey.held, ...this.survey.already]) this.results.set(index, done);
    const files = [...this.results].sort(([a], [b]) => a - b).map(([, r]) => r);
    const since = this.tally.since ?? this.started;
    return { files, bytes: this.tally.bytes, ms: this.options.clock.now() - since };
  }

  /** The transfer failed with `err`: close the file in progress, keeping it unless its data is proven bad. */
  async abandon(err: unknown): Promise<void> {
    // Let the step in progress finish, so no .part is created after we clean up.
    await this.queue.catch(() => {});
    await this.current?.file.discard(!DISCARD_ON.has(toPeerlaneError(err).code));
  }

  /** Checked as frames arrive, before queueing: the queue would hold them otherwise. */
  private admit(frame: Frame): void {
    if (frame.type === 'manifest') {
      if (this.manifestSeen) throw new PeerlaneError('BAD_FRAME', 'a second manifest');
      this.manifestSeen = true;
    } else if (!this.accepted) {
      // Nothing but PING and ERROR (taken by the link) may come while the user is asked.
      throw new PeerlaneError('BAD_FRAME', `${frame.type.toUpperCase()} before the manifest was accepted`);
    } else if (frame.type === 'data') {
      this.window.arrive(frame.payload.length);
    } else if (++this.controlFrames > 2 * (this.manifest?.length ?? 0) + 1) {
      throw new PeerlaneError(
        'BAD_FRAME',
        'more FILE_START, FILE_END and END frames than the manifest allows',
      );
    }
    if (++this.queued > MAX_QUEUED_FRAMES) throw new PeerlaneError('BAD_FRAME', 'the sender floods frames');
  }

  /**
   * Not async: a throw here rejects the queue's step just the same, and a DATA
   * frame then costs no more promises than onData and the write it awaits.
   */
  private handle(frame: Frame): Promise<void> {
    switch (frame.type) {
      case 'manifest':
        return frame.text !== undefined ? this.onText(frame.text) : this.onManifest(frame.files);
      case 'file-start':
        return this.onFileStart(frame);
      case 'data':
        return this.onData(frame);
      case 'file-end':
        return this.onFileEnd(frame);
      case 'end':
        return this.onEnd();
      default:
        throw new PeerlaneError('BAD_FRAME', `unexpected ${frame.type} frame from the sender`);
    }
  }

  /** A message: printed, never written; there is nothing to consent to. */
  private async onText(text: string): Promise<void> {
    if (!this.memory.textShown) this.options.onText?.(text);
    this.memory.textShown = true;
    this.manifest = [];
    this.accept([]);
  }

  private async onManifest(files: ManifestEntry[]): Promise<void> {
    const { link, memory } = this;
    // Refuse what can never be written before asking anyone about it.
    this.options.files.check(files);
    this.survey = await this.options.files.survey(files, memory);
    const consent = new AbortController();
    link.failure.catch((err: unknown) => consent.abort(err));
    await link.guard(Promise.resolve(this.options.onManifest?.(files, consent.signal)));
    this.total = manifestTotal(files);
    await this.options.files.prepare(files, this.survey, memory);
    this.manifest = files;
    this.skipHeld();
    const { held, already, resumable } = this.survey;
    for (const done of [...held.values(), ...already.values()]) this.bytesSoFar += done.bytes;
    const offers: ResumeOffer[] = [];
    for (const [file, r] of resumable) {
      if (r.blocks.length > 0)
        offers.push({ file, blocks: r.blocks.length, digest: offerDigest(r.blocks, this.options.sha256()) });
    }
    this.accept(offers);
    for (const [index, result] of already) {
      // Held, should this session reconnect: the sender has it as sent.
      memory.completed.set(result.name, result);
      this.options.onFile?.({ phase: 'done', file: index, ...result });
    }
  }

  private accept(resume: ResumeOffer[]): void {
    this.started = this.options.clock.now();
    this.tally.since ??= this.started;
    const { held, already } = this.survey;
    this.accepted = true;
    this.link.send({
      type: 'accept',
      window: this.window.size,
      resume,
      ...(held.size > 0 ? { have: [...held.keys()] } : {}),
      ...(already.size > 0 ? { already: [...already.keys()] } : {}),
    });
  }

  /** Folders, and files held from an earlier attempt or run, get no frames: move past them. */
  private skipHeld(): void {
    const { held, already } = this.survey;
    const at = (i: number): boolean => this.manifest?.[i]?.kind === 'dir' || held.has(i) || already.has(i);
    while (at(this.nextIndex)) this.nextIndex++;
  }

  private async onFileStart({ file: index, offset }: FrameOf<'file-start'>): Promise<void> {
    const entry = this.manifest?.[index];
    if (entry === undefined || this.current !== undefined || index !== this.nextIndex) {
      throw new PeerlaneError(
        'BAD_FRAME',
        `FILE_START for file ${index} out of order (expected ${this.nextIndex})`,
      );
    }
    const earlier = this.survey.resumable.get(index);
    const offered = (earlier?.blocks.length ?? 0) * BLOCK_SIZE;
    if (offset !== 0 && offset !== offered) {
      throw new PeerlaneError('BAD_FRAME', `resume at ${offset}, but ${offered} bytes were offered`);
    }
    this.options.onFile?.({ phase: 'start', file: index, name: entry.name, size: entry.size });
    const hash = this.options.sha256();
    const file = await this.options.files.open({ index, entry, offset, earlier, hash });
    if (file.kept) this.memory.targets.set(entry.name, file.target);
    this.current = { index, entry, file, hash, received: offset, resumed: offset };
    this.bytesSoFar += offset;
    // Only now that it is `current`: if this fails, the .part is still closed (and kept).
    await file.begin();
  }

  private currentFile(index: number): Current {
    const current = this.current;
    if (current === undefined || current.index !== index) {
      throw new PeerlaneError('BAD_FRAME', `data for file ${index} without its FILE_START`);
    }
    return current;
  }

  private async onData({ file: index, offset, payload }: FrameOf<'data'>): Promise<void> {
    const current = this.currentFile(index);
    const length = payload.length;
    if (offset !== current.received) {
      throw new PeerlaneError('BAD_FRAME', `data at offset ${offset}, expected ${current.received}`);
    }
    if (current.received + length > (current.entry.size ?? MAX_FILE_SIZE)) {
      throw new PeerlaneError('BAD_FRAME', `more bytes than announced for ${current.entry.name}`);
    }
    current.hash.update(payload);
    await current.file.write(payload, offset);
    current.received += length;
    this.bytesSoFar += length;
    this.tally.bytes += length;
    this.returnCredit(this.window.written(length));
    this.progress(current);
  }

  private async onFileEnd(frame: FrameOf<'file-end'>): Promise<void> {
    const current = this.currentFile(frame.file);
    const { entry, received } = current;
    const size = entry.size ?? frame.size;
    if (size === undefined) throw new PeerlaneError('BAD_FRAME', 'FILE_END of a stream without its size');
    if (received !== size) {
      throw new PeerlaneError('TRANSFER_INCOMPLETE', `${entry.name}: got ${received} of ${size} bytes`);
    }
    const sha256 = current.hash.digestHex();
    if (sha256 !== frame.sha256) {
      throw new PeerlaneError(
        'HASH_MISMATCH',
        `${entry.name}: SHA-256 differs from the sender's (did the file change while it was sent?)`,
      );
    }
    const path = await current.file.finish();
    this.current = undefined;
    this.nextIndex++;
    this.skipHeld();
    const result: FileResult = {
      name: entry.name,
      path,
      bytes: received,
      sha256,
      resumedBytes: current.resumed,
    };
    this.results.set(current.index, result);
    if (current.file.kept) this.memory.completed.set(entry.name, result);
    if (size === 0) this.progress(current, 0);
    this.options.onFile?.({ phase: 'done', file: current.index, ...result });
    this.returnCredit(this.window.flush());
    this.link.send({ type: 'file-ok', file: current.index });
  }

  private async onEnd(): Promise<void> {
    const count = this.manifest?.length ?? 0;
    if (this.manifest === undefined || this.nextIndex !== count || this.current !== undefined) {
      throw new PeerlaneError(
        'TRANSFER_INCOMPLETE',
        `the sender ended after ${this.nextIndex} of ${count} files`,
      );
    }
    this.ended = true;
    await this.options.files.finishFolders(this.memory);
    this.link.send({ type: 'done' });
    this.resolveFinished();
  }

  private returnCredit(bytes: number): void {
    if (bytes > 0) this.link.send({ type: 'credit', bytes });
  }

  private progress(current: Current, fileSize = current.entry.size): void {
    this.options.onProgress?.({
      file: current.index,
      name: current.entry.name,
      fileBytes: current.received,
      fileSize,
      bytes: this.bytesSoFar,
      total: this.total,
    });
  }
}
