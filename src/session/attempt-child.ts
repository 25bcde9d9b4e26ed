/**
 * The child process of one connection attempt (bundled as dist/attempt-child.mjs,
 * started by attempt-process.ts): it opens the link (race.ts openLink: direct
 * TCP, data channel, relay), frames it, and runs the sender or receiver engine
 * over its own file handles. The session stays in the parent, which hears only
 * signal payloads, the link's facts, progress, file events, the consent
 * question, the result or error, and a heartbeat.
 *
 * Why a process: a libdatachannel lock cycle (cli/freeze-guard.ts) can freeze
 * the main thread inside a native call. The parent, no longer beaten to, kills
 * this process and starts a new attempt, which resumes from the verified
 * blocks on disk; the run goes on.
 *
 * Kept small on purpose: only the attempt and the engines, no CLI, server or swarm.
 */
import { PeerlaneError, toPeerlaneError } from '../core/errors.js';
import { farewell } from '../core/session/farewell.js';
import type { SignalPipe } from '../core/signaling/pipe.js';
import type { ReceiveMemory } from '../core/transfer/file-access.js';
import { FramedLink } from '../core/transfer/framed-link.js';
import type { ManifestEntry } from '../core/transfer/protocol.js';
import type { FileEvent, TransferProgress, TransferResult } from '../core/transfer/types.js';
import { receiveFiles } from '../transfer/receiver.js';
import { sendFiles } from '../transfer/sender.js';
import type { FromChild, Job, ToChild, WireMemory } from './attempt-protocol.js';
import {
  CHILD_BEAT_MS,
  fromWire,
  memoryToWire,
  PROGRESS_EVERY_MS,
  parseToChild,
  toWire,
} from './attempt-protocol.js';
import { openLink } from './race.js';

function tell(msg: FromChild): void {
  if (process.connected) process.send?.(msg);
}

/** The attempt's signal pipe: payloads through the parent's sealed signal connection. */
class ParentPipe implements SignalPipe {
  private handler: ((payload: string) => void) | undefined;
  private failureHandler: ((err: PeerlaneError) => void) | undefined;
  private readonly early: string[] = [];
  private failed: PeerlaneError | undefined;

  sendPayload(payload: string): void {
    if (this.failed !== undefined) throw this.failed;
    tell({ kind: 'signal', payload });
  }

  onPayload(handler: (payload: string) => void): void {
    this.handler = handler;
    for (const p of this.early.splice(0)) handler(p);
  }

  onFailure(handler: (err: PeerlaneError) => void): void {
    this.failureHandler = handler;
    if (this.failed !== undefined) handler(this.failed);
  }

  payload(payload: string): void {
    if (this.handler === undefined) this.early.push(payload);
    else this.handler(payload);
  }

  fail(err: PeerlaneError): void {
    this.failed ??= err;
    this.failureHandler?.(err);
  }
}

/**
 * The latest progress, sent at most every PROGRESS_EVERY_MS, and before
 * anything else is; with the receiver's memory, which the engine updates
 * after a file's start event (the target of its `.part`): a child killed
 * mid-file leaves the session knowing it.
 */
class Progress {
  private pending: { progress: TransferProgress; tally: Job['tally'] } | undefined;
  private timer: NodeJS.Timeout | undefined;
  memory: () => WireMemory | undefined = () => undefined;

  report(progress: TransferProgress, tally: Job['tally']): void {
    this.pending = { progress, tally };
    this.timer ??= setTimeout(() => this.flush(), PROGRESS_EVERY_MS);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending !== undefined)
      tell({ kind: 'progress', ...this.pending, tally: { ...this.pending.tally }, memory: this.memory() });
    this.pending = undefined;
  }
}

class Attempt {
  private readonly pipe = new ParentPipe();
  private readonly abort = new AbortController();
  private framed: FramedLink | undefined;
  private readonly progress = new Progress();
  private consent: { resolve: () => void; reject: (err: PeerlaneError) => void } | undefined;

  handle(msg: ToChild): void {
    switch (msg.kind) {
      case 'start':
        void this.start(msg);
        return;
      case 'signal':
        this.pipe.payload(msg.payload);
        return;
      case 'signal-failed':
        this.pipe.fail(fromWire(msg.error));
        return;
      case 'abort':
        this.abort.abort(fromWire(msg.error));
        return;
      case 'run':
        void this.run(msg.job);
        return;
      case 'consent':
        if (msg.error === undefined) this.consent?.resolve();
        else this.consent?.reject(fromWire(msg.error));
        this.consent = undefined;
        return;
      case 'framed':
        if (msg.op === 'abort') this.framed?.abort(fromWire(msg.error));
        else this.framed?.lose(msg.reason ?? 'peer-request', fromWire(msg.error));
        return;
      case 'close':
        this.abort.abort(new PeerlaneError('INTERRUPTED', 'the session closed the attempt'));
        this.framed?.stop();
        this.framed?.link.close();
        exit(0);
        return;
    }
  }

