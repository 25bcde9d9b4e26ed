/**
 * Two MessageLinks wired to each other in memory, for tests of the layers
 * above a link (the swarm engine) without sockets: messages copied as a real
 * link copies them, delivered in order after an optional delay, a send buffer
 * that fills (bufferedAmount) and drains as messages arrive, and a close that
 * both ends hear.
 */
import { PeerlaneError } from '../core/errors.js';
import type { MessageLink, PathInfo } from '../core/link.js';

export interface MemoryLinkOptions {
  /** Milliseconds each message takes to arrive (0: the next turn of the event loop). */
  delayMs?: number;
  /** What maxMessageSize() reports, and the most send() takes (default 256 KiB, as libdatachannel). */
  maxMessageSize?: number;
}

class MemoryLink implements MessageLink {
  readonly transport = 'tcp' as const;
  peer!: MemoryLink;
  private buffered = 0;
  private lowThreshold = 0;
  private onLow: (() => void) | undefined;
  private onMsg: ((msg: Uint8Array) => void) | undefined;
  private readonly early: Uint8Array[] = [];
  private readonly closeHandlers: ((err: PeerlaneError) => void)[] = [];
  private open = true;
  /** Every message this end sent, in order: what a test inspects. */
  readonly sent: Uint8Array[] = [];

  constructor(private readonly options: MemoryLinkOptions) {}

  get isOpen(): boolean {
    return this.open;
  }

  maxMessageSize(): number {
    return this.options.maxMessageSize ?? 256 * 1024;
  }

  bufferedAmount(): number {
    return this.buffered;
  }

  onBufferedAmountLow(threshold: number, handler: () => void): void {
    this.lowThreshold = threshold;
    this.onLow = handler;
  }

  send(data: Uint8Array): void {
    if (!this.open) throw new PeerlaneError('PEER_LOST', 'the link is closed');
    if (data.length > this.maxMessageSize()) {
      throw new PeerlaneError('MESSAGE_TOO_LARGE', `${data.length} bytes is over the link's message size`);
    }
    const copy = data.slice();
    this.sent.push(copy);
    this.buffered += copy.length;
    const arrive = (): void => {
      const before = this.buffered;
      this.buffered -= copy.length;
      if (before > this.lowThreshold && this.buffered <= this.lowThreshold) this.onLow?.();
      if (this.open && this.peer.open) this.peer.receive(copy);
    };
    const delay = this.options.delayMs ?? 0;
    if (delay > 0) setTimeout(arrive, delay);
    else setImmediate(arrive);
  }

  private receive(msg: Uint8Array): void {
    if (this.onMsg === undefined) this.early.push(msg);
    else this.onMsg(msg);
  }

  onMessage(handler: (msg: Uint8Array) => void): void {
    this.onMsg = handler;
    for (const msg of this.early.splice(0)) handler(msg);
  }

  onClose(handler: (err: PeerlaneError) => void): void {
    this.closeHandlers.push(handler);
  }

  pathInfo(): PathInfo {
    return { path: 'direct', local: 'host', remote: 'host' };
  }

  fingerprints(): { local: string; remote: string } {
    return { local: 'memory', remote: 'memory' };
  }

  close(): void {
    this.end(new PeerlaneError('PEER_LOST', 'the link was closed'));
  }

  /** Close both ends, each hearing `err` once. */
  end(err: PeerlaneError): void {
    for (const side of [this, this.peer]) {
      if (!side.open) continue;
      side.open = false;
      for (const h of side.closeHandlers) h(err);
    }
  }
}

export interface MemoryLinkPair {
  a: MessageLink & { readonly sent: Uint8Array[] };
  b: MessageLink & { readonly sent: Uint8Array[] };
}

export function memoryLinkPair(options: MemoryLinkOptions = {}): MemoryLinkPair {
  const a = new MemoryLink(options);
  const b = new MemoryLink(options);
  a.peer = b;
  b.peer = a;
  return { a, b };
}
