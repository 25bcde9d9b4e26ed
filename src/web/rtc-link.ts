/**
 * A MessageLink over a browser's RTCDataChannel: what the core's session and
 * transfer need (core/link.ts), as the CLI's node-datachannel Link gives it.
 *
 * Flow control follows the browser's limits: messages up to the SCTP
 * maxMessageSize the peer announced, and a send buffer kept far below the
 * 16 MiB at which Chromium closes a channel (see SEND_BUFFER_LIMIT).
 */
import { PeerlaneError } from '../core/errors.js';
import type { MessageLink, PathInfo } from '../core/link.js';
import { LinkState } from '../core/link-state.js';
import { directReach } from '../core/reach.js';

/** What RFC 8841 says to assume when the peer's SDP announces no a=max-message-size. */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024;

/**
 * Chromium closes a data channel whose buffer passes 16 MiB. The sender
 * engine stops at its own high-water mark (SEND_HIGH_WATER, 1 MiB) and waits
 * for bufferedAmountLow; this is the hard stop behind it, should anything
 * queue past the engine (control frames, a burst): a quarter of the limit,
 * so no burst the engine allows can reach it.
 */
export const SEND_BUFFER_LIMIT = 4 * 1024 * 1024;

/** The DTLS certificate fingerprint a description announces, as the CLI reads it (rtc/link.ts): --verify's input. */
function fingerprintOf(sdp: string | undefined): string {
  return /a=fingerprint:\S+ (\S+)/.exec(sdp ?? '')?.[1] ?? '';
}

export class WebRtcLink extends LinkState implements MessageLink {
  readonly transport = 'webrtc';
  private path: PathInfo = { path: 'direct', local: 'unknown', remote: 'unknown' };

  constructor(
    private readonly pc: RTCPeerConnection,
    private readonly channel: RTCDataChannel,
  ) {
    super();
    channel.binaryType = 'arraybuffer';
    channel.onmessage = (e: MessageEvent<ArrayBuffer | string>) => {
      this.deliver(typeof e.data === 'string' ? new TextEncoder().encode(e.data) : new Uint8Array(e.data));
    };
    channel.onclose = () => this.ended(new PeerlaneError('PEER_LOST', 'the data channel closed'));
    channel.onerror = (e) =>
      this.ended(new PeerlaneError('PEER_LOST', `data channel error: ${errorText(e)}`));
    pc.onconnectionstatechange = () => {
      const state = pc.connectionState;
      if (state === 'failed' || state === 'closed') {
        this.ended(new PeerlaneError('PEER_LOST', `the peer connection is ${state}`));
      }
    };
  }

  /** Read the selected candidate pair once (getStats is async); pathInfo() answers from it after. */
  async readPath(): Promise<PathInfo> {
    try {
      this.path = selectedPath(await this.pc.getStats()) ?? this.path;
    } catch {
      // a closed connection has no stats; keep what we had
    }
    return this.path;
  }

  maxMessageSize(): number {
    const announced = this.pc.sctp?.maxMessageSize;
    return announced !== undefined && announced > 0 && Number.isFinite(announced)
      ? announced
      : DEFAULT_MAX_MESSAGE_BYTES;
  }

  bufferedAmount(): number {
    return this.channel.bufferedAmount;
  }

  onBufferedAmountLow(threshold: number, handler: () => void): void {
    this.channel.bufferedAmountLowThreshold = threshold;
    this.channel.onbufferedamountlow = handler;
  }

  send(data: Uint8Array): void {
    if (this.closedWith !== undefined) throw this.closedWith;
    if (this.channel.bufferedAmount + data.length > SEND_BUFFER_LIMIT) {
      throw new PeerlaneError('INTERNAL', `the data channel's send buffer passed ${SEND_BUFFER_LIMIT} bytes`);
    }
    try {
      // send() copies the view's bytes before it returns, so the engine may reuse its buffer.
      this.channel.send(data as Uint8Array<ArrayBuffer>);
    } catch (err) {
      throw new PeerlaneError('PEER_LOST', `cannot send: ${String(err)}`, { cause: err });
    }
  }

  get isOpen(): boolean {
    return this.closedWith === undefined && this.channel.readyState === 'open';
  }

  pathInfo(): PathInfo {
    return this.path;
  }

  fingerprints(): { local: string; remote: string } {
    return {
      local: fingerprintOf(this.pc.localDescription?.sdp),
      remote: fingerprintOf(this.pc.remoteDescription?.sdp),
    };
  }

  close(): void {
    if (!this.beginClose()) return;
    this.channel.close();
    this.pc.close();
  }
}

function errorText(e: Event): string {
  const error = (e as RTCErrorEvent).error as RTCError | undefined;
  return error?.message ?? e.type;
}

interface CandidateStats {
  candidateType?: string;
  address?: string;
}

/** The path of the selected candidate pair, from a getStats() report. */
export function selectedPath(report: RTCStatsReport): PathInfo | undefined {
  let pairId: string | undefined;
  report.forEach((s: { type: string; selectedCandidatePairId?: string }) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
  });
  const pair = pairId === undefined ? undefined : report.get(pairId);
  if (pair === undefined) return undefined;
  const local = report.get(pair.localCandidateId) as CandidateStats | undefined;
  const remote = report.get(pair.remoteCandidateId) as CandidateStats | undefined;
  const lt = local?.candidateType ?? 'unknown';
  const rt = remote?.candidateType ?? 'unknown';
  const path = lt === 'relay' || rt === 'relay' ? 'relay' : 'direct';
  if (path === 'relay' || !local?.address || !remote?.address) return { path, local: lt, remote: rt };
  const reach = directReach({ type: lt, address: local.address }, { type: rt, address: remote.address });
  return { path, local: lt, remote: rt, reach };
}
