/**
 * One session between two authenticated peers: the sealed signal pipe, kept
 * open for the whole transfer, and the data channel over it, opened again
 * (under the same session key, no new code) when it drops.
 *
 *   side A                       signal server (relay)              side B
 *     | == attempt 0: offer/answer/candidates {n:0} ================== |
 *     | ======================= data channel 0: transfer ============== |
 *     | -- keepalive (every 20 s, keeps the paired TCP from idling out) |
 *     |    (channel 0 lost: silence, close, or DTLS stalled)            |
 *     | -- restart{n:1, reason} -------------------------------------> |  B drops channel 0 too
 *     | == attempt 1: offer/answer/candidates {n:1} ================== |
 *     | ======================= data channel 1: the transfer again ==== |
 *                  (the receiver offers its verified blocks: a resume)
 *
 * Each attempt races a direct TCP connection against the data channel
 * (race.ts); the first that works carries the transfer.
 *
 * Either side may start an attempt; the higher `n` wins, and a side that hears
 * of an attempt beyond its own abandons what it has and joins it. A time
 * budget (`reconnectForMs`) and a count (`reconnects`) bound each outage,
 * and attempts back off while the path stays down. Without the signal server
 * (killed, restarted, or the peer's connection to it gone) there is no
 * reconnection, but a working data channel carries on regardless.
 */
import { DEFAULTS } from '../config.js';
import { PeerlaneError, toPeerlaneError } from '../core/errors.js';
import type { EventSink } from '../core/events.js';
import type { PathInfo } from '../core/link.js';
import type { SecureChannel } from '../core/secure/channel.js';
import { shortAuthString } from '../core/secure/channel.js';
import { secureHandshake } from '../core/secure/handshake.js';
import type { SignalPipe } from '../core/signaling/pipe.js';
import type { RestartReason, RtcSignal } from '../core/signaling/rtc-signal.js';
import { encodeRtcSignal, parseRtcSignal } from '../core/signaling/rtc-signal.js';
import { directKey } from '../direct/handshake.js';
import type { RtcOptions } from '../rtc/connect.js';
import { nodeAesGcm } from '../secure/node-aead.js';
import { FramedLink } from '../transfer/framed-link.js';
import type { Pairing, SessionOptions } from './common.js';
import { rtcWithGrant } from './common.js';
import { openLink } from './race.js';

/**
 * The signal server drops a paired connection silent for its idle timeout
 * (SIGNAL_IDLE_TIMEOUT, 60 s by default); a third of that keeps ours alive
 * through a lost packet or two.
 */
export const KEEPALIVE_INTERVAL_MS = 20_000;

export class PeerSession {
  /** The attempt in progress or in use. */
  private attempt = 0;
  /** The highest attempt the peer has announced. */
  private peerAttempt = 0;
  private readonly queued = new Map<number, string[]>();
  private deliver: ((payload: string) => void) | undefined;
  /** The current attempt's: only it can still act on losing the signal pipe. */
  private failureHandler: ((err: PeerlaneError) => void) | undefined;
  private signalError: PeerlaneError | undefined;
  private connecting: AbortController | undefined;
  private framed: FramedLink | undefined;
  private everOpened = false;
  /** The path the last open channel took: what a later ICE failure means. */
  private lastPath: PathInfo | undefined;
  private readonly keepalive: NodeJS.Timeout;
  private readonly emit: EventSink;
  private readonly budget: number;
  private readonly timeBudget: number;
  /** Ends a reconnection's pause between attempts early. */
  private wake: (() => void) | undefined;
  /** The peer asked for an attempt while we had none running: skip the backoff. */
  private peerCalled = false;
  /** Proves and seals the direct TCP path; from the session key, like everything else. */
  private readonly directKey: Buffer;

  constructor(
    private readonly pairing: Pairing,
    private readonly secure: SecureChannel,
    private readonly options: SessionOptions,
  ) {
    this.emit = options.onEvent ?? (() => {});
    this.budget = options.reconnects ?? DEFAULTS.PEER_RECONNECTS;
    this.timeBudget = options.reconnectForMs ?? DEFAULTS.PEER_RECONNECT_FOR * 1000;
    this.directKey = directKey(secure.sasKey);
    secure.onPayload((payload) => this.route(payload));
    secure.onFailure((err) => {
      this.signalError ??= err;
      this.failureHandler?.(err);
      this.wake?.();
    });
    this.keepalive = setInterval(() => this.say({ kind: 'keepalive' }), KEEPALIVE_INTERVAL_MS);
    this.keepalive.unref();
    // One Ctrl-C listener for the whole session: it ends whichever attempt or channel is current.
    options.abortSignal?.addEventListener('abort', this.interrupt, { once: true });
  }

