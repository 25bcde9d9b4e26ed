/**
 * One attempt at a WebRTC data channel (connect.ts starts it). It handles the
 * ordering traps of libdatachannel:
 *
 * - The offerer holds its own ICE candidates until it has applied the answer.
 *   Sent earlier, they let the answerer start connectivity checks and DTLS
 *   before the offerer knows the answerer's fingerprint, which fails a few
 *   percent of handshakes with "DTLS alert: unknown CA" and stalls many more.
 * - Both sides queue remote candidates that arrive before the remote
 *   description, since libdatachannel rejects them until then.
 * - node-datachannel reports ICE failure only after about 40 s, so we enforce
 *   our own deadline. If it passes after the descriptions were exchanged and
 *   ICE is still not connected, that is ICE_FAILED, and the message says which
 *   candidate types each side gathered and what to configure (TURN).
 * - When gathering ends with nothing this side may use (under --relay, no
 *   relay candidate: a TURN server that refused the credentials, say), the
 *   attempt fails at once rather than waiting out the deadline.
 * - A failure after ICE connected is the DTLS or the SCTP handshake, not a
 *   missing path: HANDSHAKE_FAILED, which the session retries (failure.ts
 *   tells the layers apart).
 * - libdatachannel can deadlock in the DTLS handshake (seen over TURN, fixed
 *   upstream after node-datachannel 0.33.4): ICE reports connected and the
 *   channel never opens. A watchdog fails such an attempt with
 *   HANDSHAKE_STALLED after DTLS_WATCHDOG_MS, so the session can try again.
 *
 * An attempt exchanges only plain data with its session (payloads through the
 * SignalPipe, an abort, options, and a Link or a PeerlaneError), so a child
 * process can run one with the pipe and the abort carried over IPC.
 */

import type { DataChannel, PeerConnection } from 'node-datachannel';
import { PeerlaneError, toPeerlaneError } from '../core/errors.js';
import type { SignalPipe } from '../core/signaling/pipe.js';
import type { PeerRole } from '../core/signaling/protocol.js';
import type { RtcSignal } from '../core/signaling/rtc-signal.js';
import { attemptSignal, encodeRtcSignal } from '../core/signaling/rtc-signal.js';
import type { AttemptControl, RtcOptions } from './connect.js';
import type { FailureContext } from './failure.js';
import {
  describeIceFailure,
  handshakeFailure,
  handshakeStall,
  nothingGathered,
  Observed,
} from './failure.js';
import { Link } from './link.js';
import { listenNativeLog } from './native-log.js';

const CHANNEL_LABEL = 'peerlane';

/**
 * From ICE connected to an open channel takes one DTLS and one SCTP handshake:
 * a few round trips, well under a second even over a slow relay. Five seconds
 * is long enough not to fire on a slow path, short enough to retry in time.
 */
const DTLS_WATCHDOG_MS = 5_000;

/**
 * Libdatachannel's log lines and the state callbacks travel on separate
 * queues; when gathering ends, give a TURN error logged just before it this
 * long to arrive, so the failure can name it.
 */
const LOG_SETTLE_MS = 100;

/**
 * Once the descriptions are exchanged, ICE, DTLS and SCTP run between the
 * peers alone: the candidates already traded (and those learnt from the
 * peer's checks) can finish without more signaling. So losing the signal
 * path then (the server killed or restarted, or the peer's connection to it
 * dropped, reported as the peer leaving) gets this long to let the channel
 * open on its own; an open channel carries the transfer without the server.
 * What is left takes a few round trips: five seconds, like DTLS_WATCHDOG_MS.
 */
const SIGNAL_LOSS_GRACE_MS = 5_000;

type Candidate = Extract<RtcSignal, { kind: 'candidate' }>;

