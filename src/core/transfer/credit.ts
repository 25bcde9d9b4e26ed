/**
 * The credit window, both sides of it. The receiver grants the sender a
 * window of bytes (ACCEPT.window) and returns credit (CREDIT frames) as it
 * writes what arrived; the sender sends DATA only while it holds credit. This
 * bounds the receiver's memory whatever the disk speed (RECEIVE_WINDOW), and a
 * sender that overruns the window is cut off.
 *
 * Apart from the engines so that the arithmetic, and the one rule a hostile
 * sender can break, read and test on their own.
 */
import { PeerlaneError } from '../errors.js';
import { CREDIT_BATCH, RECEIVE_WINDOW } from './protocol.js';

/** The sender's side: how many payload bytes it may still send. */
export class SendCredit {
  private balance = 0;

  /** ACCEPT's window, or a CREDIT frame's bytes. */
  grant(bytes: number): void {
    this.balance += bytes;
  }

  /** Bytes that may be sent now (0 or less: wait for a grant). */
  get available(): number {
    return this.balance;
  }

  /** `bytes` were sent. */
  spend(bytes: number): void {
    this.balance -= bytes;
  }
}

/** The receiver's side: bytes the sender has in flight, and credit not yet returned. */
export class ReceiveWindow {
  /** DATA bytes that arrived and are not yet written. */
  private inFlight = 0;
  /** Bytes written and not yet returned as credit. */
  private uncredited = 0;

  constructor(
    /** What ACCEPT grants: the most the sender may have in flight. */
    readonly size = RECEIVE_WINDOW,
    /** Credit is returned in batches of at least this much, so CREDIT frames stay rare. */
    private readonly batch = CREDIT_BATCH,
  ) {}

  /** A DATA payload of `bytes` arrived (not yet written). BAD_FRAME if the sender ignored the window. */
  arrive(bytes: number): void {
    this.inFlight += bytes;
    if (this.inFlight > this.size)
      throw new PeerlaneError('BAD_FRAME', 'the sender ignored the receive window');
  }

  /** `bytes` that arrived are written: the credit to return now, or 0 while it waits for a batch. */
  written(bytes: number): number {
    this.inFlight -= bytes;
    this.uncredited += bytes;
    return this.take(false);
  }

  /** Whatever is owed at once (a file's end): 0 if nothing. */
  flush(): number {
    return this.take(true);
  }

  private take(force: boolean): number {
    if (this.uncredited === 0 || (!force && this.uncredited < this.batch)) return 0;
    const credit = this.uncredited;
    this.uncredited = 0;
    return credit;
  }
}