  private readonly interrupt = (): void => {
    const interrupted = new PeerlaneError('INTERRUPTED', 'interrupted');
    this.connecting?.abort(interrupted);
    this.framed?.abort(interrupted);
    this.wake?.();
  };

  /**
   * Run `transfer` over a data channel until it succeeds, reconnecting while
   * the link is what failed, `resumable` allows it and the budget lasts.
   */
  async run<T>(transfer: (framed: FramedLink) => Promise<T>, resumable: boolean): Promise<T> {
    let framed = await this.connectFirst();
    for (;;) {
      try {
        return await transfer(framed);
      } catch (err) {
        const reason = framed.lostReason;
        // Not a lost link: an ERROR frame one side sent. Closing at once can
        // drop ours before it leaves, so wait (briefly) for the peer to close.
        if (reason === undefined) await farewell(framed);
        framed.stop();
        framed.link.close();
        if (this.framed === framed) this.framed = undefined;
        if (reason === undefined || !resumable || this.options.abortSignal?.aborted) throw err;
        framed = await this.reconnect(reason, toPeerlaneError(err));
      }
    }
  }

  /**
   * End the session: the data channel, the keepalive and the signal
   * connection, after telling the server (for its metrics) the path the data
   * took last, ICE's final choice rather than its first.
   */
  close(): void {
    if (this.lastPath !== undefined) this.pairing.client.report(this.lastPath.path);
    clearInterval(this.keepalive);
    this.options.abortSignal?.removeEventListener('abort', this.interrupt);
    this.connecting?.abort(new PeerlaneError('INTERRUPTED', 'the session closed'));
    this.framed?.stop();
    this.framed?.link.close();
    this.pairing.client.close();
  }

  /** Before any data has flowed a retry is always safe, even for a stream. */
  private async connectFirst(): Promise<FramedLink> {
    try {
      return await this.connect(0);
    } catch (err) {
      const error = toPeerlaneError(err);
      // A first attempt only retries what a second can mend: a stalled or
      // failed handshake (DTLS, SCTP), or the peer having moved on to a new attempt.
      const reason = isHandshake(error) ? 'dtls-stall' : this.peerAttempt > 0 ? 'peer-request' : undefined;
      if (reason === undefined || this.signalError !== undefined || this.options.abortSignal?.aborted)
        throw error;
      return this.reconnect(reason, error);
    }
  }

  /**
   * New attempts until one opens a channel, or the outage outlasts the time
   * budget (--reconnect-for) or the count (--reconnects). Attempts start at
   * least backoff() apart, so a path that stays down costs a few STUN checks
   * a second at most; the peer announcing an attempt ends the pause at once.
   */
  private async reconnect(reason: RestartReason, cause: PeerlaneError): Promise<FramedLink> {
    const lostAt = Date.now();
    let startedAt = 0;
    let tried = 0;
    let pathDown = false;
    for (;;) {
      if (this.signalError !== undefined) throw withoutSignal(cause, this.signalError);
      const remaining = this.timeBudget - (Date.now() - lostAt);
      if (tried >= this.budget || remaining <= 0) throw this.gaveUp(cause, tried, Date.now() - lostAt);
      const wait = backoff(tried + 1) - (Date.now() - startedAt);
      if (wait > 0 && this.peerAttempt <= this.attempt && !this.peerCalled) {
        await this.pause(Math.min(wait, remaining));
        continue; // the checks above again: the budget, the signal connection, Ctrl-C
      }
      if (this.options.abortSignal?.aborted) throw new PeerlaneError('INTERRUPTED', 'interrupted');
      const n = Math.max(this.attempt + 1, this.peerAttempt);
      this.attempt = n;
      startedAt = Date.now();
      this.peerCalled = false;
      tried++;
      this.emit({ event: 'reconnecting', attempt: tried, of: this.budget, reason, message: cause.message });
      // Even when joining the peer's attempt: if the peer has given that one up
      // and waits out a backoff, this tells it to try again now.
      this.say({ kind: 'restart', n, reason });
      // Once an attempt found no path, the path is known to be down: shorter
      // attempts notice its return sooner (an ICE agent gives up on its checks).
      const limit = pathDown ? Math.min(remaining, DOWN_ATTEMPT_MS) : remaining;
      try {
        return await this.connect(n, Math.max(limit, MIN_ATTEMPT_MS));
      } catch (err) {
        cause = toPeerlaneError(err);
        if (cause.code === 'INTERRUPTED' || this.options.abortSignal?.aborted) throw cause;
        pathDown ||= reasonFor(cause) === 'ice-failed';
        reason = this.peerAttempt > n ? 'peer-request' : reasonFor(cause);
      }
    }
  }

