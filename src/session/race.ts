/**
 * One connection attempt, over whichever link works first: the direct TCP
 * path (direct/) raced against the WebRTC data channel (rtc/connect.ts).
 *
 * The offerer chooses, so both sides use the same link: the first TCP
 * connection whose handshake completes (it sends USE on it), or the data
 * channel if that opens first and no TCP handshake follows within
 * TCP_PREFERENCE_MS (it says choose{use: "rtc"} through the signal server).
 * The answerer takes a TCP link once USE arrives on it, and the data channel
 * once the offerer said so, or at once if the offerer offered no direct path
 * (--transport webrtc). Whatever loses is closed.
 *
 * The signal server's relay (relay-contender.ts) joins when UDP has not
 * worked; a TCP link too, the same USE decides it. Never with --direct-only.
 */
import { PeerlaneError, toPeerlaneError } from '../core/errors.js';
import type { SignalPipe } from '../core/signaling/pipe.js';
import type { PeerRole } from '../core/signaling/protocol.js';
import type { RtcSignal } from '../core/signaling/rtc-signal.js';
import { encodeRtcSignal, parseRtcSignal } from '../core/signaling/rtc-signal.js';
import type { DirectAttempt } from '../direct/attempt.js';
import { DirectAttempt as Direct } from '../direct/attempt.js';
import type { TcpLink } from '../direct/tcp-link.js';
import type { AttemptControl, RtcOptions } from '../rtc/connect.js';
import { connectPeer } from '../rtc/connect.js';
import type { Link, MessageLink } from '../rtc/link.js';
import { RELAY_AFTER_MS, RelayContender, relayCouldHelp, relayOnly } from './relay-contender.js';

/**
 * After the data channel failed, how long a direct connection may still take
 * to win. Its handshake needs about three round trips, fewer than ICE, DTLS
 * and SCTP together, so one that has not finished by then will not.
 */
const DIRECT_GRACE_MS = 2_000;

/**
 * How long the offerer, its data channel open first, waits for a TCP handshake
 * the peer offered: TCP moved more on every path measured (loopback 414 vs 227
 * MB/s, 80 ms 36 vs 22). A few round trips; it costs only where TCP cannot connect.
 */
const TCP_PREFERENCE_MS = 500;

export async function openLink(
  role: PeerRole,
  pipe: SignalPipe,
  rtc: RtcOptions,
  key: Buffer,
  control: AttemptControl = {},
): Promise<MessageLink> {
  // --relay asks for TURN only: a direct path would reveal the address it hides.
  const transport = rtc.iceTransportPolicy === 'relay' ? 'webrtc' : (rtc.transport ?? 'auto');
  if (transport === 'webrtc') return connectPeer(role, pipe, rtc, control);
  const n = control.attempt ?? 0;
  if (transport === 'relay') {
    if (rtc.relayAddress === undefined) throw new PeerlaneError('INTERNAL', 'no relay address');
    const dial = { address: rtc.relayAddress, key, attempt: { n, role }, timeoutMs: rtc.timeoutMs };
    return relayOnly(dial, control.abort);
  }
  const direct = await Direct.listen({
    bindAddress: rtc.bindAddress,
    key,
    attempt: n,
    chooser: role === 'offerer',
    timeoutMs: rtc.timeoutMs,
  });
  return new Race(role, pipe, rtc, transport, direct, n, control, key).result;
}

class Race {
  readonly result: Promise<MessageLink>;
  private resolve!: (link: MessageLink) => void;
  private reject!: (err: PeerlaneError) => void;
  private done = false;
  private readonly chooser: boolean;
  private readonly rtcAbort = new AbortController();
  private rtcLink: Link | undefined;
  private rtcError: PeerlaneError | undefined;
  /** The peer offered a direct path: the offerer gives TCP a moment, the answerer waits for the choice. */
  private peerRaces = false;
  private offererTookRtc = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly started = Date.now();
  private readonly timeoutMs: number;
  /** The relay's part: undefined until dialed. */
  private relay: RelayContender | undefined;
  private readonly relayAllowed: boolean;

