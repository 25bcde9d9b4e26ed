/**
 * A transfer over a session, whatever the files are: the engines driven by a
 * framed link (runSender, runReceiver), and what a send or a receive does
 * around them across the session's channels (sendOver, receiveOver): the
 * --verify words before anything leaves, the manifest consented to once and
 * held to on a reconnection, events, and the totals of every attempt. The
 * CLI (session/send.ts, receive.ts) and the browser page pass their files.
 */
import { PeerlaneError, toPeerlaneError } from '../errors.js';
import type { EventSink, PeerEvent } from '../events.js';
import { unrefTimer } from '../timers.js';
import type { FramedLink } from '../transfer/framed-link.js';
import type { ManifestEntry } from '../transfer/protocol.js';
import { manifestTotal } from '../transfer/protocol.js';
import type { ReceiverEngineOptions } from '../transfer/receiver-engine.js';
import { ReceiverEngine } from '../transfer/receiver-engine.js';
import type { SenderEngineOptions } from '../transfer/sender-engine.js';
import { SenderEngine } from '../transfer/sender-engine.js';
import type { FileEvent, FileResult, Tally, TransferProgress, TransferResult } from '../transfer/types.js';
import type { PeerSession } from './peer-session.js';
import type { SessionLink } from './ports.js';

/** The sender engine over a framed link: resolves after the receiver's DONE. */
export function runSender(options: SenderEngineOptions & { link: FramedLink }): Promise<TransferResult> {
  const engine = new SenderEngine(options);
  options.link.onFrame((frame) => engine.onFrame(frame));
  return engine.run();
}

/** The receiver engine over a framed link: resolves once END is handled and DONE sent. */
export async function runReceiver(
  options: ReceiverEngineOptions & { link: FramedLink },
): Promise<TransferResult> {
  const { link } = options;
  const engine = new ReceiverEngine(options);
  link.onFrame((frame) => engine.push(frame));
  // The manifest is owed at once.
  link.expectPeer(true);
  try {
    await link.guard(engine.finished);
    return engine.result();
  } catch (err) {
    await engine.abandon(err);
    throw err;
  }
}

/** `moved`: bytes that crossed a data channel this run (the session's Tally). */
export function progressEvent(p: TransferProgress, moved: number): PeerEvent {
  return {
    event: 'progress',
    file: p.name,
    fileBytes: p.fileBytes,
    fileSize: p.fileSize,
    bytes: p.bytes,
    total: p.total,
    moved,
  };
}

export function fileEvent(e: FileEvent): PeerEvent {
  if (e.phase === 'start') return { event: 'file-start', file: e.name, size: e.size };
  const { phase: _phase, file: _file, ...result } = e;
  return { event: 'file-done', ...result };
}

/** What one channel's sender is given by sendOver: the session's memory, tally and event hooks. */
export interface SendHooks {
  earlier: Map<number, FileResult>;
  tally: Tally;
  onProgress: (p: TransferProgress) => void;
  onFile: (e: FileEvent) => void;
}

/** `L`: the session's open attempt, a FramedLink in process (ports.ts SessionLink). */
export interface SendOverOptions<L extends SessionLink = FramedLink> {
  emit: EventSink;
  /** The --verify words of the channel, once connected (from the `connected` event). */
  words: () => string | undefined;
  /**
   * With `verify`: show the words to a person and resolve once they match,
   * before the manifest or any data leaves; throw to stop. Asked on the first
   * channel only: later ones are authenticated by the session key the words confirmed.
   */
  confirmVerify?: ((words: string, signal: AbortSignal) => Promise<void>) | undefined;
  /** A stream read once cannot be offered again; files and text can. */
  resumable: boolean;
  /** One channel's transfer: runSender with the caller's files and these hooks. */
  transfer: (link: L, hooks: SendHooks) => Promise<TransferResult>;
}