  private gaveUp(cause: PeerlaneError, tries: number, ms: number): PeerlaneError {
    // Never connected at all: the reason of the last attempt (HANDSHAKE_STALLED, say) says more.
    const code = !this.everOpened ? cause.code : 'PEER_LOST';
    if (tries === 0) return new PeerlaneError(code, `${cause.message}; reconnection is off`);
    return new PeerlaneError(
      code,
      `${cause.message}; gave up after ${tries} reconnection attempt${tries === 1 ? '' : 's'} in ${Math.round(ms / 1000)} s`,
    );
  }

  /** Wait `ms`, or less if the peer starts an attempt, Ctrl-C comes or the signal connection fails. */
  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    }).finally(() => {
      this.wake = undefined;
    });
  }

  /** Attempt `n`, given at most `limitMs` (and never more than --timeout). */
  private async connect(n: number, limitMs = Number.POSITIVE_INFINITY): Promise<FramedLink> {
    const abort = new AbortController();
    this.connecting = abort;
    if (this.options.abortSignal?.aborted) this.interrupt();
    try {
      const link = await openLink(
        this.pairing.role,
        this.pipe(n),
        limitTo(rtcWithGrant(this.options, this.pairing.client.turnGrant), limitMs),
        this.directKey,
        { attempt: n, abort: abort.signal, previousPath: this.lastPath },
      );
      const framed = new FramedLink(link, this.options.heartbeat);
      this.framed = framed;
      this.everOpened = true;
      const path = link.pathInfo();
      this.lastPath = path;
      // Ctrl-C may have come while connectPeer was resolving: the channel ends at once.
      if (this.options.abortSignal?.aborted) this.interrupt();
      this.emit({ event: 'connected', ...path, transport: link.transport, ...this.verification(link) });
      link.onPathChange?.(path, (now) => {
        this.lastPath = now;
        this.emit({ event: 'path-changed', ...now });
      });
      return framed;
    } finally {
      if (this.connecting === abort) this.connecting = undefined;
    }
  }

  /** With --verify, four words from the session key and this channel's DTLS fingerprints. */
  private verification(link: FramedLink['link']): { verify?: string } {
    if (!this.options.verify) return {};
    const { local, remote } = link.fingerprints();
    return { verify: shortAuthString(this.secure.sasKey, local, remote) };
  }

  /** The pipe one attempt's connectPeer talks through: only that attempt's signals reach it. */
  private pipe(n: number): SignalPipe {
    return {
      sendPayload: (payload) => this.secure.sendPayload(payload),
      onPayload: (handler) => {
        this.deliver = handler;
        for (const k of this.queued.keys()) {
          if (k < n) this.queued.delete(k);
        }
        for (const p of this.queued.get(n)?.splice(0) ?? []) handler(p);
      },
      onFailure: (handler) => {
        this.failureHandler = handler;
        if (this.signalError !== undefined) handler(this.signalError);
      },
    };
  }

  private route(payload: string): void {
    let msg: RtcSignal;
    try {
      msg = parseRtcSignal(payload);
    } catch (err) {
      const error = toPeerlaneError(err, 'BAD_MESSAGE');
      this.signalError ??= error;
      this.failureHandler?.(error);
      return;
    }
    if (msg.kind === 'keepalive') return;
    if (msg.n > this.attempt) this.peerMovedOn(msg.n);
    if (msg.kind === 'restart' && this.connecting === undefined) {
      this.peerCalled = true;
      this.wake?.();
    }
    if (msg.kind === 'restart' || msg.n < this.attempt) return;
    if (msg.n === this.attempt) {
      // A late candidate for an open channel is of no use; drop it.
      if (this.connecting !== undefined && this.deliver !== undefined) this.deliver(payload);
      else if (this.connecting === undefined && this.framed !== undefined) return;
      else this.queue(msg.n, payload);
      return;
    }
    this.queue(msg.n, payload);
  }

  private queue(n: number, payload: string): void {
    const queue = this.queued.get(n) ?? [];
    queue.push(payload);
    this.queued.set(n, queue);
  }

  /** The peer started attempt `n`: drop what we have so the transfer loop joins it. */
  private peerMovedOn(n: number): void {
    if (n <= this.peerAttempt) return;
    this.peerAttempt = n;
    const superseded = new PeerlaneError('PEER_LOST', `the peer started connection attempt ${n}`);
    this.connecting?.abort(superseded);
    this.framed?.lose('peer-request', superseded);
    this.wake?.();
  }

  private say(msg: RtcSignal): void {
    if (this.signalError !== undefined) return;
    try {
      this.secure.sendPayload(encodeRtcSignal(msg));
    } catch {
      // The signal connection is going; its failure handler records why.
    }
  }
}

