/**
 * Frames on top of a Link: parsing, the heartbeat, and one failure that every
 * waiting step of a transfer can race against.
 *
 * Failure sources: the link closing, the peer going silent, the peer sending an
 * ERROR frame, or the peer sending something we cannot parse (we answer with
 * our own ERROR frame before giving up, so the peer learns why).
 */

import type { ErrorCode } from '../errors.js';
import { ERROR_CODES, EXIT, PeerlaneError, toPeerlaneError } from '../errors.js';
import type { MessageLink } from '../link.js';
import { unrefTimer } from '../timers.js';
import type { TransferLink } from './ports.js';
import type { ControlFrame, Frame } from './protocol.js';
import {
  encodeControlBytes,
  PEER_IDLE_TIMEOUT_MS,
  PING_INTERVAL_MS,
  parseFrame,
  STALL_TIMEOUT_MS,
} from './protocol.js';

/** Long enough for messages queued behind a close to arrive; short against a 10 s heartbeat. */
const CLOSE_GRACE_MS = 250;

export interface FramedLinkOptions {
  pingIntervalMs?: number;
  idleTimeoutMs?: number;
  /** How long the peer may owe us progress while sending only PINGs (STALL_TIMEOUT_MS). */
  stallTimeoutMs?: number;
}

/** How the link itself was lost, as opposed to a peer's error: what a reconnection can mend. */
export type LossReason = 'peer-silent' | 'link-closed' | 'peer-request';

export class FramedLink implements TransferLink {
  /** Set when the failure is the link going away, not anything either side said. */
  lostReason: LossReason | undefined;
  /** Rejects once, with the reason the transfer cannot go on. Never resolves. */
  readonly failure: Promise<never>;
  private rejectFailure!: (err: PeerlaneError) => void;
  private failed: PeerlaneError | undefined;
  private handler: ((frame: Frame) => void) | undefined;
  /**
   * Frames that came before a handler: over the direct TCP path the sender's
   * MANIFEST can arrive with the connection's first bytes, before the
   * receiving side has started its transfer.
   */
  private unhandled: Frame[] = [];
  private lastHeard = Date.now();
  /** When a frame other than PING last arrived. */
  private lastFrame = Date.now();
  /** Since when we wait for the peer to move the transfer on (expectPeer); undefined: we do not. */
  private waitingSince: number | undefined;
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(
    readonly link: MessageLink,
    options: FramedLinkOptions = {},
  ) {
    this.failure = new Promise<never>((_, reject) => {
      this.rejectFailure = reject;
    });
    // Callers race against `failure`; a rejection nobody awaits yet is still handled.
    this.failure.catch(() => {});
    const idleTimeout = options.idleTimeoutMs ?? PEER_IDLE_TIMEOUT_MS;
    const stallTimeout = options.stallTimeoutMs ?? STALL_TIMEOUT_MS;
    this.timer = setInterval(() => {
      const since = this.waitingSince === undefined ? undefined : Math.max(this.waitingSince, this.lastFrame);
      if (since !== undefined && Date.now() - since > stallTimeout) {
        // Alive (it pings) but holding us: a heartbeat alone must not keep a transfer open forever.
        this.abort(
          new PeerlaneError(
            'STALLED',
            `the peer answered pings but moved nothing on for ${Math.round(stallTimeout / 1000)} s`,
          ),
        );
        return;
      }
      if (Date.now() - this.lastHeard > idleTimeout) {
        this.lose(
          'peer-silent',
          new PeerlaneError('PEER_LOST', `no word from the peer for ${Math.round(idleTimeout / 1000)} s`),
        );
        return;
      }
      this.trySend({ type: 'ping' });
    }, options.pingIntervalMs ?? PING_INTERVAL_MS);

    // node-datachannel delivers a channel's close and its last messages
    // through separate queues, so the close can overtake the peer's final
    // ERROR frame (a refusal, say). Give that frame a moment to win.
    link.onClose((err) => {
      unrefTimer(setTimeout(() => this.lose('link-closed', err), CLOSE_GRACE_MS));
    });
    link.onMessage((raw) => {
      if (this.failed !== undefined) return;
      this.lastHeard = Date.now();
      let frame: Frame;
      try {
        frame = parseFrame(raw);
      } catch (err) {
        this.abort(toPeerlaneError(err, 'BAD_FRAME'));
        return;
      }
      if (frame.type === 'ping') return;
      this.lastFrame = this.lastHeard;
      if (frame.type === 'error') {
        this.fail(fromPeer(frame.code, frame.message));
        return;
      }
      if (this.handler === undefined) this.unhandled.push(frame);
      else this.deliver(frame);
    });
  }

