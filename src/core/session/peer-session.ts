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
 * (race.ts); the first that works carries the transfer. The peer's signals
 * reach the attempt they name through attempt-signals.ts; the rules for
 * waiting, limiting and giving up are in reconnect-policy.ts.
 *
 * Either side may start an attempt; the higher `n` wins, and a side that hears of an
 * attempt beyond its own abandons what it has and joins it. A time budget (`reconnectForMs`)
 * and a count (`reconnects`) bound each outage, and attempts back off while the path stays
 * down. Without the signal server (killed, restarted, or the peer's connection to it gone)
 * there is no reconnection, but a working data channel carries on regardless.
 */
import { PeerlaneError, toPeerlaneError } from '../errors.js';
import type { EventSink } from '../events.js';
import type { PathInfo } from '../link.js';
import type { SecureChannel } from '../secure/channel.js';
import { shortAuthString } from '../secure/channel.js';
import { secureHandshake } from '../secure/handshake.js';
import type { RestartReason } from '../signaling/rtc-signal.js';
import { unrefTimer } from '../timers.js';
import { FramedLink } from '../transfer/framed-link.js';
import { AttemptSignals } from './attempt-signals.js';
import { farewell } from './farewell.js';
import type { Pairing } from './pair.js';
import type {
  MakeOpener,
  OpenAttempt,
  PeerSessionOptions,
  SessionCoreOptions,
  SessionLink,
} from './ports.js';
import {
  backoff,
  DOWN_ATTEMPT_MS,
  firstRetry,
  gaveUp,
  MIN_ATTEMPT_MS,
  reasonFor,
  withoutSignal,
} from './reconnect-policy.js';

/**
 * The signal server drops a paired connection silent for its idle timeout
 * (SIGNAL_IDLE_TIMEOUT, 60 s by default); a third of that keeps ours alive
 * through a lost packet or two.
 */
export const KEEPALIVE_INTERVAL_MS = 20_000;

/** `L`: what an open attempt is, a FramedLink in process or a child process's proxy (ports.ts SessionLink). */
export class PeerSession<L extends SessionLink = FramedLink> {
  /** The peer's signals, routed to the attempt they belong to. */
  private readonly signals: AttemptSignals;
  private connecting: AbortController | undefined;
  private framed: L | undefined;
  private everOpened = false;
  /** The path the last open channel took: what a later ICE failure means. */
  private lastPath: PathInfo | undefined;
  private readonly keepalive: ReturnType<typeof setInterval>;
  private readonly emit: EventSink;
  private readonly budget: number;
  private readonly timeBudget: number;
  /** Ends a reconnection's pause between attempts early. */
  private wake: (() => void) | undefined;
  /** The peer asked for an attempt while we had none running: skip the backoff. */
  private peerCalled = false;
  private readonly openAttempt: OpenAttempt<L>;

  constructor(
    private readonly pairing: Pairing,
    private readonly secure: SecureChannel,
    private readonly options: SessionCoreOptions,
    openAttempts: MakeOpener<OpenAttempt<L>>,
  ) {
    this.emit = options.onEvent ?? (() => {});
    this.budget = options.reconnects;
    this.timeBudget = options.reconnectForMs;
    this.openAttempt = openAttempts(secure.sasKey, { agent: secure.peerAgent });
    this.signals = new AttemptSignals(secure, {
      connecting: () => this.connecting !== undefined,
      linked: () => this.framed !== undefined,
      peerMovedOn: (superseded) => {
        this.connecting?.abort(superseded);
        this.framed?.lose('peer-request', superseded);
        this.wake?.();
      },
      peerCalled: () => {
        this.peerCalled = true;
        this.wake?.();
      },
      wake: () => this.wake?.(),
    });
    this.keepalive = setInterval(() => this.signals.say({ kind: 'keepalive' }), KEEPALIVE_INTERVAL_MS);
    unrefTimer(this.keepalive);
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
  async run<T>(transfer: (framed: L) => Promise<T>, resumable: boolean): Promise<T> {
    let framed = await this.connectFirst();
    for (;;) {
      try {
        return await transfer(framed);
      } catch (err) {
        // Not (yet) a lost link: perhaps an ERROR frame one side sent. Closing at once
        // can drop ours before it leaves, so wait (briefly) for the peer to close.
        if (framed.lostReason === undefined) await farewell(framed);
        const reason = framed.lossBehind(err);
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
  private async connectFirst(): Promise<L> {
    try {
      return await this.connect(0);
    } catch (err) {
      const error = toPeerlaneError(err);
      const reason = firstRetry(error, this.signals.peerAttempt > 0);
      if (reason === undefined || this.signals.error !== undefined || this.options.abortSignal?.aborted)
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
  private async reconnect(reason: RestartReason, cause: PeerlaneError): Promise<L> {
    const lostAt = Date.now();
    let startedAt = 0;
    let tried = 0;
    let pathDown = false;
    for (;;) {
      if (this.signals.error !== undefined) throw withoutSignal(cause, this.signals.error);
      const remaining = this.timeBudget - (Date.now() - lostAt);
      if (tried >= this.budget || remaining <= 0)
        throw gaveUp(cause, this.everOpened, tried, Date.now() - lostAt);
      const wait = backoff(tried + 1) - (Date.now() - startedAt);
      if (wait > 0 && this.signals.peerAttempt <= this.signals.attempt && !this.peerCalled) {
        await this.pause(Math.min(wait, remaining));
        continue; // the checks above again: the budget, the signal connection, Ctrl-C
      }
      if (this.options.abortSignal?.aborted) throw new PeerlaneError('INTERRUPTED', 'interrupted');
      const n = this.signals.next();
      startedAt = Date.now();
      this.peerCalled = false;
      tried++;
      this.emit({ event: 'reconnecting', attempt: tried, of: this.budget, reason, message: cause.message });
      // Even when joining the peer's attempt: if the peer has given that one up
      // and waits out a backoff, this tells it to try again now.
      this.signals.say({ kind: 'restart', n, reason });
      // Once an attempt found no path, the path is known to be down: shorter
      // attempts notice its return sooner (an ICE agent gives up on its checks).
      const limit = pathDown ? Math.min(remaining, DOWN_ATTEMPT_MS) : remaining;
      try {
        return await this.connect(n, Math.max(limit, MIN_ATTEMPT_MS));
      } catch (err) {
        cause = toPeerlaneError(err);
        if (cause.code === 'INTERRUPTED' || this.options.abortSignal?.aborted) throw cause;
        pathDown ||= reasonFor(cause) === 'ice-failed';
        reason = this.signals.peerAttempt > n ? 'peer-request' : reasonFor(cause);
      }
    }
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
  private async connect(n: number, limitMs = Number.POSITIVE_INFINITY): Promise<L> {
    const abort = new AbortController();
    this.connecting = abort;
    if (this.options.abortSignal?.aborted) this.interrupt();
    try {
      const framed = await this.openAttempt({
        role: this.pairing.role,
        pipe: this.signals.pipe(n),
        attempt: n,
        abort: abort.signal,
        previousPath: this.lastPath,
        limitMs,
      });
      const link = framed.link;
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
  private verification(link: SessionLink['link']): { verify?: string } {
    if (!this.options.verify) return {};
    const { local, remote } = link.fingerprints();
    return { verify: shortAuthString(this.secure.sasKey, local, remote) };
  }
}

/**
 * Authenticate the peer with the code's secret. The session that results keeps
 * the sealed signal connection for reconnections, and opens the data channel
 * (`PeerSession.run`); the signal server never carries file data.
 */
export function startSession(pairing: Pairing, options: PeerSessionOptions): Promise<PeerSession> {
  // Each attempt opened and framed in this process: the browser page, and Node unisolated.
  return startSessionWith(pairing, options, (sasKey, peer) => {
    const openLink = options.openLinks(sasKey, peer);
    return async (request) => new FramedLink(await openLink(request), options.heartbeat);
  });
}

/** startSession, with attempts opened by `openAttempts` (in Node, perhaps each in a child process). */
export async function startSessionWith<L extends SessionLink>(
  pairing: Pairing,
  options: SessionCoreOptions,
  openAttempts: MakeOpener<OpenAttempt<L>>,
): Promise<PeerSession<L>> {
  try {
    const secure = await secureHandshake(pairing.client, {
      ...pairing,
      timeoutMs: options.handshakeTimeoutMs,
      ...(options.aead !== undefined ? { aead: options.aead } : {}),
      ...(options.agent !== undefined ? { agent: options.agent } : {}),
    });
    return new PeerSession(pairing, secure, options, openAttempts);
  } catch (err) {
    pairing.client.close();
    throw err;
  }
}
