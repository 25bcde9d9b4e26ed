/**
 * A session in Node: the core's session (core/session/peer-session.ts:
 * attempts, keepalive, reconnection) with Node's parts plugged in, which are
 * node:crypto's AES-GCM for the sealed signaling and, for each attempt, the
 * race of a direct TCP connection against node-datachannel (race.ts) under
 * the session's RTC options and the TURN credentials the server issued:
 * here, or with `isolate` in a child process per attempt (attempt-process.ts).
 */
import { DEFAULTS } from '../config.js';
import type { PeerSession } from '../core/session/peer-session.js';
import { startSession as startCoreSession, startSessionWith } from '../core/session/peer-session.js';
import type {
  AttemptRequest,
  MakeOpener,
  OpenAttempt,
  OpenLink,
  PeerFacts,
  SessionCoreOptions,
} from '../core/session/ports.js';
import { directKey } from '../direct/handshake.js';
import type { RtcOptions } from '../rtc/connect.js';
import { nodeAesGcm } from '../secure/node-aead.js';
import { ChildAttempt } from './attempt-process.js';
import type { Pairing, SessionOptions } from './common.js';
import { rtcWithGrant } from './common.js';
import { openLink } from './race.js';

export { KEEPALIVE_INTERVAL_MS } from '../core/session/peer-session.js';

/** The RTC options with the ICE deadline cut to `limitMs`. */
export function limitTo(rtc: RtcOptions, limitMs: number): RtcOptions {
  return limitMs < rtc.timeoutMs ? { ...rtc, timeoutMs: limitMs } : rtc;
}

/**
 * An attempt's RTC options: the session's, the server's TURN grant, what the
 * peer said it is (its loopback MTU: rtc/sctp.ts), the attempt's deadline.
 */
function attemptRtc(
  pairing: Pairing,
  options: SessionOptions,
  request: AttemptRequest,
  peer: PeerFacts,
): RtcOptions {
  const { turnGrant, relayAddress } = pairing.client;
  const granted = rtcWithGrant(options, turnGrant, relayAddress);
  return limitTo({ ...granted, peerAgent: peer.agent }, request.limitMs);
}

/** Each attempt races TCP against the data channel, under a key that proves and seals the direct path. */
function nodeLinks(pairing: Pairing, options: SessionOptions): MakeOpener<OpenLink> {
  return (sasKey, peer) => {
    const key = directKey(sasKey);
    return (request) => {
      const { role, pipe, attempt, abort, previousPath } = request;
      return openLink(role, pipe, attemptRtc(pairing, options, request, peer), key, {
        attempt,
        abort,
        previousPath,
      });
    };
  };
}

/** The same race, each attempt and its transfer in a child process. */
function childLinks(
  pairing: Pairing,
  options: SessionOptions,
  freezeLimitMs: number,
): MakeOpener<OpenAttempt<ChildAttempt>> {
  return (sasKey, peer) => {
    const key = directKey(sasKey);
    return (request) =>
      ChildAttempt.open(request, {
        key,
        rtc: attemptRtc(pairing, options, request, peer),
        heartbeat: options.heartbeat,
        freezeLimitMs,
      });
  };
}

function coreOptions(options: SessionOptions): SessionCoreOptions {
  return {
    onEvent: options.onEvent,
    verify: options.verify,
    abortSignal: options.abortSignal,
    heartbeat: options.heartbeat,
    reconnects: options.reconnects ?? DEFAULTS.PEER_RECONNECTS,
    reconnectForMs: options.reconnectForMs ?? DEFAULTS.PEER_RECONNECT_FOR * 1000,
    handshakeTimeoutMs: options.rtc.timeoutMs,
    aead: nodeAesGcm,
    agent: 'cli',
  };
}

/**
 * Authenticate the peer with the code's secret. The session that results keeps
 * the sealed signal connection for reconnections, and opens the data channel
 * (`PeerSession.run`); the signal server never carries file data.
 */
export function startSession(pairing: Pairing, options: SessionOptions): Promise<PeerSession> {
  return startCoreSession(pairing, { ...coreOptions(options), openLinks: nodeLinks(pairing, options) });
}

/** startSession, each attempt and the transfer over it in a child process (attempt-child.ts). */
export function startIsolatedSession(
  pairing: Pairing,
  options: SessionOptions,
  freezeLimitMs: number,
): Promise<PeerSession<ChildAttempt>> {
  return startSessionWith(pairing, coreOptions(options), childLinks(pairing, options, freezeLimitMs));
}
