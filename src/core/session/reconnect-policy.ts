/**
 * How a session reconnects, as pure rules: how long to wait between attempts,
 * how long each may take, what an attempt's failure says about the path, and
 * the error a session ends with when it gives up.
 */
import { PeerlaneError } from '../errors.js';
import type { RestartReason } from '../signaling/rtc-signal.js';

/**
 * The first reconnection starts at once; later ones at least 1, 2, 4, 8, then
 * 15 s apart (counted from the previous attempt's start, so an attempt that
 * waited out its ICE deadline is followed at once).
 */
const MAX_BACKOFF_MS = 15_000;
export function backoff(attempt: number): number {
  return attempt <= 1 ? 0 : Math.min(1000 * 2 ** (attempt - 2), MAX_BACKOFF_MS);
}

/** The last attempt of an outage still gets this long, even past the budget: less finds nothing. */
export const MIN_ATTEMPT_MS = 5_000;
/**
 * While the path is known to be down, each attempt lasts this long (or
 * --timeout, if shorter): a path that comes back is found within about this
 * time, and a new PeerConnection every 15 s costs next to nothing.
 */
export const DOWN_ATTEMPT_MS = 15_000;

/** ICE connected but the channel did not open: DTLS or SCTP stalled or failed. */
export function isHandshake(err: PeerlaneError): boolean {
  return err.code === 'HANDSHAKE_STALLED' || err.code === 'HANDSHAKE_FAILED';
}

/**
 * An attempt whose process stopped responding (a native call frozen, in
 * Node's child per attempt) and was ended: a new attempt mends it.
 */
function isFrozen(err: PeerlaneError): boolean {
  return err.code === 'RTC_STALLED';
}

/**
 * A first attempt only retries what a second can mend, and says why: a
 * stalled or failed handshake (DTLS, SCTP), an attempt's process found frozen
 * and ended, or the peer having moved on to a new attempt.
 */
export function firstRetry(err: PeerlaneError, peerMovedOn: boolean): RestartReason | undefined {
  if (isHandshake(err)) return 'dtls-stall';
  if (isFrozen(err)) return 'link-closed';
  return peerMovedOn ? 'peer-request' : undefined;
}

/** What an attempt's failure tells the peer, with the restart it asks for. */
export function reasonFor(err: PeerlaneError): RestartReason {
  if (isHandshake(err)) return 'dtls-stall';
  if (err.code === 'ICE_FAILED' || err.code === 'CONNECT_TIMEOUT') return 'ice-failed';
  return 'link-closed';
}

/**
 * Giving up after `tries` attempts in `ms`. A session that never connected
 * keeps the last attempt's code (HANDSHAKE_STALLED, say), which says more.
 */
export function gaveUp(cause: PeerlaneError, everOpened: boolean, tries: number, ms: number): PeerlaneError {
  const code = !everOpened ? cause.code : 'PEER_LOST';
  if (tries === 0) return new PeerlaneError(code, `${cause.message}; reconnection is off`);
  return new PeerlaneError(
    code,
    `${cause.message}; gave up after ${tries} reconnection attempt${tries === 1 ? '' : 's'} in ${Math.round(ms / 1000)} s`,
  );
}

/**
 * No reconnection without the signal connection: `cause` is what ended the
 * last channel or attempt, `gone` what ended the signal connection. When the
 * attempt failed because of `gone` itself, it is said once.
 */
export function withoutSignal(cause: PeerlaneError, gone: PeerlaneError): PeerlaneError {
  if (cause === gone || cause.message === gone.message) return new PeerlaneError('PEER_LOST', gone.message);
  const then =
    gone.code === 'PEER_LOST'
      ? `then ${gone.message}: it is gone, not just its path`
      : `then the signal connection ended (${gone.message}), and there is no reconnection without it`;
  return new PeerlaneError('PEER_LOST', `${cause.message}; ${then}`);
}