  constructor(
    role: PeerRole,
    private readonly pipe: SignalPipe,
    private readonly rtc: RtcOptions,
    transport: 'auto' | 'tcp',
    private readonly direct: DirectAttempt,
    private readonly n: number,
    private readonly control: AttemptControl,
    private readonly key: Buffer,
  ) {
    this.chooser = role === 'offerer';
    this.timeoutMs = rtc.timeoutMs;
    this.relayAllowed = transport === 'auto' && rtc.directOnly !== true && rtc.relayAddress !== undefined;
    this.result = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // Racing, the data channel's own deadline comes first and says more (ICE_FAILED
    // names what was gathered); ours only ends an attempt where nothing did.
    const deadline = rtc.timeoutMs + (transport === 'auto' ? DIRECT_GRACE_MS : 0);
    this.timers.push(setTimeout(() => this.timedOut(rtc.timeoutMs, transport), deadline));
    control.abort?.addEventListener('abort', this.aborted, { once: true });
    if (control.abort?.aborted) this.aborted();
    // Our hints go out before anything of the data channel's, so the answerer
    // knows whether the offerer races by the time its channel opens.
    if (!this.say({ kind: 'direct', n, hints: direct.hints() })) return;
    direct.onLink((link) => this.tcpReady(link));
    const rtcPipe = this.splitPipe();
    if (this.relayAllowed) this.timers.push(setTimeout(() => this.dialRelay(role), RELAY_AFTER_MS));
    if (transport === 'auto') {
      connectPeer(role, rtcPipe, rtc, { attempt: n, abort: this.rtcAbort.signal }).then(
        (link) => this.rtcReady(link),
        (err: unknown) => this.rtcFailed(toPeerlaneError(err)),
      );
    }
  }

  /** The direct path's signals stay here; the data channel's go on to connectPeer. */
  private splitPipe(): SignalPipe {
    let rtcHandler: ((payload: string) => void) | undefined;
    let rtcFailure: ((err: PeerlaneError) => void) | undefined;
    const early: string[] = [];
    this.pipe.onFailure((err) => {
      // A message that failed authentication means someone tampers with the
      // signaling: stop, whatever path might still work. Losing the server is
      // not fatal; the data channel gives it a grace of its own.
      if (err.code === 'BAD_MESSAGE') this.fail(err);
      rtcFailure?.(err);
    });
    this.pipe.onPayload((payload) => {
      let kind: string | undefined;
      try {
        const msg = parseRtcSignal(payload);
        if (msg.kind === 'direct' && msg.n === this.n) {
          this.peerRaces = true;
          this.direct.dial(msg.hints);
          return;
        }
        if (msg.kind === 'choose' && msg.n === this.n) {
          this.offererTookRtc = true;
          if (this.rtcLink !== undefined) this.win(this.rtcLink);
          return;
        }
        kind = msg.kind;
      } catch {
        // connectPeer reports what it cannot parse
      }
      if (kind === 'direct' || kind === 'choose') return;
      if (rtcHandler !== undefined) rtcHandler(payload);
      else early.push(payload);
    });
    return {
      sendPayload: (payload) => this.pipe.sendPayload(payload),
      onPayload: (handler) => {
        rtcHandler = handler;
        for (const p of early.splice(0)) handler(p);
      },
      onFailure: (handler) => {
        rtcFailure = handler;
      },
    };
  }

  /** Send through the signal server; false (and the attempt failed) if it is gone. */
  private say(msg: RtcSignal): boolean {
    try {
      this.pipe.sendPayload(encodeRtcSignal(msg));
      return true;
    } catch (err) {
      this.fail(toPeerlaneError(err, 'SIGNAL_CLOSED'));
      return false;
    }
  }

