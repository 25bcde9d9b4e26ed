/**
 * What a transfer needs of the link under it, whatever carries it: a WebRTC
 * data channel (rtc/link.ts), a sealed direct TCP connection
 * (direct/tcp-link.ts), and later a browser's RTCDataChannel or a relay.
 */
import type { PeerlaneError } from './errors.js';
import type { Reach } from './reach.js';

export type PathKind = 'direct' | 'relay';

export interface PathInfo {
  path: PathKind;
  /** ICE candidate types of the selected pair: host, srflx, prflx or relay. */
  local: string;
  remote: string;
  /** A direct path: on the same network, through a NAT, or between public addresses. */
  reach?: Reach;
}

/**
 * What a transfer needs of the link under it: messages in order, a send
 * buffer it can watch for backpressure, and a close. Messages are bytes
 * (Uint8Array); the Node links hand over Buffers, which are Uint8Arrays.
 */
/**
 * What carries a link: a WebRTC data channel, a direct TCP connection, or the
 * signal server's relay (TCP to the server, sealed end to end all the same).
 */
export type LinkTransport = 'webrtc' | 'tcp' | 'relay';

export interface MessageLink {
  readonly transport: LinkTransport;
  maxMessageSize(): number;
  bufferedAmount(): number;
  onBufferedAmountLow(threshold: number, handler: () => void): void;
  send(data: Uint8Array): void;
  onMessage(handler: (msg: Uint8Array) => void): void;
  onClose(handler: (err: PeerlaneError) => void): void;
  readonly isOpen: boolean;
  pathInfo(): PathInfo;
  /** Where the link can switch paths (ICE picking another pair): `handler` hears of each switch. */
  onPathChange?(from: PathInfo, handler: (info: PathInfo) => void): void;
  /** Two strings both sides see (swapped) and nobody in the middle can choose: for --verify. */
  fingerprints(): { local: string; remote: string };
  close(): void;
}
