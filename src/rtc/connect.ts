/**
 * Opens one WebRTC data channel between two peers, given a way to exchange
 * signaling payloads (a SignalPipe): the options a session gives an attempt,
 * the PeerConnection they configure, and the attempt itself (attempt.ts),
 * which handles libdatachannel's ordering traps and tells failures apart by
 * layer (failure.ts).
 */

import nodeDataChannel from 'node-datachannel';
import type { Transport } from '../config.js';
import { PeerlaneError } from '../core/errors.js';
import type { PeerAgent } from '../core/secure/protocol.js';
import type { SignalPipe } from '../core/signaling/pipe.js';
import type { PeerRole } from '../core/signaling/protocol.js';
import { RtcAttempt } from './attempt.js';
import type { IceServer } from './ice-servers.js';
import { isTurnServer } from './ice-servers.js';
import type { Link, PathInfo } from './link.js';
import { applySctpSettings, mtuFor } from './sctp.js';

export interface RtcOptions {
  /**
   * `stun:` URLs and STUN/TURN servers in node-datachannel's object form
   * (config.ts parses URLs into it); empty means host candidates only.
   */
  iceServers: IceServer[];
  /** `relay` uses TURN relay candidates only (`peer --relay`). */
  iceTransportPolicy?: 'all' | 'relay' | undefined;
  /** TURN was turned off (`peer --direct-only`); only changes what ICE_FAILED says. */
  directOnly?: boolean | undefined;
  /** Local address for ICE; `127.0.0.1` keeps everything on loopback. */
  bindAddress?: string | undefined;
  /** Give up with CONNECT_TIMEOUT after this long. */
  timeoutMs: number;
  /**
   * SCTP MTU. libdatachannel's 1280 fits any internet path; per-packet cost
   * dominates throughput, so a path known to carry more (loopback) should use
   * more. See mtuFor() (sctp.ts).
   */
  mtu?: number | undefined;
  /** What the peer said it is (its PAKE share's hint): a browser takes a smaller MTU on loopback. */
  peerAgent?: PeerAgent | undefined;
  /** Default `auto`; `--relay` means `webrtc`. */
  transport?: Transport | undefined;
  /** The signal server's relay (its own address): joins the race when UDP fails; never with directOnly. */
  relayAddress?: { host: string; port: number } | undefined;
  /**
   * Print libdatachannel's whole log (debug level) on stderr while attempts
   * run; the CLI's `--debug-ice` (PEERLANE_DEBUG_ICE). The log is per process,
   * so once on it stays on.
   */
  debugIce?: boolean | undefined;
}

/** Which connection attempt of a session this is, and a way to abandon it. */
export interface AttemptControl {
  /** Stamped on every signal we send; signals of other attempts are ignored. */
  attempt?: number | undefined;
  /** Aborting fails the attempt at once with the signal's reason. */
  abort?: AbortSignal | undefined;
  /** The path an earlier attempt of the session connected over: what an ICE failure now means. */
  previousPath?: PathInfo | undefined;
}

export function connectPeer(
  role: PeerRole,
  signal: SignalPipe,
  options: RtcOptions,
  control: AttemptControl = {},
): Promise<Link> {
  if (options.iceTransportPolicy === 'relay' && !options.iceServers.some(isTurnServer)) {
    return Promise.reject(
      new PeerlaneError(
        'BAD_CONFIG',
        '--relay needs a TURN server: set TURN_URLS and TURN_SECRET on the signal server, or a turn: URL in ICE_SERVERS',
      ),
    );
  }
  applySctpSettings();
  const pc = new nodeDataChannel.PeerConnection(`peerlane-${role}`, {
    iceServers: options.iceServers,
    ...(options.bindAddress ? { bindAddress: options.bindAddress } : {}),
    ...(options.iceTransportPolicy ? { iceTransportPolicy: options.iceTransportPolicy } : {}),
    mtu: options.mtu ?? mtuFor(options.bindAddress, options.peerAgent),
  });
  return new RtcAttempt(role, pc, signal, options, control).result;
}
