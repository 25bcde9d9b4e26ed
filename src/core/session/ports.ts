/**
 * What a session (peer-session.ts) is given rather than doing itself: how to
 * open one attempt's link, the sealing, the budgets. Node's opener races
 * direct TCP against node-datachannel (session/race.ts); a browser's opens an
 * RTCDataChannel (web/rtc-link.ts). An attempt gets only plain data and an
 * abort, so it could run elsewhere (a child process) behind the same port.
 */
import type { EventSink } from '../events.js';
import type { MessageLink, PathInfo } from '../link.js';
import type { Aead } from '../secure/channel.js';
import type { PeerAgent } from '../secure/protocol.js';
import type { SignalPipe } from '../signaling/pipe.js';
import type { PeerRole } from '../signaling/protocol.js';
import type { FramedLinkOptions } from '../transfer/framed-link.js';

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
  openLinks: (sasKey: Uint8Array, peer: { agent: PeerAgent | undefined }) => OpenLink;
}