  /** Frames other than PING and ERROR go to `handler`; a throw from it aborts the transfer. */
  onFrame(handler: (frame: Frame) => void): void {
    this.handler = handler;
    for (const frame of this.unhandled.splice(0)) this.deliver(frame);
  }

  private deliver(frame: Frame): void {
    if (this.failed !== undefined) return;
    try {
      this.handler?.(frame);
    } catch (err) {
      this.abort(toPeerlaneError(err, 'BAD_FRAME'));
    }
  }

  send(frame: ControlFrame): void {
    if (this.failed !== undefined) throw this.failed;
    this.link.send(encodeControlBytes(frame));
  }

  sendRaw(frame: Uint8Array): void {
    if (this.failed !== undefined) throw this.failed;
    this.link.send(frame);
  }

  maxMessageSize(): number {
    return this.link.maxMessageSize();
  }

  bufferedAmount(): number {
    return this.link.bufferedAmount();
  }

  onBufferedAmountLow(threshold: number, handler: () => void): void {
    this.link.onBufferedAmountLow(threshold, handler);
  }

  /**
   * Whether only the peer can move the transfer on now (a sender out of
   * credit, a receiver with nothing left to handle). While it is so, the peer
   * must send some frame other than PING within the stall timeout, or the
   * transfer fails with STALLED. Each call with `true` after `false` starts
   * the clock afresh.
   */
  expectPeer(waiting: boolean): void {
    if (!waiting) this.waitingSince = undefined;
    else this.waitingSince ??= Date.now();
  }

  /** Await `step`, unless the transfer fails first. */
  guard<T>(step: Promise<T>): Promise<T> {
    return Promise.race([step, this.failure]);
  }

  get error(): PeerlaneError | undefined {
    return this.failed;
  }

  /** Tell the peer why we stop, then fail locally with the same error. */
  abort(err: PeerlaneError): void {
    if (this.failed !== undefined) return;
    // A reply that found the link closed: the close handler reports the loss
    // (after the grace for a last ERROR frame), so the session can reconnect.
    if (err.code === 'PEER_LOST' && !this.link.isOpen) return;
    this.trySend({ type: 'error', code: err.code, message: err.message });
    this.fail(err);
  }

  /** The link is gone (or being replaced): fail without a word to the peer. */
  lose(reason: LossReason, err: PeerlaneError): void {
    if (this.failed !== undefined) return;
    this.lostReason = reason;
    this.fail(err);
  }

  /**
   * How the link was lost, if that is what `err` shows. A send that found the
   * link already closed fails with PEER_LOST at once, while the loss is
   * reported only after the grace for a last ERROR frame (CLOSE_GRACE_MS): a
   * sender busy writing when a relay or TCP connection is cut gets there first,
   * and that is a lost link all the same.
   */
  lossBehind(err: unknown): LossReason | undefined {
    if (this.lostReason !== undefined) return this.lostReason;
    const lost = !this.link.isOpen && toPeerlaneError(err).code === 'PEER_LOST';
    return lost ? 'link-closed' : undefined;
  }

  /** Stop the heartbeat; the Link itself is closed by its owner. */
  stop(): void {
    clearInterval(this.timer);
  }

  private trySend(frame: ControlFrame): void {
    try {
      this.link.send(encodeControlBytes(frame));
    } catch {
      // The link is going away; its close handler reports that.
    }
  }

  private fail(err: PeerlaneError): void {
    if (this.failed !== undefined) return;
    this.failed = err;
    clearInterval(this.timer);
    this.rejectFailure(err);
  }
}

/**
 * The peer's error, as our failure. Its code is kept where it describes the
 * transfer (HASH_MISMATCH, REFUSED, …), but the peer being interrupted or
 * misconfigured is not our Ctrl-C or our usage error, and must not give our
 * process exit status 130 or 2.
 */
function fromPeer(code: ErrorCode, message: string): PeerlaneError {
  const text = `the peer reported: ${message}`;
  if (code === 'INTERRUPTED') return new PeerlaneError('PEER_LOST', 'the peer was interrupted');
  if (code === 'CONSENT_REQUIRED')
    return new PeerlaneError('REFUSED', `${text} (the receiver was not asked)`);
  if (ERROR_CODES[code].exit !== EXIT.FAILURE) return new PeerlaneError('REMOTE_ERROR', `${text} (${code})`);
  return new PeerlaneError(code, text);
}
