/**
 * What the transfer engines (receiver-engine.ts, sender-engine.ts) are given
 * instead of doing I/O themselves: the link carrying frames, a clock and a
 * hasher. Their file access is file-access.ts.
 *
 * Why injected: the engines hold the protocol (what may come when, what is
 * owed in return, what proves a file whole), and the same engines must run in
 * Node and in a browser. Node supplies node:crypto's SHA-256 (about 3× faster
 * there than a JavaScript one, and file data is the hot path), the CLI's
 * framed link and Date.now; a browser supplies a WASM or JavaScript hasher, a
 * WebRTC channel and its own clock. Tests supply memory.
 */
import type { PeerlaneError } from '../errors.js';
import type { ControlFrame } from './protocol.js';

/** An incremental SHA-256: the file's hash as its bytes go by. */
export interface Hasher {
  update(data: Uint8Array): void;
  /** The digest as lowercase hex, as frames and manifests carry it. Call once. */
  digestHex(): string;
}

/** A fresh SHA-256 Hasher each call. */
export type HasherFactory = () => Hasher;

/**
 * Wall-clock time, for a transfer's duration only. The engines set no timers:
 * the heartbeat and stall deadlines are the link's (framed-link.ts).
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** The clock a transfer runs on, unless a test gives its own. */
export const systemClock: Clock = { now: () => Date.now() };

/**
 * The frames' side of a link as the engines use it: send frames, say whose turn
 * it is, and fail as one. Frames arrive through the engines' own entry points
 * (ReceiverEngine.push, SenderEngine.onFrame), called by whoever reads the link.
 */
export interface TransferLink {
  send(frame: ControlFrame): void;
  /** An encoded frame (DATA, or a control frame already encoded to measure it). */
  sendRaw(frame: Uint8Array): void;
  /** The largest message the peer takes. */
  maxMessageSize(): number;
  /** Bytes queued on our side of the link, not yet sent. */
  bufferedAmount(): number;
  /** Call `handler` whenever the queued bytes fall to `threshold`. */
  onBufferedAmountLow(threshold: number, handler: () => void): void;
  /** Whether only the peer can move the transfer on now: the link's stall deadline runs while so. */
  expectPeer(waiting: boolean): void;
  /** Await `step`, unless the transfer fails first. */
  guard<T>(step: Promise<T>): Promise<T>;
  /** Rejects once, with the reason the transfer cannot go on; never resolves. */
  readonly failure: Promise<never>;
  /** That reason, once there is one. */
  readonly error: PeerlaneError | undefined;
  /** Tell the peer why we stop (an ERROR frame), then fail with the same error. */
  abort(err: PeerlaneError): void;
}
