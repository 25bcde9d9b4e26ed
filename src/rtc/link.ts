/**
 * A Link is one open data channel together with the PeerConnection that
 * carries it. It owns both: node-datachannel garbage-collects a DataChannel
 * that nothing references, and the sender then stalls forever with no error,
 * so the Link keeps them referenced until `close()`.
 *
 * Incoming messages are buffered from the moment the channel exists until a
 * handler is attached, so nothing sent right after open is lost.
 */
import type { DataChannel, PeerConnection } from 'node-datachannel';
import { PeerlaneError } from '../core/errors.js';
import type { MessageLink, PathInfo } from '../core/link.js';
import { LinkState } from '../core/link-state.js';
import { directReach } from '../core/reach.js';

export type { MessageLink, PathInfo } from '../core/link.js';

/**
 * How often an open link reads its selected candidate pair. ICE may switch
 * pairs after the channel opened (a direct pair nominated after the relay one
 * carried the first bytes); one native call a second notices within a second.
 */
const PATH_POLL_MS = 1_000;

function sameWay(a: PathInfo, b: PathInfo): boolean {
  return a.local === b.local && a.remote === b.remote;
}

export class Link extends LinkState implements MessageLink {
  readonly transport = 'webrtc';
  private pathTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pc: PeerConnection,
    private readonly channel: DataChannel,
  ) {
    super();
    channel.onMessage((msg) => {
      this.deliver(
        typeof msg === 'string' ? Buffer.from(msg) : Buffer.isBuffer(msg) ? msg : Buffer.from(msg),
      );
    });
    channel.onClosed(() => this.ended(new PeerlaneError('PEER_LOST', 'the data channel closed')));
    channel.onError((err) => this.ended(new PeerlaneError('PEER_LOST', `data channel error: ${err}`)));
    pc.onStateChange((state) => {
      if (state === 'failed' || state === 'closed' || state === 'disconnected') {
        this.ended(new PeerlaneError('PEER_LOST', `the peer connection is ${state}`));
      }
    });
  }

  /** The largest message the peer accepts; frames must fit in it. */
  maxMessageSize(): number {
    return this.channel.maxMessageSize();
  }

  bufferedAmount(): number {
    return this.channel.bufferedAmount();
  }

  /** `handler` runs whenever the send buffer falls to `threshold` bytes. */
  onBufferedAmountLow(threshold: number, handler: () => void): void {
    this.channel.setBufferedAmountLowThreshold(threshold);
    this.channel.onBufferedAmountLow(handler);
  }

  /**
   * Queue a binary message. Throws PEER_LOST once the channel has closed.
   * node-datachannel copies `data` before this returns, so the caller may
   * reuse its buffer at once (the sender does, for every frame).
   */
  send(data: Uint8Array): void {
    if (this.closedWith !== undefined) throw this.closedWith;
    try {
      this.channel.sendMessageBinary(data);
    } catch (err) {
      throw new PeerlaneError('PEER_LOST', `cannot send: ${String(err)}`, { cause: err });
    }
  }

  get isOpen(): boolean {
    return this.closedWith === undefined && this.channel.isOpen();
  }

  /** The candidate pair ICE has selected now: the one our data goes out on. */
  pathInfo(): PathInfo {
    const pair = this.pc.getSelectedCandidatePair();
    const local = pair?.local.type ?? 'unknown';
    const remote = pair?.remote.type ?? 'unknown';
    const path = local === 'relay' || remote === 'relay' ? 'relay' : 'direct';
    const reach = path === 'direct' && pair ? { reach: directReach(pair.local, pair.remote) } : {};
    return { path, local, remote, ...reach };
  }

  /**
   * `handler` runs whenever ICE switches to another pair, with the new one,
   * until the link closes. `from` is the pair last reported.
   */
  onPathChange(from: PathInfo, handler: (info: PathInfo) => void): void {
    let last = from;
    clearInterval(this.pathTimer);
    this.pathTimer = setInterval(() => {
      if (this.closedWith !== undefined) {
        clearInterval(this.pathTimer);
        return;
      }
      const now = this.pathInfo();
      if (now.local === 'unknown' || sameWay(now, last)) return;
      last = now;
      handler(now);
    }, PATH_POLL_MS);
    this.pathTimer.unref();
  }

  /** The DTLS certificate fingerprints both sides announced in their SDP. */
  fingerprints(): { local: string; remote: string } {
    const pick = (sdp: string | undefined): string => /a=fingerprint:\S+ (\S+)/.exec(sdp ?? '')?.[1] ?? '';
    return { local: pick(this.pc.localDescription()?.sdp), remote: pick(this.pc.remoteDescription()?.sdp) };
  }

  close(): void {
    if (!this.beginClose()) return;
    clearInterval(this.pathTimer);
    try {
      this.channel.close();
    } catch {
      // already closed
    }
    try {
      this.pc.close();
    } catch {
      // already closed
    }
  }

  protected override ended(err: PeerlaneError): void {
    clearInterval(this.pathTimer);
    super.ended(err);
  }
}