/** From a new PeerConnection to an open channel (a Link) or a typed failure, ended once by settle(). */
export class RtcAttempt {
  readonly result: Promise<Link>;
  private resolve!: (link: Link) => void;
  private reject!: (err: PeerlaneError) => void;
  private readonly n: number;
  private readonly seen = new Observed();
  private readonly context: FailureContext;
  private readonly unlisten: () => void;
  private readonly timers = new Set<NodeJS.Timeout>();
  private watchdog: NodeJS.Timeout | undefined;
  private grace: NodeJS.Timeout | undefined;
  private settled = false;
  private channel: DataChannel | undefined;
  private remoteDescriptionSet = false;
  /** The offerer holds its candidates until then (see the top of this file). */
  private answerApplied: boolean;
  private readonly heldLocal: RtcSignal[] = [];
  private readonly queuedRemote: Candidate[] = [];

  constructor(
    private readonly role: PeerRole,
    private readonly pc: PeerConnection,
    private readonly signal: SignalPipe,
    private readonly options: RtcOptions,
    private readonly control: AttemptControl,
  ) {
    this.n = control.attempt ?? 0;
    this.answerApplied = role === 'answerer';
    this.result = new Promise<Link>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.context = { ...options, previousPath: control.previousPath };
    this.unlisten = listenNativeLog((line) => this.seen.noteLog(line), options.debugIce === true);
    this.later(options.timeoutMs, () => this.deadlinePassed());
    try {
      this.watch();
      // Already over (aborted, or the signal pipe was gone): no channel on a closed connection.
      if (!this.settled) this.openChannel();
    } catch (err) {
      this.fail(toPeerlaneError(err));
    }
  }

  /** The PeerConnection's callbacks first: the abort and a pipe (replaying a failure) can end us at once. */
  private watch(): void {
    const { pc } = this;
    pc.onIceStateChange((state) => {
      if (state === 'connected' || state === 'completed') this.iceConnected();
    });
    pc.onGatheringStateChange((state) => {
      if (state === 'complete') this.later(LOG_SETTLE_MS, () => this.gatheringDone());
    });
    pc.onLocalDescription((sdp, type) => {
      if (type === 'offer' || type === 'answer') this.say({ kind: type, n: this.n, sdp });
    });
    pc.onLocalCandidate((candidate, mid) => this.localCandidate(candidate, mid));
    pc.onStateChange((state) => {
      // After ICE connected, a failure is DTLS's or SCTP's, not a missing path.
      if (state === 'failed') this.fail(this.seen.iceConnected ? handshakeFailure(this.seen) : this.noPath());
    });
    this.control.abort?.addEventListener('abort', this.aborted, { once: true });
    if (this.control.abort?.aborted) this.aborted();
    this.signal.onFailure((err) => this.signalLost(err));
    this.signal.onPayload((payload) => this.received(payload));
  }

  /** The offerer creates the channel, which starts negotiation; the answerer is handed it. */
  private openChannel(): void {
    if (this.role === 'offerer') {
      const dc = this.pc.createDataChannel(CHANNEL_LABEL);
      this.channel = dc;
      dc.onOpen(() => this.settle({ channel: dc }));
      return;
    }
    this.pc.onDataChannel((dc) => {
      this.channel = dc;
      if (dc.getLabel() !== CHANNEL_LABEL) {
        this.fail(new PeerlaneError('BAD_MESSAGE', `unexpected data channel "${dc.getLabel()}"`));
        return;
      }
      // onDataChannel fires once the channel is already open.
      this.settle({ channel: dc });
    });
  }

  private iceConnected(): void {
    this.seen.iceConnected = true;
    const pair = this.pc.getSelectedCandidatePair();
    if (pair) this.seen.pair = `${pair.local.type} ↔ ${pair.remote.type}`;
    this.watchdog ??= this.later(DTLS_WATCHDOG_MS, () =>
      this.fail(handshakeStall(this.seen, DTLS_WATCHDOG_MS)),
    );
  }

  /** Gathering ended: with nothing this side may use, waiting for ICE cannot help. */
  private gatheringDone(): void {
    const useless = nothingGathered(this.context, this.seen);
    if (useless !== undefined) this.fail(useless);
  }

