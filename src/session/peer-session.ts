/**
 * A session in Node: the core's session (core/session/peer-session.ts:
 * attempts, keepalive, reconnection) with Node's parts plugged in, which are
 * node:crypto's AES-GCM for the sealed signaling and, for each attempt, the
 * race of a direct TCP connection against node-datachannel (race.ts) under
 * the session's RTC options and the TURN credentials the server issued.
 */
import { DEFAULTS } from '../config.js';
import type { PeerSession } from '../core/session/peer-session.js';
import { startSession as startCoreSession } from '../core/session/peer-session.js';
import type { PeerSessionOptions } from '../core/session/ports.js';
import { directKey } from '../direct/handshake.js';
import type { RtcOptions } from '../rtc/connect.js';
import { nodeAesGcm } from '../secure/node-aead.js';
import type { Pairing, SessionOptions } from './common.js';
import { rtcWithGrant } from './common.js';
import { openLink } from './race.js';

export { KEEPALIVE_INTERVAL_MS } from '../core/session/peer-session.js';

/** The RTC options with the ICE deadline cut to `limitMs`. */
export function limitTo(rtc: RtcOptions, limitMs: number): RtcOptions {
  return limitMs < rtc.timeoutMs ? { ...rtc, timeoutMs: limitMs } : rtc;
}

/** Each attempt races TCP against the data channel, under a key that proves and seals the direct path. */
function nodeLinks(pairing: Pairing, options: SessionOptions): PeerSessionOptions['openLinks'] {
  return (sasKey, peer) => {
    const key = directKey(sasKey);
    return ({ role, pipe, attempt, abort, previousPath, limitMs }) => {
      const { turnGrant, relayAddress } = pairing.client;
      const granted = rtcWithGrant(options, turnGrant, relayAddress);
      const rtc = limitTo({ ...granted, peerAgent: peer.agent }, limitMs);
      return openLink(role, pipe, rtc, key, { attempt, abort, previousPath });
    };
  };
}

/**
 * Authenticate the peer with the code's secret. The session that results keeps
 * the sealed signal connection for reconnections, and opens the data channel
 * (`PeerSession.run`); the signal server never carries file data.
 */
export function startSession(pairing: Pairing, options: SessionOptions): Promise<PeerSession> {
  return startCoreSession(pairing, {
    onEvent: options.onEvent,
    verify: options.verify,
    abortSignal: options.abortSignal,
    heartbeat: options.heartbeat,
    reconnects: options.reconnects ?? DEFAULTS.PEER_RECONNECTS,
    reconnectForMs: options.reconnectForMs ?? DEFAULTS.PEER_RECONNECT_FOR * 1000,
    handshakeTimeoutMs: options.rtc.timeoutMs,
    aead: nodeAesGcm,
    agent: 'cli',
    openLinks: nodeLinks(pairing, options),
  });
}
