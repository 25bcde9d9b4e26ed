/**
 * In-memory stand-ins for what the transfer engines are given: a link that
 * records frames, receiver and sender file access over byte arrays, and a
 * SHA-256 from @noble/hashes (as a browser would inject). No network, no disk.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { PeerlaneError } from '../../src/core/errors.js';
import type {
  IncomingFile,
  OpenRequest,
  OutgoingFile,
  OutgoingStream,
  ReceiverFiles,
  SendEntry,
  SenderFiles,
  Survey,
} from '../../src/core/transfer/file-access.js';
import type { Clock, TransferLink } from '../../src/core/transfer/ports.js';
import type { ControlFrame, Frame } from '../../src/core/transfer/protocol.js';
import { DATA_HEADER_BYTES, parseFrame } from '../../src/core/transfer/protocol.js';

/** The browser page's SHA-256: what a browser injects. */
export { browserSha256 as pageSha256 } from '../../src/web/hasher.js';

export const hexOf = (data: Uint8Array): string => bytesToHex(sha256(data));

export const fixedClock: Clock = { now: () => 1_000 };

/** A link that keeps what the engine sends, decoded, and fails as FramedLink does. */
export class MemoryLink implements TransferLink {
  readonly sent: Frame[] = [];
  readonly failure: Promise<never>;
  error: PeerlaneError | undefined;
  waiting = false;
  buffered = 0;
  private rejectFailure!: (err: PeerlaneError) => void;
  private lowHandler: (() => void) | undefined;

  constructor(private readonly maxMessage = 256 * 1024) {
    this.failure = new Promise<never>((_, reject) => {
      this.rejectFailure = reject;
    });
    this.failure.catch(() => {});
  }

  send(frame: ControlFrame): void {
    this.sent.push(frame);
  }

  sendRaw(frame: Uint8Array): void {
    this.sent.push(parseFrame(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength)));
  }

  maxMessageSize(): number {
    return this.maxMessage;
  }

  bufferedAmount(): number {
    return this.buffered;
  }

  onBufferedAmountLow(_threshold: number, handler: () => void): void {
    this.lowHandler = handler;
  }

  /** The link drained. */
  drain(): void {
    this.buffered = 0;
    this.lowHandler?.();
  }

  expectPeer(waiting: boolean): void {
    this.waiting = waiting;
  }

  guard<T>(step: Promise<T>): Promise<T> {
    return Promise.race([step, this.failure]);
  }

  abort(err: PeerlaneError): void {
    if (this.error !== undefined) return;
    this.error = err;
    this.rejectFailure(err);
  }

  of<T extends Frame['type']>(type: T): Extract<Frame, { type: T }>[] {
    return this.sent.filter((f): f is Extract<Frame, { type: T }> => f.type === type);
  }

  /** The code the link failed with once the engine has done what it can; 'none' if it did not fail. */
  async failedWith(): Promise<string> {
    const code = this.failure.then(
      () => 'none',
      (err: PeerlaneError) => err.code,
    );
    return Promise.race([code, settle().then(() => 'none')]);
  }
}

/** Let queued promise steps run. */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Receiver file access over memory: what was written, published and discarded. */
export class MemoryReceiverFiles implements ReceiverFiles {
  readonly published = new Map<string, Uint8Array>();
  readonly discarded: { name: string; keep: boolean }[] = [];
  survey_: Survey = { held: new Map(), resumable: new Map(), already: new Map() };
  /** Make the next write fail with this code (a full disk, say). */
  failWrite: 'DISK_FULL' | undefined;

  check(files: readonly { name: string }[]): void {
    for (const f of files) {
      if (f.name.split('/').includes('..')) throw new PeerlaneError('BAD_NAME', `refused ${f.name}`);
    }
  }

  async survey(): Promise<Survey> {
    return this.survey_;
  }

  async prepare(): Promise<void> {}

  async open({ entry, offset }: OpenRequest): Promise<IncomingFile> {
    const chunks: Uint8Array[] = [];
    return {
      target: entry.name,
      kept: true,
      begin: async () => {},
      write: async (payload, at) => {
        if (this.failWrite !== undefined) throw new PeerlaneError(this.failWrite, 'no room');
        if (at < offset) throw new Error('write before the start');
        chunks.push(payload.slice());
      },
      finish: async () => {
        this.published.set(entry.name, new Uint8Array(Buffer.concat(chunks)));
        return `/out/${entry.name}`;
      },
      discard: async (keep) => {
        this.discarded.push({ name: entry.name, keep });
      },
    };
  }

  async finishFolders(): Promise<void> {}
}

/** Sender file access over memory: each entry's bytes, in pieces of `pieceSize`. */
export class MemorySenderFiles implements SenderFiles {
  readonly closed: number[] = [];

  constructor(
    private readonly data: ReadonlyMap<number, Uint8Array>,
    private readonly entries: SendEntry[],
    private readonly pieceSize = 100_000,
    /** What resumeAt answers for an offer. */
    private readonly resumeAnswer = (_: unknown): number => 0,
  ) {}

  async hashAll(): Promise<void> {
    for (const [index, bytes] of this.data) {
      const entry = this.entries[index];
      if (entry !== undefined && entry.size !== null) entry.sha256 = hexOf(bytes);
    }
  }

  async open(index: number): Promise<OutgoingFile | OutgoingStream> {
    const bytes = this.data.get(index) ?? new Uint8Array(0);
    const { pieceSize, closed } = this;
    if (this.entries[index]?.size === null) {
      let at = 0;
      return {
        kind: 'stream',
        read: async (max) => {
          if (at >= bytes.length) return null;
          const out = bytes.subarray(at, at + max);
          at += out.length;
          return out;
        },
      };
    }
    return {
      kind: 'file',
      resumeAt: async (offer) => this.resumeAnswer(offer),
      pieces: (from) => {
        let at = from;
        return {
          next: async () => {
            if (at >= bytes.length) return null;
            const payload = bytes.subarray(at, at + pieceSize);
            at += payload.length;
            const piece = new Uint8Array(DATA_HEADER_BYTES + payload.length);
            piece.set(payload, DATA_HEADER_BYTES);
            return piece;
          },
        };
      },
      close: async () => {
        closed.push(index);
      },
    };
  }
}
