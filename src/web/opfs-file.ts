/**
 * The page's side of the OPFS writer worker (opfs-writer.ts): the worker
 * itself (OpfsWriter), and a received file written through it in place
 * (WorkerFile).
 *
 * Bytes reach the worker in WRITE_BATCH_BYTES buffers, transferred (not
 * copied) by postMessage and handed back once written; a receive holds at
 * most BATCH_BUFFERS of them. The engine's write() resolves once its payload
 * is copied into a batch, so the credit it returns counts bytes the page holds
 * or has written, never more than those buffers plus the receive window.
 */
import type { PeerlaneError } from '../core/errors.js';
import type { IncomingFile } from '../core/transfer/file-access.js';
import type { WriterReply, WriterRequest } from './opfs-protocol.js';
import { OPFS_WRITER_URL, parseReply } from './opfs-protocol.js';
import { asStorageError, storageError } from './storage-error.js';

/**
 * One postMessage per 4 MiB: at 60 MB/s fifteen a second, each a transfer of
 * ownership with no copy; a smaller batch costs more messages, a larger one
 * holds more memory per buffer for no fewer writes.
 */
const WRITE_BATCH_BYTES = 4 * 1024 * 1024;

/**
 * Buffers a receive may have in flight: one filling while two are written,
 * so one slow write does not hold the data channel up; 12 MiB at most.
 */
const BATCH_BUFFERS = 3;

/** How long a worker has to say whether it can write in place before the page does without it. */
const PROBE_LIMIT_MS = 3_000;

type Request = WriterRequest extends infer R ? (R extends { seq: number } ? Omit<R, 'seq'> : never) : never;

/** The writer worker: requests answered in order, each with its own promise. */
export class OpfsWriter {
  private seq = 0;
  private readonly waiting = new Map<
    number,
    { resolve: (r: WriterReply) => void; reject: (e: Error) => void }
  >();
  private broken: Error | undefined;

  private constructor(private readonly worker: Worker) {
    worker.onmessage = (e) => {
      const reply = parseReply(e.data);
      this.waiting.get(reply.seq)?.resolve(reply);
      this.waiting.delete(reply.seq);
    };
    // A worker that failed to load or threw outside a request answers nothing again: fail what waits.
    worker.onerror = (e) => {
      this.broken = new Error(`the OPFS writer failed: ${e.message}`);
      for (const { reject } of this.waiting.values()) reject(this.broken);
      this.waiting.clear();
    };
  }

  /** A worker that can write OPFS files in place, or undefined where the browser cannot (then createWritable). */
  static async start(): Promise<OpfsWriter | undefined> {
    let worker: Worker;
    try {
      worker = new Worker(new URL(OPFS_WRITER_URL, document.baseURI), { type: 'module' });
    } catch {
      return undefined;
    }
    const writer = new OpfsWriter(worker);
    const limit = new Promise<undefined>((resolve) => setTimeout(resolve, PROBE_LIMIT_MS, undefined));
    const reply = await Promise.race([writer.ask({ kind: 'probe' }).catch(() => undefined), limit]);
    if (reply?.kind === 'probed' && reply.ok) return writer;
    worker.terminate();
    return undefined;
  }

  /** Send `request`; the answer, which is a `failed` one too (the caller decides). */
  ask(request: Request, transfer: Transferable[] = []): Promise<WriterReply> {
    const seq = this.seq++;
    return new Promise((resolve, reject) => {
      if (this.broken !== undefined) return reject(this.broken);
      this.waiting.set(seq, { resolve, reject });
      this.worker.postMessage({ ...request, seq }, transfer);
    });
  }
}

/** What becomes of the part once the worker is done with its data file. */
export interface PartEnd {
  /** The file is whole and verified: give the data file its name; where it went. */
  publish(): Promise<string>;
  /** Unfinished: with `keep`, the part stays for a later run; otherwise it goes. */
  discard(keep: boolean): Promise<void>;
}

/** A received file written in place by the worker, from `offset` on. */
export class WorkerFile implements IncomingFile {
  readonly kept = true;
  private readonly free: ArrayBuffer[] = [];
  private freed: (() => void) | undefined;
  private batch: Uint8Array<ArrayBuffer> | undefined;
  private batchAt = 0;
  private filled = 0;
  private failure: PeerlaneError | undefined;
  /** The last write's answer handled: the worker answers in order, so every earlier one is too. */
  private lastWrite: Promise<void> = Promise.resolve();

  private constructor(
    readonly target: string,
    private readonly writer: OpfsWriter,
    private readonly end: PartEnd,
  ) {
    for (let i = 0; i < BATCH_BUFFERS; i++) this.free.push(new ArrayBuffer(WRITE_BATCH_BYTES));
  }

  /** The data file opened in the worker, cut to `offset` (what the resume kept). */
  static async open(
    target: string,
    writer: OpfsWriter,
    data: FileSystemFileHandle,
    offset: number,
    end: PartEnd,
  ): Promise<WorkerFile> {
    const reply = await writer.ask({ kind: 'open', handle: data, keep: offset });
    if (reply.kind === 'failed') throw storageError(reply.name, reply.message, target);
    return new WorkerFile(target, writer, end);
  }

  async begin(): Promise<void> {}

  async write(payload: Uint8Array, offset: number): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    let from = 0;
    while (from < payload.length) {
      if (this.batch === undefined) {
        this.batch = new Uint8Array(await this.buffer());
        this.batchAt = offset + from;
        this.filled = 0;
      }
      const piece = payload.subarray(from, from + this.batch.length - this.filled);
      this.batch.set(piece, this.filled);
      this.filled += piece.length;
      from += piece.length;
      if (this.filled === this.batch.length) this.post();
    }
  }

  async finish(): Promise<string> {
    this.post();
    await this.close();
    return this.end.publish();
  }

  async discard(keep: boolean): Promise<void> {
    this.batch = undefined;
    await this.close().catch(() => {});
    await this.end.discard(keep).catch(() => {});
  }

  /** Everything posted is written, the file flushed and closed; the first failure, if any, thrown. */
  private async close(): Promise<void> {
    await this.lastWrite;
    const reply = await this.writer.ask({ kind: 'close' }).catch((err: unknown) => {
      throw asStorageError(err, this.target);
    });
    if (reply.kind === 'failed') this.failure ??= storageError(reply.name, reply.message, this.target);
    if (this.failure !== undefined) throw this.failure;
  }

  /** A free buffer, once one is back from the worker. */
  private async buffer(): Promise<ArrayBuffer> {
    for (;;) {
      const free = this.free.pop();
      if (free !== undefined) return free;
      await new Promise<void>((resolve) => {
        this.freed = resolve;
      });
      if (this.failure !== undefined) throw this.failure;
    }
  }

  /** The batch so far to the worker, its buffer transferred. */
  private post(): void {
    const batch = this.batch;
    if (batch === undefined || this.filled === 0) return;
    this.batch = undefined;
    this.lastWrite = this.writer
      .ask({ kind: 'write', at: this.batchAt, buffer: batch.buffer, length: this.filled }, [batch.buffer])
      .then(
        (reply) => {
          if (reply.kind === 'failed') this.failure ??= storageError(reply.name, reply.message, this.target);
          if (reply.kind === 'done' && reply.buffer !== undefined) this.free.push(reply.buffer);
        },
        (err: unknown) => {
          this.failure ??= asStorageError(err, this.target);
        },
      )
      .finally(() => {
        const wake = this.freed;
        this.freed = undefined;
        wake?.();
      });
  }
}
