/** What both roles share: options, and turning a paired signal connection into a framed link. */

import { PeerlaneError } from '../errors.js';
import type { EventSink } from '../events.js';
import type { RtcOptions } from '../rtc/connect.js';
import { connectPeer } from '../rtc/connect.js';
import type { SignalAddress, SignalClient } from '../signaling/client.js';
import type { PeerRole } from '../signaling/protocol.js';
import type { FramedLinkOptions } from '../transfer/framed-link.js';
import { FramedLink } from '../transfer/framed-link.js';
import type { TransferProgress, TransferResult } from '../transfer/types.js';

export interface SessionOptions {
  signal: SignalAddress;
  rtc: RtcOptions;
  onEvent?: EventSink;
  /** Aborting ends the transfer with INTERRUPTED and cleans up, like a peer failure. */
  abortSignal?: AbortSignal;
  /** Heartbeat tuning, for tests. */
  heartbeat?: FramedLinkOptions;
}

/** Open the data channel over a paired signal connection, which is closed once it is no longer needed. */
export async function openLink(
  client: SignalClient,
  role: PeerRole,
  options: SessionOptions,
): Promise<FramedLink> {
  let link: Awaited<ReturnType<typeof connectPeer>>;
  try {
    link = await connectPeer(role, client, options.rtc);
  } finally {
    // The server's job ends with the introduction; it never carries file data.
    client.close();
  }
  const framed = new FramedLink(link, options.heartbeat);
  const onAbort = (): void => framed.abort(new PeerlaneError('INTERRUPTED', 'interrupted'));
  if (options.abortSignal?.aborted) onAbort();
  options.abortSignal?.addEventListener('abort', onAbort, { once: true });
  options.onEvent?.({ event: 'connected', ...link.pathInfo() });
  return framed;
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new PeerlaneError('INTERRUPTED', 'interrupted');
}

export function progressEvent(p: TransferProgress): Parameters<EventSink>[0] {
  return {
    event: 'progress',
    file: p.name,
    fileBytes: p.fileBytes,
    fileSize: p.fileSize,
    bytes: p.bytes,
    total: p.total,
  };
}

export function doneEvent(result: TransferResult): Parameters<EventSink>[0] {
  const seconds = result.ms / 1000;
  const mbps = seconds > 0 ? result.bytes / 1e6 / seconds : 0;
  return {
    event: 'done',
    files: result.files,
    bytes: result.bytes,
    seconds: Math.round(seconds * 1000) / 1000,
    mbps: Math.round(mbps * 10) / 10,
  };
}
