/**
 * The session's side of the sealed signal pipe: every payload the peer sends
 * for the whole session comes through here, and goes to the connection
 * attempt it names (`n`), or waits for it, or is dropped as stale.
 *
 * - An attempt beyond ours means the peer moved on: the session abandons what
 *   it has and joins (the higher `n` wins).
 * - `restart` while no attempt runs ends the session's pause between attempts.
 * - Keepalives only keep the paired TCP connection from idling out.
 * - Signals of a later attempt wait until it starts; those of an earlier one,
 *   or of the current one after its channel opened (a late candidate), are
 *   of no use.
 */
import { PeerlaneError, toPeerlaneError } from '../errors.js';
import type { SignalPipe } from '../signaling/pipe.js';
import type { RtcSignal } from '../signaling/rtc-signal.js';
import { encodeRtcSignal, parseRtcSignal } from '../signaling/rtc-signal.js';

/** What the signals need to know of the session, and tell it. */
export interface SignalsHost {
  /** An attempt is running now. */
  connecting(): boolean;
  /** A channel is open (or was, and has not been replaced). */
  linked(): boolean;
  /** The peer started an attempt beyond any we knew of (`superseded` says which): drop what we have and join it. */
  peerMovedOn(superseded: PeerlaneError): void;
  /** The peer asked for an attempt while none ran: start one now, without the backoff. */
  peerCalled(): void;
  /** The signal connection failed: stop pausing, there is no reconnection without it. */
  wake(): void;
}

export class AttemptSignals {
  private current = 0;
  private peerHighest = 0;
  private failedWith: PeerlaneError | undefined;
  private readonly queued = new Map<number, string[]>();
  private deliver: ((payload: string) => void) | undefined;
  /** The current attempt's: only it can still act on losing the signal pipe. */
  private failureHandler: ((err: PeerlaneError) => void) | undefined;

  constructor(
    private readonly secure: SignalPipe,
    private readonly host: SignalsHost,
  ) {
    secure.onPayload((payload) => this.route(payload));
    secure.onFailure((err) => {
      this.lose(err);
      host.wake();
    });
  }

  /** The attempt in progress or in use. */
  get attempt(): number {
    return this.current;
  }

  /** The highest attempt the peer has announced. */
  get peerAttempt(): number {
    return this.peerHighest;
  }

  /** Why the signal connection can no longer be used, once it cannot. */
  get error(): PeerlaneError | undefined {
    return this.failedWith;
  }

  /** Number the next attempt: past ours, or the peer's if it is ahead (joining it). */
  next(): number {
    this.current = Math.max(this.current + 1, this.peerHighest);
    return this.current;
  }

  /** Send through the signal server; once it has failed, nothing (its failure says why). */
  say(msg: RtcSignal): void {
    if (this.failedWith !== undefined) return;
    try {
      this.secure.sendPayload(encodeRtcSignal(msg));
    } catch {
      // The signal connection is going; its failure handler records why.
    }
  }

  /** The pipe attempt `n` talks through: only that attempt's signals reach it. */
  pipe(n: number): SignalPipe {
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
        if (this.failedWith !== undefined) handler(this.failedWith);
      },
    };
  }

  private lose(err: PeerlaneError): void {
    this.failedWith ??= err;
    this.failureHandler?.(err);
  }

  private route(payload: string): void {
    let msg: RtcSignal;
    try {
      msg = parseRtcSignal(payload);
    } catch (err) {
      this.lose(toPeerlaneError(err, 'BAD_MESSAGE'));
      return;
    }
    if (msg.kind === 'keepalive') return;
    if (msg.n > this.current) this.peerMovedOn(msg.n);
    if (msg.kind === 'restart' && !this.host.connecting()) this.host.peerCalled();
    if (msg.kind === 'restart' || msg.n < this.current) return;
    if (msg.n === this.current) {
      // A late candidate for an open channel is of no use; drop it.
      if (this.host.connecting() && this.deliver !== undefined) this.deliver(payload);
      else if (!this.host.connecting() && this.host.linked()) return;
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

  private peerMovedOn(n: number): void {
    if (n <= this.peerHighest) return;
    this.peerHighest = n;
    this.host.peerMovedOn(new PeerlaneError('PEER_LOST', `the peer started connection attempt ${n}`));
  }
}
