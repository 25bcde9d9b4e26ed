/**
 * What the peers say to each other through the signal server's relay once the
 * PAKE is done, sealed (secure/channel.ts): the other half of the signaling
 * layer's contract (protocol.ts). The server never reads these.
 *
 *   side A                       relay                         side B
 *     | -- offer{n} / answer{n} / candidate{n} -----------------> |
 *     | -- keepalive (every 20 s) --------------------------------> |
 *     | -- restart{n+1, reason} ----------------------------------> |  a new attempt
 *     | -- direct{n, hints} --------------------------------------> |  our TCP listener (direct/)
 *     | -- choose{n, use: "rtc"} ---------------------------------> |  the offerer took the data channel
 */

import type { Hint } from '../direct/protocol.js';
import { MAX_HINTS } from '../direct/protocol.js';
import { isIP } from '../ip.js';
import { parseJsonObject } from '../json.js';
import { bad, str } from './fields.js';
import { MAX_SIGNAL_MESSAGE_BYTES } from './protocol.js';

/**
 * Why a side starts a new connection attempt: its peer went silent, the data
 * channel or connection closed, DTLS stalled after ICE connected (the
 * watchdog), an attempt found no path, or the peer asked for one.
 */
export const RESTART_REASONS = [
  'peer-silent',
  'link-closed',
  'dtls-stall',
  'ice-failed',
  'peer-request',
] as const;
export type RestartReason = (typeof RESTART_REASONS)[number];

/** Attempt numbers past this are nonsense: no budget allows that many reconnections. */
export const MAX_ATTEMPT = 1000;

/**
 * What the peers say to each other through the relay once the PAKE is done
 * (sealed). `n` is the connection attempt: 0 for the first data channel, one
 * more for each reconnection in the same session, so a late candidate of an
 * abandoned attempt is never applied to the next one.
 */
export type RtcSignal =
  | { kind: 'offer'; n: number; sdp: string }
  | { kind: 'answer'; n: number; sdp: string }
  | { kind: 'candidate'; n: number; candidate: string; mid: string }
  | { kind: 'restart'; n: number; reason: RestartReason }
  | { kind: 'direct'; n: number; hints: Hint[] }
  | { kind: 'choose'; n: number; use: 'rtc' }
  | { kind: 'keepalive' };

export function encodeRtcSignal(signal: RtcSignal): string {
  return JSON.stringify(signal);
}

function attempt(obj: Record<string, unknown>): number {
  const n = obj.n;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_ATTEMPT)
    throw bad(`field "n" must be an attempt number from 0 to ${MAX_ATTEMPT}`);
  return n;
}

/** IP literals only (never a name to resolve) and real ports, at most MAX_HINTS. */
function hints(value: unknown): Hint[] {
  if (!Array.isArray(value) || value.length > MAX_HINTS)
    throw bad(`field "hints" must be a list of at most ${MAX_HINTS} addresses`);
  return value.map((h: unknown) => {
    const obj = parseJsonObject(h);
    const host = str(obj, 'host', 64);
    const port = obj.port;
    if (isIP(host) === 0 || typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)
      throw bad('a hint must be an IP address and a port');
    return { host, port };
  });
}

/** A peer's offer, answer or candidate: what a connection attempt itself applies. */
export type AttemptRtcSignal = Extract<RtcSignal, { kind: 'offer' | 'answer' | 'candidate' }>;

/**
 * The payload if it is attempt `n`'s own offer, answer or candidate; undefined
 * if it is the session's (keepalive, restart), the direct path's (direct,
 * choose) or another attempt's. Throws PeerlaneError (BAD_MESSAGE) if it is
 * no signal at all.
 */
export function attemptSignal(payload: string, n: number): AttemptRtcSignal | undefined {
  const msg = parseRtcSignal(payload);
  if (msg.kind !== 'offer' && msg.kind !== 'answer' && msg.kind !== 'candidate') return undefined;
  return msg.n === n ? msg : undefined;
}

/** Parse a payload relayed from the other peer. Throws PeerlaneError (BAD_MESSAGE). */
export function parseRtcSignal(raw: unknown): RtcSignal {
  const obj = parseJsonObject(raw);
  switch (obj.kind) {
    case 'offer':
    case 'answer':
      return { kind: obj.kind, n: attempt(obj), sdp: str(obj, 'sdp', MAX_SIGNAL_MESSAGE_BYTES) };
    case 'candidate':
      return {
        kind: 'candidate',
        n: attempt(obj),
        candidate: str(obj, 'candidate', 1024),
        mid: str(obj, 'mid', 64),
      };
    case 'restart': {
      const reason = obj.reason;
      if (!RESTART_REASONS.includes(reason as RestartReason))
        throw bad('field "reason" is not a known reason');
      return { kind: 'restart', n: attempt(obj), reason: reason as RestartReason };
    }
    case 'direct':
      return { kind: 'direct', n: attempt(obj), hints: hints(obj.hints) };
    case 'choose':
      if (obj.use !== 'rtc') throw bad('field "use" must be "rtc"');
      return { kind: 'choose', n: attempt(obj), use: 'rtc' };
    case 'keepalive':
      return { kind: 'keepalive' };
    default:
      throw bad(`unknown signal kind ${JSON.stringify(obj.kind)}`);
  }
}