/**
 * The first reconnection starts at once; later ones at least 1, 2, 4, 8, then
 * 15 s apart (counted from the previous attempt's start, so an attempt that
 * waited out its ICE deadline is followed at once).
 */
const MAX_BACKOFF_MS = 15_000;
function backoff(attempt: number): number {
  return attempt <= 1 ? 0 : Math.min(1000 * 2 ** (attempt - 2), MAX_BACKOFF_MS);
}

/** The last attempt of an outage still gets this long, even past the budget: less finds nothing. */
const MIN_ATTEMPT_MS = 5_000;
/**
 * While the path is known to be down, each attempt lasts this long (or
 * --timeout, if shorter): a path that comes back is found within about this
 * time, and a new PeerConnection every 15 s costs next to nothing.
 */
const DOWN_ATTEMPT_MS = 15_000;

/** The RTC options with the ICE deadline cut to `limitMs`. */
function limitTo(rtc: RtcOptions, limitMs: number): RtcOptions {
  return limitMs < rtc.timeoutMs ? { ...rtc, timeoutMs: limitMs } : rtc;
}

/** Long enough for a queued ERROR frame to cross, short enough not to hold up an exit. */
const FAREWELL_MS = 1_000;

/** Resolves when the peer closes the channel, or after FAREWELL_MS. */
function farewell(framed: FramedLink): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, FAREWELL_MS);
    timer.unref();
    framed.link.onClose(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** ICE connected but the channel did not open: DTLS or SCTP stalled or failed. */
function isHandshake(err: PeerlaneError): boolean {
  return err.code === 'HANDSHAKE_STALLED' || err.code === 'HANDSHAKE_FAILED';
}

function reasonFor(err: PeerlaneError): RestartReason {
  if (isHandshake(err)) return 'dtls-stall';
  if (err.code === 'ICE_FAILED' || err.code === 'CONNECT_TIMEOUT') return 'ice-failed';
  return 'link-closed';
}

/**
 * No reconnection without the signal connection: `cause` is what ended the
 * last channel or attempt, `gone` what ended the signal connection. When the
 * attempt failed because of `gone` itself, it is said once.
 */
function withoutSignal(cause: PeerlaneError, gone: PeerlaneError): PeerlaneError {
  if (cause === gone || cause.message === gone.message) return new PeerlaneError('PEER_LOST', gone.message);
  const then =
    gone.code === 'PEER_LOST'
      ? `then ${gone.message}: it is gone, not just its path`
      : `then the signal connection ended (${gone.message}), and there is no reconnection without it`;
  return new PeerlaneError('PEER_LOST', `${cause.message}; ${then}`);
}

/**
 * Authenticate the peer with the code's secret. The session that results keeps
 * the sealed signal connection for reconnections, and opens the data channel
 * (`PeerSession.run`); the signal server never carries file data.
 */
export async function startSession(pairing: Pairing, options: SessionOptions): Promise<PeerSession> {
  try {
    const secure = await secureHandshake(pairing.client, {
      ...pairing,
      timeoutMs: options.rtc.timeoutMs,
      aead: nodeAesGcm,
    });
    return new PeerSession(pairing, secure, options);
  } catch (err) {
    pairing.client.close();
    throw err;
  }
}
