/**
 * Opens one WebRTC data channel between two peers, given a way to exchange
 * signaling payloads. Handles the ordering traps of libdatachannel:
 *
 * - The offerer holds its own ICE candidates until it has applied the answer.
 *   Sent earlier, they let the answerer start connectivity checks and DTLS
 *   before the offerer knows the answerer's fingerprint, which fails a few
 *   percent of handshakes with "DTLS alert: unknown CA" and stalls many more.
 * - Both sides queue remote candidates that arrive before the remote
 *   description, since libdatachannel rejects them until then.
 * - node-datachannel reports ICE failure only after about 40 s, so we enforce
 *   our own deadline. If it passes after the descriptions were exchanged and
 *   ICE is still not connected, that is ICE_FAILED, and the message says which
 *   candidate types each side gathered and what to configure (TURN).
 * - When gathering ends with nothing this side may use (under --relay, no
 *   relay candidate: a TURN server that refused the credentials, say), the
 *   attempt fails at once rather than waiting out the deadline.
 * - A failure after ICE connected is the DTLS or the SCTP handshake, not a
 *   missing path: HANDSHAKE_FAILED, which the session retries (failure.ts
 *   tells the layers apart).
 * - libdatachannel can deadlock in the DTLS handshake (seen over TURN, fixed
 *   upstream after node-datachannel 0.33.4): ICE reports connected and the
 *   channel never opens. A watchdog fails such an attempt with
 *   HANDSHAKE_STALLED after DTLS_WATCHDOG_MS, so the session can try again.
 */

import type { DataChannel } from 'node-datachannel';
import nodeDataChannel from 'node-datachannel';
import type { IceServer, Transport } from '../config.js';
import { isTurnServer } from '../config.js';
import { PeerlaneError, toPeerlaneError } from '../core/errors.js';
import type { SignalPipe } from '../core/signaling/pipe.js';
import type { PeerRole } from '../core/signaling/protocol.js';
import type { RtcSignal } from '../core/signaling/rtc-signal.js';
import { encodeRtcSignal, parseRtcSignal } from '../core/signaling/rtc-signal.js';
import type { FailureContext } from './failure.js';
import {
  describeIceFailure,
  handshakeFailure,
  handshakeStall,
  nothingGathered,
  Observed,
} from './failure.js';
import type { PathInfo } from './link.js';
import { Link } from './link.js';
import { listenNativeLog } from './native-log.js';
import { applySctpSettings } from './sctp.js';

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
   * more. See mtuFor().
   */
  mtu?: number | undefined;
  /** Default `auto`; `--relay` means `webrtc`. */
  transport?: Transport | undefined;
  /** The signal server's relay (its own address): joins the race when UDP fails; never with directOnly. */
  relayAddress?: { host: string; port: number } | undefined;
}

/** The safe default, what libdatachannel uses: the IPv6 minimum link MTU. */
export const SAFE_MTU = 1280;
/**
 * On loopback: 112 → 175 MB/s here for 256 MiB disk to disk. Above about 4155,
 * libjuice truncates datagrams and data silently stops, so stay well under.
 */
export const LOOPBACK_MTU = 4096;

/** The MTU to use for a bind address: more only where the path is certainly loopback. */
export function mtuFor(bindAddress: string | undefined): number {
  return bindAddress !== undefined && /^127\.|^::1$/.test(bindAddress) ? LOOPBACK_MTU : SAFE_MTU;
}

const CHANNEL_LABEL = 'peerlane';

/**
 * From ICE connected to an open channel takes one DTLS and one SCTP handshake:
 * a few round trips, well under a second even over a slow relay. Five seconds
 * is long enough not to fire on a slow path, short enough to retry in time.
 */
export const DTLS_WATCHDOG_MS = 5_000;

/** Which connection attempt of a session this is, and a way to abandon it. */
export interface AttemptControl {
  /** Stamped on every signal we send; signals of other attempts are ignored. */
  attempt?: number | undefined;
  /** Aborting fails the attempt at once with the signal's reason. */
  abort?: AbortSignal | undefined;
  /** The path an earlier attempt of the session connected over: what an ICE failure now means. */
  previousPath?: PathInfo | undefined;
}

