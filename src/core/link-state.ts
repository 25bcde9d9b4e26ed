/**
 * What every kind of link (the data channel's Link, the direct path's
 * TcpLink) keeps the same way: messages that arrive before a handler are
 * held for it, and the close is reported once, with its reason, to whoever
 * asked, unless we closed the link ourselves.
 */
import { PeerlaneError } from './errors.js';

export abstract class LinkState {
  private early: Uint8Array[] = [];
  private messageHandler: ((msg: Uint8Array) => void) | undefined;
  private closeHandlers: ((err: PeerlaneError) => void)[] = [];
  /** Set once the link is gone (or being closed): sends throw it. */
  protected closedWith: PeerlaneError | undefined;
  /** We closed it: the close is not news to report. */
  protected closing = false;

  onMessage(handler: (msg: Uint8Array) => void): void {
    this.messageHandler = handler;
    const early = this.early;
    this.early = [];
    for (const msg of early) handler(msg);
  }

  /** `handler` runs once when the link goes away, unless we closed it. */
  onClose(handler: (err: PeerlaneError) => void): void {
    if (this.closedWith !== undefined) handler(this.closedWith);
    else this.closeHandlers.push(handler);
  }

  protected deliver(msg: Uint8Array): void {
    if (this.messageHandler !== undefined) this.messageHandler(msg);
    else this.early.push(msg);
  }

  /** Mark the link closed by us; false if it already was. */
  protected beginClose(): boolean {
    if (this.closing) return false;
    this.closing = true;
    this.closedWith ??= new PeerlaneError('PEER_LOST', 'the link was closed');
    return true;
  }

  /** The link went away: tell the close handlers once (not if we closed it). */
  protected ended(err: PeerlaneError): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = err;
    const handlers = this.closeHandlers;
    this.closeHandlers = [];
    if (!this.closing) for (const h of handlers) h(err);
  }
}