  private tcpReady(link: TcpLink): void {
    if (this.done) return;
    if (!this.chooser) {
      link.used.then(() => this.win(link));
      return;
    }
    try {
      link.sendUse();
    } catch {
      return; // closed already; another may still come
    }
    this.win(link);
  }

  private rtcReady(link: Link): void {
    if (this.done) {
      link.close();
      return;
    }
    this.rtcLink = link;
    if (this.chooser) {
      if (this.peerRaces) this.timers.push(setTimeout(() => this.chooseRtc(link), TCP_PREFERENCE_MS));
      else this.chooseRtc(link);
    } else if (this.offererTookRtc || !this.peerRaces) {
      this.win(link);
    }
  }

  private chooseRtc(link: Link): void {
    if (this.done) return;
    // Unsaid (the signal server is gone), the answerer's own deadline ends its wait.
    this.say({ kind: 'choose', n: this.n, use: 'rtc' });
    this.win(link);
  }

  private rtcFailed(err: PeerlaneError): void {
    if (this.done) return;
    this.rtcError = err;
    if (this.relayAllowed && relayCouldHelp(err)) {
      // The relay decides now: dialed at once if it was not yet, and the attempt ends with it.
      if (this.relay === undefined) this.dialRelay(this.chooser ? 'offerer' : 'answerer');
      if (this.relay?.settled !== true) return;
      this.fail(this.relay?.explain(err) ?? err);
      return;
    }
    // At its deadline the direct path had as long as the channel: no grace.
    const early = Date.now() - this.started < this.timeoutMs - DIRECT_GRACE_MS;
    if (early) this.timers.push(setTimeout(() => this.fail(err), DIRECT_GRACE_MS));
    else this.fail(err);
  }

  private dialRelay(role: PeerRole): void {
    const address = this.rtc.relayAddress;
    if (this.done || this.relay !== undefined || address === undefined) return;
    const timeoutMs = Math.max(1, this.timeoutMs - (Date.now() - this.started));
    this.relay = new RelayContender(
      { address, key: this.key, attempt: { n: this.n, role }, timeoutMs },
      (link) => {
        if (this.done) link.close();
        else this.tcpReady(link);
      },
      () => {
        const rtcError = this.rtcError;
        if (rtcError !== undefined && relayCouldHelp(rtcError))
          this.fail(this.relay?.explain(rtcError) ?? rtcError);
      },
    );
  }

  private timedOut(ms: number, transport: 'auto' | 'tcp'): void {
    const seconds = Math.round(ms / 1000);
    this.fail(
      this.rtcError ??
        new PeerlaneError(
          'CONNECT_TIMEOUT',
          transport === 'tcp'
            ? `no direct TCP connection within ${seconds} s (--transport tcp): neither side could reach the other`
            : `no connection within ${seconds} s`,
        ),
    );
  }

  private readonly aborted = (): void => {
    this.fail(toPeerlaneError(this.control.abort?.reason, 'PEER_LOST'));
  };

  private settle(): void {
    this.done = true;
    for (const t of this.timers) clearTimeout(t);
    this.control.abort?.removeEventListener('abort', this.aborted);
  }

  private win(link: MessageLink): void {
    if (this.done) return;
    this.settle();
    this.relay?.close(link);
    if (link.transport !== 'webrtc') {
      this.rtcAbort.abort(
        new PeerlaneError('PEER_LOST', `the ${link.transport === 'tcp' ? 'direct' : 'relayed'} path won`),
      );
      this.rtcLink?.close();
      this.direct.close(link as TcpLink);
    } else {
      this.direct.close();
    }
    this.resolve(link);
  }

  private fail(err: PeerlaneError): void {
    if (this.done) return;
    this.settle();
    this.rtcAbort.abort(err);
    this.rtcLink?.close();
    this.relay?.close();
    this.direct.close();
    this.reject(err);
  }
}
