/**
 * One member as the engine sees it: its link, what it holds, what we asked of
 * it, and what it asked of us. Sending goes through here, with the transfer
 * sender's backpressure marks (SEND_HIGH_WATER / SEND_LOW_WATER).
 */
import type { PeerlaneError } from '../errors.js';
import type { MessageLink } from '../link.js';
import { SEND_HIGH_WATER, SEND_LOW_WATER } from '../transfer/protocol.js';
import type { Bitfield } from './bitfield.js';
import { encodeDataFrame, encodeSwarmFrame, MAX_SWARM_MESSAGE, SWARM_DATA_HEADER } from './protocol.js';

/** A chunk we asked a member for. */
export interface ChunkRequest {
  /** When we asked. */
  since: number;
  /** The chunk so far: allocated at its first part. */
  buf?: Uint8Array;
  received: number;
}

type JsonFrame = Parameters<typeof encodeSwarmFrame>[0];

export class Member {
  helloSeen = false;
  /** Its chunk count and bitfield as its HELLO said, until we know the manifest. */
  said: { chunks: number; have: string } | undefined;
  have: Bitfield | undefined;
  /** HAVEs heard before we knew the manifest. */
  readonly pendingHaves: number[] = [];
  /** Chunks we asked it for. */
  readonly asked = new Map<number, ChunkRequest>();
  /** Chunks it asked us for, in order. */
  readonly queue: number[] = [];
  serving = false;
  /** It refused a request (no slot): ask it again after this time. */
  chokedUntil = 0;
  manifestAsks = 0;
  private drained: (() => void) | undefined;

  constructor(
    readonly id: string,
    readonly link: MessageLink,
  ) {
    link.onBufferedAmountLow(SEND_LOW_WATER, () => this.wake());
    link.onClose(() => this.wake());
  }

  send(frame: JsonFrame): void {
    this.sendRaw(encodeSwarmFrame(frame));
  }

  private sendRaw(bytes: Uint8Array): void {
    // A link that closed under us says so through onClose; nothing to do here.
    if (this.link.isOpen) {
      try {
        this.link.send(bytes);
      } catch {}
    }
  }

  private wake(): void {
    const drained = this.drained;
    this.drained = undefined;
    drained?.();
  }

  private async roomToSend(): Promise<void> {
    while (this.link.isOpen && this.link.bufferedAmount() > SEND_HIGH_WATER) {
      await new Promise<void>((resolve) => {
        this.drained = resolve;
      });
    }
  }

  /**
   * Send `data` as CHUNK (a = index) or MANIFEST_PART (a = total) frames, each
   * under the link's message size. Returns false if the link closed first.
   */
  async sendParts(type: 'chunk' | 'manifest-part', a: number, data: Uint8Array): Promise<boolean> {
    const part = Math.min(this.link.maxMessageSize(), MAX_SWARM_MESSAGE) - SWARM_DATA_HEADER;
    for (let at = 0; at < data.length; at += part) {
      await this.roomToSend();
      if (!this.link.isOpen) return false;
      const slice = data.subarray(at, Math.min(data.length, at + part));
      this.sendRaw(
        type === 'chunk'
          ? encodeDataFrame('chunk', a, at, slice)
          : encodeDataFrame('manifest-part', at, a, slice),
      );
    }
    return this.link.isOpen;
  }

  /** Say why, then close. */
  fail(err: PeerlaneError): void {
    this.send({ type: 'error', code: err.code, message: err.message });
    this.link.close();
  }
}