  /** Descriptions exchanged but ICE never connected: no path, not a slow peer. */
  private deadlinePassed(): void {
    const iceUp = ['connected', 'completed'].includes(this.pc.iceState());
    const seconds = Math.round(this.options.timeoutMs / 1000);
    this.fail(
      this.remoteDescriptionSet && !iceUp
        ? this.noPath()
        : new PeerlaneError('CONNECT_TIMEOUT', `no connection within ${seconds} s`),
    );
  }

  private noPath(): PeerlaneError {
    return new PeerlaneError('ICE_FAILED', describeIceFailure(this.context, this.seen));
  }

  private readonly aborted = (): void => {
    this.fail(toPeerlaneError(this.control.abort?.reason, 'PEER_LOST'));
  };

  private signalLost(err: PeerlaneError): void {
    if (!this.remoteDescriptionSet) this.fail(err);
    else this.grace ??= this.later(SIGNAL_LOSS_GRACE_MS, () => this.fail(err));
  }

  private localCandidate(candidate: string, mid: string): void {
    this.seen.noteCandidate('local', candidate);
    const msg: RtcSignal = { kind: 'candidate', n: this.n, candidate, mid };
    if (this.answerApplied) this.say(msg);
    else this.heldLocal.push(msg);
  }

  /** One payload from the peer: this attempt's offer, answer or candidate, or not ours. */
  private received(payload: string): void {
    if (this.settled) return;
    try {
      const msg = attemptSignal(payload, this.n);
      if (msg === undefined) return;
      if (msg.kind === 'candidate') {
        if (this.remoteDescriptionSet) this.addRemoteCandidate(msg);
        else this.queuedRemote.push(msg);
        return;
      }
      this.applyDescription(msg.kind, msg.sdp);
      for (const c of this.queuedRemote.splice(0)) this.addRemoteCandidate(c);
    } catch (err) {
      this.fail(toPeerlaneError(err, 'BAD_MESSAGE'));
    }
  }

  /** The peer's offer (we answer) or answer (we offered), once; it frees the offerer's held candidates. */
  private applyDescription(kind: 'offer' | 'answer', sdp: string): void {
    const expected = kind === 'offer' ? 'answerer' : 'offerer';
    if (this.role !== expected || this.remoteDescriptionSet)
      throw new PeerlaneError('BAD_MESSAGE', `unexpected ${kind}`);
    this.pc.setRemoteDescription(sdp, kind);
    this.seen.noteRemoteDescription(sdp);
    this.remoteDescriptionSet = true;
    if (kind === 'answer') {
      this.answerApplied = true;
      for (const held of this.heldLocal.splice(0)) this.say(held);
    }
  }

  private addRemoteCandidate(c: Candidate): void {
    this.seen.noteCandidate('remote', c.candidate);
    try {
      this.pc.addRemoteCandidate(c.candidate, c.mid);
    } catch {
      // A candidate we cannot use (e.g. another address family) is not fatal.
    }
  }

  private say(msg: RtcSignal): void {
    try {
      this.signal.sendPayload(encodeRtcSignal(msg));
    } catch (err) {
      this.fail(toPeerlaneError(err, 'SIGNAL_CLOSED'));
    }
  }

  /** A timer this attempt owns: settle() clears it, and none starts after. */
  private later(ms: number, step: () => void): NodeJS.Timeout | undefined {
    if (this.settled) return undefined;
    const timer = setTimeout(step, ms);
    this.timers.add(timer);
    return timer;
  }

  private fail(err: PeerlaneError): void {
    this.settle({ error: err });
  }

  /** The one way an attempt ends: stop every timer and listener, then hand over the channel or close it all. */
  private settle(outcome: { channel: DataChannel } | { error: PeerlaneError }): void {
    if (this.settled) return;
    this.settled = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.unlisten();
    this.control.abort?.removeEventListener('abort', this.aborted);
    if ('channel' in outcome) {
      this.resolve(new Link(this.pc, outcome.channel));
      return;
    }
    try {
      this.channel?.close();
      this.pc.close();
    } catch {
      // closing a half-built connection can throw; we are failing anyway
    }
    this.reject(outcome.error);
  }
}
