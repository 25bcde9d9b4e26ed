/**
 * Streams files to the receiver, in Node: the sender engine
 * (core/transfer/sender-engine.ts, the protocol's rules) driven by a framed
 * link, with node:crypto's SHA-256 and the file system below (SourceFiles
 * here: each file opened as scanned, read one piece ahead).
 */
import type { Readable } from 'node:stream';
import { runSender } from '../core/session/transfer.js';
import type { OutgoingFile, OutgoingStream, SenderFiles } from '../core/transfer/file-access.js';
import type { FramedLink } from '../core/transfer/framed-link.js';
import { systemClock } from '../core/transfer/ports.js';
import type { ResumeOffer } from '../core/transfer/protocol.js';
import type { SenderEngineOptions } from '../core/transfer/sender-engine.js';
import type { TransferResult } from '../core/transfer/types.js';
import { ReadAhead } from './read-ahead.js';
import { checkOffer, hashSources } from './resume.js';
import { nodeSha256 } from './sha256.js';
import type { SourceFile } from './sources.js';
import { openSource } from './sources.js';

/** The engine's options (text, events, earlier, tally), with the Node side's: the link and the scanned sources. */
export interface SendOptions
  extends Omit<SenderEngineOptions, 'link' | 'entries' | 'files' | 'sha256' | 'clock'> {
  link: FramedLink;
  files: readonly SourceFile[];
}

export async function sendFiles(options: SendOptions): Promise<TransferResult> {
  const { files } = options;
  return runSender({
    ...options,
    entries: files,
    files: new SourceFiles(files),
    sha256: nodeSha256,
    clock: systemClock,
  });
}

/** The scanned sources (sources.ts), read from the file system or, for `-`, a stream. */
class SourceFiles implements SenderFiles {
  constructor(private readonly files: readonly SourceFile[]) {}

  /** Usually taken already, while pairing (session/send.ts): this awaits that same run. */
  hashAll(): Promise<void> {
    return hashSources(this.files);
  }

  async open(index: number): Promise<OutgoingFile | OutgoingStream> {
    const file = this.files[index];
    if (file === undefined) throw new Error(`no source ${index}`);
    if (file.stream !== undefined) return new StreamSource(file.stream);
    // The file scanned, not whatever is at its path now (a hostile receiver picks when we get here).
    return new FileSource(file, await openSource(file));
  }
}

class FileSource implements OutgoingFile {
  readonly kind = 'file';
  private reader: ReadAhead | undefined;

  constructor(
    private readonly file: SourceFile,
    private readonly handle: Awaited<ReturnType<typeof openSource>>,
  ) {}

  resumeAt(offer: ResumeOffer | undefined): Promise<number> {
    return checkOffer(this.handle, this.file.size ?? 0, offer);
  }

  pieces(from: number): ReadAhead {
    this.reader = new ReadAhead(this.handle, from, this.file.size ?? 0, this.file.path);
    return this.reader;
  }

  async close(): Promise<void> {
    try {
      await this.reader?.settle();
    } finally {
      await this.handle.close();
    }
  }
}

/** Hands out a stream's bytes in pieces of at most `max`, pulling (so pausing) the stream. */
class StreamSource implements OutgoingStream {
  readonly kind = 'stream';
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
