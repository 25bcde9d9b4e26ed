/**
 * The signal server's relay as one contender in a connection attempt's race
 * (race.ts): dialed when UDP has not worked, it links or fails once, and is
 * closed (or its dial given up) when another link wins.
 */
import type { ErrorCode } from '../core/errors.js';
import { PeerlaneError, toPeerlaneError } from '../core/errors.js';
import type { PeerRole } from '../core/signaling/protocol.js';
import type { TcpLink } from '../direct/tcp-link.js';
import { dialRelay } from '../relay/dial.js';

/**
 * How long the direct paths have before the relay is dialed too. A data
 * channel over the internet opens within a second or two (ICE, DTLS and SCTP
 * in a few round trips); by three seconds UDP is most likely blocked, and the
 * relay's TCP handshake is a few round trips more.
 */
export const RELAY_AFTER_MS = 3_000;

/**
 * The data channel's failures that the relay can help with: no path (UDP
 * blocked, NATs no hole punch crosses) or a handshake that never finished on
 * the path found. A peer that left, or a tampered signal, is not one.
 */
const NO_PATH: ReadonlySet<ErrorCode> = new Set(['ICE_FAILED', 'CONNECT_TIMEOUT', 'HANDSHAKE_STALLED']);

export function relayCouldHelp(err: PeerlaneError): boolean {
  return NO_PATH.has(err.code);
}

/** What dialRelay needs, from a RelayDial. */
function options(dial: RelayDial, abort: AbortSignal | undefined) {
  return {
    ...dial.address,
    sessionSecret: dial.key,
    attempt: dial.attempt,
    timeoutMs: dial.timeoutMs,
    abort,
  };
}

export interface RelayDial {
  address: { host: string; port: number };
  /** The session's direct-path key: the relay token and link key come from it. */
  key: Buffer;
  attempt: { n: number; role: PeerRole };
  timeoutMs: number;
}

/** --transport relay: the signal server's relay and nothing else, USE decided as on the direct path. */
export async function relayOnly(dial: RelayDial, abort: AbortSignal | undefined): Promise<TcpLink> {
  const link = await dialRelay(options(dial, abort));
  if (dial.attempt.role === 'offerer') link.sendUse();
  else await link.used;
  return link;
}

export class RelayContender {
  /** Linked or failed. */
  settled = false;
  link: TcpLink | undefined;
  error: PeerlaneError | undefined;
  private readonly abort = new AbortController();

  constructor(dial: RelayDial, onLink: (link: TcpLink) => void, onError: (err: PeerlaneError) => void) {
    dialRelay(options(dial, this.abort.signal)).then(
      (link) => {
        this.settled = true;
        this.link = link;
        onLink(link);
      },
      (err: unknown) => {
        this.settled = true;
        this.error = toPeerlaneError(err);
        onError(this.error);
      },
    );
  }

  /** `err` (the data channel's), saying also why the relay did not help where it could have. */
  explain(err: PeerlaneError): PeerlaneError {
    if (this.error === undefined || !relayCouldHelp(err)) return err;
    return new PeerlaneError(err.code, `${err.message}; the signal server's relay: ${this.error.message}`);
  }

  /** Another link won, or the attempt failed: give up the dial, close the link unless it is `keep`. */
  close(keep?: unknown): void {
    if (!this.settled) this.abort.abort();
    if (this.link !== undefined && this.link !== keep) this.link.close();
  }
}
