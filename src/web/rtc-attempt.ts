/**
 * One attempt at a data channel from a browser: the same offer, answer and
 * candidate signals as the CLI's attempt (rtc/attempt.ts), through the
 * session's sealed pipe for attempt `n`. The page has no direct TCP path: it
 * never sends `direct`, so a CLI offerer takes the channel as soon as it
 * opens and a CLI answerer does not wait for a choice (session/race.ts); the
 * CLI's `direct` and `choose` signals are ignored here.
 *
 * As on the CLI, the offerer holds its own candidates until it has applied
 * the answer, and remote candidates wait for the remote description.
 */
import { PeerlaneError, toPeerlaneError } from '../core/errors.js';
import type { MessageLink } from '../core/link.js';
import type { AttemptRequest, OpenLink } from '../core/session/ports.js';
import type { AttemptRtcSignal, RtcSignal } from '../core/signaling/rtc-signal.js';
import { attemptSignal, encodeRtcSignal } from '../core/signaling/rtc-signal.js';
import { WebRtcLink } from './rtc-link.js';

/** The CLI's label (rtc/attempt.ts): an answerer refuses any other. */
const CHANNEL_LABEL = 'peerlane';

/**
 * Once the descriptions are exchanged the peers need the signal server no
 * more: losing it then gets this long for the channel to open anyway (as
 * rtc/attempt.ts's SIGNAL_LOSS_GRACE_MS).
 */
const SIGNAL_LOSS_GRACE_MS = 5_000;

export interface WebRtcOptions {
  iceServers: RTCIceServer[];
  /** Give up on an attempt after this long: CONNECT_TIMEOUT, or ICE_FAILED once descriptions were exchanged. */
  timeoutMs: number;
}

/** The session's link opener in a browser: a data channel only (no key needed: there is no direct path). */
export function webLinks(options: WebRtcOptions): () => OpenLink {
  return () => (request) => openRtcLink(request, options);
}

type Candidate = Extract<RtcSignal, { kind: 'candidate' }>;

export function openRtcLink(request: AttemptRequest, options: WebRtcOptions): Promise<MessageLink> {
  return new BrowserAttempt(request, options).result;
}

class BrowserAttempt {
  readonly result: Promise<MessageLink>;
  private resolve!: (link: MessageLink) => void;
  private reject!: (err: PeerlaneError) => void;
  private readonly pc: RTCPeerConnection;
  private readonly timers: ReturnType<typeof setTimeout>[] = [];
  private settled = false;
  private remoteSet = false;
  private answerApplied: boolean;
  private readonly heldLocal: RtcSignal[] = [];
  private readonly queuedRemote: Candidate[] = [];
  private channel: RTCDataChannel | undefined;

  constructor(
    private readonly request: AttemptRequest,
    options: WebRtcOptions,
  ) {
    this.result = new Promise<MessageLink>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.answerApplied = request.role === 'answerer';
    this.pc = new RTCPeerConnection({ iceServers: options.iceServers });
    const ms = Math.min(options.timeoutMs, request.limitMs);
    this.timers.push(setTimeout(() => this.deadline(ms), ms));
    request.abort.addEventListener('abort', this.aborted, { once: true });
    if (request.abort.aborted) this.aborted();
    this.pc.onicecandidate = (e) => {
      if (e.candidate && e.candidate.candidate !== '') {
        this.local({
          kind: 'candidate',
          n: request.attempt,
          candidate: e.candidate.candidate,
          mid: e.candidate.sdpMid ?? '0',
        });
      }
    };
    this.pc.onconnectionstatechange = () => {
      if (this.pc.connectionState === 'failed') this.fail(this.noPath());
    };
    request.pipe.onFailure((err) => this.signalLost(err));
    request.pipe.onPayload((payload) => this.received(payload));
    if (request.role === 'offerer') this.offer();
    else this.pc.ondatachannel = (e) => this.adopt(e.channel);
  }

  private offer(): void {
    const dc = this.pc.createDataChannel(CHANNEL_LABEL, { ordered: true });
    this.adopt(dc);
    this.step(async () => {
      await this.pc.setLocalDescription(await this.pc.createOffer());
      this.say({ kind: 'offer', n: this.request.attempt, sdp: this.pc.localDescription?.sdp ?? '' });
    });
  }