  private async start(msg: Extract<ToChild, { kind: 'start' }>): Promise<void> {
    try {
      const link = await openLink(msg.role, this.pipe, msg.rtc, Buffer.from(msg.key, 'hex'), {
        attempt: msg.attempt,
        abort: this.abort.signal,
        previousPath: msg.previousPath,
      });
      const framed = new FramedLink(link, msg.heartbeat);
      this.framed = framed;
      const path = link.pathInfo();
      tell({ kind: 'open', transport: link.transport, path, fingerprints: link.fingerprints() });
      link.onPathChange?.(path, (now) => tell({ kind: 'path', path: now }));
      link.onClose((err) => tell({ kind: 'link-closed', error: toWire(err) }));
      framed.failure.catch((err: unknown) =>
        tell({ kind: 'failure', error: toWire(toPeerlaneError(err)), lostReason: framed.lostReason }),
      );
    } catch (err) {
      tell({ kind: 'connect-failed', error: toWire(toPeerlaneError(err)) });
    }
  }

  private async run(job: Job): Promise<void> {
    const framed = this.framed;
    if (framed === undefined) {
      tell({
        kind: 'failed',
        error: { code: 'INTERNAL', message: 'a transfer was asked for before the link opened' },
        cpuSeconds: cpuSeconds(),
      });
      return;
    }
    const memory: ReceiveMemory | undefined =
      job.role === 'receive'
        ? {
            completed: new Map(job.memory.completed),
            targets: new Map(job.memory.targets),
            ...(job.memory.textShown !== undefined ? { textShown: job.memory.textShown } : {}),
            ...(job.memory.createdFolders !== undefined
              ? { createdFolders: new Map(job.memory.createdFolders) }
              : {}),
          }
        : undefined;
    const wireMemory = () => (memory === undefined ? undefined : memoryToWire(memory));
    this.progress.memory = wireMemory;
    try {
      const result = await this.transfer(framed, job, memory);
      this.progress.flush();
      tell({ kind: 'result', result, tally: job.tally, memory: wireMemory(), cpuSeconds: cpuSeconds() });
    } catch (err) {
      this.progress.flush();
      // As the session does in process (PeerSession.run): a peer's ERROR frame may still be on its way.
      if (framed.lostReason === undefined) await farewell(framed);
      const error = toWire(toPeerlaneError(err));
      tell({
        kind: 'failed',
        error,
        loss: framed.lossBehind(err),
        memory: wireMemory(),
        cpuSeconds: cpuSeconds(),
      });
    }
  }

  private transfer(framed: FramedLink, job: Job, memory: ReceiveMemory | undefined): Promise<TransferResult> {
    const { tally } = job;
    const hooks = {
      tally,
      onProgress: (p: TransferProgress) => this.progress.report(p, tally),
      onFile: (event: FileEvent) => {
        this.progress.flush();
        tell({ kind: 'file', event, memory: memory === undefined ? undefined : memoryToWire(memory) });
      },
    };
    // The engine reads `earlier` once, at ACCEPT: the parent's copy is the one kept up to date.
    if (job.role === 'send')
      return sendFiles({
        link: framed,
        files: job.files,
        text: job.text,
        earlier: new Map(job.earlier),
        ...hooks,
      });
    return receiveFiles({
      link: framed,
      outDir: job.outDir,
      overwrite: job.overwrite,
      memory: memory ?? { completed: new Map(), targets: new Map() },
      ...hooks,
      onText: (text) => {
        this.progress.flush();
        tell({ kind: 'text', text, memory: memory === undefined ? undefined : memoryToWire(memory) });
      },
      onManifest: (files, signal) => this.ask(files, signal),
    });
  }

  /** The consent question goes to the parent, which asks the person (or says --yes). */
  private ask(files: readonly ManifestEntry[], signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.consent = { resolve, reject };
      signal.addEventListener('abort', () => reject(toPeerlaneError(signal.reason)), { once: true });
      tell({ kind: 'manifest', files: [...files] });
    });
  }
}

/** This process's CPU, every thread's: the parent counts it in its own (session/common.ts processUsage). */
function cpuSeconds(): number {
  const u = process.resourceUsage();
  return (u.userCPUTime + u.systemCPUTime) / 1e6;
}

/** Exit once the messages sent so far have left. */
function exit(status: number): void {
  if (process.connected) process.disconnect();
  setImmediate(() => process.exit(status));
}

const attempt = new Attempt();
// Ctrl-C reaches the whole process group; the session ends the attempt (an
// ERROR frame to the peer, the .part's state written), or kills it.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
process.on('message', (raw: unknown) => {
  try {
    attempt.handle(parseToChild(raw));
  } catch (err) {
    tell({ kind: 'connect-failed', error: toWire(toPeerlaneError(err)) });
    exit(1);
  }
});
// The session is gone (its process ended or closed the channel): so is the attempt.
process.on('disconnect', () => process.exit(0));
setInterval(() => tell({ kind: 'beat' }), CHILD_BEAT_MS);