export function sendOver<L extends SessionLink = FramedLink>(
  session: PeerSession<L>,
  options: SendOverOptions<L>,
): Promise<TransferResult> {
  const { emit } = options;
  let verified = options.confirmVerify === undefined;
  // What earlier channels of this session sent, for the receiver to report held.
  const earlier = new Map<number, FileResult>();
  const tally: Tally = { bytes: 0 };
  return session.run(async (framed) => {
    const words = options.words();
    if (!verified && words !== undefined && options.confirmVerify !== undefined) {
      await confirmWords(framed, words, options.confirmVerify);
      verified = true;
    }
    return options.transfer(framed, {
      earlier,
      tally,
      onProgress: (p) => emit(progressEvent(p, tally.bytes)),
      onFile: (e) => {
        if (e.phase === 'done') earlier.set(e.file, fileResult(e));
        emit(fileEvent(e));
      },
    });
  }, options.resumable);
}

/** Wait for the person's yes; a no (or the link failing first) ends the transfer before anything is sent. */
async function confirmWords(
  framed: SessionLink,
  words: string,
  confirm: (words: string, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const asking = new AbortController();
  framed.failure.catch((err: unknown) => asking.abort(err));
  try {
    await framed.guard(confirm(words, asking.signal));
  } catch (err) {
    // Tell the receiver why, unless the link itself went away.
    framed.abort(toPeerlaneError(err));
    throw err;
  } finally {
    asking.abort();
  }
}

function fileResult(e: Extract<FileEvent, { phase: 'done' }>): FileResult {
  const { phase: _phase, file: _file, ...result } = e;
  return result;
}

/** What one channel's receiver is given by receiveOver. */
export type ReceiveHooks = Required<
  Pick<ReceiverEngineOptions, 'memory' | 'tally' | 'onText' | 'onFile' | 'onManifest' | 'onProgress'>
>;

export interface ReceiveOverOptions<L extends SessionLink = FramedLink> {
  emit: EventSink;
  /** Ask for consent; throw to refuse the offered files. `signal` aborts if the peer goes away meanwhile. */
  onManifest?: ((files: readonly ManifestEntry[], signal: AbortSignal) => void | Promise<void>) | undefined;
  /** Whether a lost channel may be reconnected and the transfer resumed. */
  resumable: boolean;
  /** One channel's transfer: runReceiver with the caller's files and these hooks. */
  transfer: (link: L, hooks: ReceiveHooks) => Promise<TransferResult>;
}

/**
 * After DONE the sender closes the channel; waiting for that (briefly) lets our
 * DONE reach it before we tear the connection down.
 */
const GOODBYE_WAIT_MS = 2_000;

/** Receive over the session; `text` tells whether what came was a message. */
export async function receiveOver<L extends SessionLink = FramedLink>(
  session: PeerSession<L>,
  options: ReceiveOverOptions<L>,
): Promise<{ result: TransferResult; text: boolean }> {
  const { emit } = options;
  const tally: Tally = { bytes: 0 };
  const hooks: ReceiveHooks = {
    memory: { completed: new Map(), targets: new Map() },
    tally,
    onText: (text) => {
      gotText = true;
      emit({ event: 'text', text });
    },
    onFile: (e) => emit(fileEvent(e)),
    onManifest: async (files, signal) => {
      const offered = JSON.stringify(files);
      if (agreed !== undefined) {
        if (offered !== agreed)
          throw new PeerlaneError('REFUSED', 'the sender offered other files after reconnecting');
        return;
      }
      emit({ event: 'manifest', files: files.map((f) => ({ ...f })), total: manifestTotal(files) });
      await options.onManifest?.(files, signal);
      agreed = offered;
    },
    onProgress: (p) => emit(progressEvent(p, tally.bytes)),
  };
  /** The manifest consented to; a reconnection must offer the same one. */
  let agreed: string | undefined;
  let gotText = false;
  const result = await session.run(async (framed) => {
    const result = await options.transfer(framed, hooks);
    await new Promise<void>((resolve) => {
      framed.link.onClose(() => resolve());
      unrefTimer(setTimeout(resolve, GOODBYE_WAIT_MS));
    });
    return result;
  }, options.resumable);
  return { result, text: gotText };
}