  private adopt(dc: RTCDataChannel): void {
    if (dc.label !== CHANNEL_LABEL) {
      this.fail(new PeerlaneError('BAD_MESSAGE', `unexpected data channel "${dc.label}"`));
      return;
    }
    this.channel = dc;
    dc.binaryType = 'arraybuffer';
    if (dc.readyState === 'open') this.opened(dc);
    else dc.onopen = () => this.opened(dc);
  }

  private opened(dc: RTCDataChannel): void {
    if (this.settled) return;
    this.settle();
    const link = new WebRtcLink(this.pc, dc);
    void link.readPath().then(() => this.resolve(link));
  }

  private received(payload: string): void {
    if (this.settled) return;
    let msg: AttemptRtcSignal | undefined;
    try {
      // Keepalive and restart are the session's; direct and choose are the CLI's race, which we never join.
      msg = attemptSignal(payload, this.request.attempt);
    } catch (err) {
      this.fail(toPeerlaneError(err, 'BAD_MESSAGE'));
      return;
    }
    if (msg === undefined) return;
    if (msg.kind === 'candidate') {
      if (this.remoteSet) this.addRemote(msg);
      else this.queuedRemote.push(msg);
      return;
    }
    const expected = msg.kind === 'offer' ? 'answerer' : 'offerer';
    if (this.request.role !== expected || this.remoteSet) {
      this.fail(new PeerlaneError('BAD_MESSAGE', `unexpected ${msg.kind}`));
      return;
    }
    this.remoteSet = true;
    const { kind, sdp } = msg;
    this.step(async () => {
      await this.pc.setRemoteDescription({ type: kind, sdp });
      if (kind === 'offer') {
        await this.pc.setLocalDescription(await this.pc.createAnswer());
        this.say({ kind: 'answer', n: this.request.attempt, sdp: this.pc.localDescription?.sdp ?? '' });
      } else {
        this.answerApplied = true;
        for (const held of this.heldLocal.splice(0)) this.say(held);
      }
      for (const c of this.queuedRemote.splice(0)) this.addRemote(c);
    });
  }

  private addRemote(c: Candidate): void {
    // libdatachannel writes candidates as SDP lines ("a=candidate:…"); a browser takes them bare.
    const candidate = c.candidate.replace(/^a=/, '');
    this.pc.addIceCandidate({ candidate, sdpMid: c.mid }).catch(() => {
      // A candidate we cannot use (another address family, say) is not fatal.
    });
  }

  private local(msg: RtcSignal): void {
    if (this.answerApplied) this.say(msg);
    else this.heldLocal.push(msg);
  }

  private say(msg: RtcSignal): void {
    if (this.settled && msg.kind !== 'candidate') return;
    try {
      this.request.pipe.sendPayload(encodeRtcSignal(msg));
    } catch (err) {
      this.fail(toPeerlaneError(err, 'SIGNAL_CLOSED'));
    }
  }

  /** An async step of the negotiation: its failure fails the attempt. */
  private step(run: () => Promise<void>): void {
    run().catch((err: unknown) => this.fail(toPeerlaneError(err, 'BAD_MESSAGE')));
  }

  private signalLost(err: PeerlaneError): void {
    if (!this.remoteSet) this.fail(err);
    else this.timers.push(setTimeout(() => this.fail(err), SIGNAL_LOSS_GRACE_MS));
  }

  private deadline(ms: number): void {
    const iceUp = ['connected', 'completed'].includes(this.pc.iceConnectionState);
    this.fail(
      this.remoteSet && !iceUp
        ? this.noPath()
        : new PeerlaneError('CONNECT_TIMEOUT', `no connection within ${Math.round(ms / 1000)} s`),
    );
  }

  private noPath(): PeerlaneError {
    return new PeerlaneError(
      'ICE_FAILED',
      'no network path to the peer was found (the page uses the TURN servers the signal server issues, if any)',
    );
  }

  private readonly aborted = (): void => {
    this.fail(toPeerlaneError(this.request.abort.reason, 'PEER_LOST'));
  };

  private settle(): void {
    this.settled = true;
    for (const t of this.timers) clearTimeout(t);
    this.request.abort.removeEventListener('abort', this.aborted);
  }

  private fail(err: PeerlaneError): void {
    if (this.settled) return;
    this.settle();
    this.channel?.close();
    this.pc.close();
    this.reject(err);
  }
}
