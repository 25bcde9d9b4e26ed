/**
 * The transfer an attempt's child runs (attempt-child.ts), seen from the
 * session: the job as plain data, and `RemoteJob`, which feeds the child's
 * progress, file events and memory to the session's hooks (core
 * session/transfer.ts sendOver, receiveOver) and answers its consent question.
 */
import type { PeerlaneError } from '../core/errors.js';
import { toPeerlaneError } from '../core/errors.js';
import type { ReceiveHooks, SendHooks } from '../core/session/transfer.js';
import type { ManifestEntry } from '../core/transfer/protocol.js';
import type { TransferResult } from '../core/transfer/types.js';
import { hashSources } from '../transfer/resume.js';
import type { SourceFile } from '../transfer/sources.js';
import type { FromChild, Job, ToChild, WireMemory } from './attempt-protocol.js';
import { fromWire, memoryFromWire, memoryToWire, toWire } from './attempt-protocol.js';

/** The hooks of either role's transfer that the child's messages drive (SendHooks fit too). */
export type JobHooks = Partial<ReceiveHooks>;

/** CPU seconds the attempts' children of this process reported, up to each transfer's end. */
let childCpu = 0;
export function childCpuSeconds(): number {
  return childCpu;
}

export class RemoteJob {
  readonly result: Promise<TransferResult>;
  private resolve!: (result: TransferResult) => void;
  private reject!: (err: PeerlaneError) => void;

  constructor(
    private readonly hooks: JobHooks,
    private readonly send: (msg: ToChild) => void,
    /** The attempt's failure: a consent question still open is closed with it. */
    private readonly failure: Promise<never>,
  ) {
    this.result = new Promise<TransferResult>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** A message of the transfer's; false for the others. */
  handle(msg: FromChild): boolean {
    const { hooks } = this;
    switch (msg.kind) {
      case 'progress':
        this.remember(msg.memory);
        if (hooks.tally !== undefined) Object.assign(hooks.tally, msg.tally);
        hooks.onProgress?.(msg.progress);
        return true;
      case 'file':
        this.remember(msg.memory);
        hooks.onFile?.(msg.event);
        return true;
      case 'text':
        this.remember(msg.memory);
        // Shown now: the engine marks it so just after asking, too late for this message.
        if (hooks.memory !== undefined) hooks.memory.textShown = true;
        hooks.onText?.(msg.text);
        return true;
      case 'manifest':
        this.answer(msg.files);
        return true;
      case 'result':
        this.remember(msg.memory);
        childCpu += msg.cpuSeconds;
        if (hooks.tally !== undefined) Object.assign(hooks.tally, msg.tally);
        this.resolve(msg.result);
        return true;
      case 'failed':
        this.remember(msg.memory);
        childCpu += msg.cpuSeconds;
        this.reject(fromWire(msg.error));
        return true;
      default:
        return false;
    }
  }

  /** The child is gone before it said how the transfer ended. */
  fail(err: PeerlaneError): void {
    this.reject(err);
  }

  /** The receiver's memory of the session, as the child left it: the next attempt starts from it. */
  private remember(memory: WireMemory | undefined): void {
    if (memory !== undefined && this.hooks.memory !== undefined) memoryFromWire(memory, this.hooks.memory);
  }

  private answer(files: ManifestEntry[]): void {
    const asking = new AbortController();
    this.failure.catch((err: unknown) => asking.abort(err));
    Promise.resolve(this.hooks.onManifest?.(files, asking.signal)).then(
      () => this.send({ kind: 'consent' }),
      (err: unknown) => this.send({ kind: 'consent', error: toWire(toPeerlaneError(err)) }),
    );
  }
}

/** The sender's job: the scanned files as plain data (hashed already), and what earlier attempts sent. */
export async function sendJob(
  files: readonly SourceFile[],
  text: string | undefined,
  hooks: SendHooks,
): Promise<Job> {
  // Taken while pairing (session/send.ts): the child states the hashes rather than reading every file again.
  await hashSources(files);
  return {
    role: 'send',
    files: files.map(({ stream: _stream, ...file }) => file),
    text,
    earlier: [...hooks.earlier],
    tally: { ...hooks.tally },
  };
}

/** The receiver's job: where files go, and the session's memory of earlier attempts. */
export function receiveJob(outDir: string, overwrite: boolean, hooks: ReceiveHooks): Job {
  return {
    role: 'receive',
    outDir,
    overwrite,
    memory: memoryToWire(hooks.memory ?? { completed: new Map(), targets: new Map() }),
    tally: { bytes: 0, ...hooks.tally },
  };
}
