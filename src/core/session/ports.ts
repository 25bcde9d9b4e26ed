/**
 * What a session (peer-session.ts) is given rather than doing itself: how to
 * open one attempt's link, the sealing, the budgets. Node's opener races
 * direct TCP against node-datachannel (session/race.ts); a browser's opens an
 * RTCDataChannel (web/rtc-link.ts). An attempt gets only plain data and an
 * abort, so it can run elsewhere: Node may run each attempt, and the transfer
 * over it, in a child process (session/attempt-process.ts) behind OpenAttempt.
 */

import type { PeerlaneError } from '../errors.js';
import type { EventSink } from '../events.js';
import type { MessageLink, PathInfo } from '../link.js';
import type { Aead } from '../secure/channel.js';
import type { PeerAgent } from '../secure/protocol.js';
import type { SignalPipe } from '../signaling/pipe.js';
import type { PeerRole } from '../signaling/protocol.js';
import type { FramedLinkOptions, LossReason } from '../transfer/framed-link.js';

/** What a session tells the attempt it starts. */
export interface AttemptRequest {
  role: PeerRole;
  /** This attempt's signals only (attempt-signals.ts). */
  pipe: SignalPipe;
  /** The attempt number, stamped on every signal. */
  attempt: number;
  /** Aborting fails the attempt at once with the signal's reason. */
  abort: AbortSignal;
  /** The path an earlier attempt of the session took: what an ICE failure now means. */
  previousPath: PathInfo | undefined;
  /** The attempt must end (CONNECT_TIMEOUT, ICE_FAILED…) within this, or its own deadline if shorter. */
  limitMs: number;
}

/**
 * Opens one authenticated link for an attempt: in Node the race of direct TCP
 * against node-datachannel (session/race.ts), in a browser an RTCDataChannel.
 */
export type OpenLink = (request: AttemptRequest) => Promise<MessageLink>;

/**
 * What a session holds while an attempt's link is up: a FramedLink in process,
 * or the proxy of a child process that runs the link and the transfer
 * (session/attempt-process.ts). The session reads the link's facts, races the
 * failure, and ends it; the transfer itself is the caller's.
 */
export interface SessionLink {
  readonly link: Pick<
    MessageLink,
    'transport' | 'isOpen' | 'pathInfo' | 'onPathChange' | 'fingerprints' | 'onClose' | 'close'
  >;
  readonly lostReason: LossReason | undefined;
  readonly failure: Promise<never>;
  guard<T>(step: Promise<T>): Promise<T>;
  abort(err: PeerlaneError): void;
  lose(reason: LossReason, err: PeerlaneError): void;
  lossBehind(err: unknown): LossReason | undefined;
  stop(): void;
}

/** Opens one attempt's link, ready for a transfer: OpenLink and a FramedLink over it, or a child process. */
export type OpenAttempt<L extends SessionLink> = (request: AttemptRequest) => Promise<L>;

/** What a session needs besides its pairing; `openLinks` is given the session key, once, to make the opener. */
export interface PeerSessionOptions {
  onEvent?: EventSink | undefined;
  /** Report the short authentication string in the `connected` event. */
  verify?: boolean | undefined;
  /** Aborting ends the transfer with INTERRUPTED and cleans up, like a peer failure. */
  abortSignal?: AbortSignal | undefined;
  /** Heartbeat tuning, for tests. */
  heartbeat?: FramedLinkOptions | undefined;
  /** Reconnection attempts allowed per outage of the data channel (0: none). */
  reconnects: number;
  /** How long one outage may last: reconnection gives up after this. */
  reconnectForMs: number;
  /** The PAKE's deadline. */
  handshakeTimeoutMs: number;
  /** The signal channel's AES-GCM (@noble/ciphers' unless given; Node gives node:crypto's). */
  aead?: Aead | undefined;
  /** What this side tells the peer it is, with its PAKE share (a tuning hint). */
  agent?: PeerAgent | undefined;
  /**
   * Make the session's link opener from its key (the direct path's key is
   * derived from it) and what the peer said it is.
   */
  openLinks: MakeOpener<OpenLink>;
}

/** What the session knows of its peer once the key exchange is done. */
export interface PeerFacts {
  /** What the peer said it is with its PAKE share: a tuning hint, not a proof. */
  agent: PeerAgent | undefined;
}

/** Makes a session's opener, once, from its key and what it knows of the peer. */
export type MakeOpener<O> = (sasKey: Uint8Array, peer: PeerFacts) => O;

/** The options of a session whose attempts are opened by an OpenAttempt (peer-session.ts startSessionWith). */
export type SessionCoreOptions = Omit<PeerSessionOptions, 'openLinks'>;