/**
 * Libdatachannel's log lines and the state callbacks travel on separate
 * queues; when gathering ends, give a TURN error logged just before it this
 * long to arrive, so the failure can name it.
 */
const LOG_SETTLE_MS = 100;

/**
 * Each peer leaves the signal server as soon as its own end of the channel is
 * open, which can be a moment before the other end's is. So once the remote
 * description is applied, losing signaling is not fatal at once: the
 * connection gets this long to finish on its own.
 */
const SIGNAL_LOSS_GRACE_MS = 5_000;

export function connectPeer(
  role: PeerRole,
  signal: SignalPipe,
  options: RtcOptions,
  control: AttemptControl = {},
): Promise<Link> {
  const n = control.attempt ?? 0;
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
    mtu: options.mtu ?? mtuFor(options.bindAddress),
  });
  const seen = new Observed();
  const context: FailureContext = { ...options, previousPath: control.previousPath };
  const noPath = (): PeerlaneError => new PeerlaneError('ICE_FAILED', describeIceFailure(context, seen));
  const unlisten = listenNativeLog((line) => seen.noteLog(line));

  return new Promise<Link>((resolve, reject) => {
    let settled = false;
    let channel: DataChannel | undefined;
    let remoteDescriptionSet = false;
    let answerApplied = role === 'answerer';
    const heldLocal: RtcSignal[] = [];
    const queuedRemote: { candidate: string; mid: string }[] = [];

    const timer = setTimeout(() => {
      // Descriptions exchanged but ICE never connected: no path, not a slow peer.
      const iceUp = ['connected', 'completed'].includes(pc.iceState());
      if (remoteDescriptionSet && !iceUp) fail(noPath());
      else
        fail(
          new PeerlaneError(
            'CONNECT_TIMEOUT',
            `no connection within ${Math.round(options.timeoutMs / 1000)} s`,
          ),
        );
    }, options.timeoutMs);

    let watchdog: NodeJS.Timeout | undefined;
    pc.onIceStateChange((state) => {
      if (state !== 'connected' && state !== 'completed') return;
      seen.iceConnected = true;
      const pair = pc.getSelectedCandidatePair();
      if (pair) seen.pair = `${pair.local.type} ↔ ${pair.remote.type}`;
      if (watchdog === undefined && !settled)
        watchdog = setTimeout(() => fail(handshakeStall(seen, DTLS_WATCHDOG_MS)), DTLS_WATCHDOG_MS);
    });
    let gathered: NodeJS.Timeout | undefined;
    pc.onGatheringStateChange((state) => {
      if (state !== 'complete') return;
      gathered = setTimeout(() => {
        const useless = nothingGathered(context, seen);
        if (useless !== undefined) fail(useless);
      }, LOG_SETTLE_MS);
    });
    const onAbort = (): void => fail(toPeerlaneError(control.abort?.reason, 'PEER_LOST'));
    control.abort?.addEventListener('abort', onAbort, { once: true });

    function settle(): void {
      settled = true;
      clearTimeout(timer);
      clearTimeout(graceTimer);
      clearTimeout(watchdog);
      clearTimeout(gathered);
      unlisten();
      control.abort?.removeEventListener('abort', onAbort);
    }

    function fail(err: PeerlaneError): void {
      if (settled) return;
      settle();
      try {
        channel?.close();
        pc.close();
      } catch {
        // closing a half-built connection can throw; we are failing anyway
      }
      reject(err);
    }

    function opened(dc: DataChannel): void {
      if (settled) return;
      settle();
      resolve(new Link(pc, dc));
    }

    function sendSignal(msg: RtcSignal): void {
      try {
        signal.sendPayload(encodeRtcSignal(msg));
      } catch (err) {
        fail(toPeerlaneError(err, 'SIGNAL_CLOSED'));
      }
    }

    function applyRemoteCandidate(c: { candidate: string; mid: string }): void {
      const type = candidateType(c.candidate);
      if (type !== undefined) seen.remote.add(type);
      try {
        pc.addRemoteCandidate(c.candidate, c.mid);
      } catch {
        // A candidate we cannot use (e.g. another address family) is not fatal.
      }
    }

    let graceTimer: NodeJS.Timeout | undefined;
    signal.onFailure((err) => {
      if (!remoteDescriptionSet) fail(err);
      else graceTimer ??= setTimeout(() => fail(err), SIGNAL_LOSS_GRACE_MS);
    });

    pc.onLocalDescription((sdp, type) => {
      if (type === 'offer' || type === 'answer') sendSignal({ kind: type, n, sdp });
    });
    pc.onLocalCandidate((candidate, mid) => {
      const type = candidateType(candidate);
      if (type !== undefined) seen.local.add(type);
      const msg: RtcSignal = { kind: 'candidate', n, candidate, mid };
      if (answerApplied) sendSignal(msg);
      else heldLocal.push(msg);
    });
    pc.onStateChange((state) => {
      // After ICE connected, a failure is DTLS's or SCTP's, not a missing path.
      if (state === 'failed') fail(seen.iceConnected ? handshakeFailure(seen) : noPath());
    });

    signal.onPayload((payload) => {
      if (settled) return;
      let msg: RtcSignal;
      try {
        msg = parseRtcSignal(payload);
      } catch (err) {
        fail(toPeerlaneError(err, 'BAD_MESSAGE'));
        return;
      }
      // Session control (keepalive, restart), the direct path's and other attempts' are not ours.
      if (msg.kind !== 'offer' && msg.kind !== 'answer' && msg.kind !== 'candidate') return;
      if (msg.n !== n) return;
      try {
        switch (msg.kind) {
          case 'offer':
            if (role !== 'answerer' || remoteDescriptionSet)
              throw new PeerlaneError('BAD_MESSAGE', 'unexpected offer');
            pc.setRemoteDescription(msg.sdp, 'offer');
            for (const type of sdpCandidateTypes(msg.sdp)) seen.remote.add(type);
            remoteDescriptionSet = true;
            break;
          case 'answer':
            if (role !== 'offerer' || remoteDescriptionSet)
              throw new PeerlaneError('BAD_MESSAGE', 'unexpected answer');
            pc.setRemoteDescription(msg.sdp, 'answer');
            for (const type of sdpCandidateTypes(msg.sdp)) seen.remote.add(type);
            remoteDescriptionSet = true;
            answerApplied = true;
            for (const held of heldLocal.splice(0)) sendSignal(held);
            break;
          case 'candidate':
            if (remoteDescriptionSet) applyRemoteCandidate(msg);
            else queuedRemote.push(msg);
            return;
        }
        for (const c of queuedRemote.splice(0)) applyRemoteCandidate(c);
      } catch (err) {
        fail(toPeerlaneError(err, 'BAD_MESSAGE'));
      }
    });

    if (control.abort?.aborted) {
      onAbort();
      return;
    }
    if (role === 'offerer') {
      // Creating the channel triggers negotiation and so the offer.
      const dc = pc.createDataChannel(CHANNEL_LABEL);
      channel = dc;
      dc.onOpen(() => opened(dc));
    } else {
      pc.onDataChannel((dc) => {
        channel = dc;
        if (dc.getLabel() !== CHANNEL_LABEL) {
          fail(new PeerlaneError('BAD_MESSAGE', `unexpected data channel "${dc.getLabel()}"`));
          return;
        }
        // onDataChannel fires once the channel is already open.
        opened(dc);
      });
    }
  });
}

/** `host`, `srflx`, `prflx` or `relay`, from an `a=candidate` line. */
export function candidateType(candidate: string): string | undefined {
  return /\btyp (\w+)/.exec(candidate)?.[1];
}

function sdpCandidateTypes(sdp: string): string[] {
  return sdp
    .split(/\r?\n/)
    .filter((line) => line.startsWith('a=candidate:'))
    .flatMap((line) => candidateType(line) ?? []);
}
